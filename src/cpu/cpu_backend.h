/* Private interface of the portable C backend: its context and its ops,
 * one file per family (conv, pool, batchnorm, pointwise, linear, loss, adam). */
#ifndef RT_CPU_BACKEND_H
#define RT_CPU_BACKEND_H

#include <stddef.h>

#include "resnet/backend.h"

#define RT_CPU_MAX_THREADS 256

typedef struct cpu_ctx {
    int threads;
    rt_error *err;
    size_t bytes_now, bytes_peak;
    /* Per-thread scratch, grown on first use and kept: after the first
     * step of a shape no op allocates. */
    float *scratch[RT_CPU_MAX_THREADS + 1];
    size_t scratch_floats[RT_CPU_MAX_THREADS + 1];
} cpu_ctx;

/* Scratch of at least `floats` floats (64-byte aligned) for thread `slot`
 * (0..threads-1), or for the op as a whole (slot CPU_SHARED_SLOT); NULL when
 * out of memory. */
#define CPU_SHARED_SLOT RT_CPU_MAX_THREADS
float *cpu_scratch(cpu_ctx *ctx, int slot, size_t floats);

/* Threads for an op of about `work` scalar operations. Starting a parallel
 * region costs microseconds on idle cores but up to a scheduler time slice
 * per barrier when the cores are busy with other processes, so small ops
 * run on the calling thread. Results never depend on the team size. */
#define CPU_PARALLEL_MIN_WORK 32768.0
static inline int cpu_team(const cpu_ctx *ctx, double work)
{
    return work < CPU_PARALLEL_MIN_WORK ? 1 : ctx->threads;
}

rt_status cpu_conv_forward(void *ctx, const rt_conv_shape *s, const float *x, const float *w,
                           const float *b, float *y);
rt_status cpu_conv_backward_data(void *ctx, const rt_conv_shape *s, const float *dy,
                                 const float *w, float *dx, float beta);
rt_status cpu_conv_backward_filter(void *ctx, const rt_conv_shape *s, const float *x,
                                   const float *dy, float *dw);
rt_status cpu_conv_backward_bias(void *ctx, const rt_conv_shape *s, const float *dy, float *db);

rt_status cpu_maxpool2_forward(void *ctx, int n, int c, int h, int w, int relu, const float *x,
                               float *y);
rt_status cpu_maxpool2_backward(void *ctx, int n, int c, int h, int w, int relu, const float *x,
                                const float *y, const float *dy, float *dx);

rt_status cpu_maxpool_forward(void *ctx, const rt_pool_shape *s, const float *x, float *y);
rt_status cpu_maxpool_backward(void *ctx, const rt_pool_shape *s, const float *x,
                               const float *dy, float *dx);
rt_status cpu_avgpool_forward(void *ctx, int n, int c, int hw, const float *x, float *y);
rt_status cpu_avgpool_backward(void *ctx, int n, int c, int hw, const float *dy, float *dx);
rt_status cpu_batchnorm_forward(void *ctx, const rt_batchnorm *bn, int training,
                                const float *x, float *y);
rt_status cpu_batchnorm_backward(void *ctx, const rt_batchnorm *bn, const float *x,
                                 const float *y, const float *dy, float *dx, float *dweight,
                                 float *dbias);
rt_status cpu_add(void *ctx, size_t count, const float *a, const float *b, float *y);

rt_status cpu_load_batch(void *ctx, const uint8_t *images, const uint8_t *labels,
                         const int32_t *order, int pixels, int n, const rt_step_state *state,
                         float *x, int32_t *y);
rt_status cpu_relu_forward(void *ctx, size_t count, const float *x, float *y);
rt_status cpu_relu_backward(void *ctx, size_t count, const float *y, const float *dy, float *dx);
rt_status cpu_add_relu_forward(void *ctx, size_t count, const float *a, const float *b,
                               float *y);
rt_status cpu_add_relu_backward(void *ctx, size_t count, const float *y, const float *dy,
                                float *d);

rt_status cpu_linear_forward(void *ctx, int n, int in, int out, const float *x, const float *w,
                             const float *b, float *y);
rt_status cpu_linear_backward_data(void *ctx, int n, int in, int out, const float *dy,
                                   const float *w, float *dx);
rt_status cpu_linear_backward_params(void *ctx, int n, int in, int out, const float *x,
                                     const float *dy, float *dw, float *db);

rt_status cpu_load_batch_transformed(void *ctx, const uint8_t *images, const uint8_t *labels,
                                     const int32_t *order, int n, const rt_batch_transform *tf,
                                     const rt_step_state *state, float *x, int32_t *y);
rt_status cpu_softmax_cross_entropy(void *ctx, int n, int classes, float smoothing,
                                    const float *logits, const int32_t *labels, float *dlogits,
                                    rt_step_state *state);
rt_status cpu_adam(void *ctx, size_t count, float *params, const float *grads, float *m,
                   float *v, const rt_adam_config *cfg, rt_step_state *state);
rt_status cpu_sgd(void *ctx, size_t count, float *params, const float *grads, float *buf,
                  const rt_sgd_config *cfg, rt_step_state *state);
rt_status cpu_lr_from_table(void *ctx, const float *table, int64_t length, rt_step_state *state);
rt_status cpu_step_advance(void *ctx, rt_step_state *state, int n, int optimizer_step);

#endif
