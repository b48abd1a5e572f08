/* test_badinput_replay_st.c — every input in tests/data/fuzz/safetensors/ replayed through
 * the fuzz target itself (tests/fuzz/fuzz_safetensors.c) in the ordinary build, plus
 * files bptt writes: each must load or fail with a message, never crash. */
#include "fuzz/fuzz_safetensors.c"

#include <criterion/criterion.h>
#include <dirent.h>

static void replay_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "%s", path);
    static uint8_t buf[1 << 20];
    size_t got = fread(buf, 1, sizeof buf, f);
    fclose(f);
    cr_log_info("replaying %s", path);
    LLVMFuzzerTestOneInput(buf, got);
}

Test(replay, safetensors_inputs_load_or_fail_with_a_message)
{
    LLVMFuzzerInitialize(NULL, NULL);
    const char *folder = BPTT_SOURCE_DIR "/tests/data/fuzz/safetensors";
    DIR *d = opendir(folder);
    cr_assert_not_null(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] == '.')
            continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", folder, e->d_name);
        replay_file(path);
        n++;
    }
    closedir(d);
    cr_expect_gt(n, 0);
    /* a checkpoint and a batch of the very model the target loads into */
    bp_error err;
    char ck[160];
    snprintf(ck, sizeof ck, "%s/ck.safetensors", dir);
    cr_assert_eq(bp_trainer_save(trainer, ck, &err), BP_OK, "%s", err.msg);
    replay_file(ck);
    unlink(ck);
}
