/* test_csv_set.c — sequence data sets in the UCR/UEA CSV layout: the label first or
 * last, one or several features per step, headers found or given, padding by empty or
 * NaN cells giving each sequence's length, \r\n and tabs, and every refusal with its
 * exact PATH:ROW:COLUMN. */
#include "bptt_arrays.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static bp_csv_set set;
static bp_error err;

static void free_set(void)
{
    bp_csv_set_free(&set);
}

TestSuite(csv_set, .fini = free_set, .timeout = 30);

/* Parse text as "t.csv" with I features, the label last or first, header -1/0/1. */
static bp_status parse(const char *text, int I, bool last, int header)
{
    bp_csv_opts o;
    bp_csv_opts_default(&o);
    o.features = I;
    o.label_last = last;
    o.header = header;
    bp_csv_set_free(&set);
    memset(&err, 0, sizeof err);
    return bp_csv_set_parse(text, strlen(text), "t.csv", &o, &set, &err);
}

static void expect_ok(const char *text, int I, bool last, int header, int N, int T)
{
    bp_status s = parse(text, I, last, header);
    cr_assert_eq(s, BP_OK, "%s", err.msg);
    cr_expect_eq(set.N, N);
    cr_expect_eq(set.T, T);
    cr_expect_eq(set.I, I);
}

/* The parse fails with st and exactly the message want. */
static void expect_error(const char *text, int I, bool last, int header, bp_status st,
                         const char *want)
{
    bp_status s = parse(text, I, last, header);
    cr_expect_eq(s, st, "status %s, expected %s: %s", bp_status_name(s), bp_status_name(st),
                 err.msg);
    cr_expect_str_eq(err.msg, want);
    cr_expect_null(set.x, "a failed parse leaves the set zeroed");
    cr_expect_eq(set.N, 0);
}

static void expect_x(const float *want, size_t n)
{
    for (size_t i = 0; i < n; i++)
        cr_expect_eq(set.x[i], want[i], "x[%zu] = %g, expected %g", i, set.x[i], want[i]);
}

/* ---------------------------------------------------------------- layouts */

Test(csv_set, label_first_one_feature)
{
    expect_ok("1,0.5,-2,3e2\n0,4,5,6\n", 1, false, -1, 2, 3);
    cr_expect_not(set.had_header);
    const float x[] = {0.5f, -2, 300, 4, 5, 6};
    expect_x(x, 6);
    cr_expect_eq(set.labels[0], 1);
    cr_expect_eq(set.labels[1], 0);
    cr_expect_eq(set.lengths[0], 3);
    cr_expect_eq(set.lengths[1], 3);
}

Test(csv_set, label_last_three_features)
{
    expect_ok("1,2,3,4,5,6,7\n-1,-2,-3,-4,-5,-6,2.5", 3, true, -1, 2, 2);
    const float x[] = {1, 2, 3, 4, 5, 6, -1, -2, -3, -4, -5, -6};
    expect_x(x, 12);
    cr_expect_eq(set.labels[0], 7);
    cr_expect_eq(set.labels[1], 2.5);
}

Test(csv_set, label_first_three_features_step_major)
{
    /* step 0's three values, then step 1's: x[n][t][i] */
    expect_ok("4,10,11,12,20,21,22\n", 3, false, 0, 1, 2);
    const float x[] = {10, 11, 12, 20, 21, 22};
    expect_x(x, 6);
}

Test(csv_set, headers_auto_yes_and_no)
{
    expect_ok("label,t0,t1\n1,2,3\n", 1, false, -1, 1, 2);
    cr_expect(set.had_header);
    /* a header may have another number of cells */
    expect_ok("class,values\n1,2,3\n", 1, false, -1, 1, 2);
    /* numbers, NaN, inf and empty cells do not make a header */
    expect_ok("1,2,,\n3,4,5,6\n", 1, false, -1, 2, 3);
    cr_expect_not(set.had_header);
    expect_ok("1,2\n3,4\n", 1, false, 1, 1, 1); /* header = 1: whatever the first row holds */
    cr_expect(set.had_header);
    cr_expect_eq(set.labels[0], 3);
}

Test(csv_set, padding_gives_lengths)
{
    expect_ok("0,1,2,3,4,5,6\n1,1,2,3,,,\n2,1,2,3,NaN,nan,NAN\n3, 7 , 8 ,9, nan ,, \n", 3,
              false, 0, 4, 2);
    const int len[] = {2, 1, 1, 1};
    for (int i = 0; i < 4; i++)
        cr_expect_eq(set.lengths[i], len[i], "lengths[%d] = %d", i, set.lengths[i]);
    const float x[] = {1, 2, 3, 4, 5, 6, 1, 2, 3, 0, 0, 0, 1, 2, 3, 0, 0, 0, 7, 8, 9, 0, 0, 0};
    expect_x(x, 24);
    expect_ok("1,2,nan,5\n3,4,NaN,6\n", 1, true, 0, 2, 3);
    cr_expect_eq(set.lengths[0], 2);
    cr_expect_eq(set.labels[1], 6);
}

Test(csv_set, crlf_tabs_and_final_newlines)
{
    expect_ok("label,a,b\r\n1,2,3\r\n4,5,6\r\n", 1, false, -1, 2, 2);
    cr_expect_eq(set.x[3], 6);
    expect_ok("1\t2\t3\n4\t5\t\n", 1, false, -1, 2, 2);
    cr_expect_eq(set.lengths[1], 1);
    expect_ok("1,2\n3,4", 1, false, -1, 2, 1);     /* no final newline */
    expect_ok("1,2\n3,4\n\n", 1, false, -1, 2, 1); /* one trailing blank line */
    expect_ok("1,2\n3,4\r\n\r\n", 1, false, -1, 2, 1);
    /* a comma on the first line keeps ',' even with tabs: the tabs are spaces */
    expect_ok("1,\t2\n3,4\n", 1, false, -1, 2, 1);
}

Test(csv_set, numbers_in_every_decimal_form)
{
    expect_ok("-1,+2,.5,5.,1e3,-2.5E-2,0007,1e-50\n", 1, false, 0, 1, 7);
    const float x[] = {2, 0.5f, 5, 1000, -0.025f, 7, 0};
    expect_x(x, 7);
    cr_expect_eq(set.labels[0], -1);
}

Test(csv_set, numbers_ignore_the_locale)
{
    const char *names[] = {"de_DE.UTF-8", "de_DE.utf8", "fr_FR.UTF-8", "ru_RU.UTF-8"};
    const char *got = NULL;
    for (int i = 0; i < 4 && !got; i++)
        got = setlocale(LC_NUMERIC, names[i]);
    if (!got)
        cr_skip_test("no locale with a decimal comma (localedef -i de_DE -f UTF-8 DIR/de_DE.UTF-8, "
                     "then LOCPATH=DIR runs this)");
    cr_assert_str_eq(localeconv()->decimal_point, ",");
    expect_ok("1,2.5,-0.125\n", 1, false, 0, 1, 2);
    cr_expect_eq(set.x[0], 2.5f);
    cr_expect_eq(set.x[1], -0.125f);
    setlocale(LC_NUMERIC, "C");
}

Test(csv_set, load_maps_a_file)
{
    char dir[] = "/tmp/bptt-csv-XXXXXX", path[64], fifo[64];
    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/a.csv", dir);
    FILE *fp = fopen(path, "wb");
    fputs("y,a,b\r\n1,2,3\r\n0,4,\r\n", fp);
    fclose(fp);
    bp_csv_opts o;
    bp_csv_opts_default(&o);
    cr_expect_eq(o.features, 1);
    cr_expect_eq(o.header, -1);
    cr_expect_not(o.label_last);
    cr_assert_eq(bp_csv_set_load(path, &o, &set, &err), BP_OK, "%s", err.msg);
    cr_expect_eq(set.N, 2);
    cr_expect_eq(set.lengths[1], 1);
    bp_csv_set_free(&set);
    bp_csv_set_free(&set); /* zeroed: a no-op */
    cr_assert_eq(bp_csv_set_load(path, NULL, &set, &err), BP_OK, "%s", err.msg);
    bp_csv_set_free(&set);
    snprintf(fifo, sizeof fifo, "%s/f.csv", dir);
    cr_assert_eq(mkfifo(fifo, 0600), 0);
    cr_expect_eq(bp_csv_set_load(fifo, &o, &set, &err), BP_ERR_IO);
    cr_expect(strstr(err.msg, "not a regular file"), "%s", err.msg);
    cr_expect_eq(bp_csv_set_load("/dev/null", &o, &set, &err), BP_ERR_IO);
    cr_expect_eq(bp_csv_set_load(dir, &o, &set, &err), BP_ERR_IO);
    cr_expect(strstr(err.msg, "is a directory"), "%s", err.msg);
    unlink(path);
    unlink(fifo);
    rmdir(dir);
    cr_expect_eq(bp_csv_set_load(path, &o, &set, &err), BP_ERR_IO);
    cr_expect(strstr(err.msg, "cannot open"), "%s", err.msg);
}

/* ---------------------------------------------------------------- refusals */

Test(csv_set, cells_that_are_not_numbers)
{
    expect_error("1,2,x\n", 1, false, 0, BP_ERR_PARSE, "t.csv:1:3: 'x' is not a number");
    expect_error("label,a,b\n1,2,3\n4,5,0x10\n", 1, false, -1, BP_ERR_PARSE,
                 "t.csv:3:3: '0x10' is not a number");
    const char *bad[] = {"1.2.3", "1e", "e5", "--1", "1_0", ".", "+", "1 2", "\"3\"", "nanx"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char text[64], want[96];
        snprintf(text, sizeof text, "1,2,%s\n", bad[i]);
        snprintf(want, sizeof want, "t.csv:1:3: '%s' is not a number", bad[i]);
        expect_error(text, 1, false, 0, BP_ERR_PARSE, want);
    }
    expect_error("1,2,3\r4\n", 1, false, 0, BP_ERR_PARSE, "t.csv:1:3: '3\\x0d4' is not a number");
    expect_error("a,b\n", 1, false, 0, BP_ERR_PARSE, "t.csv:1:1: the label 'a' is not a number");
}

Test(csv_set, values_that_are_not_finite)
{
    expect_error("1,2,inf\n", 1, false, 0, BP_ERR_VALUE, "t.csv:1:3: 'inf' is not finite");
    expect_error("1,-Infinity\n", 1, false, -1, BP_ERR_VALUE,
                 "t.csv:1:2: '-Infinity' is not finite");
    expect_error("1,1e999\n", 1, false, -1, BP_ERR_VALUE, "t.csv:1:2: '1e999' is not finite");
    expect_error("1,-1e39\n", 1, false, -1, BP_ERR_VALUE,
                 "t.csv:1:2: '-1e39' is beyond float range (at most 3.40282e+38)");
}

Test(csv_set, rows_with_another_number_of_cells)
{
    expect_error("1,2,3\n4,5\n", 1, false, 0, BP_ERR_PARSE,
                 "t.csv:2:3: the row has 2 cells, the first data row (row 1) has 3");
    expect_error("h\n1,2,3\n4,5,6,7\n", 1, false, 1, BP_ERR_PARSE,
                 "t.csv:3:4: the row has 4 cells, the first data row (row 2) has 3");
}

Test(csv_set, gaps_inside_a_sequence)
{
    expect_error("1,2,,3\n", 1, false, 0, BP_ERR_PARSE,
                 "t.csv:1:4: a value after the sequence ended at column 3 (empty or NaN): no "
                 "gaps inside a sequence");
    expect_error("1,2,3\n1,NaN,3\n", 1, false, 0, BP_ERR_PARSE,
                 "t.csv:2:3: a value after the sequence ended at column 2 (empty or NaN): no "
                 "gaps inside a sequence");
}

Test(csv_set, sequences_that_end_inside_a_step_or_are_empty)
{
    expect_error("1,1,2,3,nan,nan,nan\n", 2, false, 0, BP_ERR_PARSE, "t.csv:1:5: the sequence "
                 "ends inside a step: 3 values is not a multiple of features = 2");
    expect_error("1,2\n1,,\n", 1, false, 0, BP_ERR_PARSE,
                 "t.csv:2:3: the row has 3 cells, the first data row (row 1) has 2");
    expect_error("1,2,3\n1,,\n", 1, false, 0, BP_ERR_PARSE,
                 "t.csv:2:2: the sequence is empty (its first value cell is empty or NaN)");
    expect_error(",nan,5\n", 1, true, 0, BP_ERR_PARSE,
                 "t.csv:1:1: the sequence is empty (its first value cell is empty or NaN)");
}

Test(csv_set, labels_that_are_empty_missing_or_not_finite)
{
    expect_error(",1,2\n", 1, false, 0, BP_ERR_PARSE, "t.csv:1:1: the label is empty");
    expect_error("1,2\n3,\n", 1, true, 0, BP_ERR_PARSE, "t.csv:2:2: the label is empty");
    expect_error("NaN,1,2\n", 1, false, -1, BP_ERR_PARSE, "t.csv:1:1: the label is NaN (missing)");
    expect_error("inf,1,2\n", 1, false, -1, BP_ERR_VALUE, "t.csv:1:1: the label 'inf' is not finite");
    expect_error("1,2,x\n", 1, true, 0, BP_ERR_PARSE, "t.csv:1:3: the label 'x' is not a number");
}

Test(csv_set, files_without_data)
{
    expect_error("", 1, false, -1, BP_ERR_PARSE, "t.csv: no data row (the file is empty)");
    expect_error("label,a,b\n", 1, false, -1, BP_ERR_PARSE, "t.csv: no data row (only a header)");
    expect_error("1,2\n", 1, false, 1, BP_ERR_PARSE, "t.csv: no data row (only a header)");
    expect_error("\n", 1, false, -1, BP_ERR_PARSE, "t.csv: no data row (only blank lines)");
}

Test(csv_set, widths_that_are_not_whole_steps)
{
    expect_error("1,2,3,4\n", 2, false, 0, BP_ERR_PARSE,
                 "t.csv:1: the first data row has 3 value cells (cells - 1), not a multiple of "
                 "features = 2");
    expect_error("h,a,b,c\n1,2,3,4\n", 2, false, -1, BP_ERR_PARSE,
                 "t.csv:2: the first data row has 3 value cells (cells - 1), not a multiple of "
                 "features = 2");
    expect_error("1\n2\n", 1, false, 0, BP_ERR_PARSE,
                 "t.csv:1: a row needs a label and at least one value, the first data row has 1 "
                 "cell");
}

Test(csv_set, blank_lines_and_nul_bytes)
{
    expect_error("1,2\n\n3,4\n", 1, false, 0, BP_ERR_PARSE,
                 "t.csv:2: a blank line (only the last line may be blank)");
    expect_error("1,2\n\n\n", 1, false, 0, BP_ERR_PARSE,
                 "t.csv:2: a blank line (only the last line may be blank)");
    expect_error("1,2\n  \t\n3,4", 1, false, 0, BP_ERR_PARSE,
                 "t.csv:2: a blank line (only the last line may be blank)");
    const char nul[] = "1,2\n3,4\0,5\n";
    bp_csv_set_free(&set);
    bp_status s = bp_csv_set_parse(nul, sizeof nul - 1, "t.csv", NULL, &set, &err);
    cr_expect_eq(s, BP_ERR_PARSE);
    cr_expect_str_eq(err.msg, "t.csv:2:2: a NUL byte (is this a binary file?)");
}

Test(csv_set, bad_options)
{
    expect_error("1,2\n", 0, false, 0, BP_ERR_VALUE, "t.csv: features is 0; it must be at least 1");
    expect_error("1,2\n", 1, false, 2, BP_ERR_VALUE,
                 "t.csv: header is 2; it must be -1 (auto), 0 or 1");
    bp_csv_set_free(&set);
    cr_expect_eq(bp_csv_set_parse(NULL, 0, NULL, NULL, &set, NULL), BP_ERR_PARSE);
}
