/* test_badinput.c — broken, hostile and oversized input given to the `bptt` binary, as a
 * user would: each case checks the exit status (2 bad input, 1 runtime failure, never a
 * signal) and the message. Model files (syntax, tabs, types, sizes, nesting, alias bombs,
 * tags, encodings, empty files, directories), models too large to fit, damaged
 * checkpoints, text files and batches, and outputs that cannot be written — where no
 * existing file may be lost. docs/robustness.md lists the cases. */
#include "test_badinput_run.h"

static void setup(void)
{
    make_dir();
}

static void teardown(void)
{
    remove_dir();
}

TestSuite(badinput, .init = setup, .fini = teardown, .timeout = 120);

/* ---------------------------------------------------------------- model files */

/* `bptt summary FILE` on the bytes; exit 2 and the message. */
static void expect_yaml(const char *bytes, size_t n, const char *msg)
{
    write_bytes(tmp("bad.yaml"), bytes, n);
    expect_run(2, msg, "summary bad.yaml");
}
#define YAML(text, msg) expect_yaml(text, sizeof text - 1, msg)

Test(badinput, yaml_syntax_tabs_and_types)
{
    YAML("model:\n  layers: [\n", "bad.yaml:3:1: did not find expected node content");
    YAML("model: {layers: [}\n", "bad.yaml:1:");
    YAML("model:\n\tlayers: []\n",
         "bad.yaml:2:1: found a tab character in the indentation (YAML indents with spaces)");
    YAML("model:\n  layers:\n    - {type: rnn, hidden: sixty}\ndata: {task: adding}\n",
         "bad.yaml:3:27: 'model.layers[0].hidden' must be an integer, not 'sixty'");
    YAML("model:\n  layers:\n    - {type: rnn, hidden: \"64\"}\ndata: {task: adding}\n",
         "'model.layers[0].hidden' must be an integer");
    YAML("model: [1, 2]\ndata: {task: adding}\n", "bad.yaml:1:8: 'model' must be a mapping");
    YAML("model:\n  layers: {type: rnn}\ndata: {task: adding}\n",
         "'model.layers' must be a sequence");
    YAML("model:\n  layers:\n    - {type: rnn, hidden: 8, residual: yes}\ndata: {task: adding}\n",
         "'model.layers[0].residual'");
    YAML("model:\n  layers:\n    - {type: rnn, hidden: 8}\ndata: {task: adding}\n"
         "train: {lr: fast}\n",
         "bad.yaml:5:13: 'train.lr'");
    YAML("model:\n  layers:\n    - {type: rnn, hiden: 8}\ndata: {task: adding}\n",
         "bad.yaml:3:19: unknown key 'hiden' in 'model.layers[0]'");
    YAML("model:\n  layers:\n    - {type: rnn, hidden: 8}\ndata: {task: adding}\n"
         "data: {task: copy}\n",
         "bad.yaml:5:1: duplicate key 'data' at the top level (first at line 4, column 1)");
    YAML("model:\n  layers:\n    - {type: rnm, hidden: 8}\ndata: {task: adding}\n",
         "did you mean 'rnn'?");
    YAML("- 1\n- 2\n", "bad.yaml:1:1:");
    YAML("just text\n", "bad.yaml:1:1:");
    YAML("a: 1\n---\nb: 2\n", "bad.yaml:");
}

Test(badinput, yaml_huge_negative_and_zero_sizes)
{
    YAML("model:\n  layers:\n    - {type: rnn, hidden: 1000000000}\ndata: {task: adding}\n",
         "bad.yaml:3:27: 'model.layers[0].hidden' is 1000000000, too large (at most 65536)");
    YAML("model:\n  layers:\n    - {type: rnn, hidden: 99999999999999999999999}\n"
         "data: {task: adding}\n",
         "too large");
    YAML("model:\n  layers:\n    - {type: rnn, hidden: -4}\ndata: {task: adding}\n",
         "bad.yaml:3:27: 'model.layers[0].hidden' is -4, too small (at least 1)");
    YAML("model:\n  layers:\n    - {type: rnn, hidden: 0}\ndata: {task: adding}\n",
         "bad.yaml:3:27: 'model.layers[0].hidden' is 0, too small (at least 1)");
    YAML("model:\n  layers:\n    - {type: rnn, hidden: 8}\ndata: {task: adding, steps: 0}\n",
         "'data.steps' is 0, too small (at least 2)");
    YAML("model:\n  layers:\n    - {type: rnn, hidden: 8}\ndata: {task: adding, steps: 1e9}\n",
         "'data.steps' must be an integer");
    YAML("model:\n  layers:\n    - {type: rnn, hidden: 8}\ndata: {task: adding}\n"
         "train: {batch: -1}\n",
         "'train.batch' is -1, too small (at least 1)");
    YAML("model:\n  layers:\n    - {type: rnn, hidden: 8}\ndata: {task: adding}\n"
         "train: {lr: 1e999}\n",
         "too large for a number");
    YAML("model:\n  layers:\n    - {type: rnn, hidden: 8}\ndata: {task: adding}\n"
         "train: {lr: .nan}\n",
         "'train.lr'");
    YAML("model:\n  layers: []\ndata: {task: adding}\n", "'model.layers' needs 1 to");
}

Test(badinput, yaml_nesting_alias_bombs_and_tags)
{
    char deep[512] = "model: ";
    for (int i = 0; i < 100; i++)
        strcat(deep, "[");
    for (int i = 0; i < 100; i++)
        strcat(deep, "]");
    strcat(deep, "\n");
    expect_yaml(deep, strlen(deep), "bad.yaml:1:71: nested more than 64 levels deep");

    /* a billion laughs: 10 aliases of 10 aliases of ... 10^9 nodes */
    char bomb[2048] = "a: &a [x, x, x, x, x, x, x, x, x, x]\n";
    for (int i = 1; i < 10; i++) {
        char line[128];
        char p = (char)('a' + i - 1), q = (char)('a' + i);
        snprintf(line, sizeof line, "%c: &%c [*%c, *%c, *%c, *%c, *%c, *%c, *%c, *%c, *%c, *%c]\n",
                 q, q, p, p, p, p, p, p, p, p, p, p);
        strcat(bomb, line);
    }
    strcat(bomb, "model: *j\n");
    expect_yaml(bomb, strlen(bomb),
                "the document has more than 100000 nodes, counting alias expansions (an alias "
                "bomb?)");
    YAML("model: &m {layers: *m}\n", "bad.yaml:1:");
    YAML("model: !!python/object:os.system\n  layers: []\n",
         "bad.yaml:1:8: YAML tags are not allowed ('!!python/object:os.system'): a model file is "
         "plain data");
    YAML("model:\n  layers:\n    - !rnn {hidden: 8}\n", "YAML tags are not allowed");
    YAML("model:\n  layers:\n    - {type: !!str rnn, hidden: 8}\n", "YAML tags are not allowed");
    YAML("base: &b {type: rnn}\nmodel:\n  layers:\n    - {<<: *b, hidden: 8}\n", "bad.yaml:4:");
}

Test(badinput, yaml_encodings_empty_files_and_directories)
{
    YAML("model:\n  layers:\n    - {type: rnn, hidden: 8, name: \"r\xff\"}\n",
         "bad.yaml:3:38: invalid UTF-8 byte 0xff (the file must be UTF-8 text)");
    YAML("model:\n  layers:\n    - {type: rnn, hidden: 8\0}\n",
         "bad.yaml:3:28: found a NUL byte (is this a binary or UTF-16 file?)");
    YAML("\xff\xfem\0o\0d\0", "bad.yaml:1:1:"); /* UTF-16 */
    YAML("model: \x1b[31m\n", "bad.yaml:1:8: found the control character 0x1b");
    YAML("name: \xc0\xaf\n", "invalid UTF-8 byte 0xc0"); /* an overlong '/' */
    YAML("", "bad.yaml:1:1: the file is empty");
    YAML("# only a comment\n", "bad.yaml:");
    cr_assert_eq(mkdir(tmp("dir.yaml"), 0755), 0);
    expect_run(2, "dir.yaml:1:1: is a directory, not a YAML file", "summary dir.yaml");
    expect_run(2, "missing.yaml: cannot open: No such file or directory", "summary missing.yaml");
    expect_run(2, "--set model.layers[0].hidden", "summary %s --set model.layers[0].hidden=x",
               MODEL("tanh_adding"));
    expect_run(2, "--set needs key.path=value", "summary %s --set nonsense", MODEL("tanh_adding"));
    expect_run(2, "unknown option '--hidden'", "train %s --hidden 8", MODEL("tanh_adding"));
}

/* ---------------------------------------------------------------- sizes that cannot fit */



Test(badinput, sizes_that_cannot_fit_are_refused_before_allocating)
{
    /* under a 1 GiB address-space limit (not with ASan, whose shadow memory needs more), so
     * a run that allocated first would fail otherwise or be killed */
    run_prefix = SANITIZED ? "" : "ulimit -v 1048576;";
    const char *big = "--set model.layers[0].hidden=65536 --set train.batch=1000000 "
                      "--set data.steps=1000000";
    expect_run(2, "model too large: its parameters, their gradients and the optimizer state need "
                  "about 65540 MiB, more than train.max_memory_mb = 4096",
               "train %s %s", MODEL("tanh_adding"), big);
    cr_expect_eq(strstr(out, "training"), NULL, "%s", out);
    expect_run(2, "model too large: its parameters",
               "summary %s --set model.layers[0].hidden=40000", MODEL("tanh_adding"));
    expect_run(2, "model too large: a training run (T = 1000000, batch 1000000, held-out batch "
                  "256) needs about",
               "train %s --set train.batch=1000000 --set data.steps=1000000", MODEL("tanh_adding"));
    expect_run(2, "model too large: a training run (T = 100000, batch 32, held-out batch 100000)",
               "summary %s --set train.eval_batch=100000 --set data.steps=100000",
               MODEL("tanh_adding"));
    expect_run(2, "model too large", "summary %s --set train.batch=1048576", MODEL("lstm_adding"));
    expect_run(2, "model too large",
               "init %s --out w.st --set model.layers[0].size=65536 --set model.layers[1].hidden=8192",
               MODEL("char_lstm"));
    /* the limit is a setting: the same model passes with more room, fails with less */
    expect_run(2, "more than train.max_memory_mb = 1;",
               "summary %s --set model.layers[0].hidden=512 --set train.max_memory_mb=1",
               MODEL("tanh_adding"));
    cr_expect_eq(bptt("summary %s --set model.layers[0].hidden=512", MODEL("tanh_adding")), 0,
                 "%s", err_text);
    expect_run(2, "'train.max_memory_mb' is -1, too small (at least 0)",
               "summary %s --set train.max_memory_mb=-1", MODEL("tanh_adding"));
    run_prefix = "";
}

/* ---------------------------------------------------------------- checkpoints */

/* A safetensors file from a header and a body (the header padded to 8 bytes). */
static void write_st(const char *path, const char *header, const void *body, size_t n)
{
    size_t h = strlen(header), pad = (8 - h % 8) % 8;
    unsigned char *buf = calloc(8 + h + pad + n + 1, 1);
    uint64_t len = h + pad;
    for (int i = 0; i < 8; i++)
        buf[i] = (unsigned char)(len >> (8 * i));
    memcpy(buf + 8, header, h);
    memset(buf + 8 + h, ' ', pad);
    if (n)
        memcpy(buf + 8 + h + pad, body, n);
    write_bytes(path, buf, 8 + h + pad + n);
    free(buf);
}

/* Copy src to dst with the first `from` in its header replaced by `to`. */
static void edit_header(const char *src, const char *dst, const char *from, const char *to)
{
    size_t n;
    unsigned char *d = read_bytes(src, &n);
    cr_assert_not_null(d);
    uint64_t h = 0;
    for (int i = 0; i < 8; i++)
        h |= (uint64_t)d[i] << (8 * i);
    char *header = calloc(h + strlen(to) + 1, 1);
    memcpy(header, d + 8, h);
    char *at = strstr(header, from);
    cr_assert_not_null(at, "no '%s' in the header", from);
    memmove(at + strlen(to), at + strlen(from), strlen(at + strlen(from)) + 1);
    memcpy(at, to, strlen(to));
    while (strlen(header) && header[strlen(header) - 1] == ' ')
        header[strlen(header) - 1] = '\0';
    write_st(dst, header, d + 8 + h, n - 8 - h);
    free(header);
    free(d);
}

/* Each bad checkpoint through `bptt eval --weights` and `bptt train --resume`. */
static void expect_checkpoint(const char *file, const char *msg)
{
    expect_run(2, msg, "eval %s " TINY " --weights %s", MODEL("tanh_adding"), file);
    expect_run(2, msg, "train %s " TINY " --steps 4 --resume %s", MODEL("tanh_adding"), file);
}

Test(badinput, damaged_checkpoints)
{
    cr_assert_eq(bptt("train %s " TINY " --steps 2 --quiet --out ck.st", MODEL("tanh_adding")), 0,
                 "%s", err_text);
    size_t n;
    unsigned char *ck = read_bytes(tmp("ck.st"), &n);
    cr_assert_not_null(ck);

    expect_checkpoint("missing.st", "missing.st: cannot open: No such file or directory");
    write_bytes(tmp("empty.st"), "", 0);
    expect_checkpoint("empty.st", "empty.st: file is 0 bytes, too short");
    cr_assert_eq(mkdir(tmp("dir.st"), 0755), 0);
    expect_checkpoint("dir.st", "dir.st");
    write_bytes(tmp("short.st"), ck, 5);
    expect_checkpoint("short.st", "short.st: file is 5 bytes, too short for a safetensors file");
    write_bytes(tmp("half.st"), ck, n / 2);
    expect_checkpoint("half.st", "half.st: truncated or corrupt");
    write_bytes(tmp("cut.st"), ck, n - 4); /* the header intact, the data short */
    expect_checkpoint("cut.st", "cut.st:");

    unsigned char *bad = malloc(n);
    memcpy(bad, ck, n);
    memcpy(bad + 8, "{\"x\": [1, 2", 11);
    write_bytes(tmp("json.st"), bad, n);
    expect_checkpoint("json.st", "json.st: header is not valid JSON: byte 11: expected ',' or ']'");
    memcpy(bad, ck, n);
    bad[7] = 0x40; /* a header length of 2^62 */
    write_bytes(tmp("length.st"), bad, n);
    expect_checkpoint("length.st", "length.st: header length 46116860184273");
    memcpy(bad, ck, n);
    bad[12] = 0xff; /* not UTF-8 inside the JSON */
    write_bytes(tmp("utf8.st"), bad, n);
    expect_checkpoint("utf8.st", "utf8.st: header");
    free(bad);

    float w[2] = {1, 2};
    write_st(tmp("offsets.st"), "{\"rnn0.W_x\":{\"dtype\":\"F32\",\"shape\":[2],"
                                "\"data_offsets\":[0,8000]}}", w, sizeof w);
    expect_checkpoint("offsets.st", "offsets.st: tensor 'rnn0.W_x': data_offsets [0, 8000]");
    write_st(tmp("overlap.st"), "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                                "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}",
             w, sizeof w);
    expect_checkpoint("overlap.st", "overlap.st:");
    write_st(tmp("negshape.st"), "{\"a\":{\"dtype\":\"F32\",\"shape\":[-2],"
                                 "\"data_offsets\":[0,8]}}", w, sizeof w);
    expect_checkpoint("negshape.st", "negshape.st: tensor 'a':");

    edit_header(tmp("ck.st"), tmp("f16.st"), "\"F32\"", "\"F16\"");
    expect_checkpoint("f16.st", "f16.st: tensor '");
    cr_expect(strstr(err_text, "dtype 'F16' is not supported (bptt reads F32, F64, I32, I64)"),
              "%s", err_text);
    edit_header(tmp("ck.st"), tmp("bf16.st"), "\"F32\"", "\"BF16\"");
    expect_checkpoint("bf16.st", "dtype 'BF16' is not supported");
    /* the step counter must stay a 64-bit integer */
    edit_header(tmp("ck.st"), tmp("step.st"), "\"I64\",\"shape\":[1]", "\"F64\",\"shape\":[1]");
    expect_run(2, "step.st: trainer.step has dtype F64, expected I64",
               "train %s " TINY " --steps 4 --resume step.st", MODEL("tanh_adding"));
    edit_header(tmp("ck.st"), tmp("noname.st"), "\"rnn0.W_h\"", "\"rnn0.W_hh\"");
    expect_checkpoint("noname.st", "noname.st: no tensor 'rnn0.W_h'");

    /* a checkpoint of another model: hidden 16 where the model has 8 */
    cr_assert_eq(bptt("train %s " TINY " --set model.layers[0].hidden=16 --steps 1 --quiet "
                      "--out ck16.st", MODEL("tanh_adding")), 0, "%s", err_text);
    expect_checkpoint("ck16.st", "ck16.st: rnn0.W_x has shape [2, 16], the model expects [2, 8]");
    expect_run(2, "ck.st: no tensor 'lstm0.W_x' (known: rnn0.W_x, rnn0.W_h,",
               "eval %s --weights ck.st", MODEL("lstm_adding"));
    /* weights alone cannot resume; a batch is not a checkpoint */
    cr_assert_eq(bptt("init %s " TINY " --out w.st", MODEL("tanh_adding")), 0, "%s", err_text);
    expect_run(2, "w.st holds weights only (no optimizer state or step)",
               "train %s " TINY " --resume w.st", MODEL("tanh_adding"));
    cr_assert_eq(bptt("batch %s " TINY " --out b.st", MODEL("tanh_adding")), 0, "%s", err_text);
    expect_checkpoint("b.st", "b.st: no tensor 'rnn0.W_x'");
    free(ck);
}

/* ---------------------------------------------------------------- data */

Test(badinput, text_files_batches_and_task_settings)
{
    write_bytes(tmp("empty.txt"), "", 0);
    expect_run(2, "chars task: 'empty.txt' is empty", "summary %s --set data.path=empty.txt",
               MODEL("char_lstm"));
    const unsigned char binary[] = {0x7f, 'E', 'L', 'F', 2, 1, 1, 0, 0, 0, 'x', 'y'};
    write_bytes(tmp("binary.txt"), binary, sizeof binary);
    expect_run(2, "chars task: 'binary.txt' looks binary (a NUL byte at offset 7); give a text file",
               "summary %s --set data.path=binary.txt", MODEL("char_lstm"));
    expect_run(2, "chars task: missing.txt: cannot open: No such file or directory",
               "summary %s --set data.path=missing.txt", MODEL("char_lstm"));
    expect_run(2, "chars task: /tmp: is a directory",
               "summary %s --set data.path=/tmp", MODEL("char_lstm"));
    write_text(tmp("short.txt"), "tiny text\n");
    expect_run(2, "chars task: 'short.txt' has 10 bytes, shorter than T + 1 = 65",
               "summary %s --set data.path=short.txt", MODEL("char_lstm"));
    expect_run(2, "'data.steps' is 0, too small (at least 1)", "summary %s --set data.steps=0",
               MODEL("gru_copy"));
    expect_run(2, "'data.steps' is 2000000, too large (at most 1000000)",
               "summary %s --set data.steps=2000000", MODEL("char_lstm"));
    expect_run(2, "'data.task'", "summary %s --set data.task=multiply", MODEL("tanh_adding"));
    expect_run(2, "'path' is for the chars task", "summary %s --set data.path=x.txt",
               MODEL("tanh_adding"));
    expect_run(2, "model: input is 3 but the adding task gives 2",
               "summary %s --set model.input=3", MODEL("tanh_adding"));
    expect_run(2, "'train.eval_batch' is 2000000, too large (at most 1048576)",
               "summary %s --set train.eval_batch=2000000", MODEL("tanh_adding"));
    expect_run(2, "'model.truncate' is -1, too small (at least 0)",
               "summary %s --set model.truncate=-1", MODEL("tanh_adding"));

    /* batches that do not fit the model or are not batches */
    cr_assert_eq(bptt("batch %s --set data.steps=2 --size 2 --out copy.st", MODEL("gru_copy")), 0,
                 "%s", err_text);
    expect_run(2, "bptt eval: copy.st: the batch's targets are class ids; the model predicts "
                  "values", "eval %s " TINY " --batch copy.st", MODEL("tanh_adding"));
    cr_assert_eq(bptt("train %s " TINY " --steps 1 --quiet --out ck.st", MODEL("tanh_adding")),
                 0, "%s", err_text);
    expect_run(2, "ck.st: unexpected tensor", "eval %s " TINY " --batch ck.st",
               MODEL("tanh_adding"));
    expect_run(2, "missing.st: cannot open", "grads %s " TINY " --weights ck.st --batch "
               "missing.st --out g.st", MODEL("tanh_adding"));
    write_st(tmp("negid.st"), "{\"x\":{\"dtype\":\"I32\",\"shape\":[1,2],\"data_offsets\":[0,8]},"
                              "\"y\":{\"dtype\":\"I32\",\"shape\":[1,2],\"data_offsets\":[8,16]}}",
             (int32_t[]){0, 1, 0, -3}, 16);
    expect_run(2, "negid.st: y element 1 is -3; a class id must be",
               "eval %s --set data.steps=2 --batch negid.st", MODEL("gru_copy"));
}

/* ---------------------------------------------------------------- outputs */

/* No temporary file (".NAME.tmp-XXXXXX") is left behind in dir. */
static void expect_no_leftovers(void)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "ls -a '%s' | grep -q -e '\\.tmp-' -e 'bptt-probe'", dir);
    cr_expect_neq(system(cmd), 0, "a temporary file was left in %s", dir);
}

Test(badinput, unwritable_outputs)
{
    /* every command checks its outputs before it works: exit 2 */
    expect_run(2, "bptt init: cannot write the output /nonexistent/w.st: No such file or directory",
               "init %s " TINY " --out /nonexistent/w.st", MODEL("tanh_adding"));
    expect_run(2, "bptt init: cannot write the output /etc/passwd/w.st: Not a directory",
               "init %s " TINY " --out /etc/passwd/w.st", MODEL("tanh_adding"));
    cr_assert_eq(mkdir(tmp("sub"), 0755), 0);
    expect_run(2, "bptt batch: cannot write the output sub: it is a directory",
               "batch %s " TINY " --out sub", MODEL("tanh_adding"));
    /* training learns of a bad --out before it spends any time */
    expect_run(2, "cannot write the checkpoint /nonexistent/c.st: No such file or directory",
               "train %s " TINY " --steps 2 --out /nonexistent/c.st", MODEL("tanh_adding"));
    cr_expect_eq(strstr(out, "training"), NULL, "%s", out);
    expect_run(2, "cannot write the checkpoint sub: it is a directory",
               "train %s " TINY " --steps 2 --out sub", MODEL("tanh_adding"));
    expect_run(2, "cannot write the log /nonexistent/l.csv: No such file or directory",
               "train %s " TINY " --steps 2 --log /nonexistent/l.csv", MODEL("tanh_adding"));
    expect_no_leftovers();
}

/* A full disk: each output under a file size limit smaller than it. The file that was at
 * the path before is byte for byte the same afterwards, and nothing is left behind. */
Test(badinput, a_full_disk_destroys_no_existing_file)
{
    cr_assert_eq(bptt("train %s " TINY " --steps 2 --quiet --out ck.st", MODEL("tanh_adding")), 0,
                 "%s", err_text);
    size_t n, m;
    unsigned char *before = read_bytes(tmp("ck.st"), &n), *after;
    cr_assert(before && n > 1024);
    const char *model = MODEL("tanh_adding");
    const char *tiny[] = {"--set", "model.layers[0].hidden=8", "--set", "train.batch=2",
                          "--set", "train.eval_batch=2", "--set", "data.steps=4"};
#define TINY_ARGV tiny[0], tiny[1], tiny[2], tiny[3], tiny[4], tiny[5], tiny[6], tiny[7]
    const char *runs[][24] = {
        {"train", model, TINY_ARGV, "--steps", "3", "--quiet", "--out", "ck.st", NULL},
        {"train", model, TINY_ARGV, "--steps", "3", "--quiet", "--resume", "ck.st", "--out",
         "ck.st", NULL},
        {"init", model, TINY_ARGV, "--out", "ck.st", NULL},
        {"batch", model, TINY_ARGV, "--size", "100", "--out", "ck.st", NULL},
    };
    for (size_t r = 0; r < sizeof runs / sizeof runs[0]; r++) {
        int rc = bptt_fsize(512, runs[r]);
        cr_expect_eq(rc, 1, "%s: exit %d: %s", runs[r][0], rc, err_text);
        cr_expect(strstr(err_text, "ck.st: cannot write: File too large"), "%s: %s", runs[r][0],
                  err_text);
        after = read_bytes(tmp("ck.st"), &m);
        cr_assert_not_null(after);
        cr_expect(m == n && memcmp(before, after, n) == 0, "%s changed the checkpoint",
                  runs[r][0]);
        free(after);
    }
    /* grads: a real batch, so the failure is the write (over another existing file: its
     * own --weights is an input, which it may not overwrite) */
    cr_assert_eq(bptt("batch %s " TINY " --out b.st", model), 0, "%s", err_text);
    write_bytes(tmp("g.st"), before, n);
    const char *grads[] = {"grads", model, TINY_ARGV, "--weights", "ck.st", "--batch", "b.st",
                           "--out", "g.st", NULL};
    cr_expect_eq(bptt_fsize(512, grads), 1, "%s", err_text);
    cr_expect(strstr(err_text, "g.st: cannot write: File too large"), "%s", err_text);
    after = read_bytes(tmp("g.st"), &m);
    cr_expect(after && m == n && memcmp(before, after, n) == 0, "grads changed its output file");
    free(after);
    /* the log: a runtime failure, reported */
    const char *logged[] = {"train", model, TINY_ARGV, "--steps", "200", "--quiet", "--log",
                            "log.csv", NULL};
    cr_expect_eq(bptt_fsize(2048, logged), 1, "%s", err_text);
    cr_expect(strstr(err_text, "could not write the log log.csv: File too large"), "%s",
              err_text);
    expect_no_leftovers();
    bp_error e;
    bp_st_file *f = bp_st_load(tmp("ck.st"), &e);
    cr_expect_not_null(f, "%s", e.msg);
    bp_st_free(f);
    free(before);
#undef TINY_ARGV
}
