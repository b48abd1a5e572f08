/* test_badinput_replay_model.c — every input in tests/data/fuzz/model/ (inputs the fuzzer
 * once flagged, and any crash it finds from now on) and every shipped model, replayed
 * through the fuzz target itself (tests/fuzz/fuzz_model.c) in the ordinary build: each
 * must end in a result or an error with a message, never a crash. */
#include "fuzz/fuzz_model.c"

#include <criterion/criterion.h>
#include <dirent.h>

/* Feed every regular file of folder (ending in suffix) to the target; returns how many. */
static int replay(const char *folder, const char *suffix)
{
    DIR *d = opendir(folder);
    cr_assert_not_null(d, "cannot open %s", folder);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));) {
        size_t len = strlen(e->d_name), sl = strlen(suffix);
        if (e->d_name[0] == '.' || len < sl || strcmp(e->d_name + len - sl, suffix))
            continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", folder, e->d_name);
        FILE *f = fopen(path, "rb");
        cr_assert_not_null(f, "%s", path);
        static uint8_t buf[1 << 20];
        size_t got = fread(buf, 1, sizeof buf, f);
        fclose(f);
        cr_log_info("replaying %s", path);
        LLVMFuzzerTestOneInput(buf, got);
        n++;
    }
    closedir(d);
    return n;
}

Test(replay, model_inputs_end_in_a_result_or_a_message)
{
    LLVMFuzzerInitialize(NULL, NULL);
    cr_expect_gt(replay(BPTT_SOURCE_DIR "/tests/data/fuzz/model", ""), 0);
    cr_expect_gt(replay(BPTT_SOURCE_DIR "/models", ".yaml"), 0);
    cr_expect_gt(replay(BPTT_SOURCE_DIR "/tests/fuzz/seeds", ".yaml"), 0);
}
