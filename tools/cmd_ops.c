/* cmd_ops.c — `bptt ops`: every registered op with its inputs, attributes and formula;
 * `--markdown` the same as the op tables of docs/ops.md (`--brief`: README's), and
 * `--update FILE...` rewrites those tables in place. The tables are made from the ops'
 * descriptors alone, so adding an op (one file, one registry line) needs no table edited
 * by hand: tests/test_docs.c checks that the files hold what this prints. */
#include "cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FULL_BEGIN "<!-- op table: written by `bptt ops --update`; do not edit by hand -->\n"
#define BRIEF_BEGIN "<!-- brief op table: written by `bptt ops --update`; do not edit by hand -->\n"
#define TABLE_END "<!-- end of op table -->\n"

static void attr_list(const bp_op *op, const char *sep, const char *none, char *buf, size_t n)
{
    int used = snprintf(buf, n, "%s", op->n_attr ? "" : none);
    for (int a = 0; a < op->n_attr && used < (int)n; a++)
        used += snprintf(buf + used, n - (size_t)used, a ? "%s%s" : "%.0s%s", sep,
                         op->attr_names[a]);
}

/* A table cell: '|' escaped, NULL as nothing. */
static void cell(FILE *f, const char *s)
{
    fputs("| ", f);
    for (; s && *s; s++)
        fputs(*s == '|' ? "\\|" : (char[2]){*s, 0}, f);
    fputc(' ', f);
}

/* docs/ops.md's table: op, inputs, attributes, forward, backward. */
static void full_table(FILE *f)
{
    fputs("| op | inputs | attributes | forward | backward (adds into the inputs' gradients) |\n"
          "|---|---|---|---|---|\n", f);
    for (int i = 0; i < bp_op_count(); i++) {
        const bp_op *op = bp_op_at(i);
        char attrs[128];
        attr_list(op, ", ", "", attrs, sizeof attrs);
        cell(f, op->name);
        cell(f, op->inputs_doc);
        cell(f, attrs);
        cell(f, op->formula);
        cell(f, op->grad_formula);
        fputs("|\n", f);
    }
}

/* README's: op and formula, two ops to a row. */
static void brief_table(FILE *f)
{
    fputs("| op | formula | | op | formula |\n|---|---|---|---|---|\n", f);
    int n = bp_op_count(), half = (n + 1) / 2;
    for (int i = 0; i < half; i++) {
        const bp_op *a = bp_op_at(i), *b = i + half < n ? bp_op_at(i + half) : NULL;
        cell(f, a->name);
        cell(f, a->formula);
        cell(f, "");
        cell(f, b ? b->name : "");
        cell(f, b ? b->formula : "");
        fputs("|\n", f);
    }
}

static char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    char *s = NULL;
    long size = -1;
    if (f && fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
        (s = malloc((size_t)size + 1)) && fread(s, 1, (size_t)size, f) == (size_t)size) {
        s[size] = '\0';
        *n = (size_t)size;
    } else {
        free(s);
        s = NULL;
    }
    if (f)
        fclose(f);
    return s;
}

/* Rewrite the tables between the markers of path (written beside it, then renamed). */
static int update(const char *path)
{
    size_t n = 0;
    char *text = slurp(path, &n);
    if (!text) {
        cli_error("ops", "cannot read %s: %s", path, strerror(errno));
        return EXIT_USAGE;
    }
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp-XXXXXX", path);
    int fd = mkstemp(tmp);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!f) {
        cli_error("ops", "cannot write beside %s: %s", path, strerror(errno));
        free(text);
        return EXIT_RUNTIME;
    }
    int tables = 0;
    const char *p = text;
    for (;;) {
        const char *full = strstr(p, FULL_BEGIN), *brief = strstr(p, BRIEF_BEGIN);
        const char *begin = full && (!brief || full < brief) ? full : brief;
        const char *end = begin ? strstr(begin, TABLE_END) : NULL;
        if (!begin || !end)
            break;
        bool is_full = begin == full;
        size_t head = strlen(is_full ? FULL_BEGIN : BRIEF_BEGIN);
        fwrite(p, 1, (size_t)(begin - p) + head, f);
        is_full ? full_table(f) : brief_table(f);
        p = end;
        tables++;
    }
    fputs(p, f);
    bool ok = fclose(f) == 0;
    free(text);
    if (!tables || !ok || rename(tmp, path) != 0) {
        unlink(tmp);
        cli_error("ops", tables ? "cannot write %s" : "%s: no op table markers in it", path);
        return tables ? EXIT_RUNTIME : EXIT_USAGE;
    }
    printf("%s: %d op table%s written\n", path, tables, tables > 1 ? "s" : "");
    return EXIT_OK;
}

int cmd_ops(int argc, char **argv)
{
    bool markdown = false, brief = false;
    int first_file = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--markdown")) {
            markdown = true;
        } else if (!strcmp(argv[i], "--brief")) {
            brief = true;
        } else if (!strcmp(argv[i], "--update") && i + 1 < argc) {
            first_file = i + 1;
            break;
        } else {
            cli_error("ops", "unknown option '%s' (usage: bptt ops [--markdown [--brief]] "
                      "[--update FILE...])", argv[i]);
            return EXIT_USAGE;
        }
    }
    if (first_file) {
        int rc = EXIT_OK;
        for (int i = first_file; i < argc; i++)
            rc = update(argv[i]) != EXIT_OK ? EXIT_USAGE : rc;
        return rc;
    }
    if (markdown) {
        brief ? brief_table(stdout) : full_table(stdout);
        return EXIT_OK;
    }
    printf("%-16s %-3s %-12s %s\n", "op", "in", "attributes", "formula");
    for (int i = 0; i < bp_op_count(); i++) {
        const bp_op *op = bp_op_at(i);
        char attrs[64];
        attr_list(op, ",", "-", attrs, sizeof attrs);
        printf("%-16s %-3d %-12s %s\n", op->name, op->n_in, attrs, op->formula);
    }
    return EXIT_OK;
}
