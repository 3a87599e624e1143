/* gemm.h - the one place libmaf calls the BLAS matrix multiply (row-major cblas).
 *
 * Every GEMM goes through maf_gemm so that a flow can record the calls of one step; the
 * benchmark replays exactly those calls (same shapes, same buffers) to measure the GEMM-only
 * roofline of the same work. */
#ifndef MAF_GEMM_H
#define MAF_GEMM_H

#include <stdbool.h>
#include <cblas.h>

#include "maf/real.h"

typedef struct {
    bool trans_a, trans_b;
    int m, n, k;
    const maf_real *a, *b; /* the operands of the recorded call, with their leading dims */
    maf_real *c;
    int lda, ldb, ldc;
    bool accumulate; /* beta = 1 */
} maf_gemm_shape;

typedef struct {
    maf_gemm_shape *shapes; /* NULL: not recording */
    int count, capacity;
} maf_gemm_trace;

/* C (m x n) = op(A) (m x k) * op(B) (k x n) + beta C, all row-major with leading dimensions. */
static inline void maf_gemm(maf_gemm_trace *tr, bool ta, bool tb, int m, int n, int k,
                            const maf_real *a, int lda, const maf_real *b, int ldb, bool accumulate,
                            maf_real *c, int ldc)
{
    if (tr && tr->shapes && tr->count < tr->capacity)
        tr->shapes[tr->count++] =
            (maf_gemm_shape){ta, tb, m, n, k, a, b, c, lda, ldb, ldc, accumulate};
#ifdef MAF_REAL_DOUBLE
    cblas_dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, m, n,
                k, 1.0, a, lda, b, ldb, accumulate ? 1.0 : 0.0, c, ldc);
#else
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, m, n,
                k, 1.0f, a, lda, b, ldb, accumulate ? 1.0f : 0.0f, c, ldc);
#endif
}

#endif
