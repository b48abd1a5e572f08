/* test_docs.c — the documentation cannot go stale: the op walk-through in
 * docs/ops.md is the real ops/softplus.c, and the README and docs/ops.md name every op. */
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

Test(docs, every_op_is_documented)
{
    char *readme = slurp("README.md"), *ops = slurp("docs/ops.md");
    for (int i = 0; i < bp_op_count(); i++) {
        char cell[64];
        snprintf(cell, sizeof cell, "| %s |", bp_op_at(i)->name);
        cr_expect_not_null(strstr(readme, cell), "README.md's op table lacks %s", cell);
        cr_expect_not_null(strstr(ops, cell), "docs/ops.md's op table lacks %s", cell);
    }
    free(readme);
    free(ops);
}
