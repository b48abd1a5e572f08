/* test_replay.h — what the replay tests share: feeding a file, or every file of a folder,
 * to the fuzz target the test file includes (its LLVMFuzzerTestOneInput), in the ordinary
 * build, so that every input a fuzzer once flagged stays a regression test. Header-only. */
#ifndef TEST_REPLAY_H
#define TEST_REPLAY_H

#include <criterion/criterion.h>
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The file's first MiB, fed to the target. */
__attribute__((unused)) static void replay_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "%s", path);
    static uint8_t buf[1 << 20];
    size_t got = fread(buf, 1, sizeof buf, f);
    fclose(f);
    cr_log_info("replaying %s", path);
    LLVMFuzzerTestOneInput(buf, got);
}

/* Every file of folder whose name ends in suffix ("": any), but the hidden ones; returns
 * how many. */
__attribute__((unused)) static int replay_matching(const char *folder, const char *suffix)
{
    DIR *d = opendir(folder);
    cr_assert_not_null(d, "%s", folder);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));) {
        size_t len = strlen(e->d_name), sl = strlen(suffix);
        if (e->d_name[0] == '.' || len < sl || strcmp(e->d_name + len - sl, suffix))
            continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", folder, e->d_name);
        replay_file(path);
        n++;
    }
    closedir(d);
    return n;
}

__attribute__((unused)) static int replay_folder(const char *folder)
{
    return replay_matching(folder, "");
}

#endif
