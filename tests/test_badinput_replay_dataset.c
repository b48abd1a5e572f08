/* test_badinput_replay_dataset.c — every input in tests/data/fuzz/dataset/ replayed through
 * the fuzz target itself (tests/fuzz/fuzz_dataset.c) in the ordinary build: each must
 * load or fail with a one-line message naming the file, never crash. */
#include "fuzz/fuzz_dataset.c"

#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>

static int replay_folder(const char *folder)
{
    DIR *d = opendir(folder);
    cr_assert_not_null(d, "%s", folder);
    int n = 0;
    static uint8_t buf[1 << 20];
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] == '.')
            continue;
        char file[1024];
        snprintf(file, sizeof file, "%s/%s", folder, e->d_name);
        FILE *f = fopen(file, "rb");
        cr_assert_not_null(f, "%s", file);
        size_t got = fread(buf, 1, sizeof buf, f);
        fclose(f);
        cr_log_info("replaying %s", file);
        LLVMFuzzerTestOneInput(buf, got);
        n++;
    }
    closedir(d);
    return n;
}

Test(replay, dataset_inputs_load_or_fail_with_a_message)
{
    cr_expect_gt(replay_folder(BPTT_SOURCE_DIR "/tests/data/fuzz/dataset"), 0);
}
