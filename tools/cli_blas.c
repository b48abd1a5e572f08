/* cli_blas.c — OpenBLAS's thread count for the commands (see cli.h). */
#include "cli.h"

#include <cblas.h>

int cli_blas_threads(void)
{
    return openblas_get_num_threads();
}

void cli_set_blas_threads(int n)
{
    if (n > 0)
        openblas_set_num_threads(n);
}
