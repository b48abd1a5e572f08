/* test_st_map.c — safetensors files mapped rather than read: bp_st_map gives the same
 * tensors, values and metadata as bp_st_load and the same errors for broken files;
 * bp_st_array hands out a tensor in place with its dtype, shape and exact bytes. */
#include "bptt_arrays.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmpdir[64];

static void make_tmpdir(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/bptt-stmap-XXXXXX");
    cr_assert_not_null(mkdtemp(tmpdir));
}

static void drop_tmpdir(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0)
        cr_log_warn("could not remove %s", tmpdir);
}

TestSuite(st_map, .init = make_tmpdir, .fini = drop_tmpdir, .timeout = 30);

static const char *tpath(const char *name)
{
    static char buf[4][256];
    static int k;
    char *p = buf[k++ % 4];
    snprintf(p, 256, "%s/%s", tmpdir, name);
    return p;
}

static bp_real W[6] = {1, -2, 3.25, 4, 5e-3, -6};
static bp_real ids[4] = {0, 3, -7, 2};
static const int64_t big[2] = {((int64_t)1 << 60) + 1, -3};

static void save_file(const char *path)
{
    bp_error err = {0};
    bp_st_writer *w = bp_st_writer_new();
    cr_assert_eq(bp_st_writer_add(w, "W", BP_DTYPE_F64, bp_shape2(2, 3), W, &err), BP_OK);
    cr_assert_eq(bp_st_writer_add(w, "W32", BP_DTYPE_F32, (bp_shape){3, {1, 2, 3}}, W, &err),
                 BP_OK);
    cr_assert_eq(bp_st_writer_add(w, "ids", BP_DTYPE_I32, bp_shape1(4), ids, &err), BP_OK);
    cr_assert_eq(bp_st_writer_add_raw(w, "rng", BP_DTYPE_I64, bp_shape1(2), big, &err), BP_OK);
    cr_assert_eq(bp_st_writer_add(w, "none", BP_DTYPE_F32, bp_shape2(0, 4), NULL, &err), BP_OK);
    cr_assert_eq(bp_st_writer_meta(w, "step", "12", &err), BP_OK);
    cr_assert_eq(bp_st_writer_save(w, path, &err), BP_OK, "%s", err.msg);
    bp_st_writer_free(w);
}

Test(st_map, map_reads_what_load_reads)
{
    const char *p = tpath("a.safetensors");
    save_file(p);
    bp_error err = {0};
    bp_st_file *l = bp_st_load(p, &err), *m = bp_st_map(p, &err);
    cr_assert_not_null(l, "%s", err.msg);
    cr_assert_not_null(m, "%s", err.msg);
    cr_assert_eq(bp_st_count(m), bp_st_count(l));
    cr_expect_str_eq(bp_st_path(m), p);
    cr_expect_str_eq(bp_st_meta(m, "step"), "12");
    for (int i = 0; i < bp_st_count(l); i++) {
        const bp_st_info *a = bp_st_at(l, i), *b = bp_st_at(m, i);
        cr_expect_str_eq(a->name, b->name);
        cr_expect_eq(a->dtype, b->dtype);
        cr_expect(bp_shape_eq(a->shape, b->shape));
        bp_real va[8] = {0}, vb[8] = {0};
        bp_st_read_at(l, i, va);
        bp_st_read_at(m, i, vb);
        cr_expect_arr_eq(va, vb, sizeof va, "%s", a->name);
        bp_array x, y;
        cr_assert_eq(bp_st_array(l, a->name, &x, &err), BP_OK, "%s", err.msg);
        cr_assert_eq(bp_st_array(m, a->name, &y, &err), BP_OK, "%s", err.msg);
        cr_expect_eq(x.size, y.size);
        cr_expect_eq(memcmp(x.data, y.data, x.size * bp_dtype_size(x.dtype)), 0);
    }
    bp_real back[6];
    cr_assert_eq(bp_st_read(m, "W", bp_shape2(2, 3), back, &err), BP_OK, "%s", err.msg);
    cr_expect_arr_eq(back, W, sizeof W);
    int64_t r[2];
    cr_assert_eq(bp_st_read_raw(m, "rng", BP_DTYPE_I64, bp_shape1(2), r, &err), BP_OK);
    cr_expect_arr_eq(r, big, sizeof r);
    bp_st_free(l);
    bp_st_free(m);
}

Test(st_map, array_gives_dtype_shape_and_bytes_in_place)
{
    const char *p = tpath("b.safetensors");
    save_file(p);
    bp_error err = {0};
    bp_st_file *m = bp_st_map(p, &err);
    cr_assert_not_null(m, "%s", err.msg);
    bp_array a;
    cr_assert_eq(bp_st_array(m, "W32", &a, &err), BP_OK, "%s", err.msg);
    cr_expect_eq(a.dtype, BP_DTYPE_F32);
    cr_expect(bp_shape_eq(a.shape, (bp_shape){3, {1, 2, 3}}));
    cr_expect_eq(a.size, 6);
    for (size_t i = 0; i < 6; i++) {
        float f;
        memcpy(&f, a.data + 4 * i, 4); /* a little-endian host */
        cr_expect_eq(f, (float)W[i]);
        cr_expect_eq(bp_array_get(&a, i), (double)(float)W[i]);
    }
    cr_assert_eq(bp_st_array(m, "ids", &a, &err), BP_OK);
    cr_expect_eq(a.dtype, BP_DTYPE_I32);
    cr_expect_eq(bp_array_get(&a, 2), -7.0);
    cr_assert_eq(bp_st_array(m, "rng", &a, &err), BP_OK);
    int64_t r;
    memcpy(&r, a.data, 8);
    cr_expect_eq(r, big[0]);
    cr_assert_eq(bp_st_array(m, "none", &a, &err), BP_OK);
    cr_expect_eq(a.size, 0);
    cr_expect_not_null(a.data);
    cr_assert_eq(bp_st_array(m, "W", &a, &err), BP_OK);
    cr_expect_eq(a.dtype, BP_DTYPE_F64);
    double d;
    memcpy(&d, a.data, 8);
    cr_expect_eq(d, W[0]);
    cr_expect_eq(bp_st_array(m, "W_h", &a, &err), BP_ERR_NAME);
    cr_expect(strstr(err.msg, p) && strstr(err.msg, "no tensor 'W_h'") && strstr(err.msg, "W32"),
              "%s", err.msg);
    bp_st_free(m);
}

Test(st_map, broken_files_fail_as_with_load)
{
    const char *p = tpath("c.safetensors");
    save_file(p);
    struct stat st;
    cr_assert_eq(stat(p, &st), 0);
    cr_assert_eq(truncate(p, st.st_size - 3), 0);
    bp_error e1 = {0}, e2 = {0};
    cr_expect_null(bp_st_load(p, &e1));
    cr_expect_null(bp_st_map(p, &e2));
    cr_expect_str_eq(e2.msg, e1.msg);
    cr_expect_eq(e2.status, e1.status);
    const char *tiny = tpath("tiny.safetensors"), *huge = tpath("huge.safetensors");
    FILE *fp = fopen(tiny, "wb");
    fwrite("abc", 1, 3, fp);
    fclose(fp);
    fp = fopen(huge, "wb");
    fwrite("\xff\xff\xff\xff\x00\x00\x00\x00{}", 1, 10, fp);
    fclose(fp);
    const char *both[] = {tiny, huge};
    for (int i = 0; i < 2; i++) {
        cr_expect_null(bp_st_load(both[i], &e1));
        cr_expect_null(bp_st_map(both[i], &e2));
        cr_expect_str_eq(e2.msg, e1.msg);
    }
    const char *fifo = tpath("f.safetensors");
    cr_assert_eq(mkfifo(fifo, 0600), 0);
    cr_expect_null(bp_st_map(fifo, &e2));
    cr_expect_eq(e2.status, BP_ERR_IO);
    cr_expect(strstr(e2.msg, "not a regular file"), "%s", e2.msg);
    cr_expect_null(bp_st_map("/dev/null", NULL));
    cr_expect_null(bp_st_map(tpath("missing"), &e2));
    cr_expect(strstr(e2.msg, "cannot open"), "%s", e2.msg);
}
