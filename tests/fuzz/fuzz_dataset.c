/* fuzz_dataset.c — libFuzzer target: the whole data-set path a model file's data.train
 * takes (bp_task_files: the file mapped or parsed, shapes read as a data set, every value
 * checked, CSV labels mapped to classes, the validation split), then batches drawn from
 * it. The first byte chooses: bit 0 the format (0 safetensors, 1 CSV); bit 1 a validation
 * fraction of 0.25 (else the last row held out when bit 2, else none); for CSV bits 3-4
 * the features per step (1 + (b >> 3 & 3)), bit 5 the label last, bit 6 the label a value.
 * The rest is the file's bytes, written to a temporary file. A data set that loads must
 * keep its contract (lengths in 1..T, zeros past each end, finite features, whole class
 * ids below the classes); a failure must be one line naming the file. A crash, a leak, a
 * sanitizer report or a timeout is a bug. Seeds: bptt's batch files (format byte 0) and
 * tests/fuzz/seeds/csv (format byte 1), written by make_seeds.sh. */
#include "bptt_tasks.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void check_batch(const bp_task *t, const bp_batch *b)
{
    if (b->T != bp_task_steps(t) || b->target != bp_task_target(t) || b->O != bp_task_output_size(t))
        abort();
    bool per_step = bp_target_per_step(b->target), cls = bp_target_is_class(b->target);
    size_t yw = per_step ? (size_t)b->T * (cls ? 1 : (size_t)b->O) : cls ? 1 : (size_t)b->O;
    for (int r = 0; r < b->B; r++) {
        int len = bp_batch_len(b, r);
        if (len < 1 || len > b->T)
            abort();
        for (int s = 0; s < b->T; s++)
            for (int i = 0; i < b->F; i++) {
                bp_real v = b->x[((size_t)r * b->T + s) * b->F + i];
                if ((s >= len && v != 0) || (!b->tokens && !isfinite(v)))
                    abort();
            }
        for (size_t k = 0; k < yw; k++) {
            bp_real v = b->y[(size_t)r * yw + k];
            if (cls && (v < 0 || v >= b->O || v != (bp_real)(int)v))
                abort();
        }
    }
}

static void draw(bp_task *t)
{
    bp_error err = {0};
    for (long step = 0; step < 3; step++) {
        bp_batch *b = bp_task_train_batch(t, 3, step, NULL, &err);
        if (!b)
            abort(); /* a set that loaded always gives batches */
        check_batch(t, b);
        bp_batch_free(b);
    }
    long n = bp_task_rows(t, BP_SPLIT_EVAL);
    bp_batch *v = bp_task_slice(t, BP_SPLIT_EVAL, 0, (int)(n < 4 ? n : 4), &err);
    if (!v)
        abort();
    check_batch(t, v);
    bp_batch_free(v);
    if (!isfinite(bp_task_baseline(t)) && n > 0 && !isnan(bp_task_baseline(t)))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    uint8_t b = data[0];
    bool csv = b & 1;
    static char path[64];
    if (!path[0]) /* a tmpfs when there is one: a file per input costs nothing there */
        snprintf(path, sizeof path, "%s/bptt_fuzz_dataset_%d",
                 access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp", (int)getpid());
    char file[96];
    snprintf(file, sizeof file, "%s.%s", path, csv ? "csv" : "safetensors");
    FILE *f = fopen(file, "wb");
    if (!f)
        return 0;
    fwrite(data + 1, 1, size - 1, f);
    fclose(f);
    bp_file_set_opts o;
    bp_file_set_opts_default(&o);
    snprintf(o.train.x, sizeof o.train.x, "%s", file);
    o.valid_fraction = b & 2 ? 0.25 : 0;
    o.valid_last = !(b & 2) && (b & 4) ? 1 : 0;
    o.csv_features = 1 + (b >> 3 & 3);
    o.csv_label_last = b & 32;
    o.csv_values = b & 64;
    bp_error err = {0};
    bp_task *t = bp_task_files(&o, &err);
    if (t) {
        draw(t);
        bp_task_free(t);
    } else if (err.status == BP_OK || !strstr(err.msg, "bptt_fuzz_dataset") ||
               strchr(err.msg, '\n')) {
        abort(); /* a failure is one line naming the file */
    }
    unlink(file);
    return 0;
}
