/* blas.h — the CBLAS calls for bp_real (internal: public headers stay free of cblas.h). */
#ifndef BPTT_BLAS_H
#define BPTT_BLAS_H

#include <cblas.h>

#ifdef BP_DOUBLE
#define bp_gemm cblas_dgemm
#else
#define bp_gemm cblas_sgemm
#endif
/* Always double, whatever bp_real is: for what the library computes in double (the
 * spectral radius of W_h, layers/spectral.c). */
#define bp_gemm_f64 cblas_dgemm

#endif
