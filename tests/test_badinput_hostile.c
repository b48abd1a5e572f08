/* test_badinput_hostile.c — the second round of hostile input (issue 15), from the
 * command line: FIFOs and devices where files belong (no hang, no replaced node), an
 * output that is an input of the same run, checkpoints whose values are out of their
 * domain, a final write that could not succeed (found before step 1), plot's degenerate
 * axes and endless lines. Each case: the exact message, the exit status, and nothing
 * that existed before is touched. The suite's timeout turns a hang into a failure. */
#include "test_badinput_run.h"

#include <math.h>
#include <time.h>

static void setup(void)
{
    make_dir_in(true);
}

static void teardown(void)
{
    remove_dir();
}

TestSuite(hostile, .init = setup, .fini = teardown, .timeout = 120);

#define ADDING MODEL("tanh_adding")

/* A tiny checkpoint (Adam) at dir/name. */
static void make_checkpoint(const char *name)
{
    cr_assert_eq(bptt("train %s " TINY " --steps 2 --quiet --out %s", ADDING, name), 0, "%s",
                 err_text);
}

/* Overwrite the first n bytes of tensor name's data in the safetensors file at path. */
static void patch_tensor(const char *path, const char *name, const void *bytes, size_t n)
{
    size_t size;
    unsigned char *f = read_bytes(path, &size);
    cr_assert(f && size > 8);
    uint64_t hlen = 0;
    memcpy(&hlen, f, 8);
    char key[128];
    snprintf(key, sizeof key, "\"%s\":{", name);
    char *header = strndup((const char *)f + 8, hlen);
    const char *at = strstr(header, key), *off = at ? strstr(at, "\"data_offsets\":[") : NULL;
    cr_assert_not_null(off, "no tensor %s in %s", name, path);
    size_t begin = strtoul(off + 16, NULL, 10);
    memcpy(f + 8 + hlen + begin, bytes, n);
    write_bytes(path, f, size);
    free(header);
    free(f);
}

static bool is_fifo(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISFIFO(st.st_mode);
}

/* A zero batch of B sequences of T steps of F features, value targets, at dir/name. */
static void save_batch(const char *name, int B, int T, int F)
{
    bp_error e = {0};
    bp_batch *b = bp_batch_new(B, T, F, false, BP_TARGET_VALUES, 1, &e);
    cr_assert_not_null(b, "%s", e.msg);
    cr_assert_eq(bp_batch_save(tmp(name), b, &e), BP_OK, "%s", e.msg);
    bp_batch_free(b);
}

/* ---------------------------------------------------------------- hangs */

Test(hostile, a_fifo_is_refused_wherever_a_file_is_read)
{
    cr_assert_eq(mkfifo(tmp("fifo"), 0644), 0);
    const char *fifo_msg = "fifo: not a regular file (a FIFO)";
    expect_run(2, fifo_msg, "eval %s " TINY " --weights fifo", ADDING);
    expect_run(2, fifo_msg, "train %s " TINY " --steps 2 --resume fifo", ADDING);
    expect_run(2, fifo_msg, "train %s " TINY " --steps 2 --weights fifo", ADDING);
    expect_run(2, fifo_msg, "eval %s " TINY " --batch fifo", ADDING);
    expect_run(2, fifo_msg, "gradflow %s " TINY " --batch fifo", ADDING);
    expect_run(2, "chars task: ", "summary %s --set data.path=%s", MODEL("char_lstm"), tmp("fifo"));
    cr_expect(strstr(err_text, "fifo: not a regular file (a FIFO)"), "%s", err_text);
    expect_run(2, "bptt plot: fifo: not a regular file (a FIFO)", "plot fifo --svg p.svg");
    expect_run(2, "fifo:1:1: is not a regular file", "summary fifo");
    cr_expect(is_fifo(tmp("fifo")));
}

Test(hostile, a_device_is_refused_wherever_a_file_is_read)
{
    expect_run(2, "/dev/zero: not a regular file (a character device)",
               "eval %s " TINY " --weights /dev/zero", ADDING);
    expect_run(2, "/dev/null: not a regular file (a character device)",
               "train %s " TINY " --steps 2 --resume /dev/null", ADDING);
    expect_run(2, "bptt plot: /dev/zero: not a regular file (a character device)",
               "plot /dev/zero --svg p.svg");
    cr_expect_neq(access(tmp("p.svg"), F_OK), 0, "plot wrote a figure of nothing");
}

/* ---------------------------------------------------------------- devices as outputs */

Test(hostile, a_device_or_fifo_as_an_output_is_refused_and_left_alone)
{
    make_checkpoint("ck.st");
    cr_assert_eq(bptt("batch %s " TINY " --out b.st", ADDING), 0, "%s", err_text);
    const char *dev = "it exists and is not a regular file (a character device); left alone";
    char want[256];
    snprintf(want, sizeof want, "bptt train: cannot write the checkpoint /dev/null: %s", dev);
    expect_run(2, want, "train %s " TINY " --steps 2 --out /dev/null", ADDING);
    cr_expect_eq(strstr(out, "training"), NULL, "it trained first: %s", out);
    snprintf(want, sizeof want, "bptt train: cannot write the checkpoint /dev/full: %s", dev);
    expect_run(2, want, "train %s " TINY " --steps 2 --out /dev/full", ADDING);
    snprintf(want, sizeof want, "bptt train: cannot write the log /dev/full: %s", dev);
    expect_run(2, want, "train %s " TINY " --steps 2 --log /dev/full", ADDING);
    snprintf(want, sizeof want, "bptt init: cannot write the output /dev/null: %s", dev);
    expect_run(2, want, "init %s " TINY " --out /dev/null", ADDING);
    expect_run(2, "bptt batch: cannot write the output /dev/null: ", "batch %s " TINY
               " --out /dev/null", ADDING);
    expect_run(2, "bptt grads: cannot write the output /dev/full: ", "grads %s " TINY
               " --weights ck.st --batch b.st --out /dev/full", ADDING);
    struct stat st;
    cr_expect(stat("/dev/null", &st) == 0 && S_ISCHR(st.st_mode), "/dev/null was replaced");
    cr_expect(stat("/dev/full", &st) == 0 && S_ISCHR(st.st_mode), "/dev/full was replaced");
    /* a FIFO as the checkpoint, the log, a figure: refused without opening it (no hang) */
    cr_assert_eq(mkfifo(tmp("fifo"), 0644), 0);
    expect_run(2, "bptt train: cannot write the checkpoint fifo: it exists and is not a regular "
               "file (a FIFO); left alone", "train %s " TINY " --steps 2 --out fifo", ADDING);
    expect_run(2, "bptt train: cannot write the log fifo: it exists and is not a regular file "
               "(a FIFO); left alone", "train %s " TINY " --steps 2 --log fifo", ADDING);
    write_text(tmp("log.csv"), "step,loss,grad_norm,clipped,lr,eval_loss,eval_metric\n1,1,1,0,"
                               "0.1,,\n2,0.5,1,0,0.1,,\n");
    expect_run(2, "bptt plot: cannot write the figure fifo: it exists and is not a regular file "
               "(a FIFO)", "plot log.csv --svg fifo");
    expect_run(2, "bptt gradflow: cannot write the table fifo: ", "gradflow %s " TINY
               " --csv fifo", ADDING);
    expect_run(2, "bptt graph: cannot write the graph fifo: ", "graph %s " TINY " --steps 2 --dot fifo",
               ADDING);
    cr_assert_eq(mkfifo(tmp("fifo.csv"), 0644), 0);
    expect_run(2, "bptt predict: cannot write the predictions fifo.csv: it exists and is not a "
               "regular file (a FIFO); left alone",
               "predict %s " TINY " --weights ck.st --input b.safetensors --out fifo.csv", ADDING);
    cr_expect(is_fifo(tmp("fifo")) && is_fifo(tmp("fifo.csv")));
}

/* ---------------------------------------------------------------- an input as an output */

Test(hostile, an_output_that_is_an_input_of_the_same_run_is_refused)
{
    write_text(tmp("m.yaml"), "model:\n  layers:\n    - {type: rnn, hidden: 8}\n"
                              "data: {task: adding, steps: 4}\n"
                              "train: {batch: 2, eval_batch: 2, steps: 2}\n");
    size_t n0 = 0;
    unsigned char *model = read_bytes(tmp("m.yaml"), &n0);
    const char *tail = "an input of this run: refusing to overwrite it; choose another path";
    char want[256];
    snprintf(want, sizeof want, "bptt train: the checkpoint m.yaml is the model file m.yaml, %s",
             tail);
    expect_run(2, want, "train m.yaml --out m.yaml");
    snprintf(want, sizeof want, "bptt train: --log m.yaml is the model file m.yaml, %s", tail);
    expect_run(2, want, "train m.yaml --log m.yaml");
    /* another spelling and a hard link are the same file */
    expect_run(2, "bptt train: --log ./m.yaml is the model file m.yaml", "train m.yaml --log ./m.yaml");
    cr_assert_eq(link(tmp("m.yaml"), tmp("hard.yaml")), 0);
    expect_run(2, "bptt train: the checkpoint hard.yaml is the model file m.yaml",
               "train m.yaml --out hard.yaml");
    cr_assert_eq(bptt("train m.yaml --out ck.st --quiet"), 0, "%s", err_text);
    size_t n1 = 0;
    unsigned char *ck = read_bytes(tmp("ck.st"), &n1);
    snprintf(want, sizeof want, "bptt train: --log ck.st is --resume ck.st, %s", tail);
    expect_run(2, want, "train m.yaml --steps 4 --resume ck.st --log ck.st");
    expect_run(2, "bptt train: --log ck.st is --weights ck.st", "train m.yaml --weights ck.st "
               "--log ck.st");
    expect_run(2, "bptt train: the checkpoint out.st and --log out.st are the same file: choose "
               "two paths", "train m.yaml --out out.st --log out.st");
    cr_expect_neq(access(tmp("out.st"), F_OK), 0);
    /* continuing a run in place stays allowed: the checkpoint is read whole first */
    expect_run(0, "", "train m.yaml --steps 3 --quiet --resume ck.st --out ck.st");
    free(ck);
    ck = read_bytes(tmp("ck.st"), &n1);
    cr_assert_eq(bptt("batch m.yaml --out b.st"), 0, "%s", err_text);
    size_t nb = 0;
    unsigned char *batch = read_bytes(tmp("b.st"), &nb);
    snprintf(want, sizeof want, "bptt grads: --out b.st is --batch b.st, %s", tail);
    expect_run(2, want, "grads m.yaml --weights ck.st --batch b.st --out b.st");
    expect_run(2, "bptt grads: --out ck.st is --weights ck.st", "grads m.yaml --weights ck.st "
               "--batch b.st --out ck.st");
    expect_run(2, "bptt init: --out ck.st is --weights ck.st", "init m.yaml --weights ck.st "
               "--out ck.st");
    expect_run(2, "bptt batch: --out m.yaml is the model file m.yaml", "batch m.yaml --out m.yaml");
    write_text(tmp("log.csv"), "step,loss\n1,1\n");
    expect_run(2, "bptt plot: --svg log.csv is the log log.csv", "plot log.csv --svg log.csv");
    expect_run(2, "bptt gradflow: --csv m.yaml is a model file m.yaml", "gradflow m.yaml "
               "--csv m.yaml");
    expect_run(2, "bptt graph: --dot m.yaml is the model file m.yaml",
               "graph m.yaml --steps 2 --dot m.yaml");
    /* a data file the model names */
    write_text(tmp("text.txt"), "abcdefghijklmnopqrstuvwxyz abcdefghijklmnopqrstuvwxyz\n");
    expect_run(2, "bptt train: the checkpoint text.txt is the data file", "train %s --set "
               "data.path=%s --set data.steps=4 --out text.txt", MODEL("char_lstm"), tmp("text.txt"));
    size_t m0 = 0, m1 = 0, m2 = 0;
    unsigned char *a = read_bytes(tmp("m.yaml"), &m0), *b = read_bytes(tmp("ck.st"), &m1),
                  *c = read_bytes(tmp("b.st"), &m2);
    cr_expect(m0 == n0 && !memcmp(a, model, n0), "the model file changed");
    cr_expect(m1 == n1 && !memcmp(b, ck, n1), "the checkpoint changed");
    cr_expect(m2 == nb && !memcmp(c, batch, nb), "the batch changed");
    free(a), free(b), free(c), free(model), free(ck), free(batch);
}

/* ---------------------------------------------------------------- loaded values */

Test(hostile, a_checkpoint_out_of_its_domain_is_refused_on_load)
{
    make_checkpoint("ck.st");
    size_t n = 0;
    unsigned char *good = read_bytes(tmp("ck.st"), &n);
    const float nan_ = NAN, inf = INFINITY, neg = -1e-3f;
    const int64_t zeros[4] = {0};
    struct {
        const char *tensor;
        const void *bytes;
        size_t n;
        const char *msg;
    } cases[] = {
        {"rnn0.W_h", &nan_, 4, "ck.st: tensor 'rnn0.W_h' holds nan at element 0: a checkpoint's "
                               "values must be finite"},
        {"out.b", &inf, 4, "ck.st: tensor 'out.b' holds inf at element 0: a checkpoint's values "
                           "must be finite"},
        {"adam.m.rnn0.b", &nan_, 4, "ck.st: tensor 'adam.m.rnn0.b' holds nan at element 0"},
        {"adam.v.rnn0.W_x", &neg, 4, "ck.st: tensor 'adam.v.rnn0.W_x' holds -0.001 at element 0: "
                                     "a mean of squares cannot be negative"},
        {"trainer.data_rng", zeros, sizeof zeros,
         "ck.st: trainer.data_rng is all zeros, a state the random generator cannot leave "
         "(bptt never writes it)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        write_bytes(tmp("ck.st"), good, n);
        patch_tensor(tmp("ck.st"), cases[i].tensor, cases[i].bytes, cases[i].n);
        expect_run(2, cases[i].msg, "train %s " TINY " --steps 4 --resume ck.st --out ck2.st",
                   ADDING);
        cr_expect_eq(strstr(out, "training"), NULL, "%s", out);
        cr_expect_neq(access(tmp("ck2.st"), F_OK), 0);
        if (strncmp(cases[i].tensor, "adam.", 5) && strncmp(cases[i].tensor, "trainer.", 8)) {
            expect_run(2, cases[i].msg, "eval %s " TINY " --weights ck.st", ADDING);
            expect_run(2, cases[i].msg, "train %s " TINY " --steps 2 --weights ck.st", ADDING);
        }
    }
    free(good);
}

/* ---------------------------------------------------------------- the final write */

static const char *graph_model =
    "model:\n  graph:\n    name: %s\n    state: {h: 4}\n    params:\n"
    "      W_x: {shape: [2, 4], init: normal, std: 0.1}\n"
    "      %s: {shape: [4, 4], init: identity, gain: 1.0}\n"
    "    nodes:\n      - {name: xw, op: matmul, inputs: [x, W_x]}\n"
    "      - {name: hw, op: matmul, inputs: [h, %s]}\n"
    "      - {name: pre, op: add, inputs: [xw, hw]}\n"
    "      - {name: h_new, op: tanh, inputs: [pre]}\n"
    "    next: {h: h_new}\nloss: mse\ndata: {task: adding, steps: 5}\n"
    "train: {batch: 2, eval_batch: 2, steps: 3, optimizer: adam}\n";

static void write_graph(const char *cell, const char *param)
{
    char text[2048];
    snprintf(text, sizeof text, graph_model, cell, param, param);
    write_text(tmp("g.yaml"), text);
}

Test(hostile, a_final_write_that_cannot_succeed_is_found_before_step_1)
{
    const char *hint = "(a parameter's name must differ from the trainer's and the optimizer's "
                       "own tensors, trainer.step, adam.m.NAME, ..., and hold no control character)";
    char want[512];
    write_graph("trainer", "step");
    snprintf(want, sizeof want, "bptt train: ck.st: this model's checkpoint cannot be written: "
             "safetensors: tensor 'trainer.step' added twice %s", hint);
    expect_run(2, want, "train g.yaml --out ck.st");
    cr_expect_eq(strstr(out, "training"), NULL, "it trained first: %s", out);
    write_graph("trainer", "data_rng");
    expect_run(2, "tensor 'trainer.data_rng' added twice", "train g.yaml --out ck.st");
    write_graph("adam", "m.adam.W_x");
    expect_run(2, "tensor 'adam.m.adam.W_x' added twice", "train g.yaml --out ck.st");
    write_graph("cell", "\"s\\x01\"");
    expect_run(2, "safetensors: a tensor name contains a control character",
               "train g.yaml --out ck.st");
    cr_expect_neq(access(tmp("ck.st"), F_OK), 0);
    /* a name too long for the file system; one just short enough still works */
    char name[320];
    memset(name, 'x', 300);
    name[300] = '\0';
    expect_run(2, "the file name is 300 bytes, longer than 255",
               "train %s " TINY " --steps 2 --out %s", ADDING, name);
    cr_expect_eq(strstr(out, "training"), NULL, "it trained first: %s", out);
    name[250] = '\0';
    expect_run(0, "", "train %s " TINY " --steps 2 --quiet --out %s", ADDING, name);
    cr_expect(strstr(out, "xxxxxxxxxx (step 2)"), "%s", out);
    name[0] = '\0';
    /* a folder that cannot take a new file (not for root, who may write anywhere) */
    cr_assert_eq(mkdir(tmp("ro"), 0555), 0);
    if (geteuid() != 0)
        expect_run(2, "bptt train: cannot write the checkpoint ro/ck.st: Permission denied",
                   "train %s " TINY " --steps 2 --out ro/ck.st", ADDING);
}

/* ---------------------------------------------------------------- plot */

Test(hostile, plot_draws_degenerate_axes_and_refuses_endless_lines)
{
    write_text(tmp("big.csv"), "step,loss,grad_norm,clipped,lr,eval_loss,eval_metric\n"
                               "100000000000000000,1,1,0,0.1,,\n100000000000000032,0.5,1,0,0.1,,\n");
    expect_run(0, "", "plot big.csv --svg big.svg");
    struct stat st;
    cr_assert_eq(stat(tmp("big.svg"), &st), 0);
    cr_expect_lt(st.st_size, 100000, "the figure is %lld bytes", (long long)st.st_size);
    write_text(tmp("tiny.csv"), "step,loss,grad_norm,clipped,lr,eval_loss,eval_metric\n"
                                "1,1e-300,1e-300,0,0.1,,\n1.0000000000000002,1e-300,1e-300,0,0.1,,\n");
    expect_run(0, "", "plot tiny.csv --svg tiny.svg");
    cr_assert_eq(stat(tmp("tiny.svg"), &st), 0);
    cr_expect_lt(st.st_size, 100000);
    /* one line longer than any log's, without a newline */
    size_t n = 100000;
    char *line = malloc(n);
    memset(line, '1', n);
    memcpy(line, "step,loss\n", 10);
    write_bytes(tmp("long.csv"), line, n);
    free(line);
    expect_run(2, "bptt plot: long.csv:2: the line is longer than 65536 bytes",
               "plot long.csv --svg l.svg");
}

/* ---------------------------------------------------------------- accepted silently */

Test(hostile, numbers_are_read_whole)
{
    const char *bad[] = {"4294967297", "4abc", "0", "-1", "1048577", "99999999999999999999", " 4"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char want[160];
        snprintf(want, sizeof want, "bptt batch: --size takes a whole number from 1 to 1048576, "
                 "not '%s'", bad[i]);
        expect_run(2, want, "batch %s " TINY " --size '%s' --out b.st", ADDING, bad[i]);
        snprintf(want, sizeof want, "bptt gradflow: --size takes a whole number from 1 to "
                 "1048576, not '%s'", bad[i]);
        expect_run(2, want, "gradflow %s " TINY " --size '%s'", ADDING, bad[i]);
    }
    cr_expect_neq(access(tmp("b.st"), F_OK), 0);
    expect_run(0, "", "batch %s " TINY " --size 3 --out b.st", ADDING);
    cr_expect(strstr(out, "wrote a batch of 3 sequences"), "%s", out);
}

Test(hostile, a_set_through_a_yaml_alias_changes_that_use_only)
{
    write_text(tmp("al.yaml"), "model:\n  layers:\n    - &a {type: rnn, hidden: 8}\n    - *a\n"
                               "data: {task: adding, steps: 4}\n");
    expect_run(0, "", "summary al.yaml --set model.layers[1].hidden=16");
    cr_expect(strstr(out, "rnn0         rnn        [B, 8        ]"), "%s", out);
    cr_expect(strstr(out, "rnn1         rnn        [B, 16       ]"), "%s", out);
    expect_run(0, "", "summary al.yaml --set model.layers[0].hidden=16");
    cr_expect(strstr(out, "rnn0         rnn        [B, 16       ]"), "%s", out);
    cr_expect(strstr(out, "rnn1         rnn        [B, 8        ]"), "%s", out);
    /* a mapping alias: train: *t used twice is not possible, but a nested one is */
    write_text(tmp("al2.yaml"), "x: &s {steps: 4}\nmodel:\n  layers: [{type: rnn, hidden: 8}]\n"
                                "data: {task: adding, steps: 4}\n");
    expect_run(2, "unknown key 'x'", "summary al2.yaml");
}

Test(hostile, a_utf8_bom_may_come_right_before_a_key)
{
    const char text[] = "\xef\xbb\xbfmodel:\n  layers:\n    - {type: rnn, hidden: 8}\n"
                        "data: {task: adding, steps: 4}\n";
    write_bytes(tmp("bom.yaml"), text, sizeof text - 1);
    expect_run(0, "", "summary bom.yaml");
    cr_expect(strstr(out, "model bom (adding task, T = 4)"), "%s", out);
    /* its errors still have their place: line 2, column 5 */
    const char bad[] = "\xef\xbb\xbfmodel:\n  layrs:\n    - {type: rnn, hidden: 8}\n"
                       "data: {task: adding, steps: 4}\n";
    write_bytes(tmp("bad.yaml"), bad, sizeof bad - 1);
    expect_run(2, "bad.yaml:2:3: unknown key 'layrs'", "summary bad.yaml");
    /* a BOM twice is content, not a BOM */
    const char two[] = "\xef\xbb\xbf\xef\xbb\xbfmodel: {}\n";
    write_bytes(tmp("two.yaml"), two, sizeof two - 1);
    cr_expect_eq(bptt("summary two.yaml"), 2, "%s", err_text);
}

/* ---------------------------------------------------------------- undefined behaviour */

Test(hostile, softmax_xent_refuses_targets_that_are_not_classes_before_converting_them)
{
    const double targets[] = {-INFINITY, INFINITY, NAN, 1e30, -1e30, 3, 2.5, -2, 2147483648.0};
    for (size_t i = 0; i < sizeof targets / sizeof targets[0]; i++) {
        bp_tape *t = bp_tape_new();
        bp_real z[6] = {0.1, 0.2, 0.3, 0.4, 0.5, 0.6}, y[2] = {1, (bp_real)targets[i]};
        bp_node *zn = bp_tape_input(t, bp_shape2(2, 3), z, false);
        bp_node *yn = bp_tape_input(t, bp_shape1(2), y, false);
        bp_node *loss = bp_softmax_xent(t, zn, yn);
        cr_expect_null(loss, "target %g was taken", targets[i]);
        const bp_error *e = bp_tape_error(t);
        cr_expect(e && strstr(e->msg, "in row 1 is not a class in [0, 3)"), "%g: %s", targets[i],
                  e ? e->msg : "(no error)");
        bp_tape_free(t);
    }
}

/* ---------------------------------------------------------------- memory */

Test(hostile, batches_from_elsewhere_meet_the_memory_estimate_before_allocating)
{
    save_batch("huge.st", 2, 1000000, 2);
    /* a run that allocated first could not pass */
    run_prefix = SANITIZED ? "" : "ulimit -v 1048576;";
    expect_run(2, "bptt grads: huge.st: model too large: a forward and backward of 2 sequences "
               "of 1000000 steps needs about ", "grads %s --batch huge.st --out g.st", ADDING);
    cr_expect(strstr(err_text, "MiB, more than train.max_memory_mb = 4096"), "%s", err_text);
    expect_run(2, "bptt eval: huge.st: model too large: a forward of 2 sequences of 1000000 "
               "steps needs about ", "eval %s --batch huge.st --set train.max_memory_mb=1024",
               ADDING);
    cr_expect(strstr(err_text, "MiB, more than train.max_memory_mb = 1024"), "%s", err_text);
    expect_run(2, "bptt gradflow: huge.st: model too large: a forward and backward of 2 "
               "sequences of 1000000 steps", "gradflow %s --batch huge.st", ADDING);
    expect_run(2, "model too large: a forward and backward of 1048576 sequences of 30 steps",
               "gradflow %s --size 1048576", ADDING);
    run_prefix = "";
    cr_expect_neq(access(tmp("g.st"), F_OK), 0);
    /* a batch of the other target kind */
    cr_assert_eq(bptt("batch %s --set data.steps=2 --size 2 --out copy.st", MODEL("gru_copy")), 0,
                 "%s", err_text);
    expect_run(2, "bptt grads: copy.st: the batch's targets are class ids; the model predicts "
               "values", "grads %s " TINY " --batch copy.st --out g.st", ADDING);
    cr_assert_eq(bptt("batch %s " TINY " --out vals.st", ADDING), 0, "%s", err_text);
    expect_run(2, "bptt eval: vals.st: the batch's targets are values; the model predicts classes",
               "eval %s --set data.steps=2 --batch vals.st", MODEL("gru_copy"));
}

/* ---------------------------------------------------------------- places */

/* A cell whose next state is one row whatever the batch: it fits the dry run's batch 1. */
static const char *rows_model =
    "model:\n  graph:\n    name: cell\n    state: {h: 4}\n    params:\n"
    "      W_x: {shape: [2, 4], init: normal, std: 0.1}\n"
    "      W_h: {shape: [4, 4], init: identity, gain: 1.0}\n"
    "    nodes:\n      - {name: xw, op: matmul, inputs: [x, W_x]}\n"
    "      - {name: hw, op: matmul, inputs: [h, W_h]}\n"
    "      - {name: pre, op: add, inputs: [xw, hw]}\n"
    "      - {name: h_new, op: tanh, inputs: [pre]}\n"
    "      - {name: first, op: rows, inputs: [h_new], begin: 0, count: 1}\n"
    "    next: {h: first}\nloss: mse\ndata: {task: adding, steps: 5}\n"
    "train: {batch: 4, eval_batch: 4, steps: 3, optimizer: adam}\n";

Test(hostile, a_cell_state_whose_shape_depends_on_the_batch_is_named_at_its_node)
{
    write_text(tmp("g.yaml"), rows_model);
    const char *at = "g.yaml:13:9: layer 'cell': the next value of state 'h' is node 'first' of "
                     "shape [1, 4] (batch %d); the state is [%d, 4]";
    char want[512];
    snprintf(want, sizeof want, "bptt train: ");
    snprintf(want + strlen(want), sizeof want - strlen(want), at, 4, 4);
    expect_run(2, want, "train g.yaml --out ck.st");
    cr_expect_eq(strstr(err_text, "mse:"), NULL, "%s", err_text);
    cr_expect_neq(access(tmp("ck.st"), F_OK), 0, "a checkpoint was written");
    snprintf(want, sizeof want, at, 2, 2);
    expect_run(2, want, "gradcheck g.yaml");
    snprintf(want, sizeof want, at, 4, 4);
    expect_run(2, want, "gradflow g.yaml");
    cr_assert_eq(bptt("init g.yaml --out w.st"), 0, "%s", err_text);
    expect_run(2, want, "eval g.yaml --weights w.st");
    /* at batch 1 it is a valid cell */
    expect_run(0, "", "train g.yaml --set train.batch=1 --set train.eval_batch=1 --quiet "
               "--out ck.st");
}

Test(hostile, a_batch_that_does_not_fit_the_net_is_named_by_its_file)
{
    save_batch("wide.st", 2, 3, 4);
    cr_assert_eq(bptt("init %s " TINY " --out w.st", ADDING), 0, "%s", err_text);
    const char *msg = "wide.st: net: the batch has 4 features per step; the input size is 2";
    char want[256];
    const char *runs[][2] = {
        {"eval", "eval %s " TINY " --weights w.st --batch wide.st"},
        {"grads", "grads %s " TINY " --weights w.st --batch wide.st --out g.st"},
        {"gradflow", "gradflow %s " TINY " --batch wide.st"},
        {"gradcheck", "gradcheck %s " TINY " --batch wide.st"},
    };
    for (size_t i = 0; i < sizeof runs / sizeof runs[0]; i++) {
        snprintf(want, sizeof want, "bptt %s: %s\n", runs[i][0], msg);
        expect_run(2, want, runs[i][1], ADDING);
    }
    cr_expect_neq(access(tmp("g.st"), F_OK), 0);
    /* a token model's batch of other classes; gradcheck meets the memory estimate too */
    cr_assert_eq(bptt("batch %s --set data.steps=2 --set data.path=%s --size 2 --out chars.st",
                      MODEL("char_lstm"), BPTT_SOURCE_DIR "/README.md"), 0, "%s", err_text);
    expect_run(2, "bptt gradcheck: chars.st: net: the batch's targets have ",
               "gradcheck %s --set data.steps=2 --batch chars.st", MODEL("gru_copy"));
    save_batch("huge.st", 2, 1000000, 2);
    expect_run(2, "bptt gradcheck: huge.st: model too large: a forward and backward of 2 "
               "sequences of 1000000 steps", "gradcheck %s --batch huge.st", ADDING);
}

/* ---------------------------------------------------------------- time */

static double seconds_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* A model file of n rnn layers; layer `named` (if >= 0) is given the name `name` and
 * layer `skip` (if >= 0) a skip connection from layer 0 of another size. */
static void write_deep(int n, int named, const char *name, int skip)
{
    size_t cap = (size_t)n * 96 + 256, len = 0;
    char *text = malloc(cap);
    cr_assert_not_null(text);
    len += (size_t)snprintf(text + len, cap - len, "name: deep\nmodel:\n  layers:\n");
    for (int i = 0; i < n; i++) {
        len += (size_t)snprintf(text + len, cap - len, "    - type: rnn\n      hidden: %d\n",
                                i == skip ? 3 : 2);
        if (i == named)
            len += (size_t)snprintf(text + len, cap - len, "      name: %s\n", name);
        if (i == skip)
            len += (size_t)snprintf(text + len, cap - len, "      skip: l0\n");
        if (i == 0)
            len += (size_t)snprintf(text + len, cap - len, "      name: l0\n");
    }
    snprintf(text + len, cap - len, "loss: mse\ndata: {task: adding, steps: 4}\n");
    write_text(tmp("deep.yaml"), text);
    free(text);
}

/* The layer check was quadratic in the layers (each name against every earlier one,
 * each computed by counting): 2.7 s for 1024 layers in release. It sorts once now. */
Test(hostile, a_model_of_1024_layers_is_checked_in_well_under_a_second)
{
    /* instrumented builds are slower; release must be well under 1 s */
    double limit = SANITIZED ? 10 : 1;
    write_deep(1024, -1, NULL, -1);
    double t0 = seconds_now();
    expect_run(0, "", "summary deep.yaml");
    double took = seconds_now() - t0;
    cr_expect_lt(took, limit, "summary of 1024 layers took %.2f s", took);
    cr_expect(strstr(out, "rnn700 "), "%.200s", out); /* out holds the first 64 kB */
    /* the last layer named like an earlier one, counted names included: the same message */
    write_deep(1024, 1023, "rnn5", -1);
    t0 = seconds_now();
    expect_run(2, "bptt summary: deep.yaml:2051:7: layer 'rnn5': the name is taken by layer 5\n",
               "summary deep.yaml");
    took = seconds_now() - t0;
    cr_expect_lt(took, limit, "a duplicate among 1024 layers took %.2f s", took);
    write_deep(1024, 1023, "l0", -1);
    expect_run(2, "deep.yaml:2051:7: layer 'l0': the name is taken by layer 0\n",
               "summary deep.yaml");
    write_deep(1024, 1000, "x", 1023);
    expect_run(2, "deep.yaml:2052:7: layer 'rnn1023': skip from 'l0' needs size 3, has 2\n",
               "summary deep.yaml");
}
