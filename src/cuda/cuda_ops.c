/* The ops implemented by our own kernels (the .cu files of kernels/): batch loading,
 * pooling with the fused relu, relu, the residual join, softmax
 * cross-entropy, Adam and the end of a step. Each is one launch (or two)
 * on the backend's stream, checked for launch failure. */
#include "cuda_check.h"

rt_status cuda_load_batch(void *vctx, const uint8_t *images, const uint8_t *labels,
                          const int32_t *order, int pixels, int n, const rt_step_state *state,
                          float *x, int32_t *y)
{
    cuda_ctx *ctx = vctx;
    CUDA_TRY(ctx, rtk_load_batch(images, labels, order, pixels, n, state, x, y, ctx->stream));
    return RT_OK;
}

rt_status cuda_maxpool2_forward(void *vctx, int n, int c, int h, int w, int relu, const float *x,
                                float *y)
{
    cuda_ctx *ctx = vctx;
    CUDA_TRY(ctx, rtk_maxpool2_forward(x, y, (size_t)n * (size_t)c, h, w, relu, ctx->stream));
    return RT_OK;
}

rt_status cuda_maxpool2_backward(void *vctx, int n, int c, int h, int w, int relu,
                                 const float *x, const float *y, const float *dy, float *dx)
{
    cuda_ctx *ctx = vctx;
    CUDA_TRY(ctx, rtk_maxpool2_backward(x, y, dy, dx, (size_t)n * (size_t)c, h, w, relu,
                                        ctx->stream));
    return RT_OK;
}

rt_status cuda_relu_forward(void *vctx, size_t count, const float *x, float *y)
{
    cuda_ctx *ctx = vctx;
    CUDA_TRY(ctx, rtk_relu_forward(x, y, count, ctx->stream));
    return RT_OK;
}

rt_status cuda_relu_backward(void *vctx, size_t count, const float *y, const float *dy,
                             float *dx)
{
    cuda_ctx *ctx = vctx;
    CUDA_TRY(ctx, rtk_relu_backward(y, dy, dx, count, ctx->stream));
    return RT_OK;
}

rt_status cuda_add_relu_forward(void *vctx, size_t count, const float *a, const float *b,
                                float *y)
{
    cuda_ctx *ctx = vctx;
    CUDA_TRY(ctx, rtk_add_relu_forward(a, b, y, count, ctx->stream));
    return RT_OK;
}

rt_status cuda_add_relu_backward(void *vctx, size_t count, const float *y, const float *dy,
                                 float *d)
{
    return cuda_relu_backward(vctx, count, y, dy, d);
}

rt_status cuda_softmax_cross_entropy(void *vctx, int n, int classes, const float *logits,
                                     const int32_t *labels, float *dlogits,
                                     rt_step_state *state)
{
    cuda_ctx *ctx = vctx;
    /* a bad label cannot be returned from here: the kernel records it and
     * the next download or synchronize reports it (RT_ERR_USAGE) */
    CUDA_TRY(ctx, rtk_softmax_xent(logits, labels, dlogits, n, classes, state, ctx->dev_err,
                                   ctx->stream));
    return RT_OK;
}

rt_status cuda_adam(void *vctx, size_t count, float *params, const float *grads, float *m,
                    float *v, const rt_adam_config *cfg, rt_step_state *state)
{
    cuda_ctx *ctx = vctx;
    CUDA_TRY(ctx, rtk_adam(params, grads, m, v, count, *cfg, state, ctx->stream));
    return RT_OK;
}

rt_status cuda_step_advance(void *vctx, rt_step_state *state, int n, int optimizer_step)
{
    cuda_ctx *ctx = vctx;
    CUDA_TRY(ctx, rtk_step_advance(state, n, optimizer_step, ctx->stream));
    return RT_OK;
}
