/* fuzz_safetensors.c — libFuzzer target: any bytes as a safetensors file, read every
 * way bptt reads one: bp_st_load and every tensor (converted, by name with its own
 * shape, and raw with its own dtype), every metadata entry; bp_batch_load; and
 * bp_trainer_load into a small trainer, as a checkpoint and as weights alone. A
 * failure must come back as an error with a message; a crash, a leak, a sanitizer
 * report or a timeout is a bug. The seeds (make_seeds.sh) include checkpoints of the
 * very model built here, so mutations reach the checkpoint reader's later checks. */
#include "bptt_models.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[64], path[128];
static bp_trainer *trainer;
static bp_model_config *config;

/* The model make_seeds.sh writes checkpoints of. */
static const char *const small[] = {"model.layers[0].hidden=8", "train.batch=2",
                                    "train.eval_batch=2", "data.steps=4"};

static void cleanup(void)
{
    bp_trainer_free(trainer);
    bp_model_config_free(config);
    unlink(path);
    rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    /* a tmpfs when there is one: no disk, no journal to wait for behind other I/O */
    snprintf(dir, sizeof dir, "%s/bptt_fuzz_st_XXXXXX",
             access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
    if (!mkdtemp(dir))
        abort();
    snprintf(path, sizeof path, "%s/f.safetensors", dir);
    bp_error err;
    config = bp_model_config_load(BPTT_SOURCE_DIR "/models/tanh_adding.yaml", small, 4, &err);
    trainer = config ? bp_trainer_new(config, &err) : NULL;
    if (!trainer) {
        fprintf(stderr, "fuzz_safetensors: %s\n", err.msg);
        abort();
    }
    atexit(cleanup);
    return 0;
}

static void check_error(const bp_error *err)
{
    if (!err->msg[0] || err->status == BP_OK)
        abort(); /* a failure must say what went wrong */
}

/* Every way of reading every tensor of a file that loaded. */
static void read_all(const bp_st_file *f)
{
    volatile double sink = 0;
    for (int i = 0; i < bp_st_count(f); i++) {
        const bp_st_info *t = bp_st_at(f, i);
        if (bp_st_find(f, t->name) != t)
            abort();
        bp_real *v = malloc((t->size ? t->size : 1) * sizeof *v);
        void *raw = malloc((t->size ? t->size : 1) * bp_dtype_size(t->dtype));
        if (!v || !raw)
            abort();
        bp_st_read_at(f, i, v);
        for (size_t k = 0; k < t->size; k++)
            sink += (double)v[k];
        bp_error err = {0};
        if (t->shape.ndim >= 1 && bp_st_read(f, t->name, t->shape, v, &err) != BP_OK)
            abort(); /* its own name and shape must read */
        if (bp_st_read_raw(f, t->name, t->dtype, t->shape, raw, &err) != BP_OK)
            abort();
        free(v);
        free(raw);
    }
    for (int i = 0; i < bp_st_meta_count(f); i++) {
        const char *k = bp_st_meta_key(f, i), *v = bp_st_meta_value(f, i);
        sink += (double)(strlen(k) + strlen(v));
        if (!bp_st_meta(f, k))
            abort();
    }
    (void)sink;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* a fresh file each time: rewriting a truncated one makes ext4 flush it on close */
    unlink(path);
    FILE *out = fopen(path, "wb");
    if (!out)
        abort();
    if (size && fwrite(data, 1, size, out) != size)
        abort();
    fclose(out);

    bp_error err = {0};
    bp_st_file *f = bp_st_load(path, &err);
    if (f) {
        read_all(f);
        bp_st_free(f);
    } else {
        check_error(&err);
    }

    memset(&err, 0, sizeof err);
    bp_batch *b = bp_batch_load(path, &err);
    if (b) {
        volatile double sink = 0;
        for (size_t i = 0; i < (size_t)b->B * (size_t)b->T * (size_t)b->F; i++)
            sink += (double)b->x[i];
        for (size_t i = 0; i < bp_batch_y_size(b); i++)
            sink += (double)b->y[i];
        (void)sink;
        bp_batch_free(b);
    } else {
        check_error(&err);
    }

    for (int weights_only = 0; weights_only < 2; weights_only++) {
        memset(&err, 0, sizeof err);
        if (bp_trainer_load(trainer, path, weights_only, &err) != BP_OK)
            check_error(&err);
    }
    return 0;
}
