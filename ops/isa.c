/* isa.c — which kernel variant runs (isa.h; the API in bptt_ops.h). */
#include "isa.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BP_ISA_NAME_(isa, attr, runs, fma, unused) #isa,
static const char *const isa_names[] = {BP_ISA_LIST(BP_ISA_NAME_, 0)};
enum { N_ISA = (int)(sizeof isa_names / sizeof isa_names[0]) };

_Atomic int bp_isa_in_use = -1;

int bp_isa_count(void)
{
    return N_ISA;
}

const char *bp_isa_name(int i)
{
    return i >= 0 && i < N_ISA ? isa_names[i] : NULL;
}

bool bp_isa_runnable(int i)
{
    if (i < 0 || i >= N_ISA)
        return false;
#if BP_ISA_X86
    __builtin_cpu_init(); /* cheap after the first call; needed before any constructor ran */
#endif
#define BP_ISA_RUNS_(isa, attr, runs, fma, unused) (runs),
    const bool runs[] = {BP_ISA_LIST(BP_ISA_RUNS_, 0)};
    return runs[i];
}

bool bp_isa_has_fma(int i)
{
#define BP_ISA_FMA_(isa, attr, runs, fma, unused) (fma),
    static const bool has_fma[] = {BP_ISA_LIST(BP_ISA_FMA_, 0)};
    return i >= 0 && i < N_ISA && has_fma[i];
}

static int widest_runnable(void)
{
    int i = 0;
    while (i < N_ISA - 1 && !bp_isa_runnable(i))
        i++;
    return i;
}

/* "avx2, baseline": the variants i with runnable(i) == want */
static void list_names(bool only_runnable, char *buf, size_t n)
{
    size_t len = 0;
    buf[0] = '\0';
    for (int i = 0; i < N_ISA && len < n; i++)
        if (!only_runnable || bp_isa_runnable(i))
            len += (size_t)snprintf(buf + len, n - len, "%s%s", len ? ", " : "", isa_names[i]);
}

/* The index name means (NULL, "" and "auto": the widest this CPU runs). */
static bp_status find(const char *name, int *out, bp_error *err)
{
    char known[128];
    if (!name || !*name || !strcmp(name, "auto")) {
        *out = widest_runnable();
        return BP_OK;
    }
    for (int i = 0; i < N_ISA; i++) {
        if (strcmp(name, isa_names[i]))
            continue;
        if (!bp_isa_runnable(i)) {
            list_names(true, known, sizeof known);
            return bp_error_set(err, BP_ERR_VALUE, "kernel variant '%s' needs instructions this "
                                "CPU lacks (it runs: %s)", name, known);
        }
        *out = i;
        return BP_OK;
    }
    list_names(false, known, sizeof known);
    return bp_error_set(err, BP_ERR_NAME, "unknown kernel variant '%s' (known: %s, auto)", name,
                        known);
}

int bp_isa_pick(void)
{
    int i;
    if (find(getenv("BPTT_ISA"), &i, NULL) != BP_OK)
        i = widest_runnable(); /* bp_isa_select_env reports it */
    atomic_store_explicit(&bp_isa_in_use, i, memory_order_relaxed);
    return i;
}

int bp_isa_current(void)
{
    return bp_isa_index();
}

bp_status bp_isa_select(const char *name, bp_error *err)
{
    int i;
    bp_status st = find(name, &i, err);
    if (st == BP_OK)
        atomic_store_explicit(&bp_isa_in_use, i, memory_order_relaxed);
    return st;
}

bp_status bp_isa_select_env(bp_error *err)
{
    const char *v = getenv("BPTT_ISA");
    bp_status st = bp_isa_select(v, err);
    if (st != BP_OK && err)
        bp_error_prefix(err, "BPTT_ISA=%s", v);
    return st;
}
