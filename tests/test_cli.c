/* test_cli.c — the `bptt` command line, run as a user runs it: training with logs
 * and checkpoints, resuming bit for bit, the init/batch/grads/eval chain, gradcheck,
 * exit statuses, and Ctrl-C. */
#include "bptt_models.h"

#include <criterion/criterion.h>

#define TEST_DIR_PREFIX "bptt_cli"
#include "test_tmpdir.h"
TestSuite(cli, .fini = test_dir_remove);
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define BPTT BPTT_BINARY_DIR "/bptt"
#define MODEL(name) BPTT_SOURCE_DIR "/models/" name ".yaml"

static char out[1 << 16], err_text[1 << 14];

static const char *tmp(const char *name)
{
    return test_path(name);
}

static void slurp(const char *path, char *buf, size_t size)
{
    buf[0] = '\0';
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    size_t n = fread(buf, 1, size - 1, f);
    buf[n] = '\0';
    fclose(f);
}

/* Run `bptt ARGS` (a shell fragment); stdout in out, stderr in err_text; the exit status. */
static int bptt(const char *fmt, ...)
{
    char args[2048], cmd[3072];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    char o[256], e[256];
    snprintf(o, sizeof o, "%s", tmp("stdout"));
    snprintf(e, sizeof e, "%s", tmp("stderr"));
    snprintf(cmd, sizeof cmd, "OPENBLAS_NUM_THREADS=1 %s %s >%s 2>%s </dev/null", BPTT, args, o, e);
    int status = system(cmd);
    slurp(o, out, sizeof out);
    slurp(e, err_text, sizeof err_text);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Exit status of `BPTT_ISA=isa bptt ARGS`, stdout and stderr as bptt() keeps them. */
static int bptt_isa(const char *isa, const char *args)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "BPTT_ISA=%s %s %s >%s 2>%s </dev/null", isa, BPTT, args,
             tmp("stdout"), tmp("stderr"));
    int status = system(cmd);
    slurp(tmp("stdout"), out, sizeof out);
    slurp(tmp("stderr"), err_text, sizeof err_text);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

Test(cli, bptt_isa_forces_the_kernel_variant_or_is_refused)
{
    cr_expect_eq(bptt_isa("sse9", "--version"), 2);
    cr_expect(strstr(err_text, "BPTT_ISA=sse9: unknown kernel variant 'sse9'"), "%s", err_text);
    cr_expect_eq(bptt_isa("baseline", "bench kernels --reps 1 --warmup 0 --size 8x2x1"), 0,
                 "%s", err_text);
    cr_expect(strstr(out, "kernel variant baseline") && strstr(out, "lstm_gates bwd") &&
              strstr(out, "sigmoid / tanh"), "%s", out);
    /* each variant's accuracy, within the 3 ulp that test_f32_vmath holds it to */
    const char *acc = strstr(out, "tanh, largest error in ulp");
    const char *base = acc ? strstr(acc, "baseline") : NULL;
    double ulp = 99;
    cr_expect(base && sscanf(base, "baseline %lf", &ulp) == 1 && ulp <= 3, "%s", out);
}

/* bench steps says whether denormals are flushed (the default) or kept, and --json too. */
Test(cli, bench_steps_names_the_denormal_mode)
{
    const char *run = "bench steps --cell lstm --size 8x1x50 --reps 1 --warmup 0 --threads 1";
    cr_expect_eq(bptt("%s", run), 0, "%s", err_text);
    cr_expect(strstr(out, "denormals flushed to zero (bp_tape_set_flush_denormals)"), "%s", out);
    cr_expect_eq(bptt("%s --keep-denormals --json", run), 0, "%s", err_text);
    cr_expect(strstr(out, "\"flush_denormals\": false"), "%s", out);
    cr_expect_eq(bptt("%s --json", run), 0, "%s", err_text);
    cr_expect(strstr(out, "\"flush_denormals\": true"), "%s", out);
}

/* bench steps --runs N: the table N times, then each target over the runs (met in k of N),
 * and the JSON summary; a count out of range is refused. */
Test(cli, bench_steps_runs_the_table_again_and_sums_up_the_targets)
{
    const char *run = "bench steps --cell rnn --size 32x1x1000 --reps 1 --warmup 0 --threads 1";
    cr_expect_eq(bptt("%s --runs 2", run), 0, "%s", err_text);
    cr_expect(strstr(out, "run 1 of 2") && strstr(out, "run 2 of 2"), "%s", out);
    const char *sum = strstr(out, "issue 16's targets over 2 runs");
    cr_expect(sum, "%s", out);
    const char *b1 = sum ? strstr(sum, "rnn H32 B1 T1000 step / per-step floor") : NULL;
    const char *eol = b1 ? strchr(b1, '\n') : NULL;
    cr_expect(b1 && eol && strstr(b1, " of 2") && strstr(b1, " of 2") < eol, "%s", out);
    cr_expect_eq(bptt("%s --runs 2 --json", run), 0, "%s", err_text);
    cr_expect(strstr(out, "\"runs\": 2, \"kernel_variant\"") && strstr(out, "\"met_runs\": "),
              "%s", out);
    cr_expect(strstr(out, "\"run\": 2, \"cell\": \"rnn\""), "%s", out);
    cr_expect_eq(bptt("%s --runs 0", run), 2);
    cr_expect(strstr(err_text, "--runs must be a count in [1, 100]"), "%s", err_text);
}

#define SMALL "--set data.steps=8 --set model.layers[0].hidden=8 --set train.batch=4 " \
              "--set train.eval_batch=8"

Test(cli, help_version_and_unknown_commands)
{
    cr_expect_eq(bptt("--help"), 0);
    cr_expect(strstr(out, "train") && strstr(out, "gradcheck"), "%s", out);
    cr_expect_eq(bptt("--version"), 0);
    cr_expect(strstr(out, "bptt "), "%s", out);
    cr_expect_eq(bptt("train --help"), 0);
    cr_expect(strstr(out, "usage: bptt train MODEL.yaml"), "%s", out);
    cr_expect_eq(bptt("trian"), 2);
    cr_expect(strstr(err_text, "unknown command 'trian'"), "%s", err_text);
    cr_expect_eq(bptt("train"), 2);
    cr_expect_eq(bptt("train %s --no-such-option", MODEL("irnn_adding")), 2);
    cr_expect(strstr(err_text, "unknown option '--no-such-option'"), "%s", err_text);
}

Test(cli, train_prints_progress_and_writes_a_log_and_a_checkpoint)
{
    const char *ckpt = tmp("t.safetensors"), *log = tmp("t.csv");
    char ckpt_copy[256], log_copy[256];
    snprintf(ckpt_copy, sizeof ckpt_copy, "%s", ckpt);
    snprintf(log_copy, sizeof log_copy, "%s", log);
    cr_assert_eq(bptt("train %s " SMALL " --steps 30 --set train.eval_every=10 --out %s --log %s",
                      MODEL("irnn_adding"), ckpt_copy, log_copy),
                 0, "%s", err_text);
    cr_expect(strstr(out, "training irnn_adding: adding task, T = 8"), "%s", out);
    cr_expect(strstr(out, "step 30/30  loss"), "%s", out);
    cr_expect(strstr(out, "eval  step 10: loss"), "%s", out);
    cr_expect(strstr(out, "(baseline MSE of always predicting 1: 0.16667)"), "%s", out);
    cr_expect(strstr(out, "saved"), "%s", out);
    char csv[1 << 14];
    slurp(log_copy, csv, sizeof csv);
    const char *head =
        "step,loss,grad_norm,clipped,lr,elapsed_s,eval_loss,eval_mse,baseline_loss,baseline_mse\n1,";
    cr_expect_eq(strncmp(csv, head, strlen(head)), 0, "%s", csv);
    int lines = 0;
    for (char *p = csv; *p; p++)
        lines += *p == '\n';
    cr_expect_eq(lines, 1 + 30, "header, 30 steps (the evaluations on their steps' rows)");
    const char *row10 = strstr(csv, "\n10,"), *row11 = strstr(csv, "\n11,");
    cr_assert(row10 && row11, "%s", csv);
    int commas = 0;
    for (const char *p = row10 + 1; p < row11; p++)
        commas += *p == ',';
    cr_expect_eq(commas, 9);
    cr_expect(strstr(row10, ",0.16666667,0.16666667\n") == row11 - 22, "step 10's row ends in "
              "its eval and the baselines: %.*s", (int)(row11 - row10), row10);
    cr_expect(!strncmp(strchr(row11 + 1, '\n') - 4, ",,,,", 4), "step 11 has no evaluation: %s",
              row11);
    bp_error e;
    bp_st_file *f = bp_st_load(ckpt_copy, &e);
    cr_assert_not_null(f, "%s", e.msg);
    cr_expect_str_eq(bp_st_meta(f, "step"), "30");
    cr_expect_str_eq(bp_st_meta(f, "model"), "irnn_adding");
    cr_expect_not_null(bp_st_find(f, "rnn0.W_h"));
    cr_expect_not_null(bp_st_find(f, "adam.m.rnn0.W_h"));
    bp_st_free(f);
}

/* Every tensor of two checkpoints, byte for byte. */
static void expect_same_tensors(const char *a, const char *b)
{
    bp_error e;
    bp_st_file *x = bp_st_load(a, &e), *y = bp_st_load(b, &e);
    cr_assert(x && y, "%s", e.msg);
    cr_assert_eq(bp_st_count(x), bp_st_count(y));
    for (int i = 0; i < bp_st_count(x); i++) {
        const bp_st_info *t = bp_st_at(x, i);
        const bp_st_info *u = bp_st_find(y, t->name);
        cr_assert_not_null(u, "%s missing", t->name);
        cr_assert_eq(t->size, u->size);
        bp_real *p = calloc(t->size + 1, sizeof *p), *q = calloc(t->size + 1, sizeof *q);
        bp_st_read_at(x, i, p);
        for (int j = 0; j < bp_st_count(y); j++)
            if (bp_st_at(y, j) == u)
                bp_st_read_at(y, j, q);
        cr_expect_eq(memcmp(p, q, t->size * sizeof *p), 0, "%s differs", t->name);
        free(p);
        free(q);
    }
    bp_st_free(x);
    bp_st_free(y);
}

Test(cli, resume_continues_bit_for_bit)
{
    char straight[256], half[256], resumed[256];
    snprintf(straight, sizeof straight, "%s", tmp("straight.safetensors"));
    snprintf(half, sizeof half, "%s", tmp("half.safetensors"));
    snprintf(resumed, sizeof resumed, "%s", tmp("resumed.safetensors"));
    cr_assert_eq(bptt("train %s " SMALL " --steps 24 --out %s --quiet", MODEL("lstm_adding"),
                      straight), 0, "%s", err_text);
    cr_assert_eq(bptt("train %s " SMALL " --steps 12 --out %s --quiet", MODEL("lstm_adding"),
                      half), 0, "%s", err_text);
    cr_assert_eq(bptt("train %s " SMALL " --steps 24 --resume %s --out %s --quiet",
                      MODEL("lstm_adding"), half, resumed), 0, "%s", err_text);
    expect_same_tensors(straight, resumed);
    /* --steps at or below the checkpoint's step trains nothing: an error, not a silent 0 */
    cr_expect_eq(bptt("train %s " SMALL " --steps 12 --resume %s --quiet", MODEL("lstm_adding"),
                      half), 2);
    cr_expect(strstr(err_text, "is at step 12 and train.steps is 12: nothing to train"), "%s",
              err_text);
    cr_expect_eq(bptt("train %s " SMALL " --steps 5 --resume %s --quiet", MODEL("lstm_adding"),
                      half), 2);
}

Test(cli, init_batch_grads_and_eval_agree)
{
    char w[256], b[256], g[256];
    snprintf(w, sizeof w, "%s", tmp("w.safetensors"));
    snprintf(b, sizeof b, "%s", tmp("b.safetensors"));
    snprintf(g, sizeof g, "%s", tmp("g.safetensors"));
    cr_assert_eq(bptt("init %s " SMALL " --out %s", MODEL("gru_copy"), w), 0, "%s", err_text);
    cr_assert_eq(bptt("batch %s " SMALL " --size 5 --out %s", MODEL("gru_copy"), b), 0, "%s",
                 err_text);
    cr_assert_eq(bptt("grads %s " SMALL " --weights %s --batch %s --out %s", MODEL("gru_copy"), w,
                      b, g), 0, "%s", err_text);
    double loss_grads = 0, loss_eval = 0;
    cr_assert_eq(sscanf(out, "loss %lf", &loss_grads), 1, "%s", out);
    cr_assert_eq(bptt("eval %s " SMALL " --weights %s --batch %s", MODEL("gru_copy"), w, b), 0,
                 "%s", err_text);
    const char *l = strstr(out, "loss ");
    cr_assert_not_null(l, "%s", out);
    cr_assert_eq(sscanf(l, "loss %lf", &loss_eval), 1);
    cr_expect_float_eq(loss_grads, loss_eval, 1e-5);

    bp_error e;
    bp_batch *batch = bp_batch_load(b, &e);
    cr_assert_not_null(batch, "%s", e.msg);
    cr_expect_eq(batch->B, 5);
    cr_expect_eq(batch->T, 28); /* copy: T + 20 */
    cr_expect(batch->tokens);
    bp_batch_free(batch);
    bp_st_file *f = bp_st_load(g, &e);
    cr_assert_not_null(f, "%s", e.msg);
    cr_expect_not_null(bp_st_find(f, "loss"));
    cr_expect_not_null(bp_st_find(f, "gru0.b_h"));
    cr_expect_not_null(bp_st_find(f, "out.W"));
    bp_st_free(f);
}

Test(cli, gradcheck_a_model_and_every_op)
{
    cr_expect_eq(bptt("gradcheck %s " SMALL " --set model.layers[1].hidden=8",
                      MODEL("stacked_skip")), 0, "%s%s", out, err_text);
    cr_expect(strstr(out, "rnn1.W_h") && strstr(out, "all passed"), "%s", out);
    cr_expect(strstr(out, "double precision"), "%s", out);
    cr_expect_eq(bptt("gradcheck --ops"), 0, "%s", out);
    cr_expect(strstr(out, "all passed"), "%s", out);
}

Test(cli, bad_input_exits_2_and_says_where)
{
    const char *path = tmp("bad.yaml");
    FILE *f = fopen(path, "w");
    fputs("model:\n  layers: [{type: rnn, hidden: 8}]\ndata: {task: adding, steps: -5}\n", f);
    fclose(f);
    cr_expect_eq(bptt("train %s", path), 2);
    cr_expect(strstr(err_text, "bad.yaml:3:29: 'data.steps' is -5, too small (at least 2)"), "%s",
              err_text);
    cr_expect_eq(bptt("eval %s --weights %s", MODEL("irnn_adding"), tmp("missing.safetensors")),
                 2);
    cr_expect(strstr(err_text, "missing.safetensors"), "%s", err_text);
    cr_expect_eq(bptt("summary %s --set model.layers[0].hidden=x", MODEL("irnn_adding")), 2);
}

Test(cli, a_nonfinite_loss_stops_training_with_status_1)
{
    cr_expect_eq(bptt("train %s " SMALL " --steps 50 --set train.optimizer=sgd "
                      "--set train.lr=1e5 --set train.clip_norm=0", MODEL("irnn_adding")), 1);
    cr_expect(strstr(err_text, "step "), "%s", err_text);
    cr_expect(strstr(err_text, "NaN") || strstr(err_text, "Inf"), "%s", err_text);
}

Test(cli, summary_shows_layers_counts_and_nodes_per_step)
{
    cr_assert_eq(bptt("summary %s", MODEL("stacked_skip")), 0, "%s", err_text);
    cr_expect(strstr(out, "rnn1") && strstr(out, "skip=rnn0"), "%s", out);
    cr_expect(strstr(out, "total parameters: 12609"), "%s", out);
    cr_expect(strstr(out, "tape nodes per time step:"), "%s", out);
}

Test(cli, ctrl_c_saves_a_checkpoint_and_exits)
{
    char ckpt[256];
    snprintf(ckpt, sizeof ckpt, "%s", tmp("interrupted.safetensors"));
    pid_t pid = fork();
    cr_assert_neq(pid, -1);
    if (pid == 0) {
        if (!freopen("/dev/null", "w", stdout))
            _exit(126);
        execl(BPTT, BPTT, "train", MODEL("irnn_adding"), "--steps", "100000000", "--out", ckpt,
              (char *)NULL);
        _exit(127);
    }
    nanosleep(&(struct timespec){0, 700 * 1000 * 1000}, NULL);
    kill(pid, SIGINT);
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 130, "status %d", status);
    bp_error e;
    bp_st_file *f = bp_st_load(ckpt, &e);
    cr_assert_not_null(f, "%s", e.msg);
    cr_expect_gt(atol(bp_st_meta(f, "step")), 0);
    bp_st_free(f);
}
