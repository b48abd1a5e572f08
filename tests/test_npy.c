/* test_npy.c — NumPy .npy files and mapped files: round trips of bp_npy_save and
 * bp_npy_open for every dtype and rank, headers exactly as numpy writes them (versions
 * 1.0, 2.0, 3.0), and each refusal with its message: bad magic, version, header syntax
 * and keys, fortran order, dtypes, shapes, truncated data, trailing bytes, FIFOs and
 * devices (refused at once, never waited on). Inputs live in a mkdtemp directory. */
#include "bptt_arrays.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---------------------------------------------------------------- helpers */

static char tmpdir[64];

static void make_tmpdir(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/bptt-npy-XXXXXX");
    cr_assert_not_null(mkdtemp(tmpdir));
}

static void drop_tmpdir(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0)
        cr_log_warn("could not remove %s", tmpdir);
}

TestSuite(npy, .init = make_tmpdir, .fini = drop_tmpdir, .timeout = 30);
TestSuite(mapped_file, .init = make_tmpdir, .fini = drop_tmpdir, .timeout = 30);

static const char *tpath(const char *name)
{
    static char buf[4][256];
    static int k;
    char *p = buf[k++ % 4];
    snprintf(p, 256, "%s/%s", tmpdir, name);
    return p;
}

static void write_bytes(const char *path, const void *data, size_t n)
{
    FILE *fp = fopen(path, "wb");
    cr_assert_not_null(fp, "%s: %s", path, strerror(errno));
    cr_assert_eq(fwrite(data, 1, n, fp), n);
    cr_assert_eq(fclose(fp), 0);
}

/* A .npy image: magic, version major.0, the header padded the way numpy pads it
 * (spaces and '\n' up to a multiple of 64) unless raw, then data_len bytes 0x3f. */
static unsigned char img[1 << 16];
static size_t make_npy(int major, const char *header, bool raw, size_t data_len)
{
    size_t lb = major == 1 ? 2 : 4, pre = 8 + lb, hl = strlen(header);
    memcpy(img, "\x93NUMPY", 6);
    img[6] = (unsigned char)major;
    img[7] = 0;
    memcpy(img + pre, header, hl);
    if (!raw) {
        while ((pre + hl + 1) % 64)
            img[pre + hl++] = ' ';
        img[pre + hl++] = '\n';
    }
    for (size_t i = 0; i < lb; i++)
        img[8 + i] = (unsigned char)(hl >> (8 * i));
    memset(img + pre + hl, 0x3f, data_len);
    return pre + hl + data_len;
}

/* Parsing img[0, n) must fail with status st and a message naming the file and holding
 * want. */
static void expect_parse_error(size_t n, bp_status st, const char *want)
{
    bp_error err = {0};
    bp_array a;
    bp_status s = bp_npy_parse(img, n, "x.npy", &a, &err);
    cr_expect_eq(s, st, "status %s, expected %s: %s", bp_status_name(s), bp_status_name(st),
                 err.msg);
    cr_expect_eq(err.status, s);
    cr_expect(strncmp(err.msg, "x.npy: ", 7) == 0, "message lacks the path: %s", err.msg);
    cr_expect(strstr(err.msg, want), "message \"%s\" lacks \"%s\"", err.msg, want);
    cr_expect(!strchr(err.msg, '\n'), "a message is one line: %s", err.msg);
}

static void expect_header_error(const char *header, size_t data_len, bp_status st,
                                const char *want)
{
    expect_parse_error(make_npy(1, header, false, data_len), st, want);
}

static void expect_open_error(const char *path, bp_status st, const char *want)
{
    bp_error err = {0};
    bp_npy *f = bp_npy_open(path, &err);
    cr_assert_null(f, "%s opened", path);
    cr_expect_eq(err.status, st, "%s: %s", bp_status_name(err.status), err.msg);
    cr_expect(strncmp(err.msg, path, strlen(path)) == 0, "message lacks the path: %s", err.msg);
    cr_expect(strstr(err.msg, want), "message \"%s\" lacks \"%s\"", err.msg, want);
}

/* ---------------------------------------------------------------- round trips */

static void round_trip(bp_dtype dt, bp_shape sh)
{
    size_t n = bp_shape_size(sh), w = bp_dtype_size(dt);
    unsigned char *data = malloc(n * w + 1);
    for (size_t i = 0; i < n; i++) {
        double v = (double)i * (i % 2 ? -1.5 : 2.25);
        if (dt == BP_DTYPE_F32) {
            float f = (float)v;
            memcpy(data + 4 * i, &f, 4);
        } else if (dt == BP_DTYPE_F64)
            memcpy(data + 8 * i, &v, 8);
        else if (dt == BP_DTYPE_I32) {
            int32_t k = (int32_t)i * (i % 2 ? -3 : 7);
            memcpy(data + 4 * i, &k, 4);
        } else {
            int64_t k = (int64_t)i * (i % 2 ? -3 : 7) * ((int64_t)1 << 40);
            memcpy(data + 8 * i, &k, 8);
        }
    }
    const char *p = tpath("rt.npy");
    bp_error err = {0};
    cr_assert_eq(bp_npy_save(p, dt, sh, data, &err), BP_OK, "%s", err.msg);
    struct stat st;
    cr_assert_eq(stat(p, &st), 0);
    cr_expect_eq((st.st_size - (off_t)(n * w)) % 64, 0, "the header is not padded to 64");
    bp_npy *f = bp_npy_open(p, &err);
    cr_assert_not_null(f, "%s", err.msg);
    const bp_array *a = bp_npy_array(f);
    char s1[64], s2[64];
    cr_expect_eq(a->dtype, dt);
    cr_expect(bp_shape_eq(a->shape, sh), "%s != %s", bp_shape_str(a->shape, s1, sizeof s1),
              bp_shape_str(sh, s2, sizeof s2));
    cr_expect_eq(a->size, n);
    cr_expect_not_null(a->data);
    cr_expect_eq(memcmp(a->data, data, n * w), 0, "the bytes differ (a little-endian host)");
    for (size_t i = 0; i < n; i++) {
        double want;
        if (dt == BP_DTYPE_F32) {
            float f32;
            memcpy(&f32, data + 4 * i, 4);
            want = f32;
        } else if (dt == BP_DTYPE_F64)
            memcpy(&want, data + 8 * i, 8);
        else if (dt == BP_DTYPE_I32) {
            int32_t k;
            memcpy(&k, data + 4 * i, 4);
            want = k;
        } else {
            int64_t k;
            memcpy(&k, data + 8 * i, 8);
            want = (double)k;
        }
        cr_expect_eq(bp_array_get(a, i), want, "element %zu", i);
    }
    bp_npy_close(f);
    free(data);
}

Test(npy, round_trip_of_every_dtype_and_rank)
{
    const bp_shape shapes[] = {{0, {0}}, {1, {5}}, {2, {3, 4}}, {3, {2, 1, 3}}, {4, {2, 3, 1, 2}},
                               {2, {0, 3}}, {1, {1000}}};
    for (int d = BP_DTYPE_F32; d <= BP_DTYPE_I64; d++)
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
            round_trip((bp_dtype)d, shapes[s]);
}

Test(npy, a_large_array_crosses_the_write_chunks)
{
    round_trip(BP_DTYPE_F64, (bp_shape){2, {300, 100}}); /* 240 000 bytes */
}

Test(npy, save_writes_the_header_numpy_writes)
{
    float x[12] = {0};
    bp_error err = {0};
    const char *p = tpath("h.npy");
    cr_assert_eq(bp_npy_save(p, BP_DTYPE_F32, bp_shape2(3, 4), x, &err), BP_OK, "%s", err.msg);
    FILE *fp = fopen(p, "rb");
    unsigned char b[256];
    size_t got = fread(b, 1, sizeof b, fp);
    fclose(fp);
    size_t n = make_npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }", false,
                        0);
    cr_assert_eq(n, 128);
    cr_assert_eq(got, 128 + 48);
    cr_expect_eq(memcmp(b, img, 128), 0, "header: %.118s", (const char *)b + 10);
    cr_expect_eq(bp_npy_save(p, BP_DTYPE_I64, bp_shape1(5), x, &err), BP_OK);
    fp = fopen(p, "rb");
    got = fread(b, 1, sizeof b, fp);
    fclose(fp);
    make_npy(1, "{'descr': '<i8', 'fortran_order': False, 'shape': (5,), }", false, 0);
    cr_expect_eq(memcmp(b, img, 128), 0, "header: %.118s", (const char *)b + 10);
}

/* ---------------------------------------------------------------- headers numpy writes */

static void expect_header_ok(int major, const char *header, bool raw, bp_dtype dt, bp_shape sh)
{
    size_t size = bp_shape_size(sh) * bp_dtype_size(dt);
    size_t n = make_npy(major, header, raw, size);
    bp_array a;
    bp_error err = {0};
    cr_assert_eq(bp_npy_parse(img, n, "ok.npy", &a, &err), BP_OK, "%s: %s", header, err.msg);
    cr_expect_eq(a.dtype, dt, "%s", header);
    cr_expect(bp_shape_eq(a.shape, sh), "%s", header);
    cr_expect_eq(a.size, bp_shape_size(sh));
    cr_expect_eq(a.data, img + n - size);
}

Test(npy, headers_as_numpy_writes_them)
{
    expect_header_ok(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }", false,
                     BP_DTYPE_F32, bp_shape2(3, 4));
    expect_header_ok(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (5,), }", false,
                     BP_DTYPE_F64, bp_shape1(5));
    expect_header_ok(1, "{'descr': '<i8', 'fortran_order': False, 'shape': (), }", false,
                     BP_DTYPE_I64, (bp_shape){0, {0}});
    expect_header_ok(1, "{'descr': '<i4', 'fortran_order': False, 'shape': (2, 3, 4, 5), }",
                     false, BP_DTYPE_I32, (bp_shape){4, {2, 3, 4, 5}});
    expect_header_ok(2, "{'descr': '<f4', 'fortran_order': False, 'shape': (7, 2), }", false,
                     BP_DTYPE_F32, bp_shape2(7, 2));
    expect_header_ok(3, "{'descr': '<f8', 'fortran_order': False, 'shape': (0, 3), }", false,
                     BP_DTYPE_F64, bp_shape2(0, 3));
}

Test(npy, headers_in_other_valid_literals)
{
    /* any key order, double quotes, no trailing comma, no padding, Python 2 longs */
    expect_header_ok(1, "{\"shape\": (2,3), \"fortran_order\": False, \"descr\": \"<f4\"}", true,
                     BP_DTYPE_F32, bp_shape2(2, 3));
    expect_header_ok(1, "{'descr':'<i4','fortran_order':False,'shape':(4L, 2L)}", true,
                     BP_DTYPE_I32, bp_shape2(4, 2));
    expect_header_ok(1, "\t{ 'descr' : '|f8' ,\n 'fortran_order' : False ,\n 'shape' : ( 3 , ) }\n",
                     true, BP_DTYPE_F64, bp_shape1(3));
    expect_header_ok(2, "{'descr': '=i8', 'fortran_order': False, 'shape': (1, 1, 1, 1)}", true,
                     BP_DTYPE_I64, (bp_shape){4, {1, 1, 1, 1}});
    expect_header_ok(1, "{'descr': 'f4', 'fortran_order': False, 'shape': (0,)}", true,
                     BP_DTYPE_F32, bp_shape1(0));
}

/* ---------------------------------------------------------------- refusals */

Test(npy, fortran_order_is_refused)
{
    expect_header_error("{'descr': '<f4', 'fortran_order': True, 'shape': (3, 4), }", 48,
                        BP_ERR_PARSE,
                        "x.npy: fortran_order is True; bptt reads C order (np.ascontiguousarray)");
    expect_header_error("{'descr': '<f4', 'fortran_order': 0, 'shape': (3, 4), }", 48,
                        BP_ERR_PARSE, "'fortran_order' must be True or False");
    expect_header_error("{'descr': '<f4', 'fortran_order': Falsey, 'shape': (3, 4), }", 48,
                        BP_ERR_PARSE, "'fortran_order' must be True or False");
}

Test(npy, dtypes_other_than_the_four_are_refused)
{
    expect_header_error("{'descr': '|O', 'fortran_order': False, 'shape': (3,), }", 24,
                        BP_ERR_PARSE, "'|O' is an object array");
    expect_header_error("{'descr': '<f2', 'fortran_order': False, 'shape': (3,), }", 6,
                        BP_ERR_PARSE,
                        "dtype '<f2' is not supported (bptt reads '<f4', '<f8', '<i4', '<i8')");
    expect_header_error("{'descr': '|u1', 'fortran_order': False, 'shape': (3,), }", 3,
                        BP_ERR_PARSE, "dtype '|u1' is not supported");
    expect_header_error("{'descr': '<U10', 'fortran_order': False, 'shape': (3,), }", 120,
                        BP_ERR_PARSE, "dtype '<U10' is not supported");
    expect_header_error("{'descr': '>f4', 'fortran_order': False, 'shape': (3,), }", 12,
                        BP_ERR_PARSE, "'>f4' is big-endian; bptt reads little-endian");
    expect_header_error("{'descr': '>i8', 'fortran_order': False, 'shape': (3,), }", 24,
                        BP_ERR_PARSE, "astype('<i8')");
    expect_header_error("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (3,), }",
                        12, BP_ERR_PARSE, "structured dtypes are not supported");
    expect_header_error("{'descr': 5, 'fortran_order': False, 'shape': (3,), }", 12,
                        BP_ERR_PARSE, "'descr' must be a string");
}

Test(npy, bad_magic_and_versions)
{
    img[0] = 'N';
    memcpy(img, "NUMPY\x01\x00", 7);
    expect_parse_error(7, BP_ERR_PARSE, "not a .npy file");
    expect_parse_error(0, BP_ERR_PARSE, "not a .npy file");
    size_t n = make_npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", false,
                        4);
    expect_parse_error(7, BP_ERR_PARSE, "ends inside the version");
    expect_parse_error(9, BP_ERR_PARSE, "ends inside the header length");
    img[6] = 4;
    expect_parse_error(n, BP_ERR_PARSE, "format version 4.0 is not supported");
    img[6] = 1;
    img[7] = 1;
    expect_parse_error(n, BP_ERR_PARSE, "format version 1.1 is not supported");
    img[7] = 0;
    expect_parse_error(50, BP_ERR_PARSE, "truncated: the header length is 118 bytes but only 40");
}

Test(npy, headers_that_are_not_the_dict)
{
    expect_header_error("[1, 2]", 0, BP_ERR_PARSE,
                        "header is not a valid Python dict literal: expected '{'");
    expect_header_error("", 0, BP_ERR_PARSE, "expected '{'");
    expect_header_error("{'descr': '<f4', 'fortran_order': False, 'shape': (3,)", 12,
                        BP_ERR_PARSE, "expected ',' or '}'");
    expect_header_error("{'descr': '<f4' 'fortran_order': False, 'shape': (3,)}", 12,
                        BP_ERR_PARSE, "expected ',' or '}'");
    expect_header_error("{'descr': '<f4', 'fortran_order': False, 'shape': (3,)} x", 12,
                        BP_ERR_PARSE, "text after the dictionary");
    expect_header_error("{'descr' '<f4', 'fortran_order': False, 'shape': (3,)}", 12,
                        BP_ERR_PARSE, "expected ':' after a key");
    expect_header_error("{'descr': '<f4, 'fortran_order': False, 'shape': (3,)}", 12,
                        BP_ERR_PARSE, "expected ',' or '}'");
    expect_header_error("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), 'x': 1}", 12,
                        BP_ERR_PARSE,
                        "unknown key 'x' (a .npy header has exactly descr, fortran_order, shape)");
    expect_header_error("{'descr': '<f4', 'shape': (3,)}", 12, BP_ERR_PARSE,
                        "header has no key 'fortran_order'");
    expect_header_error("{'descr': '<f4', 'fortran_order': False, 'descr': '<f8', 'shape': (3,)}",
                        12, BP_ERR_PARSE, "header has the key 'descr' twice");
    expect_header_error("{'de\\x73cr': '<f4', 'fortran_order': False, 'shape': (3,)}", 12,
                        BP_ERR_PARSE, "a backslash escape");
    expect_header_error("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), 3: 4}", 12,
                        BP_ERR_PARSE, "expected a quoted string at header byte");
    /* a string running to the header's end, not past it */
    expect_parse_error(make_npy(1, "{'descr': '<f4", true, 16), BP_ERR_PARSE,
                       "an unterminated string");
}

Test(npy, shapes_that_are_refused)
{
    expect_header_error("{'descr': '<f4', 'fortran_order': False, 'shape': (5), }", 20,
                        BP_ERR_PARSE, "(5) is not a tuple; a 1-D shape is written (5,)");
    expect_header_error("{'descr': '<f4', 'fortran_order': False, 'shape': [5], }", 20,
                        BP_ERR_PARSE, "'shape' must be a tuple");
    expect_header_error("{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }", 0,
                        BP_ERR_PARSE, "non-negative integers");
    expect_header_error("{'descr': '<f4', 'fortran_order': False, 'shape': (03,), }", 12,
                        BP_ERR_PARSE, "leading zero");
    expect_header_error("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2, 3, 4, 5), }",
                        480, BP_ERR_PARSE, "more than 4 dimensions");
    expect_header_error("{'descr': '<f4', 'fortran_order': False, 'shape': (3000000000,), }", 0,
                        BP_ERR_VALUE, "dimension 3000000000 is too large");
    expect_header_error(
        "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999999,), }", 0,
        BP_ERR_VALUE, "is too large");
    expect_header_error("{'descr': '<f8', 'fortran_order': False, 'shape': (65536, 65536, 2), }",
                        0, BP_ERR_VALUE, "more than 2^31 elements");
    expect_header_error("{'descr': '<f4', 'fortran_order': False, 'shape': (3 4), }", 48,
                        BP_ERR_PARSE, "expected ',' or ')' in the shape");
    /* Python 2 longs were written only by format 1.0 and 2.0 */
    expect_parse_error(make_npy(3, "{'descr': '<i8', 'fortran_order': False, 'shape': (3L,), }",
                                false, 24),
                       BP_ERR_PARSE, "expected ',' or ')' in the shape");
}

Test(npy, data_that_does_not_match_the_shape)
{
    expect_header_error("{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }", 40,
                        BP_ERR_PARSE,
                        "truncated: shape (3, 4) of '<f4' needs 48 data bytes, the file has 40");
    expect_header_error("{'descr': '<f8', 'fortran_order': False, 'shape': (), }", 0,
                        BP_ERR_PARSE, "needs 8 data bytes, the file has 0");
    expect_header_error("{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }", 49,
                        BP_ERR_PARSE, "1 bytes after the data (shape (3, 4) of '<f4' needs 48");
    expect_header_error("{'descr': '<f4', 'fortran_order': False, 'shape': (0,), }", 4,
                        BP_ERR_PARSE, "4 bytes after the data");
}

Test(npy, a_null_path_and_a_null_error)
{
    size_t n = make_npy(1, "{'descr': '<f4'}", true, 0);
    bp_array a;
    bp_error err = {0};
    cr_expect_eq(bp_npy_parse(img, n, NULL, &a, &err), BP_ERR_PARSE);
    cr_expect(strncmp(err.msg, "npy: ", 5) == 0, "%s", err.msg);
    cr_expect_eq(bp_npy_parse(img, n, "x.npy", &a, NULL), BP_ERR_PARSE);
}

Test(npy, elements_as_doubles)
{
    unsigned char b[8];
    int64_t big = ((int64_t)1 << 53) + 1;
    memcpy(b, &big, 8);
    bp_array a = {BP_DTYPE_I64, bp_shape1(1), 1, b};
    cr_expect_eq(bp_array_get(&a, 0), 9007199254740992.0); /* 2^53 + 1 rounds to 2^53 */
    int32_t neg[2] = {-7, INT32_MIN};
    bp_array i32 = {BP_DTYPE_I32, bp_shape1(2), 2, (const unsigned char *)neg};
    cr_expect_eq(bp_array_get(&i32, 0), -7.0);
    cr_expect_eq(bp_array_get(&i32, 1), -2147483648.0);
    /* unaligned data reads the same */
    unsigned char u[9];
    float f = -1.25f;
    memcpy(u + 1, &f, 4);
    bp_array f32 = {BP_DTYPE_F32, bp_shape1(1), 1, u + 1};
    cr_expect_eq(bp_array_get(&f32, 0), -1.25);
}

/* ---------------------------------------------------------------- files */

Test(npy, files_that_are_not_regular_files_are_refused_at_once)
{
    const char *fifo = tpath("fifo.npy");
    cr_assert_eq(mkfifo(fifo, 0600), 0, "%s", strerror(errno));
    expect_open_error(fifo, BP_ERR_IO, "not a regular file"); /* no writer: must not block */
    expect_open_error("/dev/null", BP_ERR_IO, "/dev/null: not a regular file");
    expect_open_error(tmpdir, BP_ERR_IO, "is a directory");
    expect_open_error(tpath("missing.npy"), BP_ERR_IO, "cannot open: No such file or directory");
    const char *empty = tpath("empty.npy");
    write_bytes(empty, "", 0);
    expect_open_error(empty, BP_ERR_PARSE, "not a .npy file");
    size_t n = make_npy(1, "{'descr': '<f4', 'fortran_order': True, 'shape': (3, 4), }", false,
                        48);
    const char *ft = tpath("fortran.npy");
    write_bytes(ft, img, n);
    expect_open_error(ft, BP_ERR_PARSE, "fortran_order is True; bptt reads C order");
    bp_npy_close(NULL);
}

Test(npy, save_refuses_what_it_must_not_replace)
{
    float x[3] = {1, 2, 3};
    bp_error err = {0};
    const char *fifo = tpath("out.fifo");
    cr_assert_eq(mkfifo(fifo, 0600), 0);
    cr_expect_eq(bp_npy_save(fifo, BP_DTYPE_F32, bp_shape1(3), x, &err), BP_ERR_IO);
    cr_expect(strstr(err.msg, "exists and is not a regular file"), "%s", err.msg);
    struct stat st;
    cr_expect(stat(fifo, &st) == 0 && S_ISFIFO(st.st_mode), "the FIFO was replaced");
    cr_expect_eq(bp_npy_save(tmpdir, BP_DTYPE_F32, bp_shape1(3), x, &err), BP_ERR_IO);
    cr_expect(strstr(err.msg, "not a regular file"), "%s", err.msg);
    cr_expect_eq(bp_npy_save(tpath("nodir/x.npy"), BP_DTYPE_F32, bp_shape1(3), x, &err),
                 BP_ERR_IO);
    cr_expect(strstr(err.msg, "nodir/x.npy: cannot write: No such file or directory"), "%s",
              err.msg);
    cr_expect_eq(bp_npy_save(tpath("a.npy"), BP_DTYPE_F32, (bp_shape){5, {1, 1, 1, 1}}, x, &err),
                 BP_ERR_SHAPE);
    cr_expect_eq(bp_npy_save(tpath("a.npy"), BP_DTYPE_F32, bp_shape2(3, -1), x, &err),
                 BP_ERR_SHAPE);
    cr_expect_eq(bp_npy_save(tpath("a.npy"), (bp_dtype)9, bp_shape1(3), x, &err), BP_ERR_VALUE);
    cr_expect_eq(bp_npy_save(tpath("a.npy"), BP_DTYPE_F32, bp_shape1(3), NULL, &err),
                 BP_ERR_VALUE);
    cr_expect_eq(access(tpath("a.npy"), F_OK), -1, "a refused save wrote a file");
    /* an existing file is replaced and keeps its mode */
    const char *p = tpath("keep.npy");
    write_bytes(p, "old", 3);
    chmod(p, 0600);
    cr_assert_eq(bp_npy_save(p, BP_DTYPE_F32, bp_shape1(3), x, &err), BP_OK, "%s", err.msg);
    cr_expect(stat(p, &st) == 0 && (st.st_mode & 0777) == 0600);
    cr_expect_eq(st.st_size, 128 + 12);
    /* a relative path in the current directory */
    cr_assert_eq(chdir(tmpdir), 0);
    cr_assert_eq(bp_npy_save("rel.npy", BP_DTYPE_I32, bp_shape1(0), NULL, &err), BP_OK, "%s",
                 err.msg);
    cr_expect_eq(access(tpath("rel.npy"), F_OK), 0);
}

/* ---------------------------------------------------------------- mapped files */

Test(mapped_file, maps_the_bytes_and_an_empty_file)
{
    const char *p = tpath("m.bin");
    write_bytes(p, "hello", 5);
    bp_error err = {0};
    bp_mapped_file *m = bp_map_file(p, &err);
    cr_assert_not_null(m, "%s", err.msg);
    cr_expect_eq(bp_mapped_size(m), 5);
    cr_expect_eq(memcmp(bp_mapped_data(m), "hello", 5), 0);
    cr_expect_str_eq(bp_mapped_path(m), p);
    bp_unmap_file(m);
    const char *e = tpath("e.bin");
    write_bytes(e, "", 0);
    m = bp_map_file(e, &err);
    cr_assert_not_null(m, "%s", err.msg);
    cr_expect_eq(bp_mapped_size(m), 0);
    cr_expect_not_null(bp_mapped_data(m));
    bp_unmap_file(m);
    bp_unmap_file(NULL);
    cr_expect_null(bp_map_file("/dev/zero", &err));
    cr_expect_str_eq(err.msg, "/dev/zero: not a regular file (a character device)");
    cr_expect_null(bp_map_file(tmpdir, NULL));
}
