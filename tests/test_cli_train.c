/* test_cli_train.c — `bptt train` as a user runs it, for what issue 13 made promises
 * about: the default checkpoint path (printed, never an existing file), --steps +K after
 * --resume, the best checkpoint with its step and loss in the metadata, early stopping
 * going back to the best, the plateau schedule's cuts in the log, dropout from YAML, the
 * threads it prints, and each bad setting refused with its place and exit 2. */
#include "test_badinput_run.h"

#include <math.h>

/* tanh_adding made tiny (TINY), evaluated every 5 steps */
#define EVERY5 TINY " --set train.eval_every=5"

TestSuite(cli_train, .init = make_dir, .fini = remove_dir);

Test(cli_train, without_out_the_checkpoint_goes_to_a_fresh_default_path)
{
    cr_assert_eq(bptt("train %s " TINY " --steps 6", MODEL("tanh_adding")), 0, "%s", err_text);
    cr_expect(strstr(out, "checkpoint: tanh_adding.safetensors\n"), "%s", out);
    cr_expect(strstr(out, "saved checkpoint tanh_adding.safetensors (step 6)"), "%s", out);
    size_t n1, n2;
    unsigned char *first = read_bytes(tmp("tanh_adding.safetensors"), &n1);
    cr_assert_not_null(first);
    cr_assert_eq(bptt("train %s " TINY " --steps 9", MODEL("tanh_adding")), 0, "%s", err_text);
    cr_expect(strstr(out, "checkpoint: tanh_adding-2.safetensors\n"), "%s", out);
    unsigned char *again = read_bytes(tmp("tanh_adding.safetensors"), &n2);
    cr_expect(n1 == n2 && !memcmp(first, again, n1), "the first run's checkpoint is untouched");
    cr_expect_eq(access(tmp("tanh_adding-2.safetensors"), F_OK), 0);
    free(first);
    free(again);
    cr_expect(strstr(out, "threads: 1 worker (train.threads), 1 BLAS thread"), "%s", out);
}

/* The default path is checked before step 1: in a folder that is gone, nothing trains. */
Test(cli_train, an_unwritable_default_path_is_refused_before_step_1)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "cd '%s' && mkdir gone && (cd gone && rmdir ../gone && %s train "
             "%s " TINY " --steps 5 >../stdout.txt 2>../stderr.txt </dev/null)", dir, BPTT,
             MODEL("tanh_adding"));
    int rc = status_of(system(cmd));
    slurp(tmp("stdout.txt"), out, sizeof out);
    slurp(tmp("stderr.txt"), err_text, sizeof err_text);
    cr_expect_eq(rc, 2, "%s", err_text);
    cr_expect(strstr(err_text, "tanh_adding.safetensors"), "the path is named: %s", err_text);
    cr_expect(!strstr(out, "step 1/"), "no step ran: %s", out);
}

Test(cli_train, steps_plus_k_counts_from_the_checkpoint)
{
    cr_assert_eq(bptt("train %s " TINY " --steps 6 --out a.st", MODEL("tanh_adding")), 0, "%s",
                 err_text);
    expect_run(2, "a.st is at step 6 and train.steps is 6: nothing to train",
               "train %s " TINY " --steps 6 --resume a.st --out b.st", MODEL("tanh_adding"));
    cr_assert_eq(bptt("train %s " TINY " --steps +4 --resume a.st --out b.st",
                      MODEL("tanh_adding")), 0, "%s", err_text);
    cr_expect(strstr(out, "saved checkpoint b.st (step 10)"), "%s", out);
    cr_assert_eq(bptt("train %s " TINY " --steps +0 --resume a.st --out c.st",
                      MODEL("tanh_adding")), 0, "%s", err_text);
    cr_expect(strstr(out, "[no more steps]"), "%s", out);
    cr_expect(strstr(out, "saved checkpoint c.st (step 6)"), "%s", out);
    expect_run(2, "--steps +4 counts steps past a checkpoint's: it needs --resume",
               "train %s " TINY " --steps +4", MODEL("tanh_adding"));
    expect_run(2, "--steps takes a whole number", "train %s --steps +x --resume a.st",
               MODEL("tanh_adding"));
}

/* keep_best: the best evaluation's state, beside the checkpoint, its step and loss in the
 * metadata; early stopping ends the run there and the checkpoint holds the best state. */
Test(cli_train, early_stopping_keeps_and_restores_the_best)
{
    /* lr 0.5 diverges after a few steps: the loss rises, so the best comes early */
    cr_assert_eq(bptt("train %s " EVERY5 " --steps 400 --set train.lr=0.3 --set "
                      "train.keep_best=true --set 'train.early_stopping={patience: 2}' --out r.st "
                      "--log r.csv --quiet", MODEL("tanh_adding")),
                 0, "%s", err_text);
    cr_expect(strstr(out, "best checkpoint: r.best.st\n"), "%s", out);
    const char *stop = strstr(out, "early stopping at step ");
    cr_assert(stop, "%s", out);
    long at, since;
    cr_assert_eq(sscanf(stop, "early stopping at step %ld: 2 evaluations without improvement "
                        "since step %ld", &at, &since), 2, "%s", stop);
    cr_expect_eq(at, since + 10);
    cr_expect(strstr(out, "[best, restored]"), "%s", out);
    bp_error e;
    bp_st_file *best = bp_st_load(tmp("r.best.st"), &e), *last = bp_st_load(tmp("r.st"), &e);
    cr_assert(best && last, "%s", e.msg);
    char s[32];
    snprintf(s, sizeof s, "%ld", since);
    cr_expect_str_eq(bp_st_meta(best, "best_step"), s);
    cr_expect_str_eq(bp_st_meta(best, "step"), s);
    cr_expect_str_eq(bp_st_meta(last, "step"), s, "the run went back to its best");
    cr_expect_not_null(bp_st_meta(best, "best_eval_loss"));
    bp_st_free(best);
    bp_st_free(last);
}

Test(cli_train, the_plateau_schedule_shows_in_the_log)
{
    cr_assert_eq(bptt("train %s " EVERY5 " --steps 60 --set train.lr=0.3 --set "
                      "train.schedule=plateau --set train.plateau_patience=1 --set "
                      "train.plateau_factor=0.5 --log p.csv --out p.st --quiet",
                      MODEL("tanh_adding")), 0, "%s", err_text);
    cr_expect(strstr(out, "plateau: lr cut to 0.15"), "%s", out);
    char csv[1 << 14];
    slurp(tmp("p.csv"), csv, sizeof csv);
    cr_expect(strstr(csv, ",0.15,"), "a step at the cut rate: %s", csv);
}

Test(cli_train, dropout_from_the_model_file_trains)
{
    cr_assert_eq(bptt("train %s " TINY " --steps 5 --set model.layers[0].dropout=0.3 --set "
                      "model.layers[0].recurrent_dropout=0.2 --out d.st --quiet",
                      MODEL("tanh_adding")), 0, "%s", err_text);
    /* evaluation has no dropout: eval of the checkpoint gives the run's own last eval */
    const char *line = strstr(out, "eval  step 5: loss ");
    cr_assert(line, "%s", out);
    double in_run, by_eval;
    cr_assert_eq(sscanf(line, "eval  step 5: loss %lf", &in_run), 1);
    cr_assert_eq(bptt("eval %s " TINY " --set model.layers[0].dropout=0.3 --set "
                      "model.layers[0].recurrent_dropout=0.2 --weights d.st",
                      MODEL("tanh_adding")), 0, "%s", err_text);
    line = strstr(out, "loss ");
    cr_assert(line && sscanf(line, "loss %lf", &by_eval) == 1, "%s", out);
    cr_expect(fabs(in_run - by_eval) < 1e-5, "%.6f in the run, %.6f by eval", in_run, by_eval);
}

Test(cli_train, bad_settings_are_refused_with_their_place)
{
    write_text(tmp("m.yaml"), "model:\n  layers:\n    - {type: lstm, hidden: 4, dropout: 1}\n"
                              "data: {task: adding, steps: 4}\n");
    expect_run(2, "m.yaml:3:40: 'dropout' must be in [0, 1)", "train m.yaml");
    write_text(tmp("m.yaml"), "model:\n  layers:\n    - {type: lstm, hidden: 4, dropout: -0.1}\n"
                              "data: {task: adding, steps: 4}\n");
    expect_run(2, "m.yaml:3:40: 'model.layers[0].dropout' is -0.1, too small", "train m.yaml");
    write_text(tmp("m.yaml"), "model:\n  layers:\n    - {type: linear, size: 4, "
                              "recurrent_dropout: 0.2}\n    - {type: rnn, hidden: 4}\n"
                              "data: {task: adding, steps: 4}\n");
    expect_run(2, "recurrent_dropout applies to rnn, lstm and gru layers only", "train m.yaml");
    const char *head = "model:\n  layers: [{type: rnn, hidden: 4}]\ndata: {task: adding, steps: 4}\n";
    char text[512];
    snprintf(text, sizeof text, "%strain:\n  early_stopping: {patience: 0}\n", head);
    write_text(tmp("m.yaml"), text);
    expect_run(2, "m.yaml:5:30: 'train.early_stopping.patience' counts evaluations", "train m.yaml");
    snprintf(text, sizeof text, "%strain:\n  steps: 100\n  warmup_steps: 100\n", head);
    write_text(tmp("m.yaml"), text);
    expect_run(2, "m.yaml:6:17: 'train.warmup_steps' (100) must be below train.steps (100)",
               "train m.yaml");
    snprintf(text, sizeof text, "%strain:\n  checkpoint: a.st\n  keep_best: a.st\n", head);
    write_text(tmp("m.yaml"), text);
    expect_run(2, "m.yaml:6:14: 'train.keep_best' names the run's own checkpoint", "train m.yaml");
    snprintf(text, sizeof text, "%strain:\n  keep_best: b.st\n", head);
    write_text(tmp("m.yaml"), text);
    expect_run(2, "b.st", "train m.yaml --out b.st");
    cr_expect_neq(access(tmp("b.st"), F_OK), 0, "nothing written");
    snprintf(text, sizeof text, "%strain:\n  eval_every: 0\n  early_stopping: {patience: 2}\n",
             head);
    write_text(tmp("m.yaml"), text);
    expect_run(2, "early stopping follows the evaluations", "train m.yaml");
    expect_run(2, "--blas-threads takes a whole number from 0 to 256", "train m.yaml "
               "--blas-threads 999");
}
