/* bench_memory.c — `bptt bench memory`: the peak resident size of a training step,
 * measured in a fresh process per configuration (VmHWM from /proc/self/status), beside
 * what the step must hold: the parameters and the activations the tape stores. */
#include "bench_util.h"
#include "cli.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *const cells[] = {"rnn", "irnn", "lstm", "gru"};

/* Is p inside one of n's inputs' buffers (a view, not a buffer of its own)? */
static bool borrowed(const bp_node *n, const bp_real *p, bool grad)
{
    if (!n->op)
        return false;
    for (int k = 0; k < n->op->n_in; k++) {
        const bp_real *b = grad ? n->in[k]->grad : n->in[k]->value;
        if (b && p >= b && p < b + n->in[k]->size)
            return true;
    }
    return false;
}

/* What a row's tape keeps: nothing a training step no longer reads (as bp_trainer_step
 * runs), every value but not the gradients (as it ran before values were released), or
 * everything (a diagnostic's tape). One list: the child's argument and the table's column. */
static const char *const keeps[] = {"none", "values", "all"};

static int cmp_ptr(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t) * (const bp_real *const *)a, y = (uintptr_t) * (const bp_real *const *)b;
    return (x > y) - (x < y);
}

/* Bytes of the distinct buffers among p[0..n) (a released value's buffer is the next
 * node's of its size: counted once), each of size[i] elements; sorts p and size. */
static size_t distinct_bytes(const bp_real **p, size_t *size, size_t n)
{
    typedef struct { const bp_real *p; size_t size; } buf;
    buf *b = malloc((n ? n : 1) * sizeof *b);
    if (!b)
        return 0;
    for (size_t i = 0; i < n; i++)
        b[i] = (buf){p[i], size[i]};
    qsort(b, n, sizeof *b, cmp_ptr);
    size_t bytes = 0;
    for (size_t i = 0; i < n; i++)
        if (!i || b[i].p != b[i - 1].p)
            bytes += b[i].size * sizeof(bp_real);
    free(b);
    return bytes;
}

/* The child: build, run two steps, report one line of numbers on stdout. */
int bench_memory_child(int argc, char **argv)
{
    if (argc != 6) {
        cli_error("bench", "usage: bptt bench memory-child CELL H B T none|values|all");
        return EXIT_USAGE;
    }
    int keep = 0;
    while (keep < 3 && strcmp(argv[5], keeps[keep]))
        keep++;
    bench_cfg c = {argv[1], atoi(argv[2]), atoi(argv[3]), atoi(argv[4])};
    long base = bench_status_kib("VmRSS");
    bp_error err = {0};
    bench_trainer *b = bench_trainer_new(&c, 1, &err);
    if (!b) {
        cli_error("bench", "%s: %s", c.cell, err.msg);
        return EXIT_RUNTIME;
    }
    bp_tape_set_keep_grads(bench_tape(b), keep == 2);
    bp_tape_set_keep_values(bench_tape(b), keep >= 1);
    double t0 = 0, dt = 0;
    for (int i = 0; i < 2; i++) { /* the first step warms the arena up */
        t0 = bench_now();
        if (bench_step(b, NULL, &err) != BP_OK) {
            cli_error("bench", "%s: %s", c.cell, err.msg);
            return EXIT_RUNTIME;
        }
        dt = bench_now() - t0;
    }
    long peak = bench_status_kib("VmHWM");
    size_t grads = 0, n_own = 0;
    bp_tape *t = bench_tape(b);
    int len = bp_tape_len(t);
    const bp_real **own = malloc((size_t)(len ? len : 1) * sizeof *own);
    size_t *own_size = malloc((size_t)(len ? len : 1) * sizeof *own_size);
    if (!own || !own_size) {
        cli_error("bench", "out of memory");
        return EXIT_RUNTIME;
    }
    for (int i = 0; i < len; i++) {
        const bp_node *n = bp_tape_node(t, i);
        if (!borrowed(n, n->value, false)) {
            own[n_own] = n->value;
            own_size[n_own++] = n->size;
        }
        if (n->grad && !borrowed(n, n->grad, true))
            grads += n->size * sizeof(bp_real);
    }
    size_t values = distinct_bytes(own, own_size, n_own) + bp_tape_scratch_bytes(t);
    free(own);
    free(own_size);
    printf("%ld %ld %zu %zu %zu %zu %d %.6f\n", base, peak,
           bp_params_elements(bp_trainer_params(b->tr)) * sizeof(bp_real), values, grads,
           bp_tape_arena_bytes(t), len, dt);
    bench_trainer_free(b);
    return EXIT_OK;
}

typedef struct mem_row {
    long base, peak;
    size_t params, values, grads, arena;
    int nodes;
    double step;
} mem_row;

static int run_child(const char *self, const bench_cfg *c, int keep, mem_row *r)
{
    char h[16], bs[16], ts[16], buf[512];
    snprintf(h, sizeof h, "%d", c->H);
    snprintf(bs, sizeof bs, "%d", c->B);
    snprintf(ts, sizeof ts, "%d", c->T);
    char *argv[] = {"bptt", "bench", "memory-child", (char *)c->cell, h, bs, ts,
                    (char *)keeps[keep], NULL};
    if (bench_run_child(self, argv, buf, sizeof buf) != EXIT_OK ||
        sscanf(buf, "%ld %ld %zu %zu %zu %zu %d %lf", &r->base, &r->peak, &r->params, &r->values,
               &r->grads, &r->arena, &r->nodes, &r->step) != 8) {
        cli_error("bench", "the memory child for %s failed", c->cell);
        return EXIT_RUNTIME;
    }
    return EXIT_OK;
}

/* r, and its step's memory over that of the row keeping values (vs_values; 0: none) */
static void print_row(const bench_opts *o, const bench_cfg *c, int keep, const mem_row *r,
                      double vs_values, int n)
{
    const double MiB = 1024.0 * 1024.0;
    double used = (double)(r->peak - r->base) * 1024.0, need = (double)(r->params + r->values);
    if (o->json)
        printf("%s\n  {\"cell\": \"%s\", \"H\": %d, \"B\": %d, \"T\": %d, \"keeps\": \"%s\", "
               "\"peak_kib\": %ld, \"base_kib\": %ld, \"param_bytes\": %zu, "
               "\"activation_bytes\": %zu, \"kept_grad_bytes\": %zu, "
               "\"arena_reserved_bytes\": %zu, \"tape_nodes\": %d, \"ratio\": %.4f, "
               "\"step_ms\": %.3f, \"vs_values_kept\": %.4f}",
               n ? "," : "", c->cell, c->H, c->B, c->T, keeps[keep], r->peak, r->base,
               r->params, r->values, r->grads, r->arena, r->nodes, used / need, 1e3 * r->step,
               vs_values);
    else {
        char vs[16] = "-";
        if (vs_values > 0)
            snprintf(vs, sizeof vs, "%.3f", vs_values);
        printf("%-5s %5d %4d %5d %-6s %9.1f %9.1f %9.1f %9.2f %11.1f %6.3f %8s\n", c->cell,
               c->H, c->B, c->T, keeps[keep], r->peak / 1024.0, r->base / 1024.0, used / MiB,
               r->params / MiB, r->values / MiB, used / need, vs);
    }
    fflush(stdout);
}

int bench_memory(const bench_opts *o, const char *self)
{
    int H = o->H ? o->H : 128, B = o->H ? o->B : 32, T = o->H ? o->T : 1000;
    if (o->json)
        printf("\"memory\": [");
    else
        printf("memory of one training step (%s; peak resident size VmHWM of a fresh process "
               "per row; keeps = what the tape keeps: none (a training step: grads and values "
               "no backward reads released), values (grads released), all; base = the process "
               "before the model; params = weight values, MiB; activations = the distinct value "
               "buffers on the tape and the ops' scratch for backward, MiB; ratio = (peak - base) / (params + activations); "
               "vs values = step MiB / the values row's)\n"
               "%-5s %5s %4s %5s %-6s %9s %9s %9s %9s %11s %6s %8s\n",
               BP_REAL_NAME, "cell", "H", "B", "T", "keeps", "peak MiB", "base MiB", "step MiB",
               "params", "activations", "ratio", "vs values");
    int n = 0;
    for (size_t ci = 0; ci < sizeof cells / sizeof cells[0]; ci++) {
        if (o->cell && strcmp(o->cell, cells[ci]))
            continue;
        bench_cfg c = {cells[ci], H, B, T};
        mem_row r[3];
        for (int keep = 0; keep < 3; keep++) {
            int rc = run_child(self, &c, keep, &r[keep]);
            if (rc)
                return rc;
        }
        double values_used = (double)(r[1].peak - r[1].base);
        for (int keep = 0; keep < 3; keep++)
            print_row(o, &c, keep, &r[keep],
                      keep == 1 ? 0 : (double)(r[keep].peak - r[keep].base) / values_used, n++);
    }
    if (o->json)
        printf("\n]");
    return EXIT_OK;
}
