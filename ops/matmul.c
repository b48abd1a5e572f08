/* matmul — C = A B. A is (M, K), B is (K, N), C is (M, N); CBLAS gemm, or at one row
 * (M = 1) the row kernel (rowmat.h), a BLAS call costing more than its arithmetic there. */
#include "blas.h"
#include "matmul.h"
#include "op_util.h"
#include "panel.h"
#include "rowmat.h"

static bp_status matmul_shape(const bp_node *n, bp_shape *out, bp_error *err)
{
    bp_shape a = X(n)->shape, b = Y(n)->shape;
    char sa[64], sb[64];
    if (a.ndim != 2 || b.ndim != 2 || a.dim[1] != b.dim[0])
        return bp_error_set(err, BP_ERR_SHAPE,
                            "cannot multiply %s by %s (needs (M, K) and (K, N))",
                            bp_shape_str(a, sa, sizeof sa), bp_shape_str(b, sb, sizeof sb));
    *out = bp_shape2(a.dim[0], b.dim[1]);
    return BP_OK;
}

static void matmul_forward(bp_node *n, bp_tape *t)
{
    (void)t;
    int M = X(n)->shape.dim[0], K = X(n)->shape.dim[1], N = Y(n)->shape.dim[1];
    if (M == 1)
        bp_row_times(X(n)->value, Y(n)->value, K, N, N, n->value);
    else
        bp_gemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1, X(n)->value, K,
                Y(n)->value, N, 0, n->value, N);
}

/* dA += dC B^T  (M,N)(N,K); = when dA is fresh (bp_op.grad_assign) */
void bp_matmul_backward_a(bp_node *n)
{
    int M = X(n)->shape.dim[0], K = X(n)->shape.dim[1], N = Y(n)->shape.dim[1];
    if (X(n)->requires_grad)
        bp_gemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, K, N, 1, n->grad, N, Y(n)->value, N,
                bp_grad_beta(X(n)), X(n)->grad, K);
}

/* dA += dC B^T as dC (B^T), on B^T packed (panel.h: bp_panel_pack of B, transposed) */
void bp_matmul_backward_a_packed(bp_node *n, const bp_real *bt_packed)
{
    int M = X(n)->shape.dim[0], K = X(n)->shape.dim[1], N = Y(n)->shape.dim[1];
    if (X(n)->requires_grad)
        bp_panel_times(n->grad, N, M, N, bt_packed, K, X(n)->grad, K,
                       !bp_grad_take_fresh(X(n)));
}

/* dB += A^T dC  (K,M)(M,N), when B takes a gradient */
void bp_matmul_backward_b(bp_node *n)
{
    int M = X(n)->shape.dim[0], K = X(n)->shape.dim[1], N = Y(n)->shape.dim[1];
    if (Y(n)->requires_grad)
        bp_gemm(CblasRowMajor, CblasTrans, CblasNoTrans, K, N, M, 1, X(n)->value, K, n->grad, N,
                bp_grad_beta(Y(n)), Y(n)->grad, N);
}

static void matmul_backward(bp_node *n)
{
    bp_matmul_backward_a(n);
    bp_matmul_backward_b(n);
}

static void matmul_case(int k, bp_rng *rng, bp_check_case *c)
{
    int M = k == 0 ? 1 : bp_case_dim(rng), K = bp_case_dim(rng), N = bp_case_dim(rng);
    c->in_shape[0] = bp_shape2(M, K);
    c->in_shape[1] = bp_shape2(K, N);
}

const bp_op bp_op_matmul = {
    .name = "matmul",
    .n_in = BP_OP_NIN(matmul),
    .n_attr = BP_OP_NATTR(matmul),
    .formula = "C = A B",
    .inputs_doc = "A (M,K), B (K,N)",
    .grad_formula = "dA += dC Bᵀ; dB += Aᵀ dC",
    .shape = matmul_shape,
    .forward = matmul_forward,
    .backward = matmul_backward,
    .unsaved = BP_UNSAVED_OUT,
    .grad_assign = 3, /* both products store with beta 0 */
    .check = {.n_cases = 4, .make_case = matmul_case, .lo = -1, .hi = 1},
};
