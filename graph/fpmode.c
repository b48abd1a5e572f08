/* fpmode.c — denormals flushed to zero for a stretch of work. A gradient vanishing over
 * a long sequence, an Adam moment of a tiny gradient or a sigmoid far in its tail passes
 * through denormals, and on many x86 cores each operation on one takes a microcode
 * assist of ~100 cycles: an LSTM's step at H32 B1 T1000 ran 3 to 3.5 times slower for
 * them on an Intel Xeon (docs/benchmarks.md). Results change only through values below
 * the smallest normal (1.2e-38 in float), which become 0. */
#include "fpmode.h"

#include <stdint.h>

#if defined(__SSE2__)
#include <xmmintrin.h>
enum { FLUSH_BITS = 0x8040 }; /* MXCSR: FTZ (bit 15), DAZ (bit 6) */
enum { FLAG_BITS = 0x3f };    /* MXCSR's sticky exception flags: kept at the end */
static unsigned fp_get(void)
{
    return _mm_getcsr();
}
static void fp_set(unsigned w)
{
    _mm_setcsr(w);
}
#elif defined(__aarch64__)
enum { FLUSH_BITS = 1u << 24 }; /* FPCR.FZ: both flushes in one bit */
enum { FLAG_BITS = 0 };         /* the flags are FPSR's, untouched */
static unsigned fp_get(void)
{
    uint64_t w;
    __asm__ volatile("mrs %0, fpcr" : "=r"(w) : : "memory");
    return (unsigned)w;
}
static void fp_set(unsigned w)
{
    uint64_t x = w;
    __asm__ volatile("msr fpcr, %0" : : "r"(x) : "memory");
}
#else
enum { FLUSH_BITS = 0 }; /* no controls known here: IEEE gradual underflow stays */
enum { FLAG_BITS = 0 };
static unsigned fp_get(void)
{
    return 0;
}
static void fp_set(unsigned w)
{
    (void)w;
}
#endif

bp_fp_scope bp_fp_flush_begin(bool flush)
{
    bp_fp_scope s = {0, false};
    if (!flush || !FLUSH_BITS)
        return s;
    s.saved = fp_get();
    if ((s.saved & FLUSH_BITS) != FLUSH_BITS) { /* writing the word costs; skip when set */
        fp_set(s.saved | FLUSH_BITS);
        s.changed = true;
    }
    return s;
}

void bp_fp_flush_end(bp_fp_scope s)
{
    if (s.changed) /* the controls as they were; exceptions raised meanwhile stay raised */
        fp_set(s.saved | (fp_get() & FLAG_BITS));
}
