/* isa.h — kernel variants (internal to ops/): hot loops compiled once per instruction
 * set and picked at run time (bp_isa_select, BPTT_ISA; bptt_ops.h).
 *
 * A kernel is written once, as a body the compiler must inline, and BP_KERNEL makes
 * from it one copy per variant — the body inlined into a function compiled for that
 * instruction set, so each copy is vectorised for it — and the function itself, which
 * calls the copy of the variant in use (one relaxed load and an indirect call):
 *
 *     BP_KERNEL_BODY void scale2_body(float *x, size_t n) { for (...) x[i] *= 2; }
 *     BP_KERNEL(static, scale2, (float *x, size_t n), (x, n))
 *
 * Results are the same in every variant: the loops are elementwise, and -ffp-contract=off
 * (CMakeLists.txt) turns off contraction into FMA, so a wider vector changes no rounding.
 * A kernel that asks for FMA is made by BP_KERNEL_FMA instead: its body takes a first
 * argument `use_fma`, a constant in each copy (the list's fourth column), and rounds
 * a b + c once where it is true (bp_madd) — the same bits in the variants with FMA, the
 * baseline's to rounding, as the step products (ops/panel.c). tests/test_f32_isa.c checks
 * both.
 * Define BP_NO_CLONES to build the baseline only. */
#ifndef BPTT_ISA_H
#define BPTT_ISA_H

#include "bptt_ops.h"

#include <stdatomic.h>

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__) && \
    !defined(BP_NO_CLONES)
#define BP_ISA_X86 1
#else
#define BP_ISA_X86 0
#endif

/* The variants, widest first: X(name, attribute, can this CPU run it, has it FMA, ...).
 * The baseline, last, is the build's own flags (x86-64: SSE2, no FMA), which every CPU
 * the build targets runs. tests/CMakeLists.txt reads the names from these lines (one test
 * per variant): keep one "X(name," per line. */
#if BP_ISA_X86
#define BP_ISA_LIST(X, ...) \
    X(avx512, target("arch=x86-64-v4"), __builtin_cpu_supports("x86-64-v4"), 1, __VA_ARGS__) \
    X(avx2, target("arch=x86-64-v3"), __builtin_cpu_supports("x86-64-v3"), 1, __VA_ARGS__) \
    X(baseline, , 1, 0, __VA_ARGS__)
#else
#define BP_ISA_LIST(X, ...) \
    X(baseline, , 1, 0, __VA_ARGS__)
#endif

/* The variant in use, an index into BP_ISA_LIST; -1 until the first kernel call or
 * bp_isa_select picks one (bp_isa_pick: BPTT_ISA when valid, else the widest). */
extern _Atomic int bp_isa_in_use;
int bp_isa_pick(void);

static inline int bp_isa_index(void)
{
    int i = atomic_load_explicit(&bp_isa_in_use, memory_order_relaxed);
    return i >= 0 ? i : bp_isa_pick();
}

#if defined(__GNUC__)
#define BP_KERNEL_BODY static inline __attribute__((always_inline))
#else
#define BP_KERNEL_BODY static inline
#endif

/* a b + c, rounded once when use_fma (a constant in each copy: the other arm folds away) */
BP_KERNEL_BODY float bp_madd(bool use_fma, float a, float b, float c)
{
    return use_fma ? __builtin_fmaf(a, b, c) : a * b + c;
}

#define BP_UNPAREN_(...) __VA_ARGS__
#define BP_KERNEL_COPY_(isa, attr, runs, fma, name, params, args) \
    __attribute__((attr)) static void name##_##isa params { name##_body args; }
#define BP_KERNEL_COPY_FMA_(isa, attr, runs, fma, name, params, args) \
    __attribute__((attr)) static void name##_##isa params { name##_body(fma, BP_UNPAREN_ args); }
#define BP_KERNEL_ENTRY_(isa, attr, runs, fma, name, params, args) name##_##isa,
#define BP_KERNEL_DISPATCH_(linkage, name, params, args) \
    linkage void name params \
    { \
        static void (*const copy[]) params = {BP_ISA_LIST(BP_KERNEL_ENTRY_, name, params, args)}; \
        copy[bp_isa_index()] args; \
    }
/* `linkage void name params`, running name##_body args in the variant in use. */
#define BP_KERNEL(linkage, name, params, args) \
    BP_ISA_LIST(BP_KERNEL_COPY_, name, params, args) \
    BP_KERNEL_DISPATCH_(linkage, name, params, args)
/* The same, running name##_body(use_fma, args...): use_fma true in the variants with FMA
 * (args must not be empty). */
#define BP_KERNEL_FMA(linkage, name, params, args) \
    BP_ISA_LIST(BP_KERNEL_COPY_FMA_, name, params, args) \
    BP_KERNEL_DISPATCH_(linkage, name, params, args)

#endif
