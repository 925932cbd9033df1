/* Private interface of the CUDA backend: its context and its ops, one file
 * per family (backend: context, memory, steps; conv: cuDNN; linear:
 * cuBLAS; ops: our own kernels of kernels/). Host code is C11; the CUDA
 * runtime, cuDNN and cuBLAS are used through their C APIs. */
#ifndef RT_CUDA_BACKEND_H
#define RT_CUDA_BACKEND_H

#include <stddef.h>

#include <cublas_v2.h>
#include <cuda_runtime_api.h>
#include <cudnn.h>

#include "kernels.h"
#include "resnet/backend.h"

/* One device allocation, for the byte counts and for freeing at close. */
typedef struct cuda_block {
    void *ptr;
    size_t bytes;
} cuda_block;

/* A captured step: its key, how often it ran, its executable graph. */
typedef struct cuda_graph_entry {
    int key;
    int runs;              /* eager or captured runs so far */
    cudaGraphExec_t exec;  /* NULL until captured */
} cuda_graph_entry;

/* The cuDNN descriptors and chosen algorithms of one convolution shape. */
enum { CONV_FWD, CONV_BWD_DATA, CONV_BWD_FILTER, CONV_DIRECTIONS };
typedef struct cuda_conv_plan {
    rt_conv_shape shape;
    cudnnTensorDescriptor_t x, y; /* input (n,c,h,w), output (n,k,oh,ow) */
    cudnnFilterDescriptor_t w;    /* (k,c,r,s) */
    cudnnConvolutionDescriptor_t conv[CONV_DIRECTIONS]; /* math type per direction */
    int chosen[CONV_DIRECTIONS];  /* 1 once the algorithm below is chosen */
    int algo[CONV_DIRECTIONS];    /* cudnnConvolution{Fwd,BwdData,BwdFilter}Algo_t */
    size_t workspace[CONV_DIRECTIONS];
} cuda_conv_plan;

typedef struct cuda_ctx {
    rt_error *err; /* outlives the backend; every failure is written here */
    rt_device_config cfg;
    int device;
    cudaStream_t stream;
    cudnnHandle_t cudnn;
    cublasHandle_t cublas;
    int cudnn_heuristic; /* 1: cuDNN's heuristic ranking instead of timing (cuda_conv.c) */
    int capturing; /* 1 while a step is being captured into a graph */
    int in_step;   /* 1 while run_step runs a step function */

    /* memory */
    cuda_block *blocks;
    size_t block_count, block_cap;
    size_t bytes_now, bytes_peak;

    /* the one convolution workspace, grown to the largest need */
    void *conv_ws;
    size_t conv_ws_bytes;
    /* cuBLAS's workspace, set once so that capture never allocates */
    void *cublas_ws;
    size_t cublas_ws_bytes;

    /* where kernels record failures (device) and its host mirror (pinned) */
    rtk_error_record *dev_err;
    rtk_error_record *host_err;

    cuda_conv_plan **plans;
    size_t plan_count, plan_cap;

    cuda_graph_entry *graphs;
    size_t graph_count, graph_cap;

    /* data-parallel training (cuda_nccl.c): the ranks' communicator */
    struct ncclComm *nccl;
    cudaEvent_t comm_done;
} cuda_ctx;

/* ---- cuda_backend.c ------------------------------------------------------ */
/* Tracked device allocation (zero-filled on the stream) and release; these
 * refuse to run during a capture. cuda_malloc returns NULL after recording
 * the error (RT_ERR_NOMEM with the sizes when memory ran out). */
void *cuda_malloc(cuda_ctx *ctx, size_t bytes, const char *what);
void cuda_release(cuda_ctx *ctx, void *ptr);
/* Makes the convolution workspace at least `bytes` large. Growing it frees
 * the old one, so every captured graph (which holds its address) is dropped
 * and recaptured later; refused during a capture. */
rt_status cuda_reserve_workspace(cuda_ctx *ctx, size_t bytes);
/* Records a usage error for an operation that cannot run during capture. */
rt_status cuda_refuse_in_capture(cuda_ctx *ctx, const char *what);

/* ---- cuda_conv.c --------------------------------------------------------- */
void cuda_conv_destroy_plans(cuda_ctx *ctx);
rt_status cuda_conv_forward(void *ctx, const rt_conv_shape *s, const float *x, const float *w,
                            const float *b, float *y);
rt_status cuda_conv_backward_data(void *ctx, const rt_conv_shape *s, const float *dy,
                                  const float *w, float *dx, float beta);
rt_status cuda_conv_backward_filter(void *ctx, const rt_conv_shape *s, const float *x,
                                    const float *dy, float *dw);
rt_status cuda_conv_backward_bias(void *ctx, const rt_conv_shape *s, const float *dy,
                                  float *db);

/* ---- cuda_linear.c ------------------------------------------------------- */
rt_status cuda_linear_forward(void *ctx, int n, int in, int out, const float *x,
                              const float *w, const float *b, float *y);
rt_status cuda_linear_backward_data(void *ctx, int n, int in, int out, const float *dy,
                                    const float *w, float *dx);
rt_status cuda_linear_backward_params(void *ctx, int n, int in, int out, const float *x,
                                      const float *dy, float *dw, float *db);

/* ---- cuda_ops.c ---------------------------------------------------------- */
rt_status cuda_load_batch(void *ctx, const uint8_t *images, const uint8_t *labels,
                          const int32_t *order, int pixels, int n, const rt_step_state *state,
                          float *x, int32_t *y);
rt_status cuda_maxpool2_forward(void *ctx, int n, int c, int h, int w, int relu, const float *x,
                                float *y);
rt_status cuda_maxpool2_backward(void *ctx, int n, int c, int h, int w, int relu,
                                 const float *x, const float *y, const float *dy, float *dx);
rt_status cuda_relu_forward(void *ctx, size_t count, const float *x, float *y);
rt_status cuda_relu_backward(void *ctx, size_t count, const float *y, const float *dy,
                             float *dx);
rt_status cuda_add_relu_forward(void *ctx, size_t count, const float *a, const float *b,
                                float *y);
rt_status cuda_add_relu_backward(void *ctx, size_t count, const float *y, const float *dy,
                                 float *d);
rt_status cuda_add(void *ctx, size_t count, const float *a, const float *b, float *y);
rt_status cuda_maxpool_forward(void *ctx, const rt_pool_shape *s, const float *x, float *y);
rt_status cuda_maxpool_backward(void *ctx, const rt_pool_shape *s, const float *x,
                                const float *dy, float *dx);
rt_status cuda_avgpool_forward(void *ctx, int n, int c, int hw, const float *x, float *y);
rt_status cuda_avgpool_backward(void *ctx, int n, int c, int hw, const float *dy, float *dx);
rt_status cuda_batchnorm_forward(void *ctx, const rt_batchnorm *bn, int training,
                                 const float *x, float *y);
rt_status cuda_batchnorm_backward(void *ctx, const rt_batchnorm *bn, const float *x,
                                  const float *y, const float *dy, float *dx, float *dweight,
                                  float *dbias);
rt_status cuda_softmax_cross_entropy(void *ctx, int n, int classes, float smoothing,
                                     const float *logits, const int32_t *labels, float *dlogits,
                                     rt_step_state *state);
rt_status cuda_load_batch_transformed(void *ctx, const uint8_t *images, const uint8_t *labels,
                                      const int32_t *order, int n, const rt_batch_transform *tf,
                                      const rt_step_state *state, float *x, int32_t *y);
rt_status cuda_sgd(void *ctx, size_t count, float *params, const float *grads, float *buf,
                   const rt_sgd_config *cfg, rt_step_state *state);
rt_status cuda_lr_from_table(void *ctx, const float *table, int64_t length,
                             rt_step_state *state);
rt_status cuda_adam(void *ctx, size_t count, float *params, const float *grads, float *m,
                    float *v, const rt_adam_config *cfg, rt_step_state *state);
rt_status cuda_step_advance(void *ctx, rt_step_state *state, int n, int optimizer_step);

/* ---- cuda_nccl.c (with NCCL) ------------------------------------------- */
rt_status cuda_comm_unique_id(void *ctx, void *id);
rt_status cuda_comm_init(void *ctx, int rank, int size, const void *id);
rt_status cuda_allreduce_weighted(void *ctx, float *values, size_t count, float weight,
                                  double timeout);
void cuda_comm_close(cuda_ctx *ctx);
void rt_cuda_nccl_version(char *text, size_t size);

#endif
