/* test_gradflow_cli.c — the `bptt` binary end to end: gradflow (table, CSV columns,
 * SVG with one path per curve), plot of a real `bptt train --log`, and graph's DOT
 * (balanced braces, one node per parameter, clip and skip nodes marked). */
#include "test_svg_xml.h"

#include <criterion/criterion.h>
#include <math.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define BPTT BPTT_BINARY_DIR "/bptt"
#define MODELS BPTT_SOURCE_DIR "/models"

static char dir[64];

static void setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/bptt_gfcli_XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    cr_assert_eq(access(BPTT, X_OK), 0, "build the bptt binary first (%s)", BPTT);
}

static void teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    cr_expect_eq(system(cmd), 0);
}

/* Run "bptt ARGS" with stdout to dir/out.txt, stderr to dir/err.txt; the exit status. */
static int bptt(const char *args)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "cd %s && %s %s >out.txt 2>err.txt", dir, BPTT, args);
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static char *file(const char *name)
{
    char path[128];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    char *s = slurp(path);
    cr_assert_not_null(s, "no file %s", path);
    return s;
}

static void expect_svg(const char *name, int curves)
{
    char *s = file(name), why[256];
    cr_expect(xml_well_formed(s, why, sizeof why), "%s: %s", name, why);
    cr_expect_eq(count_of(s, "<path class=\"curve\""), curves, "%s: curve paths", name);
    cr_expect(strstr(s, "<svg xmlns=\"http://www.w3.org/2000/svg\""));
    free(s);
}

TestSuite(cli, .init = setup, .fini = teardown, .timeout = 120);

Test(cli, gradflow_variants_give_one_curve_each)
{
    int rc = bptt("gradflow " MODELS "/tanh_adding.yaml --set data.steps=60 --size 8 "
                  "--variant 'r05:model.layers[0].spectral_radius=0.5' "
                  "--variant 'r15:model.layers[0].spectral_radius=1.5' --variant plain "
                  "--csv g.csv --svg g.svg");
    char *err = file("err.txt"), *out = file("out.txt");
    cr_assert_eq(rc, 0, "%s", err);
    cr_expect(strstr(out, "d = 1"));
    cr_expect(strstr(out, "d = T-1"));
    cr_expect(strstr(out, "r05"));
    cr_expect(strstr(out, "\u2581"), "a sparkline");
    /* the CSV: documented columns, one row per curve and step, distance = T - 1 - step */
    char *csv = file("g.csv");
    cr_expect(!strncmp(csv, "curve,model,layer,step,distance,dh,dh_raw,dw,clipped\n", 53));
    cr_expect_eq(count_of(csv, "\n"), 1 + 3 * 60);
    cr_expect(strstr(csv, "\nr05,"));
    cr_expect(strstr(csv, ",rnn0,59,0,"), "the last step is at distance 0");
    cr_expect(strstr(csv, ",rnn0,0,59,"), "the first step is at distance T - 1");
    /* the vanishing variant really vanishes: read dh at distances 0 and 59 of r05 */
    double d0 = NAN, d59 = NAN;
    for (char *line = strstr(csv, "\nr05,"); line && !strncmp(line, "\nr05,", 5);
         line = strchr(line + 1, '\n')) {
        int step, dist;
        double dh;
        char *p = strstr(line, ",rnn0,");
        cr_assert(p && sscanf(p, ",rnn0,%d,%d,%lf", &step, &dist, &dh) == 3);
        if (dist == 0)
            d0 = dh;
        if (dist == 59)
            d59 = dh;
    }
    cr_expect_lt(d59 / d0, 1e-10, "rho 0.5: %g / %g", d59, d0);
    expect_svg("g.svg", 3 * 2); /* two panels: dh and the dW terms */
    free(csv);
    free(err);
    free(out);
}

Test(cli, gradflow_shows_the_clip_node_and_every_layer)
{
    int rc = bptt("gradflow " MODELS "/stacked_skip.yaml " MODELS "/lstm_adding.yaml "
                  "--set data.steps=20 --size 4 --svg s.svg --csv s.csv");
    char *err = file("err.txt");
    cr_assert_eq(rc, 0, "%s", err);
    /* stacked_skip: 2 layers with clip_grad (dh + dashed arriving) + 2 dW terms;
     * lstm: 1 + 1 */
    expect_svg("s.svg", 2 * 2 + 2 + 2);
    char *csv = file("s.csv");
    cr_expect(strstr(csv, "\nstacked_skip/rnn1,"));
    cr_expect(strstr(csv, "\nlstm_adding,"));
    free(csv);
    free(err);
}

Test(cli, gradflow_in_float_agrees_with_double)
{
    cr_assert_eq(bptt("gradflow " MODELS "/irnn_adding.yaml --set data.steps=30 --size 4 "
                      "--csv d.csv"), 0);
    cr_assert_eq(bptt("gradflow " MODELS "/irnn_adding.yaml --set data.steps=30 --size 4 "
                      "--csv f.csv --f32"), 0);
    char *out = file("out.txt"), *d = file("d.csv"), *f = file("f.csv");
    cr_expect(strstr(out, "single precision"));
    char *pd = strstr(d, ",rnn0,0,29,"), *pf = strstr(f, ",rnn0,0,29,");
    cr_assert(pd && pf);
    double vd = atof(pd + 11), vf = atof(pf + 11);
    cr_expect(fabs(vd - vf) < 1e-4 * vd, "double %g, float %g", vd, vf);
    free(out);
    free(d);
    free(f);
}

Test(cli, gradflow_usage_errors)
{
    cr_expect_eq(bptt("gradflow"), 2);
    cr_expect_eq(bptt("gradflow --weights w.safetensors " MODELS "/irnn_adding.yaml"), 2);
    char *err = file("err.txt");
    cr_expect(strstr(err, "right after its model file"), "%s", err);
    free(err);
    cr_expect_eq(bptt("gradflow " MODELS "/irnn_adding.yaml --variant 'v:hidden'"), 2);
    cr_expect_eq(bptt("gradflow " MODELS "/irnn_adding.yaml --variant "
                      "'v:model.layers[0].hidden=0'"), 2);
    err = file("err.txt");
    cr_expect(strstr(err, "variant v:"), "%s", err);
    free(err);
}

Test(cli, plot_draws_a_training_log)
{
    int rc = bptt("train " MODELS "/tanh_adding.yaml --set data.steps=10 --steps 30 "
                  "--set train.eval_every=10 --set train.clip_norm=0.05 --log m.csv --quiet");
    char *err = file("err.txt");
    cr_assert_eq(rc, 0, "%s", err);
    free(err);
    cr_assert_eq(bptt("plot m.csv --svg m.svg --label run"), 0);
    char *out = file("out.txt");
    cr_expect(strstr(out, "run"), "%s", out);
    cr_expect(strstr(out, "clipped 30 (100.0%)"), "clip_norm 0.05 clips every step: %s", out);
    /* loss, held-out loss and the loss's baseline; gradient norm; learning rate; held-out mse
     * and its baseline */
    expect_svg("m.svg", 7);
    char *svg = file("m.svg");
    cr_expect(strstr(svg, ">learning rate<"), "a learning-rate panel");
    cr_expect(strstr(svg, ">held-out mse<"), "a metric panel");
    cr_expect(strstr(svg, "the task&apos;s baseline 0.1667") || strstr(svg, "the task's baseline 0.1667"),
              "the baseline in the legend");
    cr_expect_eq(count_of(svg, "stroke-dasharray"), 4, "the baselines, dashed, and their legends");
    cr_expect_eq(count_of(svg, "<path class=\"rug\""), 1);
    cr_expect_eq(count_of(svg, "M") > 30, 1);
    free(svg);
    free(out);
    cr_expect_eq(bptt("plot m.csv"), 2, "--svg is required");
    cr_expect_eq(bptt("plot nonexistent.csv --svg x.svg"), 2);
}

Test(cli, plot_two_logs_hand_written)
{
    char path[128];
    snprintf(path, sizeof path, "%s/a.csv", dir);
    FILE *f = fopen(path, "w");
    fputs("step,loss,grad_norm,clipped,lr,eval_loss,eval_metric\n1,1.0,5,1,0.1,,\n"
          "2,0.5,0.5,0,0.1,,\n2,,,,,0.6,0.6\n3,0.25,3,1,0.1,,\n", f);
    fclose(f);
    snprintf(path, sizeof path, "%s/b.csv", dir);
    f = fopen(path, "w");
    fputs("step,loss,grad_norm,clipped,lr,eval_loss,eval_metric\n1,2,1,0,0.1,,\n", f);
    fclose(f);
    cr_assert_eq(bptt("plot a.csv b.csv --svg ab.svg --smooth 2"), 0);
    char *out = file("out.txt");
    cr_expect(strstr(out, "clipped 2 (66.7%)"), "%s", out);
    cr_expect(strstr(out, "clipped 0 (0.0%)"), "%s", out);
    free(out);
    /* an older log (evaluations on rows of their own): a, a held-out, b; gradient: a, b;
     * lr: a, b; eval_metric: a */
    expect_svg("ab.svg", 2 + 1 + 2 + 2 + 1);
    char *svg = file("ab.svg");
    cr_expect_eq(count_of(svg, "<path class=\"rug\""), 1, "only a clipped");
    cr_expect(strstr(svg, "a: clipped 2 of 3"));
    free(svg);
    snprintf(path, sizeof path, "%s/bad.csv", dir);
    f = fopen(path, "w");
    fputs("step,loss\n1,2\n", f);
    fclose(f);
    cr_expect_eq(bptt("plot bad.csv --svg x.svg"), 2);
    char *err = file("err.txt");
    cr_expect(strstr(err, "no column 'grad_norm'"), "%s", err);
    free(err);
}

/* Lines "    pN [label=..." are parameter nodes. */
static int param_nodes(const char *dot)
{
    int n = 0;
    for (const char *p = dot; (p = strstr(p, "\n    p")); p += 6) {
        int id;
        char c;
        n += sscanf(p + 6, "%d [%c", &id, &c) == 2 && c == 'l';
    }
    return n;
}

Test(cli, graph_writes_well_formed_dot)
{
    int rc = bptt("graph " MODELS "/stacked_skip.yaml --steps 3 --size 2 --dot g.dot");
    char *err = file("err.txt");
    cr_assert_eq(rc, 0, "%s", err);
    free(err);
    char *dot = file("g.dot");
    cr_expect(!strncmp(dot, "digraph bptt {", 14));
    int depth = 0, min = 0;
    bool quoted = false;
    for (const char *p = dot; *p; p++) {
        if (*p == '\\' && quoted) {
            p++;
            continue;
        }
        if (*p == '"')
            quoted = !quoted;
        if (!quoted) {
            depth += (*p == '{') - (*p == '}');
            min = depth < min ? depth : min;
        }
    }
    cr_expect_eq(depth, 0, "balanced braces");
    cr_expect_eq(min, 0);
    cr_expect_not(quoted, "balanced quotes");
    /* 8 parameters, each one node, each named once: rnn0/rnn1 W_x W_h b, out W b */
    cr_expect_eq(param_nodes(dot), 8);
    const char *names[] = {"rnn0.W_x", "rnn0.W_h", "rnn0.b", "rnn1.W_x", "rnn1.W_h", "rnn1.b",
                           "out.W", "out.b"};
    for (int i = 0; i < 8; i++) {
        char label[64];
        snprintf(label, sizeof label, "label=\"%s\\n", names[i]);
        cr_expect_eq(count_of(dot, label), 1, "%s", names[i]);
    }
    /* rnn0.W_h (p1) is read by every step: three edges from one node */
    cr_expect_eq(count_of(dot, "  p1 -> "), 3);
    cr_expect_eq(count_of(dot, "class=\"clip\""), 2 * 3, "a clip node per layer and step");
    cr_expect_eq(count_of(dot, "class=\"skip\""), 3, "a skip node per step");
    cr_expect_eq(count_of(dot, "subgraph cluster_t"), 3);
    cr_expect_eq(count_of(dot, "shape=doubleoctagon"), 1, "one loss");
    free(dot);
    if (system("command -v dot >/dev/null 2>&1") == 0) {
        char cmd[256];
        snprintf(cmd, sizeof cmd, "dot -Tsvg %s/g.dot -o %s/g.svg", dir, dir);
        cr_expect_eq(system(cmd), 0, "graphviz renders it");
    }
    cr_expect_eq(bptt("graph " MODELS "/stacked_skip.yaml"), 2, "--steps is required");
    cr_expect_eq(bptt("graph " MODELS "/stacked_skip.yaml --steps 0"), 2);
}

Test(cli, gradflow_variants_belong_to_the_model_before_them)
{
    int rc = bptt("gradflow --variant 'all:train.seed=2' " MODELS "/irnn_adding.yaml "
                  "--variant 'own1:train.seed=3' --variant own2 " MODELS "/lstm_adding.yaml "
                  "--set data.steps=10 --size 2 --csv v.csv");
    char *err = file("err.txt");
    cr_assert_eq(rc, 0, "%s", err);
    free(err);
    char *csv = file("v.csv");
    cr_expect_eq(count_of(csv, "\nown1,"), 10);
    cr_expect_eq(count_of(csv, "\nown2,"), 10);
    cr_expect_eq(count_of(csv, "\nlstm_adding:all,"), 10, "a global variant, model-prefixed");
    cr_expect_eq(count_of(csv, "\nirnn_adding:all,"), 0, "irnn has its own variants");
    free(csv);
}
