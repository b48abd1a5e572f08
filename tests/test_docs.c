/* test_docs.c — the documentation cannot go stale: the op walk-through in
 * docs/ops.md is the real ops/softplus.c, and the op tables of README.md and docs/ops.md
 * are what `bptt ops --markdown` prints from the descriptors. */
#include "bptt_ops.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *slurp(const char *rel)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", BPTT_SOURCE_DIR, rel);
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    cr_assert_eq(fread(s, 1, (size_t)n, f), (size_t)n);
    s[n] = '\0';
    fclose(f);
    return s;
}

Test(docs, the_adding_an_op_example_is_the_real_file)
{
    char *doc = slurp("docs/ops.md"), *src = slurp("ops/softplus.c");
    char *begin = strstr(doc, "```c\n");
    cr_assert_not_null(begin);
    begin += 5;
    char *end = strstr(begin, "```\n");
    cr_assert_not_null(end);
    *end = '\0';
    cr_expect_str_eq(begin, src, "docs/ops.md's example differs from ops/softplus.c");
    char *registry = slurp("ops/registry.def");
    cr_expect_not_null(strstr(registry, "BP_OP(softplus, 1, 0)"));
    free(registry);
    free(doc);
    free(src);
}

/* What `bptt ops ARGS` prints. */
static char *ops_output(const char *args)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "%s/bptt ops %s", BPTT_BINARY_DIR, args);
    FILE *p = popen(cmd, "r");
    cr_assert_not_null(p);
    size_t cap = 1 << 16, n = 0;
    char *s = malloc(cap);
    size_t got;
    while ((got = fread(s + n, 1, cap - n - 1, p)) > 0)
        n += got;
    s[n] = '\0';
    cr_assert_eq(pclose(p), 0, "bptt ops %s failed", args);
    return s;
}

/* The text between a marker line and the end marker. */
static char *table_after(char *doc, const char *marker)
{
    char *begin = strstr(doc, marker);
    cr_assert_not_null(begin, "no marker '%s'", marker);
    begin += strlen(marker);
    char *end = strstr(begin, "<!-- end of op table -->");
    cr_assert_not_null(end);
    *end = '\0';
    return begin;
}

Test(docs, the_op_tables_are_what_the_registry_prints)
{
    char *readme = slurp("README.md"), *ops = slurp("docs/ops.md");
    char *full = ops_output("--markdown"), *brief = ops_output("--markdown --brief");
    cr_expect_str_eq(table_after(ops, "<!-- op table: written by `bptt ops --update`; do not edit by hand -->\n"),
                     full, "docs/ops.md's op table is stale: ./build/bptt ops --update README.md docs/ops.md");
    cr_expect_str_eq(table_after(readme, "<!-- brief op table: written by `bptt ops --update`; do not edit by hand -->\n"),
                     brief, "README.md's op table is stale: ./build/bptt ops --update README.md docs/ops.md");
    for (int i = 0; i < bp_op_count(); i++) {
        char cell[64];
        snprintf(cell, sizeof cell, "| %s |", bp_op_at(i)->name);
        cr_expect_not_null(strstr(full, cell), "the op table lacks %s", cell);
        cr_expect_not_null(bp_op_at(i)->inputs_doc, "%s has no inputs_doc", bp_op_at(i)->name);
        cr_expect_not_null(bp_op_at(i)->grad_formula, "%s has no grad_formula", bp_op_at(i)->name);
    }
    free(full);
    free(brief);
    free(readme);
    free(ops);
}
