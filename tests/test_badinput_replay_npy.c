/* test_badinput_replay_npy.c — every input in tests/data/fuzz/npy/ replayed through the
 * fuzz target itself (tests/fuzz/fuzz_npy.c) in the ordinary build, plus a file
 * bp_npy_save writes: each must parse or fail with a message, never crash. */
#include "fuzz/fuzz_npy.c"

#include <criterion/criterion.h>
#include <dirent.h>

static void replay_file(const char *file)
{
    FILE *f = fopen(file, "rb");
    cr_assert_not_null(f, "%s", file);
    static uint8_t buf[1 << 20];
    size_t got = fread(buf, 1, sizeof buf, f);
    fclose(f);
    cr_log_info("replaying %s", file);
    LLVMFuzzerTestOneInput(buf, got);
}

Test(replay, npy_inputs_parse_or_fail_with_a_message)
{
    LLVMFuzzerInitialize(NULL, NULL);
    const char *folder = BPTT_SOURCE_DIR "/tests/data/fuzz/npy";
    DIR *d = opendir(folder);
    cr_assert_not_null(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] == '.')
            continue;
        char file[1024];
        snprintf(file, sizeof file, "%s/%s", folder, e->d_name);
        replay_file(file);
        n++;
    }
    closedir(d);
    cr_expect_gt(n, 0);
    char saved[160];
    snprintf(saved, sizeof saved, "%s/saved.npy", dir);
    const double v[6] = {1, -2, 3.5, 0, 1e300, -1e-300};
    bp_error err;
    cr_assert_eq(bp_npy_save(saved, BP_DTYPE_F64, bp_shape2(2, 3), v, &err), BP_OK, "%s", err.msg);
    replay_file(saved);
    unlink(saved);
}
