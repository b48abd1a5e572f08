/* fpmode.c — denormals flushed to zero for a stretch of work. A gradient vanishing over
 * a long sequence, an Adam moment of a tiny gradient or a sigmoid far in its tail passes
 * through denormals, and on many x86 cores each operation on one takes a microcode
 * assist of ~100 cycles: an LSTM's step at H32 B1 T1000 ran 4x slower for them on an
 * Intel Xeon (docs/benchmarks.md). Results change only where a value is below the
 * smallest normal (1.2e-38 in float), which becomes 0. */
#include "fpmode.h"

#if defined(__SSE2__)
#include <xmmintrin.h>
enum { FLUSH_BITS = 0x8040 }; /* MXCSR: FTZ (bit 15), DAZ (bit 6) */
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
static unsigned fp_get(void)
{
    unsigned long w;
    __asm__ volatile("mrs %0, fpcr" : "=r"(w));
    return (unsigned)w;
}
static void fp_set(unsigned w)
{
    unsigned long x = w;
    __asm__ volatile("msr fpcr, %0" : : "r"(x));
}
#else
enum { FLUSH_BITS = 0 }; /* no controls known here: IEEE gradual underflow stays */
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
    if (s.changed)
        fp_set(s.saved);
}
