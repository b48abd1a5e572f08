/* test_safetensors.c — checkpoints and batch files: round trips, the exact byte
 * layout, atomic writes that fail without harming the old file, and hostile
 * files (truncated, corrupt headers, bad offsets, overlaps, wrong dtypes) that
 * must give a clear error, never a crash. Inputs live in a mkdtemp directory. */
#include "bptt_safetensors.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---------------------------------------------------------------- helpers */

static char tmpdir[256];

static void make_tmpdir(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/bptt-st-XXXXXX");
    cr_assert_not_null(mkdtemp(tmpdir));
}

static void rm_rf(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return;
    if (S_ISDIR(st.st_mode)) {
        chmod(path, 0700);
        DIR *d = opendir(path);
        struct dirent *e;
        while (d && (e = readdir(d))) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
                continue;
            char sub[1024];
            snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
            rm_rf(sub);
        }
        if (d)
            closedir(d);
        rmdir(path);
    } else
        unlink(path);
}

static void drop_tmpdir(void)
{
    rm_rf(tmpdir);
}

TestSuite(safetensors, .init = make_tmpdir, .fini = drop_tmpdir);
TestSuite(batch_file, .init = make_tmpdir, .fini = drop_tmpdir);

static char *tpath(const char *name)
{
    static char buf[4][512];
    static int k;
    char *p = buf[k++ % 4];
    snprintf(p, 512, "%s/%s", tmpdir, name);
    return p;
}

static void write_bytes(const char *path, const void *data, size_t n)
{
    FILE *fp = fopen(path, "wb");
    cr_assert_not_null(fp, "%s: %s", path, strerror(errno));
    cr_assert_eq(fwrite(data, 1, n, fp), n);
    cr_assert_eq(fclose(fp), 0);
}

static unsigned char *read_bytes(const char *path, size_t *n)
{
    FILE *fp = fopen(path, "rb");
    cr_assert_not_null(fp, "%s: %s", path, strerror(errno));
    fseek(fp, 0, SEEK_END);
    long sz = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    unsigned char *b = malloc((size_t)sz + 1);
    cr_assert_eq(fread(b, 1, (size_t)sz, fp), (size_t)sz);
    fclose(fp);
    *n = (size_t)sz;
    return b;
}

/* A file with the given header text (length as given, little-endian) and
 * data_len bytes of data (0x11 each). */
static void write_st(const char *path, const char *header, size_t data_len)
{
    size_t hl = strlen(header);
    unsigned char *b = calloc(1, 8 + hl + data_len + 1);
    for (int i = 0; i < 8; i++)
        b[i] = (unsigned char)((uint64_t)hl >> (8 * i));
    memcpy(b + 8, header, hl);
    memset(b + 8 + hl, 0x11, data_len);
    write_bytes(path, b, 8 + hl + data_len);
    free(b);
}

/* Load must fail with status st and a message that names the file and
 * contains want. */
static void expect_load_error(const char *path, bp_status st, const char *want)
{
    bp_error err = {0};
    bp_st_file *f = bp_st_load(path, &err);
    cr_assert_null(f, "expected an error containing \"%s\", but %s loaded", want, path);
    cr_expect_eq(err.status, st, "status %s, expected %s: %s", bp_status_name(err.status),
                 bp_status_name(st), err.msg);
    cr_expect(strncmp(err.msg, path, strlen(path)) == 0, "message does not start with the path: %s",
              err.msg);
    cr_expect(strstr(err.msg, want) != NULL, "message \"%s\" lacks \"%s\"", err.msg, want);
}

static void expect_header_error(const char *header, size_t data_len, const char *want)
{
    const char *p = tpath("bad.safetensors");
    write_st(p, header, data_len);
    expect_load_error(p, BP_ERR_PARSE, want);
}

static int count_tmp_files(void)
{
    int n = 0;
    DIR *d = opendir(tmpdir);
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (strstr(e->d_name, ".tmp-"))
            n++;
    if (d)
        closedir(d);
    return n;
}

/* A small checkpoint: three tensors and metadata. */
static bp_real W[6] = {1, -2, 3.25, 4, 5e-3, -6};
static bp_real bvec[3] = {0.5, 0.25, -0.125};
static bp_real ids[4] = {0, 3, 7, 2};

static void save_small(const char *path)
{
    bp_error err = {0};
    bp_st_writer *w = bp_st_writer_new();
    cr_assert_eq(bp_st_writer_add(w, "rnn0.W_h", BP_DTYPE_REAL, bp_shape2(2, 3), W, &err), BP_OK,
                 "%s", err.msg);
    cr_assert_eq(bp_st_writer_add(w, "rnn0.b", BP_DTYPE_F32, bp_shape1(3), bvec, &err), BP_OK);
    cr_assert_eq(bp_st_writer_add(w, "ids", BP_DTYPE_I32, bp_shape1(4), ids, &err), BP_OK);
    cr_assert_eq(bp_st_writer_meta(w, "model", "tanh \"adding\"\n", &err), BP_OK);
    cr_assert_eq(bp_st_writer_meta(w, "step", "1200", &err), BP_OK);
    cr_assert_eq(bp_st_writer_save(w, path, &err), BP_OK, "%s", err.msg);
    bp_st_writer_free(w);
}

/* ---------------------------------------------------------------- round trips */

Test(safetensors, round_trip_of_every_dtype_and_rank)
{
    const char *p = tpath("rt.safetensors");
    bp_real a4[2 * 1 * 2 * 3], scalar = 42.5, ints[3] = {-5, 0, 2147483647};
    for (int i = 0; i < 12; i++)
        a4[i] = (bp_real)i / 7;
    int64_t big[2] = {(int64_t)1 << 60 | 1, -3};
    bp_error err = {0};
    bp_st_writer *w = bp_st_writer_new();
    cr_assert_eq(bp_st_writer_add(w, "a4", BP_DTYPE_F64, (bp_shape){4, {2, 1, 2, 3}}, a4, &err),
                 BP_OK);
    cr_assert_eq(bp_st_writer_add(w, "loss", BP_DTYPE_F64, (bp_shape){0, {0}}, &scalar, &err),
                 BP_OK);
    cr_assert_eq(bp_st_writer_add(w, "empty", BP_DTYPE_F32, bp_shape2(0, 5), NULL, &err), BP_OK);
    cr_assert_eq(bp_st_writer_add(w, "i32", BP_DTYPE_I32, bp_shape1(3), ints, &err), BP_OK);
    cr_assert_eq(bp_st_writer_add(w, "i64", BP_DTYPE_I64, bp_shape1(3), ints, &err), BP_OK);
    cr_assert_eq(bp_st_writer_add_raw(w, "rng", BP_DTYPE_I64, bp_shape1(2), big, &err), BP_OK);
    cr_assert_eq(bp_st_writer_save(w, p, &err), BP_OK, "%s", err.msg);
    bp_st_writer_free(w);

    bp_st_file *f = bp_st_load(p, &err);
    cr_assert_not_null(f, "%s", err.msg);
    cr_assert_eq(bp_st_count(f), 6);
    const char *order[] = {"a4", "loss", "empty", "i32", "i64", "rng"};
    for (int i = 0; i < 6; i++)
        cr_expect_str_eq(bp_st_at(f, i)->name, order[i]);
    const bp_st_info *t = bp_st_find(f, "a4");
    cr_assert_not_null(t);
    cr_expect_eq(t->dtype, BP_DTYPE_F64);
    cr_expect(bp_shape_eq(t->shape, (bp_shape){4, {2, 1, 2, 3}}));
    cr_expect_eq(t->size, 12);
    bp_real back[12];
    cr_assert_eq(bp_st_read(f, "a4", (bp_shape){4, {2, 1, 2, 3}}, back, &err), BP_OK, "%s",
                 err.msg);
    cr_expect_arr_eq(back, a4, sizeof a4); /* F64 keeps every bit */
    bp_real s = 0;
    cr_assert_eq(bp_st_read(f, "loss", (bp_shape){0, {0}}, &s, &err), BP_OK, "%s", err.msg);
    cr_expect_eq(s, 42.5);
    cr_expect_eq(bp_st_find(f, "empty")->size, 0);
    bp_real iv[3];
    cr_assert_eq(bp_st_read(f, "i32", bp_shape1(3), iv, &err), BP_OK);
    cr_expect_arr_eq(iv, ints, sizeof ints);
    cr_assert_eq(bp_st_read(f, "i64", bp_shape1(3), iv, &err), BP_OK);
    cr_expect_arr_eq(iv, ints, sizeof ints);
    int64_t big2[2];
    cr_assert_eq(bp_st_read_raw(f, "rng", BP_DTYPE_I64, bp_shape1(2), big2, &err), BP_OK, "%s",
                 err.msg);
    cr_expect_eq(big2[0], big[0]);
    cr_expect_eq(big2[1], big[1]);
    cr_expect_eq(bp_st_read_raw(f, "rng", BP_DTYPE_I32, bp_shape1(2), big2, &err), BP_ERR_PARSE);
    cr_expect(strstr(err.msg, "rng has dtype I64, expected I32"), "%s", err.msg);
    cr_expect_null(bp_st_find(f, "nope"));
    cr_expect_eq(bp_st_meta_count(f), 0);
    bp_st_free(f);
}

Test(safetensors, metadata_round_trip_and_f32_conversion)
{
    const char *p = tpath("small.safetensors");
    save_small(p);
    bp_error err = {0};
    bp_st_file *f = bp_st_load(p, &err);
    cr_assert_not_null(f, "%s", err.msg);
    cr_expect_str_eq(bp_st_path(f), p);
    cr_expect_str_eq(bp_st_meta(f, "model"), "tanh \"adding\"\n");
    cr_expect_str_eq(bp_st_meta(f, "step"), "1200");
    cr_expect_null(bp_st_meta(f, "nope"));
    cr_assert_eq(bp_st_meta_count(f), 2);
    cr_expect_str_eq(bp_st_meta_key(f, 1), "step");
    cr_expect_str_eq(bp_st_meta_value(f, 0), "tanh \"adding\"\n");
    cr_expect_eq(bp_st_find(f, "rnn0.b")->dtype, BP_DTYPE_F32);
    bp_real b[3];
    cr_assert_eq(bp_st_read(f, "rnn0.b", bp_shape1(3), b, &err), BP_OK);
    cr_expect_arr_eq(b, bvec, sizeof b); /* exact in F32 */
    bp_st_free(f);
}

Test(safetensors, byte_layout_matches_the_format)
{
    const char *p = tpath("layout.safetensors");
    float one = 1.0f;
    bp_error err = {0};
    bp_st_writer *w = bp_st_writer_new();
    cr_assert_eq(bp_st_writer_add_raw(w, "a", BP_DTYPE_F32, bp_shape1(1), &one, &err), BP_OK);
    cr_assert_eq(bp_st_writer_meta(w, "k", "v", &err), BP_OK);
    cr_assert_eq(bp_st_writer_save(w, p, &err), BP_OK, "%s", err.msg);
    bp_st_writer_free(w);
    size_t n;
    unsigned char *b = read_bytes(p, &n);
    const char *want = "{\"__metadata__\":{\"k\":\"v\"},"
                       "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}";
    size_t hl = strlen(want);
    while ((8 + hl) % 8)
        hl++; /* padded with spaces */
    cr_assert_eq(n, 8 + hl + 4);
    uint64_t len = 0;
    for (int i = 0; i < 8; i++)
        len |= (uint64_t)b[i] << (8 * i);
    cr_expect_eq(len, hl);
    cr_expect(memcmp(b + 8, want, strlen(want)) == 0, "%.*s", (int)hl, (char *)b + 8);
    for (size_t i = 8 + strlen(want); i < 8 + hl; i++)
        cr_expect_eq(b[i], ' ');
    const unsigned char le_one[4] = {0x00, 0x00, 0x80, 0x3f};
    cr_expect(memcmp(b + 8 + hl, le_one, 4) == 0);
    free(b);
}

Test(safetensors, reads_a_header_written_by_someone_else)
{
    /* key order, whitespace and escapes as another writer might produce them */
    const char *p = tpath("foreign.safetensors");
    write_st(p,
             " { \"b\\u0041\" : { \"shape\" : [ 2 ] , \"data_offsets\" : [ 8 , 16 ], \"dtype\" : "
             "\"I32\" },\n \"__metadata__\": {\"format\": \"pt\", \"\\u00e9t\\u00e9\": "
             "\"\\ud83d\\ude00\"},\"a\":{\"dtype\":\"F64\",\"shape\":[],\"data_offsets\":[0,8]}}\t ",
             16);
    bp_error err = {0};
    bp_st_file *f = bp_st_load(p, &err);
    cr_assert_not_null(f, "%s", err.msg);
    cr_expect_str_eq(bp_st_at(f, 0)->name, "bA");
    cr_expect_str_eq(bp_st_meta(f, "\xc3\xa9t\xc3\xa9"), "\xf0\x9f\x98\x80");
    cr_expect_str_eq(bp_st_meta(f, "format"), "pt");
    bp_real v[2];
    cr_assert_eq(bp_st_read(f, "bA", bp_shape1(2), v, &err), BP_OK);
    cr_expect_eq(v[0], (bp_real)0x11111111);
    bp_st_free(f);
}

/* ---------------------------------------------------------------- lookups and messages */

Test(safetensors, shape_mismatch_and_missing_names_are_clear)
{
    const char *p = tpath("x.safetensors");
    save_small(p);
    bp_error err = {0};
    bp_st_file *f = bp_st_load(p, &err);
    cr_assert_not_null(f);
    bp_real buf[16];
    cr_assert_eq(bp_st_read(f, "rnn0.W_h", bp_shape2(3, 2), buf, &err), BP_ERR_SHAPE);
    char want[600];
    snprintf(want, sizeof want, "%s: rnn0.W_h has shape [2, 3], the model expects [3, 2]", p);
    cr_expect_str_eq(err.msg, want);
    cr_assert_eq(bp_st_read(f, "rnn0.W_x", bp_shape2(2, 3), buf, &err), BP_ERR_NAME);
    snprintf(want, sizeof want,
             "%s: no tensor 'rnn0.W_x' (known: rnn0.W_h, rnn0.b, ids; did you mean 'rnn0.W_h'?)",
             p);
    cr_expect_str_eq(err.msg, want);
    bp_st_free(f);
}

Test(safetensors, writer_rejects_bad_names_shapes_and_values)
{
    bp_error err = {0};
    bp_st_writer *w = bp_st_writer_new();
    bp_real v[2] = {1.5, 2};
    cr_expect_eq(bp_st_writer_add(w, "", BP_DTYPE_F32, bp_shape1(2), v, &err), BP_ERR_NAME);
    cr_expect_eq(bp_st_writer_add(w, "__metadata__", BP_DTYPE_F32, bp_shape1(2), v, &err),
                 BP_ERR_NAME);
    cr_expect_eq(bp_st_writer_add(w, "a\nb", BP_DTYPE_F32, bp_shape1(2), v, &err), BP_ERR_NAME);
    cr_expect_eq(bp_st_writer_add(w, "\xff", BP_DTYPE_F32, bp_shape1(2), v, &err), BP_ERR_NAME);
    cr_expect_eq(bp_st_writer_add(w, "a", BP_DTYPE_F32, (bp_shape){5, {1, 1, 1, 1}}, v, &err),
                 BP_ERR_SHAPE);
    cr_expect_eq(bp_st_writer_add(w, "a", BP_DTYPE_F32, bp_shape1(-1), v, &err), BP_ERR_SHAPE);
    cr_expect_eq(bp_st_writer_add(w, "a", BP_DTYPE_F32, bp_shape1(2), NULL, &err), BP_ERR_VALUE);
    cr_assert_eq(bp_st_writer_add(w, "a", BP_DTYPE_I32, bp_shape1(2), v, &err), BP_OK);
    cr_expect_eq(bp_st_writer_add(w, "a", BP_DTYPE_F32, bp_shape1(2), v, &err), BP_ERR_NAME);
    cr_expect(strstr(err.msg, "'a' added twice"), "%s", err.msg);
    cr_expect_eq(bp_st_writer_meta(w, "k", "\xc3", &err), BP_ERR_VALUE);
    const char *p = tpath("never.safetensors");
    cr_expect_eq(bp_st_writer_save(w, p, &err), BP_ERR_VALUE);
    cr_expect(strstr(err.msg, "'a' element 0 is 1.5, not a whole number that I32 can hold"), "%s",
              err.msg);
    cr_expect_eq(access(p, F_OK), -1, "a failed save created the file");
    cr_expect_eq(count_tmp_files(), 0);
    bp_st_writer_free(w);
}

/* ---------------------------------------------------------------- atomic writes */

static void expect_old_file_intact(const char *p, const unsigned char *old, size_t old_n)
{
    size_t n;
    unsigned char *b = read_bytes(p, &n);
    cr_expect_eq(n, old_n, "the old file changed size");
    cr_expect(n == old_n && memcmp(b, old, n) == 0, "the old file changed");
    free(b);
    bp_error err = {0};
    bp_st_file *f = bp_st_load(p, &err);
    cr_expect_not_null(f, "the old file no longer loads: %s", err.msg);
    bp_st_free(f);
}

static bp_status save_big(const char *path, bp_error *err)
{
    static bp_real big[20000];
    bp_st_writer *w = bp_st_writer_new();
    bp_st_writer_add(w, "big", BP_DTYPE_F64, bp_shape1(20000), big, err);
    bp_status s = bp_st_writer_save(w, path, err);
    bp_st_writer_free(w);
    return s;
}

Test(safetensors, failed_write_past_a_file_size_limit_keeps_the_old_file)
{
    const char *p = tpath("ckpt.safetensors");
    save_small(p);
    size_t old_n;
    unsigned char *old = read_bytes(p, &old_n);
    signal(SIGXFSZ, SIG_IGN); /* write() returns EFBIG instead of killing us */
    struct rlimit saved, lim;
    getrlimit(RLIMIT_FSIZE, &saved);
    lim = saved;
    lim.rlim_cur = 64 * 1024; /* the new file needs 160 kB */
    cr_assert_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
    bp_error err = {0};
    bp_status s = save_big(p, &err);
    setrlimit(RLIMIT_FSIZE, &saved);
    cr_assert_eq(s, BP_ERR_IO);
    char want[600];
    snprintf(want, sizeof want, "%s: cannot write: %s", p, strerror(EFBIG));
    cr_expect_str_eq(err.msg, want);
    expect_old_file_intact(p, old, old_n);
    cr_expect_eq(count_tmp_files(), 0, "the temporary file was left behind");
    free(old);
}

/* Save as an unprivileged user: root ignores directory permissions, so as root
 * the save runs in a child that drops to "nobody" first. */
static bp_status save_big_unprivileged(const char *path, bp_error *err)
{
    if (geteuid() != 0)
        return save_big(path, err);
    int fds[2];
    cr_assert_eq(pipe(fds), 0);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        close(fds[0]);
        bp_error e = {0};
        bp_status s = BP_ERR_VALUE;
        if (setgid(65534) == 0 && setuid(65534) == 0)
            s = save_big(path, &e);
        else
            snprintf(e.msg, sizeof e.msg, "cannot drop privileges");
        if (write(fds[1], &e, sizeof e) != (ssize_t)sizeof e)
            _exit(99);
        _exit((int)s);
    }
    close(fds[1]);
    cr_assert_eq(read(fds[0], err, sizeof *err), (ssize_t)sizeof *err);
    close(fds[0]);
    int st = 0;
    waitpid(pid, &st, 0);
    cr_assert(WIFEXITED(st));
    return (bp_status)WEXITSTATUS(st);
}

Test(safetensors, failed_write_into_a_read_only_directory_keeps_the_old_file)
{
    chmod(tmpdir, 0755); /* mkdtemp made it 0700: let "nobody" reach the subdirectory */
    char dir[512];
    snprintf(dir, sizeof dir, "%s/ro", tmpdir);
    cr_assert_eq(mkdir(dir, 0755), 0);
    char p[600];
    snprintf(p, sizeof p, "%s/ckpt.safetensors", dir);
    save_small(p);
    size_t old_n;
    unsigned char *old = read_bytes(p, &old_n);
    chmod(dir, 0555);
    bp_error err = {0};
    cr_assert_eq(save_big_unprivileged(p, &err), BP_ERR_IO, "%s", err.msg);
    chmod(dir, 0755);
    cr_expect(strstr(err.msg, p) == err.msg, "%s", err.msg);
    cr_expect(strstr(err.msg, strerror(EACCES)), "%s", err.msg);
    expect_old_file_intact(p, old, old_n);
    free(old);
}

Test(safetensors, writes_into_a_missing_directory_or_onto_a_directory_fail_cleanly)
{
    bp_error err = {0};
    const char *p = tpath("no/such/dir/ckpt.safetensors");
    cr_assert_eq(save_big(p, &err), BP_ERR_IO);
    char want[700];
    snprintf(want, sizeof want, "%s: cannot write (creating a temporary file in %s/no/such/dir): %s",
             p, tmpdir, strerror(ENOENT));
    cr_expect_str_eq(err.msg, want);
    const char *d = tpath("adir");
    cr_assert_eq(mkdir(d, 0755), 0);
    cr_assert_eq(save_big(d, &err), BP_ERR_IO);
    cr_expect(strstr(err.msg, "cannot write"), "%s", err.msg);
    struct stat st;
    cr_expect(stat(d, &st) == 0 && S_ISDIR(st.st_mode), "the directory was replaced");
    cr_expect_eq(count_tmp_files(), 0);
    /* a relative path in the current directory works too */
    char cwd[512];
    cr_assert_not_null(getcwd(cwd, sizeof cwd));
    cr_assert_eq(chdir(tmpdir), 0);
    cr_expect_eq(save_big("rel.safetensors", &err), BP_OK, "%s", err.msg);
    cr_assert_eq(chdir(cwd), 0);
    cr_expect_eq(access(tpath("rel.safetensors"), F_OK), 0);
}

Test(safetensors, overwrite_replaces_and_keeps_the_mode)
{
    const char *p = tpath("m.safetensors");
    save_small(p);
    chmod(p, 0600);
    bp_error err = {0};
    cr_assert_eq(save_big(p, &err), BP_OK, "%s", err.msg);
    struct stat st;
    cr_assert_eq(stat(p, &st), 0);
    cr_expect_eq(st.st_mode & 0777, 0600);
    bp_st_file *f = bp_st_load(p, &err);
    cr_assert_not_null(f);
    cr_expect_not_null(bp_st_find(f, "big"));
    bp_st_free(f);
}

/* ---------------------------------------------------------------- hostile files */

Test(safetensors, every_truncation_is_an_error)
{
    const char *p = tpath("full.safetensors");
    save_small(p);
    size_t n;
    unsigned char *b = read_bytes(p, &n);
    const char *q = tpath("cut.safetensors");
    for (size_t cut = 0; cut < n; cut++) {
        write_bytes(q, b, cut);
        bp_error err = {0};
        bp_st_file *f = bp_st_load(q, &err);
        cr_assert_null(f, "a file cut to %zu of %zu bytes loaded", cut, n);
        cr_assert_eq(err.status, BP_ERR_PARSE, "cut %zu: %s", cut, err.msg);
        cr_assert(strncmp(err.msg, q, strlen(q)) == 0, "%s", err.msg);
    }
    write_bytes(q, b, 20);
    expect_load_error(q, BP_ERR_PARSE, "truncated or corrupt: the header length is");
    free(b);
}

Test(safetensors, random_corruption_never_crashes)
{
    const char *p = tpath("full.safetensors");
    save_small(p);
    size_t n;
    unsigned char *b = read_bytes(p, &n);
    unsigned char *m = malloc(n + 16);
    const char *q = tpath("mut.safetensors");
    bp_rng rng;
    bp_rng_seed(&rng, 7);
    int loaded = 0;
    for (int k = 0; k < 1500; k++) {
        memcpy(m, b, n);
        int flips = 1 + (int)bp_rng_below(&rng, 3);
        for (int j = 0; j < flips; j++) {
            size_t at = bp_rng_below(&rng, (uint32_t)n);
            m[at] = (unsigned char)bp_rng_below(&rng, 256);
        }
        write_bytes(q, m, n);
        bp_error err = {0};
        bp_st_file *f = bp_st_load(q, &err);
        if (f) { /* only data bytes or harmless header bytes changed: it must read */
            loaded++;
            for (int i = 0; i < bp_st_count(f); i++) {
                const bp_st_info *t = bp_st_at(f, i);
                bp_real *v = malloc((t->size + 1) * sizeof *v);
                bp_st_read_at(f, i, v);
                free(v);
            }
            bp_st_free(f);
        } else
            cr_assert(err.msg[0] != '\0');
    }
    cr_expect_gt(loaded, 0);
    free(m);
    free(b);
}

Test(safetensors, missing_empty_short_and_directory_files)
{
    char want[600];
    const char *p = tpath("missing.safetensors");
    snprintf(want, sizeof want, "cannot open: %s", strerror(ENOENT));
    expect_load_error(p, BP_ERR_IO, want);
    p = tpath("empty.safetensors");
    write_bytes(p, "", 0);
    expect_load_error(p, BP_ERR_PARSE, "file is 0 bytes, too short for a safetensors file");
    p = tpath("short.safetensors");
    write_bytes(p, "\x02\0\0", 3);
    expect_load_error(p, BP_ERR_PARSE, "file is 3 bytes");
    expect_load_error(tmpdir, BP_ERR_IO, "is a directory");
}

Test(safetensors, huge_header_lengths_are_refused_before_reading)
{
    const char *p = tpath("huge.safetensors");
    unsigned char b[16] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, '{', '}'};
    write_bytes(p, b, 16);
    expect_load_error(p, BP_ERR_PARSE,
                      "header length 9223372036854775807 is larger than the limit of 100000000");
    unsigned char c[16] = {0x00, 0xe1, 0xf5, 0x05, 0, 0, 0, 0, '{', '}'}; /* exactly 1e8 */
    write_bytes(p, c, 16);
    expect_load_error(p, BP_ERR_PARSE,
                      "truncated or corrupt: the header length is 100000000 bytes but only 8 "
                      "bytes follow it");
}

Test(safetensors, corrupt_headers_name_the_problem)
{
    expect_header_error("{\"a\":", 0, "header is not valid JSON: byte 5: unexpected end");
    expect_header_error("[]", 0, "header is an array, not a JSON object");
    expect_header_error("{} x", 0, "byte 3: unexpected text after the value");
    expect_header_error("{'a':1}", 0, "byte 1: expected a string key");
    expect_header_error("{\"a\":01}", 0, "leading zero");
    expect_header_error("{\"a\":\"\\ud800\"}", 0, "lone high surrogate");
    expect_header_error("{\"a\":\"\xff\"}", 0, "invalid UTF-8 in a string");
    expect_header_error("{\"a\":\"x\ny\"}", 0, "control character inside a string");
    expect_header_error("{\"a\":1}", 0, "tensor 'a': its entry is a number, not an object");
    expect_header_error("{\"a\":{\"dtype\":\"BF16\",\"shape\":[1],\"data_offsets\":[0,2]}}", 2,
                        "tensor 'a': dtype 'BF16' is not supported (bptt reads F32, F64, I32, I64)");
    expect_header_error("{\"a\":{\"dtype\":32,\"shape\":[1],\"data_offsets\":[0,4]}}", 4,
                        "tensor 'a': dtype is a number, not a string");
    expect_header_error("{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 4,
                        "tensor 'a': shape must hold non-negative integers");
    expect_header_error("{\"a\":{\"dtype\":\"F32\",\"shape\":[1.0],\"data_offsets\":[0,4]}}", 4,
                        "tensor 'a': shape must hold non-negative integers");
    expect_header_error("{\"a\":{\"dtype\":\"F32\",\"shape\":{},\"data_offsets\":[0,4]}}", 4,
                        "tensor 'a': shape is an object, not an array");
    expect_header_error(
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1],\"data_offsets\":[0,4]}}", 4,
        "tensor 'a': shape has more than 4 entries");
    expect_header_error("{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296],\"data_offsets\":[0,4]}}",
                        4, "tensor 'a': shape entry 4294967296 is too large (at most 2147483647)");
    expect_header_error("{\"a\":{\"dtype\":\"F32\",\"shape\":[99999999999999999999],"
                        "\"data_offsets\":[0,4]}}",
                        4, "tensor 'a': shape must hold non-negative integers");
    expect_header_error("{\"a\":{\"dtype\":\"F32\",\"shape\":[2147483647,2147483647,2147483647,"
                        "2147483647],\"data_offsets\":[0,4]}}",
                        4, "tensor 'a': shape has more than 2147483648 elements");
    expect_header_error("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,0]}}", 4,
                        "tensor 'a': data_offsets [4, 0] end before they begin");
    expect_header_error("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}}", 4,
                        "tensor 'a': data_offsets must be [begin, end]");
    expect_header_error("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,1,2]}}", 4,
                        "tensor 'a': data_offsets has more than 2 entries");
    expect_header_error("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,8]}}", 4,
                        "tensor 'a': data_offsets [0, 8] run past the end of the data (4 bytes; "
                        "truncated file?)");
    expect_header_error("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,"
                        "18446744073709551615]}}",
                        4, "run past the end of the data");
    expect_header_error("{\"a\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4,
                        "tensor 'a': data_offsets [0, 4] span 4 bytes, but F64 [1] needs 8");
    expect_header_error("{\"a\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4,
                        "tensor 'a': missing field data_offsets");
    expect_header_error("{\"a\":{\"dtype\":\"F32\",\"dtype\":\"F32\",\"shape\":[1],"
                        "\"data_offsets\":[0,4]}}",
                        4, "tensor 'a': field dtype appears twice");
    expect_header_error("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],"
                        "\"strides\":[1]}}",
                        4, "tensor 'a': unknown field 'strides'");
    expect_header_error("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                        "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
                        8, "header: tensor 'a' appears twice");
    expect_header_error("{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},"
                        "\"b\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[8,24]}}",
                        24, "tensors 'a' and 'b' overlap (data_offsets [0, 16] and [8, 24])");
    expect_header_error("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                        "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[16,24]}}",
                        24, "data bytes [8, 16) before tensor 'b' belong to no tensor");
    expect_header_error("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 12,
                        "data bytes [4, 12) after the last tensor belong to no tensor");
    expect_header_error("{\"\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4,
                        "header: a tensor name is empty");
    expect_header_error("{\"a\\u0000b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}",
                        4, "header: a tensor name contains a NUL character");
    expect_header_error("{\"a\\u001bb\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}",
                        4, "header: a tensor name contains a control character");
    expect_header_error("{\"__metadata__\":[]}", 0, "header: __metadata__ is an array, not an object");
    expect_header_error("{\"__metadata__\":{\"step\":12}}", 0,
                        "header: __metadata__ 'step' is a number; metadata values must be strings");
    expect_header_error("{\"__metadata__\":{\"k\":\"a\",\"k\":\"b\"}}", 0,
                        "header: __metadata__ has key 'k' twice");
    expect_header_error("{\"__metadata__\":{},\"__metadata__\":{}}", 0,
                        "header: __metadata__ appears twice");
    expect_header_error("{\"__metadata__\":{\"k\":[[[[[[[[[[[]]]]]]]]]]}}", 0, "nested too deeply");
}

Test(safetensors, deep_nesting_fails_without_recursing_deeply)
{
    size_t n = 1000000;
    char *h = malloc(2 * n + 1);
    memset(h, '[', n);
    memset(h + n, ']', n);
    h[2 * n] = '\0';
    expect_header_error(h, 0, "byte 8: nested too deeply");
    free(h);
}

/* ---------------------------------------------------------------- batch files */

Test(batch_file, round_trip_of_values_tokens_and_class_targets)
{
    bp_error err = {0};
    struct {
        bool tokens;
        bp_target_kind target;
        int O;
    } cases[] = {{false, BP_TARGET_VALUES, 2}, {true, BP_TARGET_CLASS_SEQ, 11},
                 {false, BP_TARGET_CLASS_LAST, 5}};
    for (int c = 0; c < 3; c++) {
        bp_batch *b = bp_batch_new(3, 4, 2, cases[c].tokens, cases[c].target, cases[c].O, &err);
        cr_assert_not_null(b, "%s", err.msg);
        for (size_t i = 0; i < (size_t)b->B * b->T * b->F; i++)
            b->x[i] = cases[c].tokens ? (bp_real)(i % 9) : (bp_real)i * 0.25f - 1;
        for (size_t i = 0; i < bp_batch_y_size(b); i++)
            b->y[i] = cases[c].target == BP_TARGET_VALUES ? (bp_real)i / 8 : (bp_real)(i % 4);
        const char *p = tpath("batch.safetensors");
        cr_assert_eq(bp_batch_save(p, b, &err), BP_OK, "%s", err.msg);
        bp_batch *r = bp_batch_load(p, &err);
        cr_assert_not_null(r, "case %d: %s", c, err.msg);
        cr_expect_eq(r->B, b->B);
        cr_expect_eq(r->T, b->T);
        cr_expect_eq(r->F, b->F);
        cr_expect_eq(r->tokens, b->tokens);
        cr_expect_eq(r->target, b->target);
        cr_expect_eq(r->O, b->O, "case %d: O %d, expected %d", c, r->O, b->O);
        cr_expect_arr_eq(r->x, b->x, (size_t)b->B * b->T * b->F * sizeof(bp_real));
        cr_expect_arr_eq(r->y, b->y, bp_batch_y_size(b) * sizeof(bp_real));
        bp_st_file *f = bp_st_load(p, &err);
        cr_assert_not_null(f);
        cr_expect_eq(bp_st_find(f, "x")->dtype, cases[c].tokens ? BP_DTYPE_I32 : BP_DTYPE_F32);
        cr_expect_str_eq(bp_st_meta(f, "format"), "bptt-batch");
        bp_st_free(f);
        bp_batch_free(r);
        bp_batch_free(b);
    }
}

static void write_batch(const char *path, const char *xdtype, bp_shape xs, const bp_real *x,
                        const char *ydtype, bp_shape ys, const bp_real *y, const char *target)
{
    bp_error err = {0};
    bp_st_writer *w = bp_st_writer_new();
    bp_dtype xd = !strcmp(xdtype, "F32") ? BP_DTYPE_F32 : !strcmp(xdtype, "F64") ? BP_DTYPE_F64
                                                        : BP_DTYPE_I64;
    bp_dtype yd = !ydtype ? BP_DTYPE_F32 : !strcmp(ydtype, "F32") ? BP_DTYPE_F32 : !strcmp(ydtype, "F64") ? BP_DTYPE_F64
                                                        : BP_DTYPE_I64;
    cr_assert_eq(bp_st_writer_add(w, "x", xd, xs, x, &err), BP_OK, "%s", err.msg);
    if (y)
        cr_assert_eq(bp_st_writer_add(w, "y", yd, ys, y, &err), BP_OK, "%s", err.msg);
    if (target)
        bp_st_writer_meta(w, "target", target, &err);
    cr_assert_eq(bp_st_writer_save(w, path, &err), BP_OK, "%s", err.msg);
    bp_st_writer_free(w);
}

static void expect_batch_error(const char *path, const char *want)
{
    bp_error err = {0};
    bp_batch *b = bp_batch_load(path, &err);
    cr_assert_null(b, "expected \"%s\"", want);
    cr_expect(strncmp(err.msg, path, strlen(path)) == 0, "%s", err.msg);
    cr_expect(strstr(err.msg, want), "message \"%s\" lacks \"%s\"", err.msg, want);
}

Test(batch_file, foreign_batches_infer_their_kind_and_bad_ones_fail)
{
    bp_real x[2 * 3] = {0, 1, 2, 3, 4, 5}, y2[2] = {1, 6}, ybad[2] = {-1, 0}, yf[2 * 3] = {0};
    const char *p = tpath("b.safetensors");
    /* I64 tokens, I64 class ids, no metadata: classes = largest id + 1 */
    write_batch(p, "I64", bp_shape2(2, 3), x, "I64", bp_shape1(2), y2, NULL);
    bp_error err = {0};
    bp_batch *b = bp_batch_load(p, &err);
    cr_assert_not_null(b, "%s", err.msg);
    cr_expect(b->tokens);
    cr_expect_eq(b->target, BP_TARGET_CLASS_LAST);
    cr_expect_eq(b->O, 7);
    cr_expect_eq(b->F, 1);
    bp_batch_free(b);
    /* F64 x [B, T, F] and F64 y [B, O] */
    write_batch(p, "F64", (bp_shape){3, {2, 3, 1}}, x, "F64", bp_shape2(2, 3), yf, NULL);
    b = bp_batch_load(p, &err);
    cr_assert_not_null(b, "%s", err.msg);
    cr_expect_eq(b->target, BP_TARGET_VALUES);
    cr_expect_eq(b->O, 3);
    bp_batch_free(b);

    write_batch(p, "F32", bp_shape2(2, 3), x, "F32", bp_shape2(2, 3), yf, NULL);
    expect_batch_error(p, "x has shape [2, 3]; expected [B, T, F]");
    write_batch(p, "I64", bp_shape2(2, 3), x, "I64", bp_shape1(3), x, NULL);
    expect_batch_error(p, "y has shape [3] but x is [2, 3]; y must be [B] or [B, T] (I64 y: class "
                          "ids)");
    write_batch(p, "I64", bp_shape2(2, 3), x, "I64", bp_shape1(2), ybad, NULL);
    expect_batch_error(p, "y element 0 is -1; a class id must be in [0, 9007199254740992]");
    write_batch(p, "I64", bp_shape2(2, 3), x, "I64", bp_shape1(2), y2, "class_seq");
    expect_batch_error(p, "metadata says target 'class_seq' but y (I64 [2]) is 'class_last'");
    write_batch(p, "I64", bp_shape2(2, 3), x, NULL, bp_shape1(2), NULL, NULL);
    expect_batch_error(p, "a batch file needs tensors x and y; y is missing");

    bp_st_writer *w = bp_st_writer_new();
    bp_st_writer_add(w, "x", BP_DTYPE_I32, bp_shape2(2, 3), x, &err);
    bp_st_writer_add(w, "y", BP_DTYPE_I32, bp_shape1(2), y2, &err);
    bp_st_writer_add(w, "z", BP_DTYPE_I32, bp_shape1(2), y2, &err);
    cr_assert_eq(bp_st_writer_save(w, p, &err), BP_OK);
    bp_st_writer_free(w);
    expect_batch_error(p, "unexpected tensor 'z' (a batch holds x, y and optionally lengths)");

    w = bp_st_writer_new();
    bp_st_writer_add(w, "x", BP_DTYPE_I32, bp_shape2(2, 3), x, &err);
    bp_st_writer_add(w, "y", BP_DTYPE_I32, bp_shape1(2), y2, &err);
    bp_st_writer_meta(w, "classes", "5", &err);
    cr_assert_eq(bp_st_writer_save(w, p, &err), BP_OK);
    bp_st_writer_free(w);
    expect_batch_error(p, "y element 1 is 6; a class id must be in [0, 5)");
}

Test(batch_file, save_into_a_missing_directory_is_an_io_error)
{
    bp_error err = {0};
    bp_batch *b = bp_batch_new(1, 1, 1, false, BP_TARGET_VALUES, 1, &err);
    cr_assert_not_null(b);
    const char *p = tpath("missing/b.safetensors");
    cr_expect_eq(bp_batch_save(p, b, &err), BP_ERR_IO);
    cr_expect(strstr(err.msg, p) == err.msg, "%s", err.msg);
    bp_batch_free(b);
}
