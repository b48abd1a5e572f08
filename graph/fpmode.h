/* fpmode.h (internal to the library) — denormal floats flushed to zero over a stretch
 * of the library's work (bp_tape_set_flush_denormals): the calling thread's
 * floating-point control word set for the stretch and put back after it. */
#ifndef BPTT_FPMODE_H
#define BPTT_FPMODE_H

#include <stdbool.h>

typedef struct {
    unsigned saved; /* the control word before, when changed */
    bool changed;
} bp_fp_scope;

/* From here, on this thread: denormal results flushed to zero and denormal inputs read
 * as zero, when flush is true and the CPU has the controls (x86 SSE, AArch64). */
bp_fp_scope bp_fp_flush_begin(bool flush);
/* The control word as it was before its bp_fp_flush_begin. */
void bp_fp_flush_end(bp_fp_scope s);

#endif
