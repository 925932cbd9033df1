/* The device layer: opens a backend by name, checks op arguments and
 * dispatches to the backend's table. It knows nothing of training. */
#include "resnet/backend.h"
#include "resnet/device.h"

#include "cuda_plugin.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct rt_device {
    rt_backend backend;
    rt_error err; /* the backend writes its failures here */
    char fallback_note[RT_ERROR_MESSAGE_MAX];
};

void rt_device_config_default(rt_device_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->threads = 0;
    cfg->precision = RT_PRECISION_FP32;
    cfg->graphs = 1;
    cfg->gpu_index = 0;
}

int rt_device_cuda_built(void)
{
#ifdef RT_HAVE_CUDA
    return 1;
#else
    return 0;
#endif
}

void rt_device_cuda_plugin(char *text, size_t size)
{
    char path[4352], looked[8192];
    if (!rt_device_cuda_built())
        snprintf(text, size, "not built");
    else if (rt_cuda_plugin_locate(path, sizeof path, looked, sizeof looked))
        snprintf(text, size, "plugin %s, loaded when a run asks for CUDA", path);
    else
        snprintf(text, size, "plugin missing (looked for %s at %s)", RT_CUDA_PLUGIN_FILE, looked);
}

static rt_status open_cuda(const rt_device_config *cfg, rt_device *dev)
{
    const rt_backend_plugin *plugin = NULL;
    rt_status st = rt_cuda_plugin_load(&plugin, &dev->err);
    if (st != RT_OK)
        return st;
    return plugin->open(cfg, &dev->err, &dev->backend);
}

rt_status rt_device_open(const char *name, const rt_device_config *cfg_in, rt_device **out,
                         rt_error *err)
{
    *out = NULL;
    rt_device_config cfg;
    if (cfg_in)
        cfg = *cfg_in;
    else
        rt_device_config_default(&cfg);
    if (cfg.threads < 0)
        return rt_error_set(err, RT_ERR_USAGE, "--threads must be at least 1 (got %d)",
                            cfg.threads);
    int want_auto = strcmp(name, "auto") == 0;
    int want_cpu = strcmp(name, "cpu") == 0;
    int want_cuda = strcmp(name, "cuda") == 0;
    if (!want_auto && !want_cpu && !want_cuda)
        return rt_error_set(err, RT_ERR_USAGE,
                            "unknown device '%s' (expected auto, cpu or cuda)", name);

    rt_device *dev = calloc(1, sizeof *dev);
    if (!dev)
        return rt_error_set(err, RT_ERR_NOMEM, "out of host memory opening device '%s'", name);

    rt_status st = RT_ERR_NODEVICE;
    if (want_cuda || want_auto) {
        st = open_cuda(&cfg, dev);
        if (st != RT_OK && want_cuda) {
            rt_error_set(err, st, "--device cuda: %s", dev->err.message);
            free(dev);
            return st;
        }
        if (st != RT_OK)
            snprintf(dev->fallback_note, sizeof dev->fallback_note, "%s", dev->err.message);
    }
    if (st != RT_OK) {
        memset(&dev->backend, 0, sizeof dev->backend);
        rt_error_clear(&dev->err);
        st = rt_cpu_backend_open(&cfg, &dev->err, &dev->backend);
        if (st != RT_OK) {
            rt_error_set(err, st, "opening the CPU device: %s", dev->err.message);
            free(dev);
            return st;
        }
    }
    rt_error_clear(&dev->err);
    *out = dev;
    return RT_OK;
}

void rt_device_close(rt_device *dev)
{
    if (!dev)
        return;
    if (dev->backend.ops && dev->backend.ops->close)
        dev->backend.ops->close(dev->backend.ctx);
    free(dev);
}

const char *rt_device_kind(const rt_device *dev) { return dev->backend.ops->kind; }
const char *rt_device_description(const rt_device *dev) { return dev->backend.description; }
const char *rt_device_fallback_note(const rt_device *dev) { return dev->fallback_note; }
int rt_device_threads(const rt_device *dev) { return dev->backend.threads; }
const char *rt_device_error(const rt_device *dev) { return dev->err.message; }

rt_status rt_device_take_error(const rt_device *dev, rt_error *err)
{
    rt_status st = dev->err.status != RT_OK ? dev->err.status : RT_ERR_DEVICE;
    return rt_error_set(err, st, "%s", dev->err.message);
}

/* Argument checks common to every backend; a failure is a caller bug but
 * still reported as an error rather than a crash. */
#define CHECK_ARG(dev, cond)                                                            \
    do {                                                                                \
        if (!(cond))                                                                    \
            return rt_error_set(&(dev)->err, RT_ERR_USAGE, "%s: invalid argument: %s",  \
                                __func__, #cond);                                       \
    } while (0)

#define BACKEND(dev) ((dev)->backend.ops)
#define CTX(dev) ((dev)->backend.ctx)

void *rt_device_alloc(rt_device *dev, size_t bytes)
{
    return BACKEND(dev)->alloc(CTX(dev), bytes ? bytes : 1);
}

void rt_device_free(rt_device *dev, void *ptr)
{
    if (ptr)
        BACKEND(dev)->free(CTX(dev), ptr);
}

rt_status rt_device_upload(rt_device *dev, void *dst, const void *src, size_t bytes)
{
    CHECK_ARG(dev, bytes == 0 || (dst && src));
    return bytes ? BACKEND(dev)->upload(CTX(dev), dst, src, bytes) : RT_OK;
}

rt_status rt_device_download(rt_device *dev, void *dst, const void *src, size_t bytes)
{
    CHECK_ARG(dev, bytes == 0 || (dst && src));
    return bytes ? BACKEND(dev)->download(CTX(dev), dst, src, bytes) : RT_OK;
}

rt_status rt_device_copy(rt_device *dev, void *dst, const void *src, size_t bytes)
{
    CHECK_ARG(dev, bytes == 0 || (dst && src));
    return bytes ? BACKEND(dev)->copy(CTX(dev), dst, src, bytes) : RT_OK;
}

rt_status rt_device_zero(rt_device *dev, void *dst, size_t bytes)
{
    CHECK_ARG(dev, bytes == 0 || dst);
    return bytes ? BACKEND(dev)->zero(CTX(dev), dst, bytes) : RT_OK;
}

rt_status rt_device_synchronize(rt_device *dev) { return BACKEND(dev)->synchronize(CTX(dev)); }

size_t rt_device_peak_bytes(const rt_device *dev) { return BACKEND(dev)->peak_bytes(CTX(dev)); }

size_t rt_device_memory_total(const rt_device *dev)
{
    return BACKEND(dev)->memory_total ? BACKEND(dev)->memory_total(CTX(dev)) : 0;
}

rt_status rt_device_run_step(rt_device *dev, int key, rt_step_fn fn, void *ctx)
{
    CHECK_ARG(dev, fn != NULL);
    return BACKEND(dev)->run_step(CTX(dev), key, fn, ctx);
}

static int conv_shape_ok(const rt_conv_shape *s)
{
    return s && s->n > 0 && s->c > 0 && s->h > 0 && s->w > 0 && s->k > 0 && s->r > 0 &&
           s->s > 0 && s->pad >= 0 && s->stride > 0 && rt_conv_out_h(s) > 0 &&
           rt_conv_out_w(s) > 0;
}

static int pool_shape_ok(const rt_pool_shape *s)
{
    return s && s->n > 0 && s->c > 0 && s->h > 0 && s->w > 0 && s->kernel > 0 &&
           s->stride > 0 && s->pad >= 0 && 2 * s->pad <= s->kernel && rt_pool_out_h(s) > 0 &&
           rt_pool_out_w(s) > 0;
}

static int bn_ok(const rt_batchnorm *bn)
{
    return bn && bn->n > 0 && bn->c > 0 && bn->hw > 0 && bn->eps > 0.0f &&
           bn->momentum >= 0.0f && bn->momentum <= 1.0f && bn->weight && bn->bias &&
           bn->running_mean && bn->running_var;
}

rt_status rt_op_load_batch(rt_device *dev, const uint8_t *images, const uint8_t *labels,
                           const int32_t *order, int pixels, int n, const rt_step_state *state,
                           float *x, int32_t *y)
{
    CHECK_ARG(dev, images && labels && state && x && y && pixels > 0 && n > 0);
    return BACKEND(dev)->load_batch(CTX(dev), images, labels, order, pixels, n, state, x, y);
}

static int transform_ok(const rt_batch_transform *tf)
{
    if (!tf || tf->channels < 1 || tf->channels > RT_MAX_CHANNELS || tf->height < 1 ||
        tf->width < 1 || tf->crop_pad < 0 || tf->crop_pad > tf->height ||
        tf->crop_pad > tf->width)
        return 0;
    for (int c = 0; tf->normalize && c < tf->channels; c++)
        if (!(tf->std[c] > 0.0f) || tf->mean[c] != tf->mean[c])
            return 0;
    if (!tf->resized_crop)
        return 1;
    if (tf->crop_pad != 0 || tf->src_height < 1 || tf->src_width < 1 ||
        tf->src_height > RT_MAX_IMAGE_SIDE || tf->src_width > RT_MAX_IMAGE_SIDE ||
        tf->scale_q[0] == 0 || tf->scale_q[0] > tf->scale_q[1] || tf->scale_q[1] > (1u << 24))
        return 0;
    for (int k = 0; k < RT_RESIZED_CROP_KNOTS; k++)
        if (tf->ratio_q[k] == 0 || (k > 0 && tf->ratio_q[k] < tf->ratio_q[k - 1]))
            return 0;
    return 1;
}

rt_status rt_op_load_batch_transformed(rt_device *dev, const uint8_t *images,
                                       const uint8_t *labels, const int32_t *order, int n,
                                       const rt_batch_transform *tf, const rt_step_state *state,
                                       float *x, int32_t *y)
{
    CHECK_ARG(dev, images && labels && state && x && y && n > 0 && transform_ok(tf));
    return BACKEND(dev)->load_batch_transformed(CTX(dev), images, labels, order, n, tf, state,
                                                x, y);
}

rt_status rt_op_conv_forward(rt_device *dev, const rt_conv_shape *s, const float *x,
                             const float *w, const float *b, float *y)
{
    CHECK_ARG(dev, conv_shape_ok(s) && x && w && y);
    return BACKEND(dev)->conv_forward(CTX(dev), s, x, w, b, y);
}

rt_status rt_op_conv_backward_data(rt_device *dev, const rt_conv_shape *s, const float *dy,
                                   const float *w, float *dx, float beta)
{
    CHECK_ARG(dev, conv_shape_ok(s) && dy && w && dx && (beta == 0.0f || beta == 1.0f));
    return BACKEND(dev)->conv_backward_data(CTX(dev), s, dy, w, dx, beta);
}

rt_status rt_op_conv_backward_filter(rt_device *dev, const rt_conv_shape *s, const float *x,
                                     const float *dy, float *dw)
{
    CHECK_ARG(dev, conv_shape_ok(s) && x && dy && dw);
    return BACKEND(dev)->conv_backward_filter(CTX(dev), s, x, dy, dw);
}

rt_status rt_op_conv_backward_bias(rt_device *dev, const rt_conv_shape *s, const float *dy,
                                   float *db)
{
    CHECK_ARG(dev, conv_shape_ok(s) && dy && db);
    return BACKEND(dev)->conv_backward_bias(CTX(dev), s, dy, db);
}

rt_status rt_op_maxpool2_forward(rt_device *dev, int n, int c, int h, int w, int relu,
                                 const float *x, float *y)
{
    CHECK_ARG(dev, n > 0 && c > 0 && h >= 2 && w >= 2 && x && y);
    return BACKEND(dev)->maxpool2_forward(CTX(dev), n, c, h, w, relu, x, y);
}

rt_status rt_op_maxpool2_backward(rt_device *dev, int n, int c, int h, int w, int relu,
                                  const float *x, const float *y, const float *dy, float *dx)
{
    CHECK_ARG(dev, n > 0 && c > 0 && h >= 2 && w >= 2 && x && y && dy && dx);
    return BACKEND(dev)->maxpool2_backward(CTX(dev), n, c, h, w, relu, x, y, dy, dx);
}

rt_status rt_op_relu_forward(rt_device *dev, size_t count, const float *x, float *y)
{
    CHECK_ARG(dev, count > 0 && x && y);
    return BACKEND(dev)->relu_forward(CTX(dev), count, x, y);
}

rt_status rt_op_relu_backward(rt_device *dev, size_t count, const float *y, const float *dy,
                              float *dx)
{
    CHECK_ARG(dev, count > 0 && y && dy && dx);
    return BACKEND(dev)->relu_backward(CTX(dev), count, y, dy, dx);
}

rt_status rt_op_add_relu_forward(rt_device *dev, size_t count, const float *a, const float *b,
                                 float *y)
{
    CHECK_ARG(dev, count > 0 && a && b && y);
    return BACKEND(dev)->add_relu_forward(CTX(dev), count, a, b, y);
}

rt_status rt_op_add_relu_backward(rt_device *dev, size_t count, const float *y, const float *dy,
                                  float *d)
{
    CHECK_ARG(dev, count > 0 && y && dy && d);
    return BACKEND(dev)->add_relu_backward(CTX(dev), count, y, dy, d);
}

rt_status rt_op_add(rt_device *dev, size_t count, const float *a, const float *b, float *y)
{
    CHECK_ARG(dev, count > 0 && a && b && y);
    return BACKEND(dev)->add(CTX(dev), count, a, b, y);
}

rt_status rt_op_maxpool_forward(rt_device *dev, const rt_pool_shape *s, const float *x, float *y)
{
    CHECK_ARG(dev, pool_shape_ok(s) && x && y);
    return BACKEND(dev)->maxpool_forward(CTX(dev), s, x, y);
}

rt_status rt_op_maxpool_backward(rt_device *dev, const rt_pool_shape *s, const float *x,
                                 const float *dy, float *dx)
{
    CHECK_ARG(dev, pool_shape_ok(s) && x && dy && dx);
    return BACKEND(dev)->maxpool_backward(CTX(dev), s, x, dy, dx);
}

rt_status rt_op_avgpool_forward(rt_device *dev, int n, int c, int hw, const float *x, float *y)
{
    CHECK_ARG(dev, n > 0 && c > 0 && hw > 0 && x && y);
    return BACKEND(dev)->avgpool_forward(CTX(dev), n, c, hw, x, y);
}

rt_status rt_op_avgpool_backward(rt_device *dev, int n, int c, int hw, const float *dy,
                                 float *dx)
{
    CHECK_ARG(dev, n > 0 && c > 0 && hw > 0 && dy && dx);
    return BACKEND(dev)->avgpool_backward(CTX(dev), n, c, hw, dy, dx);
}

rt_status rt_op_batchnorm_forward(rt_device *dev, const rt_batchnorm *bn, int training,
                                  const float *x, float *y)
{
    CHECK_ARG(dev, bn_ok(bn) && x && y);
    if (training) {
        CHECK_ARG(dev, bn->save_mean && bn->save_invstd && bn->num_batches_tracked);
        if ((int64_t)bn->n * bn->hw < 2)
            return rt_error_set(&dev->err, RT_ERR_USAGE,
                                "BatchNorm in training needs more than 1 value per channel "
                                "(got a batch of %d x %d pixels)", bn->n, bn->hw);
    }
    if (training && bn->sync && strcmp(BACKEND(dev)->kind, "cpu") != 0)
        return rt_error_set(&dev->err, RT_ERR_USAGE,
                            "synchronised BatchNorm (--sync-bn) runs on the CPU backend only so far");
    return BACKEND(dev)->batchnorm_forward(CTX(dev), bn, training, x, y);
}

rt_status rt_op_batchnorm_backward(rt_device *dev, const rt_batchnorm *bn, const float *x,
                                   const float *y, const float *dy, float *dx, float *dweight,
                                   float *dbias)
{
    CHECK_ARG(dev, bn_ok(bn) && bn->save_mean && bn->save_invstd && x && (y || !bn->relu) &&
                       dy && dweight && dbias && dx != dy);
    if (bn->sync && strcmp(BACKEND(dev)->kind, "cpu") != 0)
        return rt_error_set(&dev->err, RT_ERR_USAGE,
                            "synchronised BatchNorm (--sync-bn) runs on the CPU backend only so far");
    return BACKEND(dev)->batchnorm_backward(CTX(dev), bn, x, y, dy, dx, dweight, dbias);
}

rt_status rt_op_linear_forward(rt_device *dev, int n, int in, int out, const float *x,
                               const float *w, const float *b, float *y)
{
    CHECK_ARG(dev, n > 0 && in > 0 && out > 0 && x && w && y);
    return BACKEND(dev)->linear_forward(CTX(dev), n, in, out, x, w, b, y);
}

rt_status rt_op_linear_backward_data(rt_device *dev, int n, int in, int out, const float *dy,
                                     const float *w, float *dx)
{
    CHECK_ARG(dev, n > 0 && in > 0 && out > 0 && dy && w && dx);
    return BACKEND(dev)->linear_backward_data(CTX(dev), n, in, out, dy, w, dx);
}

rt_status rt_op_linear_backward_params(rt_device *dev, int n, int in, int out, const float *x,
                                       const float *dy, float *dw, float *db)
{
    CHECK_ARG(dev, n > 0 && in > 0 && out > 0 && x && dy && dw);
    return BACKEND(dev)->linear_backward_params(CTX(dev), n, in, out, x, dy, dw, db);
}

rt_status rt_op_softmax_cross_entropy(rt_device *dev, int n, int classes, const float *logits,
                                      const int32_t *labels, float *dlogits,
                                      rt_step_state *state)
{
    CHECK_ARG(dev, n > 0 && classes > 0 && logits && labels && state);
    return BACKEND(dev)->softmax_cross_entropy(CTX(dev), n, classes, 0.0f, logits, labels,
                                               dlogits, state);
}

rt_status rt_op_softmax_cross_entropy_smoothed(rt_device *dev, int n, int classes,
                                               float smoothing, const float *logits,
                                               const int32_t *labels, float *dlogits,
                                               rt_step_state *state)
{
    CHECK_ARG(dev, n > 0 && classes > 0 && smoothing >= 0.0f && smoothing <= 1.0f && logits &&
                       labels && state);
    return BACKEND(dev)->softmax_cross_entropy(CTX(dev), n, classes, smoothing, logits, labels,
                                               dlogits, state);
}

rt_status rt_op_adam(rt_device *dev, size_t count, float *params, const float *grads, float *m,
                     float *v, const rt_adam_config *cfg, rt_step_state *state)
{
    CHECK_ARG(dev, count > 0 && params && grads && m && v && cfg && state);
    return BACKEND(dev)->adam(CTX(dev), count, params, grads, m, v, cfg, state);
}

rt_status rt_op_sgd(rt_device *dev, size_t count, float *params, const float *grads, float *buf,
                    const rt_sgd_config *cfg, rt_step_state *state)
{
    CHECK_ARG(dev, count > 0 && params && grads && cfg && state && (buf || cfg->momentum == 0.0f));
    return BACKEND(dev)->sgd(CTX(dev), count, params, grads, buf, cfg, state);
}

rt_status rt_op_lr_from_table(rt_device *dev, const float *table, int64_t length,
                              rt_step_state *state)
{
    CHECK_ARG(dev, table && length > 0 && state);
    return BACKEND(dev)->lr_from_table(CTX(dev), table, length, state);
}

rt_status rt_op_step_advance(rt_device *dev, rt_step_state *state, int n, int optimizer_step)
{
    CHECK_ARG(dev, state && n >= 0);
    return BACKEND(dev)->step_advance(CTX(dev), state, n, optimizer_step);
}

/* ---- collectives across ranks -------------------------------------------- */

int rt_device_has_collectives(const rt_device *dev)
{
    return BACKEND(dev)->allreduce_weighted != NULL;
}

void rt_device_collectives_version(const rt_device *dev, char *text, size_t size)
{
    if (size)
        text[0] = '\0';
    if (BACKEND(dev)->collectives_version)
        BACKEND(dev)->collectives_version(text, size);
}

const char *rt_device_collectives_headers(void)
{
#ifdef RT_NCCL_HEADERS
    return "NCCL (headers " RT_NCCL_HEADERS ")";
#else
    return "";
#endif
}

rt_status rt_device_comm_unique_id(rt_device *dev, void *id)
{
    CHECK_ARG(dev, id && BACKEND(dev)->comm_unique_id);
    return BACKEND(dev)->comm_unique_id(CTX(dev), id);
}

rt_status rt_device_comm_init(rt_device *dev, int rank, int size, const void *id)
{
    CHECK_ARG(dev, id && BACKEND(dev)->comm_init && size >= 1 && rank >= 0 && rank < size);
    return BACKEND(dev)->comm_init(CTX(dev), rank, size, id);
}

rt_status rt_device_allreduce_weighted(rt_device *dev, float *values, size_t count, float weight,
                                       double timeout)
{
    CHECK_ARG(dev, values && BACKEND(dev)->allreduce_weighted && timeout > 0.0);
    return BACKEND(dev)->allreduce_weighted(CTX(dev), values, count, weight, timeout);
}
