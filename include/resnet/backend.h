/* The table a backend fills in to slot in under the device layer.
 *
 * Each entry implements the rt_op_* / rt_device_* function of the same name
 * in device.h; the device layer checks arguments and dispatches. `ctx` is
 * the backend's own state, returned by its open function. A failing entry
 * returns a status and writes its one-line message, with rt_error_set(), into
 * the rt_error the backend was given when opened. */
#ifndef RESNET_BACKEND_H
#define RESNET_BACKEND_H

#include "resnet/device.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct rt_backend_ops {
    const char *kind; /* "cpu", "cuda" */
    void (*close)(void *ctx);

    void *(*alloc)(void *ctx, size_t bytes);
    void (*free)(void *ctx, void *ptr);
    rt_status (*upload)(void *ctx, void *dst, const void *src, size_t bytes);
    rt_status (*download)(void *ctx, void *dst, const void *src, size_t bytes);
    rt_status (*copy)(void *ctx, void *dst, const void *src, size_t bytes);
    rt_status (*zero)(void *ctx, void *dst, size_t bytes);
    rt_status (*synchronize)(void *ctx);
    size_t (*peak_bytes)(void *ctx);
    size_t (*memory_total)(void *ctx);
    rt_status (*run_step)(void *ctx, int key, rt_step_fn fn, void *fn_ctx);

    rt_status (*load_batch)(void *ctx, const uint8_t *images, const uint8_t *labels,
                            const int32_t *order, int pixels, int n, const rt_step_state *state,
                            float *x, int32_t *y);
    rt_status (*load_batch_transformed)(void *ctx, const uint8_t *images, const uint8_t *labels,
                                        const int32_t *order, int n,
                                        const rt_batch_transform *tf,
                                        const rt_step_state *state, float *x, int32_t *y);
    rt_status (*conv_forward)(void *ctx, const rt_conv_shape *s, const float *x, const float *w,
                              const float *b, float *y);
    rt_status (*conv_backward_data)(void *ctx, const rt_conv_shape *s, const float *dy,
                                    const float *w, float *dx, float beta);
    rt_status (*conv_backward_filter)(void *ctx, const rt_conv_shape *s, const float *x,
                                      const float *dy, float *dw);
    rt_status (*conv_backward_bias)(void *ctx, const rt_conv_shape *s, const float *dy,
                                    float *db);
    rt_status (*maxpool2_forward)(void *ctx, int n, int c, int h, int w, int relu,
                                  const float *x, float *y);
    rt_status (*maxpool2_backward)(void *ctx, int n, int c, int h, int w, int relu,
                                   const float *x, const float *y, const float *dy, float *dx);
    rt_status (*relu_forward)(void *ctx, size_t count, const float *x, float *y);
    rt_status (*relu_backward)(void *ctx, size_t count, const float *y, const float *dy,
                               float *dx);
    rt_status (*add_relu_forward)(void *ctx, size_t count, const float *a, const float *b,
                                  float *y);
    rt_status (*add_relu_backward)(void *ctx, size_t count, const float *y, const float *dy,
                                   float *d);
    rt_status (*add)(void *ctx, size_t count, const float *a, const float *b, float *y);
    rt_status (*maxpool_forward)(void *ctx, const rt_pool_shape *s, const float *x, float *y);
    rt_status (*maxpool_backward)(void *ctx, const rt_pool_shape *s, const float *x,
                                  const float *dy, float *dx);
    rt_status (*avgpool_forward)(void *ctx, int n, int c, int hw, const float *x, float *y);
    rt_status (*avgpool_backward)(void *ctx, int n, int c, int hw, const float *dy, float *dx);
    rt_status (*batchnorm_forward)(void *ctx, const rt_batchnorm *bn, int training,
                                   const float *x, float *y);
    rt_status (*batchnorm_backward)(void *ctx, const rt_batchnorm *bn, const float *x,
                                    const float *y, const float *dy, float *dx, float *dweight,
                                    float *dbias);
    rt_status (*linear_forward)(void *ctx, int n, int in, int out, const float *x,
                                const float *w, const float *b, float *y);
    rt_status (*linear_backward_data)(void *ctx, int n, int in, int out, const float *dy,
                                      const float *w, float *dx);
    rt_status (*linear_backward_params)(void *ctx, int n, int in, int out, const float *x,
                                        const float *dy, float *dw, float *db);
    rt_status (*softmax_cross_entropy)(void *ctx, int n, int classes, float smoothing,
                                       const float *logits, const int32_t *labels,
                                       float *dlogits, rt_step_state *state);
    rt_status (*adam)(void *ctx, size_t count, float *params, const float *grads, float *m,
                      float *v, const rt_adam_config *cfg, rt_step_state *state);
    rt_status (*sgd)(void *ctx, size_t count, float *params, const float *grads, float *buf,
                     const rt_sgd_config *cfg, rt_step_state *state);
    rt_status (*lr_from_table)(void *ctx, const float *table, int64_t length,
                               rt_step_state *state);
    rt_status (*step_advance)(void *ctx, rt_step_state *state, int n, int optimizer_step);

    /* Collectives across ranks on the device's own library (NCCL); NULL
     * where the backend has none (the trainer then sums through the host). */
    rt_status (*comm_unique_id)(void *ctx, void *id);
    rt_status (*comm_init)(void *ctx, int rank, int size, const void *id);
    rt_status (*allreduce_weighted)(void *ctx, float *values, size_t count, float weight,
                                    double timeout);
    /* "NCCL 2.28.9 (headers 2.28.9)"; NULL with the collectives */
    void (*collectives_version)(char *text, size_t size);
} rt_backend_ops;

/* What a backend's open function returns. */
typedef struct rt_backend {
    const rt_backend_ops *ops;
    void *ctx;
    char description[256];
    int threads;
} rt_backend;

/* The CPU backend (always built). `err` outlives the backend and receives
 * every failure message. */
rt_status rt_cpu_backend_open(const rt_device_config *cfg, rt_error *err, rt_backend *out);

/* The CUDA backend lives in a plugin, resnet-train-cuda.so (built with
 * -Dgpu=enabled, or auto when the toolkit is found), which the device layer
 * loads with dlopen only when a run asks for CUDA: a CPU run never maps a
 * CUDA library, and a binary built with CUDA runs on machines without one.
 * The plugin exports one object of this type named RT_CUDA_PLUGIN_SYMBOL.
 * Bump RT_BACKEND_PLUGIN_ABI whenever rt_backend_ops, rt_backend,
 * rt_device_config or any struct they pass changes. */
#define RT_BACKEND_PLUGIN_ABI 1
#define RT_CUDA_PLUGIN_SYMBOL "rt_cuda_plugin"
#define RT_CUDA_PLUGIN_FILE "resnet-train-cuda.so"

typedef struct rt_backend_plugin {
    uint32_t abi;              /* RT_BACKEND_PLUGIN_ABI of the plugin's build */
    uint32_t ops_size;         /* sizeof(rt_backend_ops) there */
    const char *version;       /* the resnet-train version it was built from */
    /* Returns RT_ERR_NODEVICE with the reason when no usable GPU exists. */
    rt_status (*open)(const rt_device_config *cfg, rt_error *err, rt_backend *out);
} rt_backend_plugin;

#ifdef __cplusplus
}
#endif
#endif
