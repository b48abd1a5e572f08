/* fuzz_npy.c — libFuzzer target: any bytes as a .npy file, through bp_npy_parse. A
 * failure must come back as an error with a one-line message naming the file; an
 * array that parses must lie inside the input and end exactly at its end, and every
 * element is read. Arrays that parse are also saved with bp_npy_save and opened again
 * with bp_npy_open (a file in a tmpfs when there is one), which must give back the
 * same dtype, shape and bytes. A crash, a leak, a sanitizer report or a timeout is a
 * bug. Seeds: make_seeds.sh (the headers in tests/fuzz/seeds/npy/, as version 1.0 and 2.0). */
#include "bptt_arrays.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[64], path[128];

static void cleanup(void)
{
    unlink(path);
    rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    snprintf(dir, sizeof dir, "%s/bptt_fuzz_npy_XXXXXX",
             access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
    if (!mkdtemp(dir))
        abort();
    snprintf(path, sizeof path, "%s/a.npy", dir);
    atexit(cleanup);
    return 0;
}

static void check_error(const bp_error *err, bp_status s)
{
    /* a failure says what went wrong, on one line, naming the file */
    if (s == BP_OK || err->status != s || strncmp(err->msg, "fuzz.npy: ", 10) != 0 ||
        strchr(err->msg, '\n'))
        abort();
}

/* Saved and opened again, the array is the same. */
static void round_trip(const bp_array *a)
{
    size_t bytes = a->size * bp_dtype_size(a->dtype);
    unsigned char *host = malloc(bytes + 1);
    if (!host)
        abort();
    memcpy(host, a->data, bytes); /* a little-endian host: the file's bytes are host order */
    bp_error err = {0};
    if (bp_npy_save(path, a->dtype, a->shape, host, &err) != BP_OK)
        abort();
    bp_npy *f = bp_npy_open(path, &err);
    if (!f)
        abort();
    const bp_array *b = bp_npy_array(f);
    if (b->dtype != a->dtype || !bp_shape_eq(b->shape, a->shape) || b->size != a->size ||
        memcmp(b->data, a->data, bytes) != 0)
        abort();
    bp_npy_close(f);
    free(host);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    bp_array a;
    bp_error err = {0};
    bp_status s = bp_npy_parse(data, size, "fuzz.npy", &a, &err);
    if (s != BP_OK) {
        check_error(&err, s);
        return 0;
    }
    size_t bytes = a.size * bp_dtype_size(a.dtype);
    if (a.data < data || a.data + bytes != data + size || bp_shape_size(a.shape) != a.size)
        abort();
    volatile double sink = 0;
    for (size_t i = 0; i < a.size; i++)
        sink += bp_array_get(&a, i);
    (void)sink;
    if (bytes <= (1 << 20))
        round_trip(&a);
    return 0;
}
