/* isa_exec.c — `isa_exec VARIANT PROGRAM ARGS...`: run a test in one kernel variant.
 * Sets BPTT_ISA=VARIANT and executes PROGRAM; exits 77 (ctest's skip) when this CPU
 * cannot run the variant, or when this build does not have it (a non-x86 build has only
 * the baseline), saying why. tests/CMakeLists.txt runs the kernels' tests through it
 * once per variant. */
#include "bptt_ops.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: isa_exec VARIANT PROGRAM [ARGS...]\n");
        return 2;
    }
    bp_error err;
    if (bp_isa_select(argv[1], &err) != BP_OK) {
        printf("isa_exec: skipped: %s\n", err.msg);
        return 77;
    }
    if (setenv("BPTT_ISA", argv[1], 1)) {
        perror("isa_exec: setenv");
        return 2;
    }
    execv(argv[2], argv + 2);
    fprintf(stderr, "isa_exec: cannot run %s: ", argv[2]);
    perror(NULL);
    return 2;
}
