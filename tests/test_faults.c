/* test_faults.c — faults in the middle of a run: a loss that overflows is reported with
 * its step and a parameter, exit 1, and the last good checkpoint survives and resumes; a
 * parameter that holds a NaN is named; and `kill -9` at random moments while checkpoints
 * are being written (by the library in a loop, and by `bptt train` saving every step)
 * always leaves a complete, loadable checkpoint. */
#include "test_badinput_run.h"
#include "test_valgrind.h"

#include <math.h>
#include <time.h>

/* kill -9 is a process crash, not a power cut: what is written stays in the page cache,
 * so a tmpfs shows the same and makes a hundred rounds of fsync cheap */
static void setup(void)
{
    make_dir_in(true);
}

static void teardown(void)
{
    remove_dir();
}

TestSuite(faults, .init = setup, .fini = teardown, .timeout = 240);

static long meta_step(const char *path)
{
    bp_error e;
    bp_st_file *f = bp_st_load(path, &e);
    cr_assert_not_null(f, "%s", e.msg);
    const char *s = bp_st_meta(f, "step");
    cr_assert_not_null(s);
    long step = atol(s);
    bp_st_free(f);
    return step;
}

/* An IRNN whose learning rate jumps 10^4-fold at step 7: the loss overflows a few steps
 * later, deterministically. A checkpoint every 5 steps. */
#define OVERFLOW                                                                           \
    "--set model.layers[0].hidden=8 --set train.batch=4 --set train.eval_batch=8 "        \
    "--set data.steps=8 --set train.optimizer=sgd --set train.lr=1e-3 "                   \
    "--set train.schedule=step --set train.step_every=6 --set train.step_gamma=1e4 "      \
    "--set train.clip_norm=0 --set train.checkpoint_every=5"

Test(faults, an_overflowing_loss_is_reported_and_the_last_checkpoint_survives)
{
    cr_assert_eq(bptt("train %s " OVERFLOW " --steps 100 --quiet --out ck.st",
                      MODEL("irnn_adding")), 1, "%s", err_text);
    const char *at = strstr(err_text, "bptt train: step ");
    cr_assert_not_null(at, "%s", err_text);
    char first[256];
    snprintf(first, sizeof first, "%.*s", (int)strcspn(at, ";"), at);
    long bad = atol(at + strlen("bptt train: step "));
    cr_expect(strstr(err_text, ": loss is +Inf") || strstr(err_text, ": loss is NaN") ||
                  strstr(err_text, ": loss is -Inf"),
              "%s", err_text);
    cr_expect(strstr(err_text, "the first non-finite value is the output of"), "%s", err_text);
    cr_expect(strstr(err_text, "parameter"), "a parameter is named: %s", err_text);
    cr_assert_gt(bad, 5, "the overflow should come after the first checkpoint: %s", err_text);
    long saved = (bad - 1) / 5 * 5;
    cr_expect(strstr(out, "saved checkpoint ck.st (step 5)"), "%s", out);
    cr_expect_eq(meta_step(tmp("ck.st")), saved, "the checkpoint of step %ld survives", saved);

    /* it loads and evaluates, and resuming from it meets the same overflow at the same step */
    cr_expect_eq(bptt("eval %s " OVERFLOW " --weights ck.st", MODEL("irnn_adding")), 0, "%s",
                 err_text);
    cr_expect_eq(bptt("train %s " OVERFLOW " --steps 100 --quiet --resume ck.st --out ck2.st",
                      MODEL("irnn_adding")), 1, "%s", err_text);
    cr_expect(strstr(err_text, first), "resumed: %s; first: %s", err_text, first);
}

Test(faults, a_parameter_holding_nan_is_named_and_nothing_changes)
{
    const char *sets[] = {"model.layers[0].hidden=8", "train.batch=2", "train.eval_batch=2",
                          "data.steps=4"};
    bp_error err;
    bp_model_config *c = bp_model_config_load(MODEL("tanh_adding"), sets, 4, &err);
    cr_assert_not_null(c, "%s", err.msg);
    bp_trainer *tr = bp_trainer_new(c, &err);
    cr_assert_not_null(tr, "%s", err.msg);
    double loss;
    bp_step_info info;
    cr_assert_eq(bp_trainer_step(tr, &loss, &info, &err), BP_OK, "%s", err.msg);
    bp_node *w = NULL;
    bp_params *p = bp_trainer_params(tr);
    for (int i = 0; i < bp_params_count(p); i++)
        if (!strcmp(bp_params_at(p, i)->name, "rnn0.W_h"))
            w = bp_params_at(p, i);
    cr_assert_not_null(w);
    w->value[3] = NAN;
    size_t n = bp_params_elements(p);
    bp_real *before = malloc(n * sizeof *before);
    for (int i = 0, k = 0; i < bp_params_count(p); k += (int)bp_params_at(p, i)->size, i++)
        memcpy(before + k, bp_params_at(p, i)->value, bp_params_at(p, i)->size * sizeof *before);
    cr_assert_eq(bp_trainer_step(tr, &loss, &info, &err), BP_ERR_NONFINITE);
    cr_expect(strstr(err.msg, "step 2: loss is NaN; parameter rnn0.W_h [8, 8] holds nan at "
                              "element 3"),
              "%s", err.msg);
    cr_expect_eq(bp_trainer_steps_done(tr), 1);
    for (int i = 0, k = 0; i < bp_params_count(p); k += (int)bp_params_at(p, i)->size, i++)
        for (size_t j = 0; j < bp_params_at(p, i)->size; j++) {
            bp_real a = before[k + (int)j], b = bp_params_at(p, i)->value[j];
            cr_expect(a == b || (isnan(a) && isnan(b)), "%s changed",
                      bp_params_at(p, i)->name);
        }
    free(before);
    bp_trainer_free(tr);
    bp_model_config_free(c);
}

/* ---------------------------------------------------------------- kill -9 */

static void sleep_us(long us)
{
    nanosleep(&(struct timespec){us / 1000000, (us % 1000000) * 1000}, NULL);
}

/* How many temporary files (".ck.st.tmp-*") dir holds; removes them. */
static int sweep_temporaries(void)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "n=$(ls -a '%s' | grep -c '^\\.ck\\.st\\.tmp-'); rm -f '%s'/.ck.st.tmp-*; "
             "exit $n", dir, dir);
    int status = system(cmd);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 0;
}

/* A child resumes from the checkpoint, then trains and saves in a loop, setting out.b[0]
 * to the step before each save, and reports each finished save on a pipe; it is killed
 * at a random moment. The file must then load as a whole checkpoint whose header step,
 * trainer.step tensor and out.b[0] all name the same save: the last one that finished,
 * or the one in flight. */
Test(faults, kill_9_while_the_library_writes_checkpoints)
{
    const char *sets[] = {"model.layers[0].hidden=96", "train.batch=2", "train.eval_batch=2",
                          "data.steps=4"};
    bp_error err;
    bp_model_config *c = bp_model_config_load(MODEL("tanh_adding"), sets, 4, &err);
    cr_assert_not_null(c, "%s", err.msg);
    bp_trainer *tr = bp_trainer_new(c, &err), *check = bp_trainer_new(c, &err);
    cr_assert(tr && check, "%s", err.msg);
    bp_node *ob = NULL;
    for (int i = 0; i < bp_params_count(bp_trainer_params(tr)); i++)
        if (!strcmp(bp_params_at(bp_trainer_params(tr), i)->name, "out.b"))
            ob = bp_params_at(bp_trainer_params(tr), i);
    cr_assert_not_null(ob);
    const char *path = tmp("ck.st");
    cr_assert_eq(bp_trainer_save(tr, path, &err), BP_OK, "%s", err.msg);
    bp_rng rng;
    bp_rng_seed(&rng, 2024);
    long on_disk = 0;
    /* under valgrind the writer runs some 30 times slower */
    bool slow = under_valgrind();
    int rounds = slow ? 10 : 100, torn = 0;
    for (int r = 1; r <= rounds; r++) {
        int fds[2];
        cr_assert_eq(pipe(fds), 0);
        pid_t pid = fork();
        cr_assert_neq(pid, -1);
        if (pid == 0) {
            /* resume from the file, then step and save, step and save, ... */
            close(fds[0]);
            bp_error e;
            if (bp_trainer_load(tr, path, false, &e) != BP_OK)
                _exit(3);
            for (;;) {
                double loss;
                bp_step_info info;
                if (bp_trainer_step(tr, &loss, &info, &e) != BP_OK)
                    _exit(4);
                long k = bp_trainer_steps_done(tr);
                ob->value[0] = (bp_real)k;
                if (bp_trainer_save(tr, path, &e) != BP_OK)
                    _exit(5);
                if (write(fds[1], &k, sizeof k) != sizeof k)
                    _exit(6);
            }
        }
        close(fds[1]);
        sleep_us((200 + (long)bp_rng_below(&rng, 30000)) * (slow ? 30 : 1));
        kill(pid, SIGKILL);
        int status;
        cr_assert_eq(waitpid(pid, &status, 0), pid);
        cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "the writer failed: %d",
                  status);
        long k, done = 0;
        while (read(fds[0], &k, sizeof k) == sizeof k)
            done = k;
        close(fds[0]);
        torn += sweep_temporaries() > 0;

        long step = meta_step(path);
        if (done)
            cr_assert(step == done || step == done + 1, "round %d: finished %ld, file has %ld", r,
                      done, step);
        else
            cr_assert(step == on_disk || step == on_disk + 1, "round %d: before %ld, file has %ld",
                      r, on_disk, step);
        cr_assert_eq(bp_trainer_load(check, path, false, &err), BP_OK, "round %d: %s", r, err.msg);
        cr_assert_eq(bp_trainer_steps_done(check), step);
        bp_node *cb = NULL;
        for (int i = 0; i < bp_params_count(bp_trainer_params(check)); i++)
            if (!strcmp(bp_params_at(bp_trainer_params(check), i)->name, "out.b"))
                cb = bp_params_at(bp_trainer_params(check), i);
        if (step > 0)
            cr_assert_eq((long)cb->value[0], step, "round %d: data and header from different "
                         "saves", r);
        on_disk = step;
    }
    cr_log_info("kill -9: %d rounds, %d killed between creating the temporary file and the "
                "rename", rounds, torn);
    if (!slow)
        cr_expect_gt(torn, 0, "no kill landed inside a write");
    bp_trainer_free(check);
    bp_trainer_free(tr);
    bp_model_config_free(c);
}

/* `bptt train` saving every step, killed at random moments, resumed each time. */
Test(faults, kill_9_while_bptt_train_checkpoints_every_step)
{
    bp_rng rng;
    bp_rng_seed(&rng, 7);
    long last = -1;
    int rounds = 15;
    for (int r = 0; r < rounds; r++) {
        bool resume = access(tmp("ck.st"), F_OK) == 0;
        pid_t pid = fork();
        cr_assert_neq(pid, -1);
        if (pid == 0) {
            if (chdir(dir) != 0 || !freopen("/dev/null", "w", stdout))
                _exit(126);
            setenv("OPENBLAS_NUM_THREADS", "1", 1);
            const char *argv[] = {BPTT, "train", MODEL("tanh_adding"), "--set",
                                  "model.layers[0].hidden=64", "--set", "train.batch=4",
                                  "--set", "data.steps=10", "--set", "train.checkpoint_every=1",
                                  "--steps", "100000000", "--quiet", "--out", "ck.st",
                                  resume ? "--resume" : NULL, "ck.st", NULL};
            execv(BPTT, (char *const *)argv);
            _exit(127);
        }
        sleep_us(50000 + (long)bp_rng_below(&rng, 250000));
        kill(pid, SIGKILL);
        int status;
        cr_assert_eq(waitpid(pid, &status, 0), pid);
        cr_assert(WIFSIGNALED(status), "bptt train ended by itself: %d", status_of(status));
        if (access(tmp("ck.st"), F_OK) != 0)
            continue; /* killed before its first save */
        long step = meta_step(tmp("ck.st"));
        cr_expect_geq(step, last, "round %d: the checkpoint went back from %ld to %ld", r, last,
                      step);
        last = step;
        sweep_temporaries();
    }
    cr_assert_gt(last, 0, "no checkpoint was ever written");
    cr_expect_eq(bptt("eval %s --set model.layers[0].hidden=64 --set data.steps=10 "
                      "--weights ck.st", MODEL("tanh_adding")), 0, "%s", err_text);
}
