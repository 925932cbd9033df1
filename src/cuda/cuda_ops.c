/* The ops implemented by our own kernels (the .cu files of kernels/): batch loading,
 * pooling (with the fused relu), relu, the residual join and sums,
 * BatchNorm, softmax
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

rt_status cuda_load_batch_transformed(void *vctx, const uint8_t *images, const uint8_t *labels,
                                      const int32_t *order, int n, const rt_batch_transform *tf,
                                      const rt_step_state *state, float *x, int32_t *y)
{
    cuda_ctx *ctx = vctx;
    CUDA_TRY(ctx, rtk_load_batch_transformed(images, labels, order, n, *tf, state, x, y,
                                             ctx->stream));
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

rt_status cuda_add(void *vctx, size_t count, const float *a, const float *b, float *y)
{
    cuda_ctx *ctx = vctx;
    CUDA_TRY(ctx, rtk_add(a, b, y, count, ctx->stream));
    return RT_OK;
}

static rtk_pool_dims pool_dims(const rt_pool_shape *s)
{
    rtk_pool_dims d = {s->h, s->w, rt_pool_out_h(s), rt_pool_out_w(s), s->kernel, s->stride,
                       s->pad};
    return d;
}

rt_status cuda_maxpool_forward(void *vctx, const rt_pool_shape *s, const float *x, float *y)
{
    cuda_ctx *ctx = vctx;
    CUDA_TRY(ctx, rtk_maxpool_forward(x, y, (size_t)s->n * (size_t)s->c, pool_dims(s),
                                      ctx->stream));
    return RT_OK;
}

rt_status cuda_maxpool_backward(void *vctx, const rt_pool_shape *s, const float *x,
                                const float *dy, float *dx)
{
    cuda_ctx *ctx = vctx;
    CUDA_TRY(ctx, rtk_maxpool_backward(x, dy, dx, (size_t)s->n * (size_t)s->c, pool_dims(s),
                                       ctx->stream));
    return RT_OK;
}

rt_status cuda_avgpool_forward(void *vctx, int n, int c, int hw, const float *x, float *y)
{
    cuda_ctx *ctx = vctx;
    CUDA_TRY(ctx, rtk_avgpool_forward(x, y, (size_t)n * (size_t)c, hw, ctx->stream));
    return RT_OK;
}

rt_status cuda_avgpool_backward(void *vctx, int n, int c, int hw, const float *dy, float *dx)
{
    cuda_ctx *ctx = vctx;
    CUDA_TRY(ctx, rtk_avgpool_backward(dy, dx, (size_t)n * (size_t)c, hw, ctx->stream));
    return RT_OK;
}

static rtk_bn_params bn_params(const rt_batchnorm *bn)
{
    rtk_bn_params p = {bn->eps,          bn->momentum,    bn->relu,
                       bn->weight,       bn->bias,        bn->running_mean,
                       bn->running_var,  bn->num_batches_tracked,
                       bn->save_mean,    bn->save_invstd};
    return p;
}

rt_status cuda_batchnorm_forward(void *vctx, const rt_batchnorm *bn, int training,
                                 const float *x, float *y)
{
    cuda_ctx *ctx = vctx;
    CUDA_TRY(ctx, rtk_batchnorm_forward(x, y, bn->n, bn->c, bn->hw, training, bn_params(bn),
                                        ctx->stream));
    return RT_OK;
}

rt_status cuda_batchnorm_backward(void *vctx, const rt_batchnorm *bn, const float *x,
                                  const float *y, const float *dy, float *dx, float *dweight,
                                  float *dbias)
{
    cuda_ctx *ctx = vctx;
    CUDA_TRY(ctx, rtk_batchnorm_backward(x, y, dy, dx, dweight, dbias, bn->n, bn->c, bn->hw,
                                         bn_params(bn), ctx->stream));
    return RT_OK;
}

rt_status cuda_softmax_cross_entropy(void *vctx, int n, int classes, float smoothing,
                                     const float *logits, const int32_t *labels, float *dlogits,
                                     rt_step_state *state)
{
    cuda_ctx *ctx = vctx;
    /* a bad label cannot be returned from here: the kernel records it and
     * the next download or synchronize reports it (RT_ERR_USAGE) */
    CUDA_TRY(ctx, rtk_softmax_xent(logits, labels, dlogits, n, classes, smoothing, state, ctx->dev_err,
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

rt_status cuda_sgd(void *vctx, size_t count, float *params, const float *grads, float *buf,
                   const rt_sgd_config *cfg, rt_step_state *state)
{
    cuda_ctx *ctx = vctx;
    CUDA_TRY(ctx, rtk_sgd(params, grads, buf, count, *cfg, state, ctx->stream));
    return RT_OK;
}

rt_status cuda_lr_from_table(void *vctx, const float *table, int64_t length,
                             rt_step_state *state)
{
    cuda_ctx *ctx = vctx;
    CUDA_TRY(ctx, rtk_lr_from_table(table, length, state, ctx->stream));
    return RT_OK;
}

rt_status cuda_step_advance(void *vctx, rt_step_state *state, int n, int optimizer_step)
{
    cuda_ctx *ctx = vctx;
    CUDA_TRY(ctx, rtk_step_advance(state, n, optimizer_step, ctx->stream));
    return RT_OK;
}
