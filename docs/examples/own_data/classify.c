/* classify.c — your own sequences in, predictions out, through the library: a model file
 * names a data file (here: a CSV in the UCR layout, which the program writes first), the
 * trainer trains on it, and bp_net_predict gives class probabilities for a batch.
 *
 * The data: 200 sequences of 4 to 10 numbers (shorter ones end in empty cells), label 1
 * when their sum is positive, else 0; the model (classify.yaml) is a GRU read at each
 * sequence's own last step.
 *
 *     cc -std=c11 -O2 classify.c $(pkg-config --cflags --libs bptt) -o classify
 *     ./classify classify.yaml
 * Exit status 0 when the held-out accuracy beats the majority class, 1 when not, 2 on an
 * error.
 */
#include <bptt_models.h>

#include <stdio.h>

static int write_data(const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    bp_rng rng;
    bp_rng_seed(&rng, 42);
    for (int r = 0; r < 200; r++) {
        int len = 4 + (int)bp_rng_below(&rng, 7);
        double x[10], sum = 0;
        for (int t = 0; t < len; t++)
            sum += x[t] = bp_rng_normal(&rng);
        fprintf(f, "%d", sum > 0);
        for (int t = 0; t < 10; t++)
            t < len ? fprintf(f, ",%.4f", x[t]) : fprintf(f, ",");
        fprintf(f, "\n");
    }
    return fclose(f);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s MODEL.yaml\n", argv[0]);
        return 2;
    }
    if (write_data("sums.csv")) {
        perror("sums.csv");
        return 2;
    }
    bp_error err = {0};
    bp_model_config *cfg = bp_model_config_load(argv[1], NULL, 0, &err);
    bp_trainer *tr = cfg ? bp_trainer_new(cfg, &err) : NULL;
    bp_model_config_free(cfg);
    if (!tr)
        goto fail;
    bp_task *data = bp_trainer_task(tr);
    long steps = bp_trainer_config(tr)->train.steps;
    for (long s = 0; s < steps; s++) {
        double loss;
        if (bp_trainer_step(tr, &loss, NULL, &err) != BP_OK)
            goto fail;
    }
    bp_net_eval ev;
    if (bp_trainer_eval(tr, &ev, &err) != BP_OK)
        goto fail;
    printf("held-out accuracy %.3f (majority class %.3f)\n", ev.metric,
           bp_task_baseline_metric(data));

    /* predictions for the first 4 validation sequences: forward only, nothing kept */
    bp_batch *b = bp_task_slice(data, BP_SPLIT_EVAL, 0, 4, &err);
    bp_real probs[4 * 2];
    if (!b || bp_net_predict(bp_trainer_net(tr), bp_trainer_tape(tr), b, NULL, probs, &err) != BP_OK)
        goto fail;
    for (int r = 0; r < 4; r++)
        printf("sequence %d (%d steps, label %.0f): p(0) %.3f  p(1) %.3f\n", r, bp_batch_len(b, r),
               (double)b->y[r], (double)probs[2 * r], (double)probs[2 * r + 1]);
    bp_batch_free(b);
    int ok = ev.metric > bp_task_baseline_metric(data);
    bp_trainer_free(tr);
    return ok ? 0 : 1;
fail:
    fprintf(stderr, "error: %s\n", err.msg);
    bp_trainer_free(tr);
    return 2;
}
