/* test_svg.c — the SVG writer and the CSV reader of tools/ (compiled in here: the
 * tools are not part of the library): well-formed XML, one path per curve, decade
 * ticks on log axes, escaping, broken lines at non-positive values; CSV errors. */
#include "../tools/csv.c"
#include "../tools/svg.c"
#include "test_svg_xml.h"

#include <criterion/criterion.h>
#include <unistd.h>

static char *render(const svg_figure *fig)
{
    char *buf = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);
    cr_assert_not_null(f);
    cr_assert_eq(svg_write(f, fig), 0);
    fclose(f);
    return buf;
}

Test(xml_checker, rejects_what_is_not_well_formed)
{
    char why[128];
    cr_expect(xml_well_formed("<?xml version=\"1.0\"?>\n<a x=\"1\"><b/>t &amp; u</a>\n", why,
                              sizeof why), "%s", why);
    const char *bad[] = {"<a><b></a></b>", "<a>", "<a x=1/>", "<a x=\"1\" x=\"2\"/>",
                         "<a>&nope;</a>", "<a/><b/>", "<a x=\"<\"/>", "text<a/>", "<a></b>"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_expect_not(xml_well_formed(bad[i], why, sizeof why), "accepted %s", bad[i]);
}

Test(svg, one_path_per_curve_and_well_formed)
{
    double x[5] = {0, 1, 2, 3, 4};
    double a[5] = {1e-3, 1e-2, 1e-1, 1, 10};
    double b[5] = {5, 0, 3, NAN, 2};   /* 0 and NaN break the line on a log axis */
    double c[3] = {0.5, 0.25, 0.125};
    double rug[2] = {1, 3};
    svg_curve top[2] = {{"a <&> \"b\"", x, a, 5, SVG_LINE, -1}, {"b", x, b, 5, SVG_DASHED, -1}};
    svg_curve bottom[1] = {{"c", NULL, c, 3, SVG_DOTS, 4}};
    svg_rug rugs[1] = {{"clipped 2 of 5", rug, 2, 3}};
    svg_panel panels[2] = {{"top & title", "step", "norm", true, top, 2, rugs, 1},
                           {"bottom", "step", "value", false, bottom, 1, NULL, 0}};
    svg_figure fig = {0, 0, panels, 2};
    char *s = render(&fig);
    char why[256];
    cr_assert(xml_well_formed(s, why, sizeof why), "%s", why);
    cr_expect_eq(count_of(s, "<path class=\"curve\""), 3);
    cr_expect_eq(count_of(s, "<path class=\"rug\""), 1);
    cr_expect(strstr(s, "a &lt;&amp;&gt; &quot;b&quot;"), "the label is escaped");
    cr_expect(strstr(s, "top &amp; title"));
    cr_expect(strstr(s, "clipped 2 of 5"));
    /* curve b: M at 5, a new M at 3 after the 0, a new M at 2 after the NaN */
    const char *pb = strstr(s, "stroke-dasharray=\"6 4\" d=\"");
    cr_assert_not_null(pb);
    const char *end = strchr(pb + 26, '"');
    int moves = 0, lines = 0;
    for (const char *q = pb + 26; q < end; q++) {
        moves += *q == 'M';
        lines += *q == 'L';
    }
    cr_expect_eq(moves, 3, "the line breaks at 0 and NaN");
    cr_expect_eq(lines, 0);
    free(s);
}

Test(svg, log_axis_has_decade_ticks)
{
    double y[3] = {2e-3, 1, 50};
    svg_curve cv = {"y", NULL, y, 3, SVG_LINE, -1};
    svg_panel p = {"t", "x", "y", true, &cv, 1, NULL, 0};
    svg_figure fig = {0, 0, &p, 1};
    char *s = render(&fig);
    /* 10^-3 .. 10^2, one label each */
    const char *want[] = {">\xe2\x88\x92" "3</tspan>", ">\xe2\x88\x92" "2</tspan>",
                          ">\xe2\x88\x92" "1</tspan>", ">1</text>", ">1</tspan>", ">2</tspan>"};
    for (int i = 0; i < 6; i++)
        cr_expect(strstr(s, want[i]), "tick %s missing", want[i]);
    cr_expect_not(strstr(s, ">3</tspan>"), "no decade above 10^2");
    free(s);
    /* 60 decades: labels every 10, at multiples of 10 */
    double z[2] = {3e-41, 4e+17};
    cv.y = z;
    cv.n = 2;
    s = render(&fig);
    cr_expect(strstr(s, ">\xe2\x88\x92" "50</tspan>"));
    cr_expect(strstr(s, ">20</tspan>"));
    cr_expect_not(strstr(s, ">\xe2\x88\x92" "41</tspan>"));
    free(s);
}

Test(svg, empty_and_degenerate_data_still_make_a_valid_file)
{
    double y[2] = {0, -1};
    svg_curve cv = {"nothing", NULL, y, 2, SVG_LINE, -1};
    svg_panel p = {NULL, NULL, NULL, true, &cv, 1, NULL, 0};
    svg_figure fig = {0, 0, &p, 1};
    char *s = render(&fig);
    char why[256];
    cr_expect(xml_well_formed(s, why, sizeof why), "%s", why);
    cr_expect_eq(count_of(s, "<path class=\"curve\""), 1);
    cr_expect(strstr(s, "d=\"\""), "no point is drawable on a log axis");
    free(s);
}

Test(svg, xmllint_agrees_when_installed)
{
    if (system("command -v xmllint >/dev/null 2>&1") != 0)
        return; /* optional: the checker above is the test */
    double y[4] = {1, 0.1, 0.01, 0.001};
    svg_curve cv = {"a & b", NULL, y, 4, SVG_LINE, -1};
    svg_panel p = {"t", "x", "y", true, &cv, 1, NULL, 0};
    svg_figure fig = {0, 0, &p, 1};
    char path[] = "/tmp/bptt_svg_XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    close(fd);
    cr_assert_eq(svg_save(path, &fig), 0);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "xmllint --noout %s", path);
    cr_expect_eq(system(cmd), 0);
    unlink(path);
}

static char *write_tmp(const char *text)
{
    static char path[64];
    snprintf(path, sizeof path, "/tmp/bptt_csv_XXXXXX");
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return path;
}

Test(csv, reads_numbers_and_empty_fields)
{
    char *p = write_tmp("step,loss,eval\r\n1,0.5,\n\n2,2e-3,0.25\n");
    char err[256];
    csv_table *t = csv_read(p, err, sizeof err);
    unlink(p);
    cr_assert_not_null(t, "%s", err);
    cr_expect_eq(t->n_cols, 3);
    cr_expect_eq(t->n_rows, 2);
    cr_expect_eq(csv_column(t, "eval"), 2);
    cr_expect_eq(csv_column(t, "nope"), -1);
    cr_expect(isnan(csv_cell(t, 0, 2)));
    cr_expect_eq(csv_cell(t, 1, 1), 2e-3);
    cr_expect(isnan(csv_cell(t, 0, -1)));
    csv_free(t);
}

Test(csv, errors_name_the_line)
{
    char err[256];
    char *p = write_tmp("a,b\n1,2\n3\n");
    cr_expect_null(csv_read(p, err, sizeof err));
    cr_expect(strstr(err, ":3: 1 fields, the header has 2"), "%s", err);
    unlink(p);
    p = write_tmp("a,b\n1,x2\n");
    cr_expect_null(csv_read(p, err, sizeof err));
    cr_expect(strstr(err, ":2: column 'b' holds 'x2', not a number"), "%s", err);
    unlink(p);
    p = write_tmp("");
    cr_expect_null(csv_read(p, err, sizeof err));
    cr_expect(strstr(err, "empty"), "%s", err);
    unlink(p);
    cr_expect_null(csv_read("/nonexistent/x.csv", err, sizeof err));
    cr_expect(strstr(err, "/nonexistent/x.csv: cannot open: No such file"), "%s", err);
}

/* A long curve is drawn with at most four points per pixel column, keeping its spike. */
Test(svg, long_curves_keep_their_envelope_with_few_points)
{
    enum { N = 100000 };
    double *y = malloc(N * sizeof *y);
    for (int i = 0; i < N; i++)
        y[i] = 1 + 0.5 * sin(i * 0.01);
    y[54321] = 1e6; /* one spike */
    svg_curve cv = {"long", NULL, y, N, SVG_LINE, -1};
    svg_panel p = {"t", "x", "y", true, &cv, 1, NULL, 0};
    svg_figure fig = {900, 0, &p, 1};
    char *s = render(&fig);
    const char *d = strstr(s, "<path class=\"curve\"");
    cr_assert_not_null(d);
    d = strstr(d, " d=\"") + 4;
    int points = 0;
    double top = 1e300;
    for (const char *q = d; *q != '"'; q++)
        if (*q == 'M' || *q == 'L') {
            double X, Y;
            cr_assert_eq(sscanf(q + 1, "%lf %lf", &X, &Y), 2);
            top = Y < top ? Y : top;
            points++;
        }
    cr_expect_leq(points, 4 * 900, "%d points", points);
    cr_expect_geq(points, 2 * 500);
    cr_expect_lt(top, 45, "the spike reaches the top of the plot (y = %g)", top);
    free(s);
    free(y);
}
