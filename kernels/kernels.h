/* Our own CUDA kernels, one concept per .cu file, behind C launchers.
 *
 * Every launcher enqueues its kernel(s) on `stream` and returns the result
 * of cudaGetLastError() after the launch (launch failures only: faults
 * inside a kernel surface at the next synchronisation). Launchers never
 * allocate or synchronise, so they may be captured into a CUDA graph.
 * Pointers are device pointers; rt_step_state pointers point at the copy
 * of the state in device memory, which the kernels read and update.
 *
 * The arithmetic follows the CPU backend (src/cpu) operation by operation.
 * Float operations are explicitly rounded intrinsics (__fadd_rn, __fmul_rn,
 * __fdiv_rn, ...), so each rounds once, as written, whatever nvcc's
 * contraction settings. Ops without multiply-adds (loading, pooling, relu,
 * the join) therefore match the CPU bit for bit; where the CPU build lets
 * gcc fuse multiply-adds (-ffp-contract=fast: Adam), the two differ by about
 * one rounding per operation. */
#ifndef RT_KERNELS_H
#define RT_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#include <cuda_runtime_api.h>

#include "resnet/device.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What a kernel found wrong and cannot return: filled in (first failure
 * wins, code last) in device memory and read by the host at the next
 * synchronising call, which then reports it. */
typedef struct rtk_error_record {
    int32_t code;   /* RTK_ERROR_NONE or what went wrong */
    int32_t sample; /* the first offending sample of the batch */
    int32_t value;  /* its offending value */
    int32_t limit;  /* the number of classes */
} rtk_error_record;

enum { RTK_ERROR_NONE = 0, RTK_ERROR_LABEL = 1 };

/* cudaSuccess when this build holds code that runs on the current device
 * (cudaErrorNoKernelImageForDevice or similar when it does not). */
cudaError_t rtk_probe(void);

/* x[i][j] = images[index(i)][j] / 255 (an IEEE division, as ToTensor) and
 * y[i] = labels[index(i)], where index(i) = order ? order[cursor + i] :
 * cursor + i and cursor is read from state on the device. */
cudaError_t rtk_load_batch(const uint8_t *images, const uint8_t *labels, const int32_t *order,
                           int pixels, int n, const rt_step_state *state, float *x, int32_t *y,
                           cudaStream_t stream);

/* load_batch through an rt_batch_transform (augmentation, normalisation). */
cudaError_t rtk_load_batch_transformed(const uint8_t *images, const uint8_t *labels,
                                       const int32_t *order, int n, rt_batch_transform tf,
                                       const rt_step_state *state, float *x, int32_t *y,
                                       cudaStream_t stream);

/* y[i][c][k] += bias[c] for y laid out [n][channels][inner]. */
cudaError_t rtk_bias_add(float *y, const float *bias, int n, int channels, int inner,
                         cudaStream_t stream);

/* sum[c] = sum over i < n, k < inner of x[i][c][k], accumulated in double
 * in a fixed order (deterministic), rounded once to float. */
cudaError_t rtk_channel_sum(const float *x, float *sum, int n, int channels, int inner,
                            cudaStream_t stream);

/* 2x2/stride-2 max pooling (floor) over `planes` planes of h x w, relu
 * fused when relu != 0. First maximum in row-major order, NaN wins. */
cudaError_t rtk_maxpool2_forward(const float *x, float *y, size_t planes, int h, int w, int relu,
                                 cudaStream_t stream);
/* dx from x, y and dy (overwrites all of dx, the uncovered last row or
 * column of odd sizes included). */
cudaError_t rtk_maxpool2_backward(const float *x, const float *y, const float *dy, float *dx,
                                  size_t planes, int h, int w, int relu, cudaStream_t stream);

cudaError_t rtk_relu_forward(const float *x, float *y, size_t count, cudaStream_t stream);
/* dx = y > 0 ? dy : 0; also the backward pass of the residual join. */
cudaError_t rtk_relu_backward(const float *y, const float *dy, float *dx, size_t count,
                              cudaStream_t stream);
/* y = relu(a + b), the residual join. */
cudaError_t rtk_add_relu_forward(const float *a, const float *b, float *y, size_t count,
                                 cudaStream_t stream);

/* y = a + b (y may be a or b). */
cudaError_t rtk_add(const float *a, const float *b, float *y, size_t count, cudaStream_t stream);

/* Max pooling of planes of h x w into oh x ow (rt_pool_shape's rule). */
typedef struct rtk_pool_dims {
    int h, w, oh, ow, kernel, stride, pad;
} rtk_pool_dims;
cudaError_t rtk_maxpool_forward(const float *x, float *y, size_t planes, rtk_pool_dims d,
                                cudaStream_t stream);
/* Overwrites all of dx. */
cudaError_t rtk_maxpool_backward(const float *x, const float *dy, float *dx, size_t planes,
                                 rtk_pool_dims d, cudaStream_t stream);
/* Average of each plane of hw floats, and its gradient dy / hw. */
cudaError_t rtk_avgpool_forward(const float *x, float *y, size_t planes, int hw,
                                cudaStream_t stream);
cudaError_t rtk_avgpool_backward(const float *dy, float *dx, size_t planes, int hw,
                                 cudaStream_t stream);

/* BatchNorm2d (rt_batchnorm's fields, passed by value). */
typedef struct rtk_bn_params {
    float eps, momentum;
    int relu;
    const float *weight, *bias;
    float *running_mean, *running_var;
    int64_t *num_batches_tracked;
    float *save_mean, *save_invstd;
} rtk_bn_params;
cudaError_t rtk_batchnorm_forward(const float *x, float *y, int n, int channels, int hw,
                                  int training, rtk_bn_params p, cudaStream_t stream);
cudaError_t rtk_batchnorm_backward(const float *x, const float *y, const float *dy, float *dx,
                                   float *dweight, float *dbias, int n, int channels, int hw,
                                   rtk_bn_params p, cudaStream_t stream);

/* Mean softmax cross-entropy with the rt_step_state updates (one block; n
 * up to a few thousand is fine). A label outside 0..classes-1 is recorded
 * in *err, that sample's dlogits row is zeroed and state is left untouched,
 * as the CPU backend leaves it when it rejects the batch. */
cudaError_t rtk_softmax_xent(const float *logits, const int32_t *labels, float *dlogits, int n,
                             int classes, float smoothing, rt_step_state *state, rtk_error_record *err,
                             cudaStream_t stream);

/* One Adam step over count parameters; lr and t = steps + 1 from state. */
cudaError_t rtk_adam(float *params, const float *grads, float *m, float *v, size_t count,
                     rt_adam_config cfg, rt_step_state *state, cudaStream_t stream);

/* One SGD step (rt_op_sgd's formula); lr and the first-step test from state. */
cudaError_t rtk_sgd(float *params, const float *grads, float *buf, size_t count,
                    rt_sgd_config cfg, rt_step_state *state, cudaStream_t stream);
/* state->lr = table[min(steps, length - 1)]. */
cudaError_t rtk_lr_from_table(const float *table, int64_t length, rt_step_state *state,
                              cudaStream_t stream);

/* state->cursor += n; state->steps += 1 when optimizer_step. */
cudaError_t rtk_step_advance(rt_step_state *state, int n, int optimizer_step,
                             cudaStream_t stream);

#ifdef __cplusplus
}
#endif
#endif
