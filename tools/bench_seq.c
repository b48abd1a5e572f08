/* bench_seq.c — the sequential floor of `bptt bench steps`: of a step's sgemm calls only
 * the recurrent ones must be made step by step (h_{t-1} W_h forward, dz_t W_hᵀ backward);
 * every other weight's calls of one kind are one product over all their rows:
 *   x W_x over all T B rows,  dW = Σ_t X_tᵀ dY_t = [X_0; ...; X_{T-1}]ᵀ [dY_0; ...]. */
#include "bench_util.h"

#include <stdlib.h>
#include <string.h>

enum { MAX_GROUPS = 64 };

/* The calls of one weight and kind merged: the summed rows, where the merged call goes
 * (a forward at its first call, a backward one at its last), the first call's shape. */
typedef struct group {
    const bp_node *w;
    char kind;
    long rows;
    int at;
    bench_gemm first;
} group;

/* The summed dimension of a call: the rows M of a forward or dA product, the inner K
 * of a weight gradient. */
static int *summed(bench_gemm *g)
{
    return g->kind == 'b' ? &g->K : &g->M;
}

static int find_group(group *gs, int *n, const bench_gemm *g, int at)
{
    for (int i = 0; i < *n; i++)
        if (gs[i].w == g->w && gs[i].kind == g->kind) {
            if (g->kind != 'f')
                gs[i].at = at;
            return i;
        }
    if (*n == MAX_GROUPS)
        return -1;
    gs[*n] = (group){g->w, g->kind, 0, at, *g};
    return (*n)++;
}

/* Scratch operands (zeros) for the largest merged call: the two operands that are rows
 * (forward: x and the product; dA: dC and dA; weight gradient: X and dY). */
static void size_seq_scratch(bench_worker *w, const group *gs, int n)
{
    size_t need = 1;
    for (int i = 0; i < n; i++) {
        const bench_gemm *g = &gs[i].first;
        size_t r = (size_t)gs[i].rows;
        size_t a = r * (size_t)g->lda, c = r * (size_t)(g->kind == 'b' ? g->ldb : g->ldc);
        need = a > need ? a : need;
        need = c > need ? c : need;
    }
    bench_scratch_grow(w->seq_scratch, 2, &w->seq_scratch_size, need);
}

/* The merged call of group g, its row operands on the scratch buffers. */
static bench_gemm merged(const bench_worker *w, const group *g)
{
    bench_gemm m = g->first;
    *summed(&m) = (int)g->rows;
    m.A = w->seq_scratch[0];
    if (m.kind == 'b')
        m.B = w->seq_scratch[1];
    else
        m.C = w->seq_scratch[1];
    return m;
}

void bench_seq_worker(bench_worker *w)
{
    group gs[MAX_GROUPS];
    int n = 0;
    int *of = malloc(((size_t)w->n_gemms + 1) * sizeof *of); /* each call's group, or -1 */
    if (!of)
        abort();
    for (int j = 0; j < w->n_gemms; j++) {
        bench_gemm *g = &w->gemms[j];
        of[j] = g->per_step ? -1 : find_group(gs, &n, g, j);
        if (of[j] >= 0)
            gs[of[j]].rows += *summed(g);
    }
    size_seq_scratch(w, gs, n);
    w->n_seq = 0;
    for (int j = 0; j < w->n_gemms; j++) {
        if (of[j] < 0)
            /* per step, or beyond MAX_GROUPS weights */
            bench_gemm_push(&w->seq, &w->n_seq, &w->cap_seq, w->gemms[j]);
        else if (gs[of[j]].at == j)
            bench_gemm_push(&w->seq, &w->n_seq, &w->cap_seq, merged(w, &gs[of[j]]));
    }
    free(of);
}
