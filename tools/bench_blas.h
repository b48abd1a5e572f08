/* bench_blas.h — the CBLAS calls the benchmarks make themselves (the "BLAS floor": the
 * same products a step's ops make, made bare), for bp_real. The tools' own: the library's
 * BLAS access stays behind its ops. */
#ifndef BPTT_BENCH_BLAS_H
#define BPTT_BENCH_BLAS_H

#include <bptt_graph.h>
#include <cblas.h>

#ifdef BP_DOUBLE
#define bench_blas_gemm cblas_dgemm
#else
#define bench_blas_gemm cblas_sgemm
#endif

#endif
