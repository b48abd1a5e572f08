/* blas.h — the CBLAS calls for bp_real (internal: public headers stay free of cblas.h). */
#ifndef BPTT_BLAS_H
#define BPTT_BLAS_H

#include <cblas.h>

#ifdef BP_DOUBLE
#define bp_gemm cblas_dgemm
#else
#define bp_gemm cblas_sgemm
#endif

#endif
