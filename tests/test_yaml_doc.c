/* test_yaml_doc.c — the strict YAML reader: the tree and its positions, every
 * kind of bad file with its exact file:line:column message, alias bombs, tags,
 * typed accessors, --set overrides and the did-you-mean helper. Inputs are
 * written into a mkdtemp directory. */
#include "suggest.h"
#include "yaml_doc.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmpdir[256];

static void make_tmpdir(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/bptt-yaml-XXXXXX");
    cr_assert_not_null(mkdtemp(tmpdir));
}

static void drop_tmpdir(void)
{
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    cr_assert_eq(system(cmd), 0);
}

TestSuite(yaml_doc, .init = make_tmpdir, .fini = drop_tmpdir);
TestSuite(suggest);

static const char *write_file(const char *name, const char *text, size_t len)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    FILE *fp = fopen(path, "wb");
    cr_assert_not_null(fp);
    cr_assert_eq(fwrite(text, 1, len, fp), len);
    cr_assert_eq(fclose(fp), 0);
    return path;
}

static bp_yd_doc *load(const char *text)
{
    const char *p = write_file("m.yaml", text, strlen(text));
    bp_error err = {0};
    bp_yd_doc *d = bp_yd_load_file(p, NULL, &err);
    cr_assert_not_null(d, "%s", err.msg);
    return d;
}

/* Loading text must fail with exactly "<path>:<where_msg>". */
static void expect_error_n(const char *text, size_t len, bp_status st, const char *where_msg)
{
    const char *p = write_file("m.yaml", text, len);
    bp_error err = {0};
    bp_yd_doc *d = bp_yd_load_file(p, NULL, &err);
    cr_assert_null(d, "loaded, expected \"%s\"", where_msg);
    char want[700];
    snprintf(want, sizeof want, "%s:%s", p, where_msg);
    cr_expect_str_eq(err.msg, want);
    cr_expect_eq(err.status, st, "%s: status %s", err.msg, bp_status_name(err.status));
}

static void expect_error(const char *text, const char *where_msg)
{
    expect_error_n(text, strlen(text), BP_ERR_PARSE, where_msg);
}

/* An accessor's error must be exactly "<path>:<where_msg>". */
static void expect_msg(const bp_error *err, const char *where_msg)
{
    char want[700];
    snprintf(want, sizeof want, "%s/m.yaml:%s", tmpdir, where_msg);
    cr_expect_str_eq(err->msg, want);
}

/* ---------------------------------------------------------------- the tree */

Test(yaml_doc, builds_a_tree_with_positions_and_paths)
{
    bp_yd_doc *d = load("# a model\n"
                        "model:\n"
                        "  name: \"tanh adding\"\n"
                        "  layers:\n"
                        "    - {type: rnn, hidden: 64}\n"
                        "    - type: lstm\n"
                        "      hidden: 32\n"
                        "train: {lr: 1e-3, steps: 100, shuffle: true}\n");
    const bp_yd_node *root = bp_yd_root(d);
    cr_assert_eq(root->kind, BP_YD_MAP);
    cr_assert_eq(root->n, 2);
    cr_expect_str_eq(root->keys[0]->text, "model");
    const bp_yd_node *layers = bp_yd_get(bp_yd_get(root, "model"), "layers");
    cr_assert_not_null(layers);
    cr_assert_eq(layers->kind, BP_YD_SEQ);
    cr_assert_eq(layers->n, 2);
    const bp_yd_node *h = bp_yd_get(layers->items[1], "hidden");
    cr_assert_not_null(h);
    cr_expect_eq(h->line, 7);
    cr_expect_eq(h->col, 15);
    cr_expect(h->plain);
    char path[128];
    cr_expect_str_eq(bp_yd_path(h, path, sizeof path), "model.layers[1].hidden");
    cr_expect_str_eq(bp_yd_path(root, path, sizeof path), "");
    const bp_yd_node *name = bp_yd_get(bp_yd_get(root, "model"), "name");
    cr_expect_str_eq(name->text, "tanh adding");
    cr_expect(!name->plain);
    cr_expect_eq(name->line, 3);
    cr_expect_eq(name->col, 9);
    cr_expect_null(bp_yd_get(root, "nope"));
    cr_expect_null(bp_yd_get(layers, "model"), "a sequence has no keys");
    cr_expect_null(bp_yd_get(NULL, "model"));
    cr_expect_str_eq(bp_yd_file(d), h->file);

    bp_error err = {0};
    long long v;
    double lr;
    bool shuffle;
    const char *type;
    const bp_yd_node *train = bp_yd_get(root, "train");
    cr_assert_eq(bp_yd_int(h, 1, 1000, &v, &err), BP_OK, "%s", err.msg);
    cr_expect_eq(v, 32);
    cr_assert_eq(bp_yd_get_double(train, "lr", 0.1, 0, 1, &lr, &err), BP_OK, "%s", err.msg);
    cr_expect_eq(lr, 1e-3);
    cr_assert_eq(bp_yd_get_bool(train, "shuffle", false, &shuffle, &err), BP_OK);
    cr_expect(shuffle);
    cr_assert_eq(bp_yd_get_string(layers->items[0], "type", NULL, &type, &err), BP_OK);
    cr_expect_str_eq(type, "rnn");
    cr_assert_eq(bp_yd_get_int(train, "batch", 16, 1, 100, &v, &err), BP_OK);
    cr_expect_eq(v, 16, "absent key: default");
    cr_assert_eq(bp_yd_get_int(NULL, "batch", 8, 1, 100, &v, &err), BP_OK);
    cr_expect_eq(v, 8, "absent section: default");
    bp_yd_free(d);
}

Test(yaml_doc, aliases_share_nodes_and_count_toward_the_limit)
{
    bp_yd_doc *d = load("base: &b {hidden: 8, type: gru}\n"
                        "layers: [*b, *b]\n");
    const bp_yd_node *layers = bp_yd_get(bp_yd_root(d), "layers");
    cr_assert_eq(layers->n, 2);
    cr_expect_eq(layers->items[0], bp_yd_get(bp_yd_root(d), "base"));
    cr_expect_eq(layers->items[0]->weight, 5);
    cr_expect_eq(bp_yd_root(d)->weight, 1 + (1 + 5) + (1 + 1 + 5 + 5)); /* keys count too */
    bp_yd_free(d);
}

/* ---------------------------------------------------------------- bad files */

Test(yaml_doc, empty_blank_comment_only_and_null_files)
{
    expect_error("", "1:1: the file is empty");
    expect_error("\n  \n", "1:1: the file is empty");
    expect_error("# nothing but a comment\n",
                 "1:1: the file holds no YAML content (only comments or a null document)");
    expect_error("---\n", "1:1: the file holds no YAML content (only comments or a null document)");
    expect_error("~\n", "1:1: the file holds no YAML content (only comments or a null document)");
}

Test(yaml_doc, missing_files_directories_and_huge_files)
{
    char p[600];
    snprintf(p, sizeof p, "%s/none.yaml", tmpdir);
    bp_error err = {0};
    cr_assert_null(bp_yd_load_file(p, NULL, &err));
    char want[700];
    snprintf(want, sizeof want, "%s: cannot open: %s", p, strerror(ENOENT));
    cr_expect_str_eq(err.msg, want);
    cr_expect_eq(err.status, BP_ERR_IO);

    cr_assert_null(bp_yd_load_file(tmpdir, NULL, &err));
    snprintf(want, sizeof want, "%s:1:1: is a directory, not a YAML file", tmpdir);
    cr_expect_str_eq(err.msg, want);
    cr_expect_eq(err.status, BP_ERR_PARSE);

    size_t n = BP_YD_MAX_BYTES + 1;
    char *big = malloc(n);
    memset(big, '#', n);
    expect_error_n(big, n, BP_ERR_PARSE,
                   "1:1: the file is 1048577 bytes, larger than the limit of 1048576 bytes");
    free(big);
}

Test(yaml_doc, bytes_that_are_not_yaml_text)
{
    expect_error("a: b\nc: d\xff\n", "2:5: invalid UTF-8 byte 0xff (the file must be UTF-8 text)");
    expect_error("a: \xc3\xa9t\xc3\xa9 \xc0\xaf\n",
                 "1:8: invalid UTF-8 byte 0xc0 (the file must be UTF-8 text)"); /* overlong */
    expect_error("a: \xed\xa0\x80\n", "1:4: invalid UTF-8 byte 0xed (the file must be UTF-8 text)");
    expect_error_n("a: 1\nb\0: 2\n", 11, BP_ERR_PARSE,
                   "2:2: found a NUL byte (is this a binary or UTF-16 file?)");
    expect_error("a: \x07\n", "1:4: found the control character 0x07");
    expect_error("a: \xc2\x9b\n", "1:4: found the control character U+009B");
    expect_error("\xef\xbb\xbf" "a: \x1b[31m\n", "1:4: found the control character 0x1b");
}

Test(yaml_doc, tabs_in_indentation)
{
    expect_error("model:\n\thidden: 3\n",
                 "2:1: found a tab character in the indentation (YAML indents with spaces)");
    expect_error("model:\n  \t  hidden: 3\n",
                 "2:3: found a tab character in the indentation (YAML indents with spaces)");
    expect_error("a: 1\n\t# a comment\n",
                 "2:1: found a tab character in the indentation (YAML indents with spaces)");
    /* a tab as a separator after the indentation is ordinary YAML */
    bp_yd_doc *d = load("a:\t1\n");
    cr_expect_str_eq(bp_yd_get(bp_yd_root(d), "a")->text, "1");
    bp_yd_free(d);
}

Test(yaml_doc, syntax_errors_give_the_place)
{
    expect_error("a: [1, 2\n", "2:1: did not find expected ',' or ']' (while parsing a flow "
                               "sequence at line 1, column 4)");
    expect_error("a: b: c\n", "1:5: mapping values are not allowed in this context");
    expect_error("a:\n  - 1\n  b: 2\n", "3:3: did not find expected '-' indicator (while parsing "
                                        "a block collection at line 2, column 3)");
    expect_error("a: \"abc\n", "2:1: found unexpected end of stream (while scanning a quoted "
                               "scalar at line 1, column 4)");
    expect_error("key: @x\n", "1:6: found character that cannot start any token (while scanning "
                              "for the next token at line 1, column 6)");
}

Test(yaml_doc, structure_rules)
{
    expect_error("a: 1\n---\nb: 2\n", "2:1: a second YAML document starts here (a file holds one)");
    expect_error("a: 1\nb: 2\na: 3\n",
                 "3:1: duplicate key 'a' at the top level (first at line 1, column 1)");
    expect_error("x:\n  - {y: 1, z: 2, y: 3}\n",
                 "2:18: duplicate key 'y' in 'x[0]' (first at line 2, column 6)");
    expect_error("? [a, b]\n: c\n", "1:3: a mapping key must be a scalar, not a sequence");
    expect_error("\"\": 1\n", "1:1: a mapping key is empty");
    expect_error("b: &b {x: 1}\nc:\n  <<: *b\n",
                 "3:3: merge keys ('<<') are not supported: write the keys out");
    expect_error("a: *x\n", "1:4: unknown alias '*x' (no anchor '&x' before it)");
    expect_error("a: &x [1, *x]\n", "1:11: unknown alias '*x' (no anchor '&x' before it)");
    expect_error("a: \"\\0\"\n", "1:4: a string holds a NUL character");
}

Test(yaml_doc, tags_are_rejected)
{
    expect_error("a: !!python/object:os.system x\n",
                 "1:4: YAML tags are not allowed ('!!python/object:os.system'): a model file is "
                 "plain data");
    expect_error("a: !foo 3\n", "1:4: YAML tags are not allowed ('!foo'): a model file is plain data");
    expect_error("!!map {a: 1}\n",
                 "1:1: YAML tags are not allowed ('!!map'): a model file is plain data");
    expect_error("a:\n  - !!str 3\n",
                 "2:5: YAML tags are not allowed ('!!str'): a model file is plain data");
    expect_error("a: ! x\n", "1:4: YAML tags are not allowed ('!'): a model file is plain data");
    expect_error("%TAG ! tag:x,2000:\n--- !a 1\n",
                 "2:5: YAML tags are not allowed ('tag:x,2000:a'): a model file is plain data");
}

Test(yaml_doc, deep_nesting_fails_at_the_limit)
{
    char flow[300];
    memset(flow, '[', 100);
    memset(flow + 100, ']', 100);
    flow[200] = '\0';
    expect_error(flow, "1:65: nested more than 64 levels deep");
    /* block style */
    char block[8000] = "";
    size_t n = 0;
    for (int i = 0; i < 70; i++)
        n += (size_t)snprintf(block + n, sizeof block - n, "%*sk%d:\n", 2 * i, "", i);
    snprintf(block + n, sizeof block - n, "%*sv\n", 140, "");
    expect_error(block, "65:129: nested more than 64 levels deep");
    /* 64 levels are fine */
    memset(flow, '[', 64);
    memset(flow + 64, ']', 64);
    flow[128] = '\0';
    bp_yd_doc *d = load(flow);
    bp_yd_free(d);
}

Test(yaml_doc, billion_laughs_fail_fast, .timeout = 5)
{
    const char *bomb = "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n"
                       "b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
                       "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
                       "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
                       "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
                       "f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
                       "g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n"
                       "h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]\n"
                       "i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]\n";
    expect_error(bomb, "6:8: the document has more than 100000 nodes, counting alias expansions "
                       "(an alias bomb?)");
    /* a limit of the caller's choosing */
    bp_yd_limits lim = {BP_YD_MAX_BYTES, BP_YD_MAX_DEPTH, 50};
    bp_error err = {0};
    cr_expect_null(bp_yd_load_string("s", bomb, strlen(bomb), &lim, &err));
    cr_expect_str_eq(err.msg, "s:2:17: the document has more than 50 nodes, counting alias "
                              "expansions (an alias bomb?)");
}

Test(yaml_doc, many_plain_nodes_hit_the_node_limit)
{
    size_t n = 100001;
    char *s = malloc(3 * n + 8);
    size_t k = 0;
    s[k++] = '[';
    for (size_t i = 0; i < n; i++) {
        s[k++] = '1';
        s[k++] = ',';
    }
    s[k - 1] = ']';
    s[k] = '\0';
    expect_error(s, "1:200000: the document has more than 100000 nodes, counting alias "
                    "expansions (an alias bomb?)");
    free(s);
}

/* ---------------------------------------------------------------- typed accessors */

static bp_yd_doc *cfg;
static const bp_yd_node *layer;

static void load_cfg(void)
{
    make_tmpdir();
    cfg = load("model:\n"
               "  layers:\n"
               "    - name: rnn0\n"
               "      type: lstn\n"
               "      hiden: 64\n"
               "      hidden: 1000000000\n"
               "      small: 0\n"
               "      huge: 99999999999999999999\n"
               "      quoted: \"64\"\n"
               "      word: abc\n"
               "      frac: 2.5\n"
               "      lr: .inf\n"
               "      big: 1e999\n"
               "      neg: -0.5\n"
               "      yes: yes\n"
               "      nothing: ~\n"
               "      list: [1, 2]\n"
               "      empty:\n");
    layer = bp_yd_get(bp_yd_get(bp_yd_get(bp_yd_root(cfg), "model"), "layers"), "x");
    layer = bp_yd_get(bp_yd_get(bp_yd_root(cfg), "model"), "layers")->items[0];
}

static void drop_cfg(void)
{
    bp_yd_free(cfg);
    drop_tmpdir();
}

TestSuite(yaml_access, .init = load_cfg, .fini = drop_cfg);

Test(yaml_access, integers)
{
    bp_error err = {0};
    long long v = 0;
    cr_expect_eq(bp_yd_get_int(layer, "hidden", 1, 1, 65536, &v, &err), BP_ERR_VALUE);
    expect_msg(&err, "6:15: 'model.layers[0].hidden' is 1000000000, too large (at most 65536)");
    cr_expect_eq(bp_yd_get_int(layer, "small", 1, 1, 65536, &v, &err), BP_ERR_VALUE);
    expect_msg(&err, "7:14: 'model.layers[0].small' is 0, too small (at least 1)");
    cr_expect_eq(bp_yd_get_int(layer, "huge", 1, 1, 65536, &v, &err), BP_ERR_VALUE);
    expect_msg(&err, "8:13: 'model.layers[0].huge' is 99999999999999999999, too large (at most "
                     "65536)");
    cr_expect_eq(bp_yd_get_int(layer, "quoted", 1, 1, 65536, &v, &err), BP_ERR_PARSE);
    expect_msg(&err, "9:15: 'model.layers[0].quoted' must be an integer, not the quoted string '64'");
    cr_expect_eq(bp_yd_get_int(layer, "frac", 1, 1, 65536, &v, &err), BP_ERR_PARSE);
    expect_msg(&err, "11:13: 'model.layers[0].frac' must be an integer, not '2.5'");
    cr_expect_eq(bp_yd_get_int(layer, "list", 1, 1, 65536, &v, &err), BP_ERR_PARSE);
    expect_msg(&err, "17:13: 'model.layers[0].list' must be an integer, not a sequence");
    cr_expect_eq(bp_yd_get_int(layer, "nothing", 1, 1, 65536, &v, &err), BP_ERR_PARSE);
    expect_msg(&err, "16:16: 'model.layers[0].nothing' must be an integer, not null");
    cr_expect_eq(bp_yd_get_int(layer, "hiden", 1, 1, 65536, &v, &err), BP_OK);
    cr_expect_eq(v, 64);
}

Test(yaml_access, numbers_bools_strings_enums)
{
    bp_error err = {0};
    double x = 0;
    cr_expect_eq(bp_yd_get_double(layer, "lr", 0.1, 0, 1, &x, &err), BP_ERR_NONFINITE);
    expect_msg(&err, "12:11: 'model.layers[0].lr' must be a finite number, not .inf");
    cr_expect_eq(bp_yd_get_double(layer, "big", 0.1, 0, 1, &x, &err), BP_ERR_NONFINITE);
    expect_msg(&err, "13:12: 'model.layers[0].big' is 1e999, too large for a number");
    cr_expect_eq(bp_yd_get_double(layer, "neg", 0.1, 0, 1, &x, &err), BP_ERR_VALUE);
    expect_msg(&err, "14:12: 'model.layers[0].neg' is -0.5, too small (at least 0)");
    cr_expect_eq(bp_yd_get_double(layer, "word", 0.1, 0, 1, &x, &err), BP_ERR_PARSE);
    expect_msg(&err, "10:13: 'model.layers[0].word' must be a number, not 'abc'");
    cr_expect_eq(bp_yd_get_double(layer, "hiden", 0.1, 0, 100, &x, &err), BP_OK);
    cr_expect_eq(x, 64.0);
    cr_expect_eq(bp_yd_get_double(layer, "frac", 0.1, 0, 100, &x, &err), BP_OK);
    cr_expect_eq(x, 2.5);

    bool b;
    cr_expect_eq(bp_yd_get_bool(layer, "yes", false, &b, &err), BP_ERR_PARSE);
    expect_msg(&err, "15:12: 'model.layers[0].yes' must be true or false, not 'yes'");

    const char *s;
    cr_expect_eq(bp_yd_get_string(layer, "nothing", "d", &s, &err), BP_ERR_PARSE);
    expect_msg(&err, "16:16: 'model.layers[0].nothing' must be a string, not null");
    cr_expect_eq(bp_yd_get_string(layer, "empty", "d", &s, &err), BP_ERR_PARSE);
    expect_msg(&err, "18:13: 'model.layers[0].empty' must be a string, not null");
    cr_expect_eq(bp_yd_get_string(layer, "quoted", "d", &s, &err), BP_OK);
    cr_expect_str_eq(s, "64");

    static const char *const types[] = {"rnn", "lstm", "gru", NULL};
    int t = -1;
    cr_expect_eq(bp_yd_get_enum(layer, "type", 0, types, -1, &t, &err), BP_ERR_NAME);
    expect_msg(&err, "4:13: unknown value 'lstn' for 'model.layers[0].type' (known: rnn, lstm, "
                     "gru; did you mean 'lstm'?)");
    cr_expect_eq(bp_yd_enum(bp_yd_get(layer, "word"), types, 3, &t, &err), BP_ERR_NAME);
    expect_msg(&err, "10:13: unknown value 'abc' for 'model.layers[0].word' (known: rnn, lstm, "
                     "gru)");
}

Test(yaml_access, closed_schema_and_required_keys)
{
    bp_error err = {0};
    static const char *const known[] = {"name",  "type", "hidden", "small", "huge",
                                        "quoted", "word", "frac",   "lr",    "big",
                                        "neg",   "yes",  "nothing", "list", "empty"};
    cr_expect_eq(bp_yd_check_keys(layer, known, 15, &err), BP_ERR_NAME);
    expect_msg(&err, "5:7: unknown key 'hiden' in 'model.layers[0]' (known: name, type, hidden, "
                     "small, huge, quoted, word, frac, lr, big, neg, yes, nothing, list, empty; "
                     "did you mean 'hidden'?)");
    static const char *const top[] = {"modle", "train", NULL};
    cr_expect_eq(bp_yd_check_keys(bp_yd_root(cfg), top, -1, &err), BP_ERR_NAME);
    expect_msg(&err, "1:1: unknown key 'model' at the top level (known: modle, train; did you "
                     "mean 'modle'?)");
    const bp_yd_node *v;
    cr_expect_eq(bp_yd_require(layer, "init", &v, &err), BP_ERR_PARSE);
    expect_msg(&err, "3:7: 'model.layers[0]' is missing the required key 'init'");
    cr_expect_eq(bp_yd_require(bp_yd_root(cfg), "train", &v, &err), BP_ERR_PARSE);
    expect_msg(&err, "1:1: the top level is missing the required key 'train'");
    cr_expect_eq(bp_yd_require(layer, "name", &v, &err), BP_OK);
    cr_expect_str_eq(v->text, "rnn0");
    cr_expect_eq(bp_yd_expect(bp_yd_get(layer, "list"), BP_YD_MAP, &err), BP_ERR_PARSE);
    expect_msg(&err, "17:13: 'model.layers[0].list' must be a mapping, not a sequence");
    cr_expect_eq(bp_yd_expect(bp_yd_root(cfg), BP_YD_SEQ, &err), BP_ERR_PARSE);
    expect_msg(&err, "1:1: the document must be a sequence, not a mapping");
    cr_expect_eq(bp_yd_fail(layer, BP_ERR_SHAPE, &err, "layer %s does not fit", "rnn0"),
                 BP_ERR_SHAPE);
    expect_msg(&err, "3:7: layer rnn0 does not fit");
}

Test(yaml_access, set_overrides_values_and_adds_keys)
{
    bp_error err = {0};
    long long v;
    cr_assert_eq(bp_yd_set(cfg, "model.layers[0].hidden=128", &err), BP_OK, "%s", err.msg);
    cr_assert_eq(bp_yd_get_int(layer, "hidden", 1, 1, 65536, &v, &err), BP_OK, "%s", err.msg);
    cr_expect_eq(v, 128);
    cr_assert_eq(bp_yd_set(cfg, "train.optimizer.lr=0.5", &err), BP_OK, "%s", err.msg);
    const bp_yd_node *lr = bp_yd_get(bp_yd_get(bp_yd_get(bp_yd_root(cfg), "train"), "optimizer"),
                                     "lr");
    cr_assert_not_null(lr);
    char path[128];
    cr_expect_str_eq(bp_yd_path(lr, path, sizeof path), "train.optimizer.lr");
    cr_assert_eq(bp_yd_set(cfg, "model.layers[0]={type: gru, hidden: x}", &err), BP_OK, "%s",
                 err.msg);
    const bp_yd_node *l0 = bp_yd_get(bp_yd_get(bp_yd_root(cfg), "model"), "layers")->items[0];
    cr_expect_eq(bp_yd_get_int(l0, "hidden", 1, 1, 65536, &v, &err), BP_ERR_PARSE);
    cr_expect_str_eq(err.msg, "--set model.layers[0]:1:21: 'model.layers[0].hidden' must be an "
                              "integer, not 'x'");
    cr_expect_eq(bp_yd_set(cfg, "model.layers[3].hidden=1", &err), BP_ERR_VALUE);
    char want[600];
    snprintf(want, sizeof want, "--set model.layers[3].hidden: index 3 is out of range (the "
             "sequence at %s/m.yaml:3:5 has 1 items)", tmpdir);
    cr_expect_str_eq(err.msg, want);
    cr_expect_eq(bp_yd_set(cfg, "model.layers.x=1", &err), BP_ERR_VALUE);
    cr_expect(strstr(err.msg, "'x' needs a mapping, but "), "%s", err.msg);
    cr_expect_eq(bp_yd_set(cfg, "train.steps=[1,", &err), BP_ERR_PARSE);
    cr_expect(strncmp(err.msg, "--set train.steps:", 18) == 0, "%s", err.msg);
    cr_expect_eq(bp_yd_set(cfg, "train.steps=!!int 3", &err), BP_ERR_PARSE);
    cr_expect_eq(bp_yd_set(cfg, "noequals", &err), BP_ERR_VALUE);
    cr_expect_str_eq(err.msg, "--set expects key.path=value, not 'noequals'");
    cr_assert_eq(bp_yd_set(cfg, "train.note=", &err), BP_OK, "%s", err.msg);
    cr_expect(bp_yd_is_null(bp_yd_get(bp_yd_get(bp_yd_root(cfg), "train"), "note")));
}

/* ---------------------------------------------------------------- did you mean */

Test(suggest, levenshtein_distances)
{
    cr_expect_eq(bp_levenshtein("", ""), 0);
    cr_expect_eq(bp_levenshtein("abc", ""), 3);
    cr_expect_eq(bp_levenshtein("hiden", "hidden"), 1);
    cr_expect_eq(bp_levenshtein("kitten", "sitting"), 3);
    cr_expect_eq(bp_levenshtein("LSTM", "lstm"), 0);
    cr_expect_eq(bp_levenshtein("flaw", "lawn"), 2);
    cr_expect_eq(bp_levenshtein("tahn", "tanh"), 1);
    cr_expect_eq(bp_levenshtein("ca", "abc"), 3);
    char a[200], b[200];
    memset(a, 'x', 150);
    a[150] = '\0';
    memset(b, 'x', 100);
    b[100] = '\0';
    cr_expect_eq(bp_levenshtein(a, b), 50);
}

Test(suggest, suggestions_and_known_lists)
{
    static const char *const ops[] = {"matmul", "tanh", "sigmoid", "softmax_xent", "relu", NULL};
    cr_expect_str_eq(bp_suggest("tahn", ops, -1), "tanh");
    cr_expect_str_eq(bp_suggest("matmull", ops, -1), "matmul");
    cr_expect_str_eq(bp_suggest("RELU", ops, -1), "relu");
    cr_expect_null(bp_suggest("conv2d", ops, -1));
    cr_expect_null(bp_suggest("x", ops, 5));
    char buf[256];
    cr_expect_str_eq(bp_suggest_known(buf, sizeof buf, "sigmod", ops, -1),
                     "known: matmul, tanh, sigmoid, softmax_xent, relu; did you mean 'sigmoid'?");
    cr_expect_str_eq(bp_suggest_known(buf, sizeof buf, "zzz", ops, 2), "known: matmul, tanh");
    char small[40];
    bp_suggest_known(small, sizeof small, "tahn", ops, -1);
    cr_expect_str_eq(small, "known: ...; did you mean 'tanh'?");
    bp_suggest_known(small, sizeof small, "zzz", ops, -1);
    cr_expect_str_eq(small, "known: matmul, tanh, sigmoid, ...");
}

/* ---------------------------------------------------------------- mutations */

Test(yaml_doc, random_mutations_never_crash)
{
    const char *good = "model:\n"
                       "  name: \"x\"\n"
                       "  layers:\n"
                       "    - &l {type: rnn, hidden: 64, init: identity}\n"
                       "    - *l\n"
                       "    - type: lstm\n"
                       "      hidden: [1, 2, {a: 'q'}]\n"
                       "train: {lr: 1e-3, steps: 100}\n";
    size_t n = strlen(good);
    const char alphabet[] = "{}[]:,-&*!|>'\"#%@`\t\n ?~\xff\xc3" "\0" "a1";
    char *m = malloc(n + 1);
    bp_rng rng;
    bp_rng_seed(&rng, 11);
    int loaded = 0;
    for (int k = 0; k < 3000; k++) {
        memcpy(m, good, n + 1);
        int edits = 1 + (int)bp_rng_below(&rng, 4);
        for (int j = 0; j < edits; j++)
            m[bp_rng_below(&rng, (uint32_t)n)] =
                alphabet[bp_rng_below(&rng, (uint32_t)sizeof alphabet - 1)];
        bp_error err = {0};
        bp_yd_doc *d = bp_yd_load_string("mut.yaml", m, n, NULL, &err);
        if (d) {
            char path[256];
            const bp_yd_node *r = bp_yd_root(d);
            for (int i = 0; r->kind != BP_YD_SCALAR && i < r->n; i++)
                bp_yd_path(r->items[i], path, sizeof path);
            loaded++;
            bp_yd_free(d);
        } else
            cr_assert(strncmp(err.msg, "mut.yaml:", 9) == 0, "%s", err.msg);
    }
    cr_expect_gt(loaded, 0);
    free(m);
}
