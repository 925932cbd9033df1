/* The device layer: an opaque device handle, device memory, and the ops a
 * training step is made of.
 *
 * A device is opened by name ("auto", "cpu", "cuda"), as PyTorch's program
 * picks cuda when it can and the CPU otherwise. Every op works on device
 * memory obtained from rt_device_alloc(); on the CPU that is plain host
 * memory, on CUDA it is GPU memory. Ops are asynchronous on devices that
 * queue work: results are visible to the host after rt_device_download()
 * or rt_device_synchronize().
 *
 * Layouts follow PyTorch: activations NCHW, convolution weights
 * [out][in][kh][kw], linear weights [out][in], all float32.
 *
 * Every op returns RT_OK or a failure status; the one-line message of the
 * last failure is rt_device_error(). */
#ifndef RESNET_DEVICE_H
#define RESNET_DEVICE_H

#include <stddef.h>
#include <stdint.h>

#include "resnet/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct rt_device rt_device;

typedef enum rt_precision {
    RT_PRECISION_FP32 = 0, /* strict IEEE float32 everywhere */
    RT_PRECISION_TF32 = 1, /* tensor-core TF32 convolutions where the device has them */
} rt_precision;

typedef struct rt_device_config {
    int threads;            /* CPU worker threads; 0 means all cores */
    rt_precision precision; /* FP32 by default */
    int graphs;             /* capture each step once and replay it (CUDA graphs); 0 = eager */
    int cudnn_benchmark;    /* time every cuDNN algorithm and take the fastest (runs may then
                               differ in the last bits); 0 = cuDNN's heuristic choice */
    int gpu_index;          /* which CUDA device */
} rt_device_config;

void rt_device_config_default(rt_device_config *cfg);

/* Opens "auto", "cpu" or "cuda". "cuda" fails with RT_ERR_NODEVICE when the
 * build has no CUDA backend or no usable GPU is present; "auto" then falls
 * back to the CPU and rt_device_fallback_note() says why. */
rt_status rt_device_open(const char *name, const rt_device_config *cfg, rt_device **out,
                         rt_error *err);
void rt_device_close(rt_device *dev);

/* 1 when this build contains the CUDA backend (its plugin). */
int rt_device_cuda_built(void);
/* Where the CUDA backend's plugin is, without loading it: "plugin PATH,
 * loaded when a run asks for CUDA", "plugin missing (...)" or "not built". */
void rt_device_cuda_plugin(char *text, size_t size);

const char *rt_device_kind(const rt_device *dev);        /* "cpu" or "cuda" */
const char *rt_device_description(const rt_device *dev); /* e.g. "NVIDIA H100 (sm_90, driver 580.1)" */
const char *rt_device_fallback_note(const rt_device *dev); /* "" unless auto fell back */
int rt_device_threads(const rt_device *dev);             /* CPU threads in use */
const char *rt_device_error(const rt_device *dev);       /* last failure message */
/* Copies the last failure of dev into err and returns its status. */
rt_status rt_device_take_error(const rt_device *dev, rt_error *err);

/* ---- memory ---------------------------------------------------------- */
/* Allocates bytes of device memory (zero-filled); NULL on failure. */
void *rt_device_alloc(rt_device *dev, size_t bytes);
void rt_device_free(rt_device *dev, void *ptr);
rt_status rt_device_upload(rt_device *dev, void *dst, const void *src, size_t bytes);
rt_status rt_device_download(rt_device *dev, void *dst, const void *src, size_t bytes);
rt_status rt_device_copy(rt_device *dev, void *dst, const void *src, size_t bytes);
rt_status rt_device_zero(rt_device *dev, void *dst, size_t bytes);
rt_status rt_device_synchronize(rt_device *dev);
/* Peak bytes of device memory held (the CPU backend counts its own allocations). */
size_t rt_device_peak_bytes(const rt_device *dev);
/* All the memory the device has (the CPU: physical memory; a GPU: its
 * global memory), 0 when unknown. */
size_t rt_device_memory_total(const rt_device *dev);

/* Runs fn(ctx), a sequence of ops whose pointers and shapes are fixed for
 * this key. A device with graph support runs the first call eagerly,
 * captures the second and replays the capture from then on, so fn must take
 * everything that varies from step to step from device memory (rt_step_state). */
typedef rt_status (*rt_step_fn)(void *ctx);
rt_status rt_device_run_step(rt_device *dev, int key, rt_step_fn fn, void *ctx);

/* ---- op descriptions --------------------------------------------------- */
/* A dilation-1 convolution (cross-correlation) with zero padding and a
 * stride, as torch.nn.Conv2d: output size floor((h + 2 pad - r) / stride) + 1. */
typedef struct rt_conv_shape {
    int n, c, h, w; /* input batch, channels, height, width */
    int k, r, s;    /* output channels, kernel height, kernel width */
    int pad;        /* zero padding on every side */
    int stride;     /* the same in both directions, 1 or more */
} rt_conv_shape;

static inline int rt_conv_out_h(const rt_conv_shape *s)
{
    return s->h + 2 * s->pad < s->r ? 0 : (s->h + 2 * s->pad - s->r) / s->stride + 1;
}
static inline int rt_conv_out_w(const rt_conv_shape *s)
{
    return s->w + 2 * s->pad < s->s ? 0 : (s->w + 2 * s->pad - s->s) / s->stride + 1;
}

/* Max pooling over kernel x kernel windows with a stride and implicit
 * -infinity padding, floor mode, as torch.nn.MaxPool2d (pad <= kernel / 2). */
typedef struct rt_pool_shape {
    int n, c, h, w;
    int kernel, stride, pad;
} rt_pool_shape;

static inline int rt_pool_out_h(const rt_pool_shape *s)
{
    return s->h + 2 * s->pad < s->kernel ? 0 : (s->h + 2 * s->pad - s->kernel) / s->stride + 1;
}
static inline int rt_pool_out_w(const rt_pool_shape *s)
{
    return s->w + 2 * s->pad < s->kernel ? 0 : (s->w + 2 * s->pad - s->kernel) / s->stride + 1;
}

/* One BatchNorm2d layer, as torch.nn.BatchNorm2d(affine=True,
 * track_running_stats=True) computes it, over x laid out [n][c][hw].
 * Training: the batch's mean and biased variance normalise; the running
 * estimates move by `momentum` towards the mean and the unbiased variance;
 * num_batches_tracked counts the training batches. Evaluation: the running
 * estimates normalise. relu != 0 fuses a relu after it. */
/* Synchronised BatchNorm (data-parallel training with --sync-bn): the
 * batch statistics over every rank's share of the batch together. sum()
 * adds `count` doubles over the ranks in place (every rank the same bits);
 * share is this rank's part of the global batch (n_r / n), by which its
 * gradients are scaled before the ranks' sum. The CPU backend has it. */
typedef struct rt_batchnorm_sync {
    rt_status (*sum)(void *ctx, double *values, int count, rt_error *err);
    void *ctx;
    double share;
} rt_batchnorm_sync;

typedef struct rt_batchnorm {
    int n, c, hw;
    float eps, momentum;        /* 1e-5, 0.1 */
    int relu;
    const float *weight, *bias; /* gamma, beta [c] */
    float *running_mean, *running_var; /* [c] */
    int64_t *num_batches_tracked;      /* one counter */
    float *save_mean, *save_invstd;    /* [c]: the training batch's statistics, for backward */
    const rt_batchnorm_sync *sync;     /* training: NULL for this batch's own statistics */
} rt_batchnorm;

/* State of a pass over a dataset, kept in device memory so that a captured
 * step reads what changes (position, step count, learning rate) from it. */
typedef struct rt_step_state {
    int64_t steps;          /* optimiser steps taken; Adam uses steps+1 */
    int64_t nonfinite_step; /* first step whose loss was NaN/Inf, -1 when none */
    double loss_sum;        /* sum of batch-mean losses since reset */
    float loss;             /* mean loss of the last batch */
    float lr;               /* learning rate of the next Adam step */
    int32_t cursor;         /* position of the next sample in the pass order */
    int32_t correct;        /* correct predictions since reset */
    int32_t batches;        /* batches since reset */
    int32_t correct5;       /* labels among the five highest logits since reset */
} rt_step_state;

/* Adam's settings; decoupled != 0 makes it AdamW (the weights shrink by
 * lr * weight_decay before the step instead of the decay joining the
 * gradient). */
typedef struct rt_adam_config {
    float beta1, beta2, eps, weight_decay;
    int decoupled;
} rt_adam_config;

/* torch.optim.SGD's settings (maximize = False). */
typedef struct rt_sgd_config {
    float momentum, dampening, weight_decay;
    int nesterov;
} rt_sgd_config;

/* How load_batch turns bytes into the network's input (NULL: byte / 255,
 * the seed's ToTensor). Training augmentation draws, per sample, from a
 * counter-based hash of (seed, state->steps, the sample's place in the
 * batch), so the same step gives the same crops and flips on every device
 * and after a resume. */
#define RT_MAX_CHANNELS 4
#define RT_RESIZED_CROP_KNOTS 33
#define RT_MAX_IMAGE_SIDE 16384 /* of a stored image under resized_crop */
typedef struct rt_batch_transform {
    int channels, height, width;
    int crop_pad;   /* > 0: zero-pad the bytes by this, then crop height x width at random */
    int flip;       /* mirror left-right with probability 1/2 */
    int normalize;  /* x = (byte / 255 - mean[c]) / std[c], two roundings as Normalize */
    float mean[RT_MAX_CHANNELS], std[RT_MAX_CHANNELS];
    uint64_t seed;
    int32_t sample0; /* the first loaded sample's place in the whole batch, for the draws: a
                        rank's offset under data-parallel training, else 0 */
    /* RandomResizedCrop (training; not with crop_pad): a box of a random
     * share of the stored image's area and aspect ratio, resized bilinearly
     * to height x width. The stored images are src_height x src_width; the
     * fixed-point bounds come from rt_batch_transform_resized_crop. */
    int resized_crop;
    int src_height, src_width;
    uint32_t scale_q[2];                 /* area share bounds, units of 2^-24 */
    uint32_t ratio_q[RT_RESIZED_CROP_KNOTS]; /* width/height at log-even knots 3/4..4/3, 2^-16 */
} rt_batch_transform;

/* ---- collectives across ranks (data-parallel training) ------------------
 * Where the device has its own collectives library (CUDA with NCCL): rank 0
 * makes an id, every rank gets it (the caller sends it, e.g. by MPI), then
 * every rank joins the communicator with it. allreduce_weighted: values =
 * the sum over the ranks of weight_r * values_r, in place on the device,
 * the same bits on every rank; it waits at most `timeout` seconds for the
 * others, then aborts the communicator and fails. */
#define RT_COMM_ID_BYTES 128
int rt_device_has_collectives(const rt_device *dev);
/* The device's collectives library: "NCCL 2.28.9 (headers 2.28.9)", or ""
 * when it has none. */
void rt_device_collectives_version(const rt_device *dev, char *text, size_t size);
/* What the build's CUDA plugin sums with, known without loading it: "NCCL
 * (headers 2.28.9)", or "". */
const char *rt_device_collectives_headers(void);
rt_status rt_device_comm_unique_id(rt_device *dev, void *id);
rt_status rt_device_comm_init(rt_device *dev, int rank, int size, const void *id);
rt_status rt_device_allreduce_weighted(rt_device *dev, float *values, size_t count, float weight,
                                       double timeout);

/* ---- ops --------------------------------------------------------------- */
/* images: count x pixels bytes, labels: count bytes, order: NULL for file
 * order or a permutation of 0..count-1. Reads samples order[cursor..cursor+n)
 * into x = byte / 255 (float division, as ToTensor) and y (int32). */
rt_status rt_op_load_batch(rt_device *dev, const uint8_t *images, const uint8_t *labels,
                           const int32_t *order, int pixels, int n, const rt_step_state *state,
                           float *x, int32_t *y);
/* load_batch through a transform (rt_batch_transform; pixels = its
 * channels * height * width, or channels * src_height * src_width stored
 * per image under resized_crop). */
rt_status rt_op_load_batch_transformed(rt_device *dev, const uint8_t *images,
                                       const uint8_t *labels, const int32_t *order, int n,
                                       const rt_batch_transform *tf, const rt_step_state *state,
                                       float *x, int32_t *y);

/* y = conv(x, w) + b (b may be NULL). */
rt_status rt_op_conv_forward(rt_device *dev, const rt_conv_shape *s, const float *x,
                             const float *w, const float *b, float *y);
/* dx = conv_transpose(dy, w) + beta * dx, beta 0 or 1 (1 adds to a residual gradient). */
rt_status rt_op_conv_backward_data(rt_device *dev, const rt_conv_shape *s, const float *dy,
                                   const float *w, float *dx, float beta);
/* dw = sum over the batch of x (*) dy (overwrites dw). */
rt_status rt_op_conv_backward_filter(rt_device *dev, const rt_conv_shape *s, const float *x,
                                     const float *dy, float *dw);
/* db[k] = sum of dy over n, h, w. */
rt_status rt_op_conv_backward_bias(rt_device *dev, const rt_conv_shape *s, const float *dy,
                                   float *db);

/* 2x2 max pooling, stride 2, floor; relu != 0 fuses a relu after it.
 * The gradient goes to the first maximum in row-major order; NaN wins. */
rt_status rt_op_maxpool2_forward(rt_device *dev, int n, int c, int h, int w, int relu,
                                 const float *x, float *y);
/* dx (n,c,h,w) from the forward input x, output y and dy; overwrites dx. */
rt_status rt_op_maxpool2_backward(rt_device *dev, int n, int c, int h, int w, int relu,
                                  const float *x, const float *y, const float *dy, float *dx);

rt_status rt_op_relu_forward(rt_device *dev, size_t count, const float *x, float *y);
/* dx = dy where y > 0, else 0. */
rt_status rt_op_relu_backward(rt_device *dev, size_t count, const float *y, const float *dy,
                              float *dx);
/* y = a + b (y may be a or b): the residual join without relu, and sums of
 * gradients. */
rt_status rt_op_add(rt_device *dev, size_t count, const float *a, const float *b, float *y);

/* Max pooling (rt_pool_shape): the gradient of a window goes to its first
 * maximum in row-major order (NaN wins); windows that share an input add
 * their gradients in row-major window order. backward overwrites dx. */
rt_status rt_op_maxpool_forward(rt_device *dev, const rt_pool_shape *s, const float *x, float *y);
rt_status rt_op_maxpool_backward(rt_device *dev, const rt_pool_shape *s, const float *x,
                                 const float *dy, float *dx);

/* Adaptive average pooling to 1x1: y[n][c] = mean of x[n][c][0..hw);
 * backward: dx[n][c][i] = dy[n][c] / hw (overwrites dx). */
rt_status rt_op_avgpool_forward(rt_device *dev, int n, int c, int hw, const float *x, float *y);
rt_status rt_op_avgpool_backward(rt_device *dev, int n, int c, int hw, const float *dy,
                                 float *dx);

/* BatchNorm2d forward (training != 0: batch statistics, saved in
 * bn->save_mean/save_invstd, running estimates and the counter updated;
 * else the running estimates). A training batch needs more than one value
 * per channel (n * hw > 1), as PyTorch requires. */
rt_status rt_op_batchnorm_forward(rt_device *dev, const rt_batchnorm *bn, int training,
                                  const float *x, float *y);
/* Gradients of a training-mode forward: dx (overwritten; NULL when not
 * needed), dweight and dbias (overwritten), from x, the output y (read only
 * when bn->relu) and dy. */
rt_status rt_op_batchnorm_backward(rt_device *dev, const rt_batchnorm *bn, const float *x,
                                   const float *y, const float *dy, float *dx, float *dweight,
                                   float *dbias);

/* y = relu(a + b), the residual join (y may be a or b). */
rt_status rt_op_add_relu_forward(rt_device *dev, size_t count, const float *a, const float *b,
                                 float *y);
/* d = dy where y > 0, else 0: the gradient of both a and b. */
rt_status rt_op_add_relu_backward(rt_device *dev, size_t count, const float *y, const float *dy,
                                  float *d);

/* y[n][out] = x[n][in] . w[out][in]^T + b[out]. */
rt_status rt_op_linear_forward(rt_device *dev, int n, int in, int out, const float *x,
                               const float *w, const float *b, float *y);
/* dx = dy . w (overwrites dx). */
rt_status rt_op_linear_backward_data(rt_device *dev, int n, int in, int out, const float *dy,
                                     const float *w, float *dx);
/* dw = dy^T . x, db = column sums of dy (both overwritten; db may be NULL
 * for a layer without bias). */
rt_status rt_op_linear_backward_params(rt_device *dev, int n, int in, int out, const float *x,
                                       const float *dy, float *dw, float *db);

/* Mean softmax cross-entropy of logits[n][classes] against labels, with
 * label smoothing s as CrossEntropyLoss(label_smoothing=s): each sample's
 * loss is (1 - s) (lse - z[label]) + s (lse - mean z). Sets state->loss,
 * adds it to state->loss_sum, adds the count of argmax == label (first
 * maximum wins) to state->correct and of labels ranked among the five
 * highest (ties go to the lower class) to state->correct5, counts the
 * batch, and records state->steps in state->nonfinite_step the first time
 * the loss is not finite. dlogits (may be NULL) receives (softmax - (1 - s)
 * onehot - s / classes) / n. */
rt_status rt_op_softmax_cross_entropy(rt_device *dev, int n, int classes, const float *logits,
                                      const int32_t *labels, float *dlogits,
                                      rt_step_state *state);
rt_status rt_op_softmax_cross_entropy_smoothed(rt_device *dev, int n, int classes,
                                               float smoothing, const float *logits,
                                               const int32_t *labels, float *dlogits,
                                               rt_step_state *state);

/* One Adam step (PyTorch's formula) over count parameters with lr and
 * t = state->steps + 1 taken from state. A NaN or Inf among the gradients,
 * the second moments or the new parameters records state->steps in
 * state->nonfinite_step, as the loss does. */
rt_status rt_op_adam(rt_device *dev, size_t count, float *params, const float *grads, float *m,
                     float *v, const rt_adam_config *cfg, rt_step_state *state);

/* One step of torch.optim.SGD's single-tensor formula over count
 * parameters with lr from state: g += wd p; buf = g at the first step
 * (state->steps == 0), else buf = momentum buf + (1 - dampening) g; g = g +
 * momentum buf (Nesterov) or buf; p -= lr g. buf is unused (may be NULL)
 * without momentum. Non-finite values are recorded as Adam records them. */
rt_status rt_op_sgd(rt_device *dev, size_t count, float *params, const float *grads, float *buf,
                    const rt_sgd_config *cfg, rt_step_state *state);

/* state->lr = table[min(state->steps, length - 1)]: a schedule's rate for
 * the step about to be taken, read on the device so a captured step
 * replays with the right one. */
rt_status rt_op_lr_from_table(rt_device *dev, const float *table, int64_t length,
                              rt_step_state *state);

/* Ends a step: state->cursor += n, and state->steps += 1 when optimizer_step. */
rt_status rt_op_step_advance(rt_device *dev, rt_step_state *state, int n, int optimizer_step);

#ifdef __cplusplus
}
#endif
#endif
