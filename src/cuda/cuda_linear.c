/* The fully connected layer through cuBLAS, strict FP32 (the handle's math
 * mode is CUBLAS_PEDANTIC_MATH), with our kernels for the bias.
 *
 * cuBLAS is column-major: a row-major matrix A[r][c] is the column-major
 * matrix A^T (c x r, leading dimension c). So each row-major product below
 * is computed as its transpose:
 *   forward        Y = X W^T     ->  Y^T (out x n)  = W  (T of stored W^T) . X^T
 *   backward data  dX = dY W     ->  dX^T (in x n)  = W^T . dY^T
 *   backward param dW = dY^T X   ->  dW^T (in x out) = X^T . dY (T of stored dY^T) */
#include "cuda_check.h"

static const float ONE = 1.0f, ZERO = 0.0f;

rt_status cuda_linear_forward(void *vctx, int n, int in, int out, const float *x,
                              const float *w, const float *b, float *y)
{
    cuda_ctx *ctx = vctx;
    CUBLAS_TRY(ctx, cublasSgemm(ctx->cublas, CUBLAS_OP_T, CUBLAS_OP_N, out, n, in, &ONE, w, in,
                                x, in, &ZERO, y, out));
    if (b)
        CUDA_TRY(ctx, rtk_bias_add(y, b, n, out, 1, ctx->stream));
    return RT_OK;
}

rt_status cuda_linear_backward_data(void *vctx, int n, int in, int out, const float *dy,
                                    const float *w, float *dx)
{
    cuda_ctx *ctx = vctx;
    CUBLAS_TRY(ctx, cublasSgemm(ctx->cublas, CUBLAS_OP_N, CUBLAS_OP_N, in, n, out, &ONE, w, in,
                                dy, out, &ZERO, dx, in));
    return RT_OK;
}

rt_status cuda_linear_backward_params(void *vctx, int n, int in, int out, const float *x,
                                      const float *dy, float *dw, float *db)
{
    cuda_ctx *ctx = vctx;
    CUBLAS_TRY(ctx, cublasSgemm(ctx->cublas, CUBLAS_OP_N, CUBLAS_OP_T, in, out, n, &ONE, x, in,
                                dy, out, &ZERO, dw, in));
    /* column sums of dy[n][out], in double like the CPU backend */
    if (db)
        CUDA_TRY(ctx, rtk_channel_sum(dy, db, n, out, 1, ctx->stream));
    return RT_OK;
}
