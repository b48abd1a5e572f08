/* fuzz_model.c — libFuzzer target: any bytes as a model file, taken as far as they go:
 * bp_model_config_load (with the "#set key.path=value" comment lines of the input as
 * --set overrides), bp_trainer_new, one training step, one evaluation, and the tape
 * nodes of one step. A failure must come back as an error with a message; a crash, a
 * leak, a sanitizer report or a timeout is a bug.
 *
 * To keep every input quick, sizes the file may set legitimately large are capped
 * here (batch and held-out batch 4, T 40) and train.max_memory_mb is 8, so bigger
 * models meet the library's own "model too large" refusal. A chars-task text file
 * must be a regular file of at most 1 MiB (the fuzzer could name /dev/zero). */
#include "bptt_models.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_SETS 4

static char dir[64], model_path[128], text_path[128];

static void cleanup(void)
{
    unlink(model_path);
    unlink(text_path);
    char data[96];
    snprintf(data, sizeof data, "%s/data", dir);
    rmdir(data);
    rmdir(dir);
}

/* The seeds' chars models name data/bptt.txt, relative to the model file. */
static void copy_text(void)
{
    FILE *in = fopen(BPTT_SOURCE_DIR "/models/data/bptt.txt", "rb");
    FILE *out = fopen(text_path, "wb");
    char buf[4096];
    size_t n;
    while (in && out && (n = fread(buf, 1, sizeof buf, in)) > 0)
        fwrite(buf, 1, n, out);
    if (in)
        fclose(in);
    if (out)
        fclose(out);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    /* a tmpfs when there is one: no disk, no journal to wait for behind other I/O */
    snprintf(dir, sizeof dir, "%s/bptt_fuzz_model_XXXXXX",
             access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
    if (!mkdtemp(dir))
        abort();
    snprintf(model_path, sizeof model_path, "%s/m.yaml", dir);
    snprintf(text_path, sizeof text_path, "%s/data", dir);
    mkdir(text_path, 0700);
    snprintf(text_path, sizeof text_path, "%s/data/bptt.txt", dir);
    copy_text();
    atexit(cleanup);
    return 0;
}

/* Lines "#set key.path=value" (YAML comments) become --set overrides. */
static int find_sets(const char *text, size_t n, char sets[MAX_SETS][256])
{
    int k = 0;
    for (size_t i = 0; i + 5 < n && k < MAX_SETS; i++) {
        if ((i > 0 && text[i - 1] != '\n') || memcmp(text + i, "#set ", 5) != 0)
            continue;
        size_t j = i + 5, len = 0;
        while (j < n && text[j] != '\n' && text[j] != '\0' && len < 255)
            sets[k][len++] = text[j++];
        sets[k][len] = '\0';
        if (strchr(sets[k], '='))
            k++;
    }
    return k;
}

static void check_error(const bp_error *err)
{
    if (!err->msg[0] || err->status == BP_OK)
        abort(); /* a failure must say what went wrong */
}

static bool text_file_ok(const bp_model_config *c)
{
    if (strcmp(c->data.task, "chars"))
        return true;
    struct stat st;
    return stat(c->data.path, &st) == 0 && S_ISREG(st.st_mode) && st.st_size <= (1 << 20);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* a fresh file each time: rewriting a truncated one makes ext4 flush it on close */
    unlink(model_path);
    FILE *f = fopen(model_path, "wb");
    if (!f)
        abort();
    if (size && fwrite(data, 1, size, f) != size)
        abort();
    fclose(f);

    char sets[MAX_SETS][256];
    const char *set_ptrs[MAX_SETS];
    int n_sets = find_sets((const char *)data, size, sets);
    for (int i = 0; i < n_sets; i++)
        set_ptrs[i] = sets[i];

    bp_error err = {0};
    bp_model_config *c = bp_model_config_load(model_path, set_ptrs, n_sets, &err);
    if (!c) {
        check_error(&err);
        return 0;
    }
    if (!text_file_ok(c)) {
        bp_model_config_free(c);
        return 0;
    }
    bp_train_config *t = &c->train;
    if (t->batch > 4)
        t->batch = 4;
    if (t->eval_batch > 4)
        t->eval_batch = 4;
    if (c->data.steps > 40)
        c->data.steps = 40;
    t->max_memory_mb = 8;

    bp_trainer *tr = bp_trainer_new(c, &err);
    if (!tr) {
        check_error(&err);
        bp_model_config_free(c);
        return 0;
    }
    double loss;
    bp_step_info info;
    if (bp_trainer_step(tr, &loss, &info, &err) != BP_OK)
        check_error(&err);
    bp_net_eval ev;
    if (bp_trainer_eval(tr, &ev, &err) != BP_OK)
        check_error(&err);
    if (bp_net_step_nodes(bp_trainer_net(tr), &err) < 0)
        check_error(&err);
    bp_trainer_free(tr);
    bp_model_config_free(c);
    return 0;
}
