/* The network's forward and backward passes as sequences of device ops,
 * over one flat parameter buffer and an activation arena sized once for the
 * largest batch, so a step allocates nothing. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "resnet/model.h"
#include "resnet/rng.h"

/* Parameter tensor indices, in state_dict order. */
enum { P_C1W, P_C1B, P_C2W, P_C2B, P_R11W, P_R11B, P_R12W, P_R12B,
       P_R21W, P_R21B, P_R22W, P_R22B, P_FCW, P_FCB };

/* Activations and their gradients, per image in floats. */
enum {
    A_X, A_C1, A_A1, A_R1M, A_R1O, A_B1, A_C2, A_A2, A_R2M, A_R2O, A_B2, A_LOGITS,
    G_LOGITS, G_B2, G_S2, G_R2M, G_C2, G_B1, G_S1, G_R1M, G_C1,
    ACT_COUNT
};
static const int ACT_SIZE[ACT_COUNT] = {
    [A_X] = 784, [A_C1] = 20 * 24 * 24, [A_A1] = 20 * 12 * 12, [A_R1M] = 30 * 12 * 12,
    [A_R1O] = 20 * 12 * 12, [A_B1] = 20 * 12 * 12, [A_C2] = 15 * 10 * 10, [A_A2] = 15 * 5 * 5,
    [A_R2M] = 30 * 5 * 5, [A_R2O] = 15 * 5 * 5, [A_B2] = 15 * 5 * 5, [A_LOGITS] = 10,
    [G_LOGITS] = 10, [G_B2] = 15 * 5 * 5, [G_S2] = 15 * 5 * 5, [G_R2M] = 30 * 5 * 5,
    [G_C2] = 15 * 10 * 10, [G_B1] = 20 * 12 * 12, [G_S1] = 20 * 12 * 12,
    [G_R1M] = 30 * 12 * 12, [G_C1] = 20 * 24 * 24,
};

/* The convolutions: which weight, input shape (per image), output channels,
 * kernel and padding. */
typedef struct conv_layer {
    int weight, c, h, w, k, r, pad;
} conv_layer;
enum { L_C1, L_R11, L_R12, L_C2, L_R21, L_R22, CONV_COUNT };
static const conv_layer CONV[CONV_COUNT] = {
    [L_C1] = {P_C1W, 1, 28, 28, 20, 5, 0},
    [L_R11] = {P_R11W, 20, 12, 12, 30, 5, 2},
    [L_R12] = {P_R12W, 30, 12, 12, 20, 3, 1},
    [L_C2] = {P_C2W, 20, 12, 12, 15, 3, 0},
    [L_R21] = {P_R21W, 15, 5, 5, 30, 5, 2},
    [L_R22] = {P_R22W, 30, 5, 5, 15, 3, 1},
};

/* Called after every op while tracing a non-finite value (NULL otherwise). */
typedef rt_status (*check_fn)(void *ctx, const char *what, const float *data, size_t count);

struct rt_model {
    rt_device *dev;
    check_fn check;
    void *check_ctx;
    int max_batch;
    size_t flat;
    float *state;      /* params | grads | adam m | adam v, each `flat` floats */
    float *act;        /* activation arena */
    int32_t *labels;
    size_t act_offset[ACT_COUNT];
    size_t device_bytes;
};

static rt_conv_shape conv_shape(int layer, int n)
{
    const conv_layer *l = &CONV[layer];
    rt_conv_shape s = {n, l->c, l->h, l->w, l->k, l->r, l->r, l->pad, 1};
    return s;
}

rt_status rt_model_create(rt_device *dev, int max_batch, rt_model **out, rt_error *err)
{
    *out = NULL;
    if (max_batch <= 0 || max_batch > (1 << 20))
        return rt_error_set(err, RT_ERR_USAGE, "batch size %d is out of range (1..%d)",
                            max_batch, 1 << 20);
    rt_model *m = calloc(1, sizeof *m);
    if (!m)
        return rt_error_set(err, RT_ERR_NOMEM, "out of host memory creating the model");
    m->dev = dev;
    m->max_batch = max_batch;
    m->flat = rt_model_flat_size();
    size_t total = 0;
    for (int i = 0; i < ACT_COUNT; i++) {
        m->act_offset[i] = total;
        /* keep every activation 256-byte aligned */
        total += ((size_t)ACT_SIZE[i] * (size_t)max_batch + 63) / 64 * 64;
    }
    size_t state_bytes = 4 * m->flat * sizeof(float);
    size_t act_bytes = total * sizeof(float);
    size_t label_bytes = (size_t)max_batch * sizeof(int32_t);
    m->state = rt_device_alloc(dev, state_bytes);
    m->act = m->state ? rt_device_alloc(dev, act_bytes) : NULL;
    m->labels = m->act ? rt_device_alloc(dev, label_bytes) : NULL;
    if (!m->labels) {
        rt_status st = rt_device_take_error(dev, err);
        rt_model_destroy(m);
        return st;
    }
    m->device_bytes = state_bytes + act_bytes + label_bytes;
    *out = m;
    return RT_OK;
}

void rt_model_destroy(rt_model *m)
{
    if (!m)
        return;
    rt_device_free(m->dev, m->labels);
    rt_device_free(m->dev, m->act);
    rt_device_free(m->dev, m->state);
    free(m);
}

rt_device *rt_model_device(const rt_model *m) { return m->dev; }
int rt_model_max_batch(const rt_model *m) { return m->max_batch; }
size_t rt_model_device_bytes(const rt_model *m) { return m->device_bytes; }
float *rt_model_params(rt_model *m) { return m->state; }
float *rt_model_grads(rt_model *m) { return m->state + m->flat; }
float *rt_model_adam_m(rt_model *m) { return m->state + 2 * m->flat; }
float *rt_model_adam_v(rt_model *m) { return m->state + 3 * m->flat; }
static float *act(rt_model *m, int which) { return m->act + m->act_offset[which]; }
float *rt_model_input(rt_model *m) { return act(m, A_X); }
int32_t *rt_model_labels(rt_model *m) { return m->labels; }
float *rt_model_logits(rt_model *m) { return act(m, A_LOGITS); }
float *rt_model_dlogits(rt_model *m) { return act(m, G_LOGITS); }

static float *param(rt_model *m, int index) { return m->state + rt_model_param_info(index)->offset; }
static float *grad(rt_model *m, int index) { return rt_model_grads(m) + rt_model_param_info(index)->offset; }

rt_status rt_model_init_params(rt_model *m, uint64_t seed, rt_error *err)
{
    float *host = calloc(m->flat, sizeof *host);
    if (!host)
        return rt_error_set(err, RT_ERR_NOMEM, "out of host memory initialising parameters");
    rt_rng rng;
    rt_rng_seed(&rng, seed);
    for (int i = 0; i < RT_MODEL_TENSORS; i++) {
        const rt_param_info *p = rt_model_param_info(i);
        float bound = 1.0f / sqrtf((float)p->fan_in);
        for (size_t j = 0; j < p->count; j++)
            host[p->offset + j] = (2.0f * rt_rng_uniform(&rng) - 1.0f) * bound;
    }
    rt_status st = rt_model_upload_params(m, host, err);
    free(host);
    return st;
}

rt_status rt_model_upload_params(rt_model *m, const float *host, rt_error *err)
{
    if (rt_device_upload(m->dev, m->state, host, m->flat * sizeof(float)) != RT_OK)
        return rt_device_take_error(m->dev, err);
    return RT_OK;
}

rt_status rt_model_download_params(rt_model *m, float *host, rt_error *err)
{
    if (rt_device_download(m->dev, host, m->state, m->flat * sizeof(float)) != RT_OK)
        return rt_device_take_error(m->dev, err);
    return RT_OK;
}

#define TRY(call)                        \
    do {                                 \
        rt_status st_ = (call);          \
        if (st_ != RT_OK)                \
            return st_;                  \
    } while (0)

/* While tracing, checks an op's output; `what` names it. */
#define CHECKED(what, ptr, count)                                              \
    do {                                                                       \
        if (m->check)                                                          \
            TRY(m->check(m->check_ctx, what, ptr, count));                     \
    } while (0)

static size_t act_count(int which, int n) { return (size_t)n * ACT_SIZE[which]; }

static const char *conv_name(int layer)
{
    static const char *const names[CONV_COUNT] = {
        [L_C1] = "conv1", [L_R11] = "resblock1.conv1", [L_R12] = "resblock1.conv2",
        [L_C2] = "conv2", [L_R21] = "resblock2.conv1", [L_R22] = "resblock2.conv2",
    };
    return names[layer];
}

static rt_status conv_forward(rt_model *m, int layer, int n, int in, int out)
{
    rt_conv_shape s = conv_shape(layer, n);
    int w = CONV[layer].weight;
    TRY(rt_op_conv_forward(m->dev, &s, act(m, in), param(m, w), param(m, w + 1), act(m, out)));
    if (m->check) {
        char what[96];
        snprintf(what, sizeof what, "the output of %s (forward)", conv_name(layer));
        TRY(m->check(m->check_ctx, what, act(m, out), act_count(out, n)));
    }
    return RT_OK;
}

rt_status rt_model_forward(rt_model *m, int n)
{
    rt_device *d = m->dev;
    TRY(conv_forward(m, L_C1, n, A_X, A_C1));
    TRY(rt_op_maxpool2_forward(d, n, 20, 24, 24, 1, act(m, A_C1), act(m, A_A1)));
    CHECKED("the output of relu(maxpool(conv1)) (forward)", act(m, A_A1), act_count(A_A1, n));
    TRY(conv_forward(m, L_R11, n, A_A1, A_R1M));
    TRY(conv_forward(m, L_R12, n, A_R1M, A_R1O));
    TRY(rt_op_add_relu_forward(d, act_count(A_B1, n), act(m, A_R1O), act(m, A_A1), act(m, A_B1)));
    CHECKED("the output of resblock1 (forward)", act(m, A_B1), act_count(A_B1, n));
    TRY(conv_forward(m, L_C2, n, A_B1, A_C2));
    TRY(rt_op_maxpool2_forward(d, n, 15, 10, 10, 1, act(m, A_C2), act(m, A_A2)));
    CHECKED("the output of relu(maxpool(conv2)) (forward)", act(m, A_A2), act_count(A_A2, n));
    TRY(conv_forward(m, L_R21, n, A_A2, A_R2M));
    TRY(conv_forward(m, L_R22, n, A_R2M, A_R2O));
    TRY(rt_op_add_relu_forward(d, act_count(A_B2, n), act(m, A_R2O), act(m, A_A2), act(m, A_B2)));
    CHECKED("the output of resblock2 (forward)", act(m, A_B2), act_count(A_B2, n));
    TRY(rt_op_linear_forward(d, n, 375, 10, act(m, A_B2), param(m, P_FCW), param(m, P_FCB),
                             act(m, A_LOGITS)));
    CHECKED("the logits, the output of full_c (forward)", act(m, A_LOGITS), act_count(A_LOGITS, n));
    return RT_OK;
}

/* While tracing, checks the gradient of parameter tensor `index`. */
static rt_status check_grad(rt_model *m, int index)
{
    if (!m->check)
        return RT_OK;
    const rt_param_info *p = rt_model_param_info(index);
    char what[96];
    snprintf(what, sizeof what, "the gradient of %s (backward)", p->name);
    return m->check(m->check_ctx, what, grad(m, index), p->count);
}

/* Weight and bias gradients of one convolution, and the gradient of its
 * input into dx (added to dx when beta is 1; skipped when dx is -1). */
static rt_status conv_backward(rt_model *m, int layer, int n, int in, int dout, int dx, float beta)
{
    rt_conv_shape s = conv_shape(layer, n);
    int w = CONV[layer].weight;
    TRY(rt_op_conv_backward_filter(m->dev, &s, act(m, in), act(m, dout), grad(m, w)));
    TRY(check_grad(m, w));
    TRY(rt_op_conv_backward_bias(m->dev, &s, act(m, dout), grad(m, w + 1)));
    TRY(check_grad(m, w + 1));
    if (dx >= 0) {
        TRY(rt_op_conv_backward_data(m->dev, &s, act(m, dout), param(m, w), act(m, dx), beta));
        if (m->check) {
            char what[96];
            snprintf(what, sizeof what, "the gradient of the input of %s (backward)",
                     conv_name(layer));
            TRY(m->check(m->check_ctx, what, act(m, dx), act_count(dx, n)));
        }
    }
    return RT_OK;
}

rt_status rt_model_backward(rt_model *m, int n)
{
    rt_device *d = m->dev;
    CHECKED("the gradient of the loss with respect to the logits", act(m, G_LOGITS),
            act_count(G_LOGITS, n));
    TRY(rt_op_linear_backward_params(d, n, 375, 10, act(m, A_B2), act(m, G_LOGITS),
                                     grad(m, P_FCW), grad(m, P_FCB)));
    TRY(check_grad(m, P_FCW));
    TRY(check_grad(m, P_FCB));
    TRY(rt_op_linear_backward_data(d, n, 375, 10, act(m, G_LOGITS), param(m, P_FCW),
                                   act(m, G_B2)));
    CHECKED("the gradient of the output of resblock2 (backward)", act(m, G_B2), act_count(G_B2, n));
    /* resblock2: G_S2 is the gradient of both branches of the join; the
     * convolution branch's input gradient is then added to it. */
    TRY(rt_op_add_relu_backward(d, act_count(A_B2, n), act(m, A_B2), act(m, G_B2), act(m, G_S2)));
    TRY(conv_backward(m, L_R22, n, A_R2M, G_S2, G_R2M, 0.0f));
    TRY(conv_backward(m, L_R21, n, A_A2, G_R2M, G_S2, 1.0f));
    TRY(rt_op_maxpool2_backward(d, n, 15, 10, 10, 1, act(m, A_C2), act(m, A_A2), act(m, G_S2),
                                act(m, G_C2)));
    CHECKED("the gradient of the output of conv2 (backward)", act(m, G_C2), act_count(G_C2, n));
    TRY(conv_backward(m, L_C2, n, A_B1, G_C2, G_B1, 0.0f));
    /* resblock1, as resblock2 */
    TRY(rt_op_add_relu_backward(d, act_count(A_B1, n), act(m, A_B1), act(m, G_B1), act(m, G_S1)));
    TRY(conv_backward(m, L_R12, n, A_R1M, G_S1, G_R1M, 0.0f));
    TRY(conv_backward(m, L_R11, n, A_A1, G_R1M, G_S1, 1.0f));
    TRY(rt_op_maxpool2_backward(d, n, 20, 24, 24, 1, act(m, A_C1), act(m, A_A1), act(m, G_S1),
                                act(m, G_C1)));
    CHECKED("the gradient of the output of conv1 (backward)", act(m, G_C1), act_count(G_C1, n));
    return conv_backward(m, L_C1, n, A_X, G_C1, -1, 0.0f);
}

/* ---- tracing a NaN or Inf to the op that made it ------------------------ */
typedef struct trace_ctx {
    rt_model *m;
    float *host;
    size_t host_count;
    char *where;
    size_t where_size;
    rt_error *err;
    int found;     /* a bad value was found: `where` names it */
    int own_error; /* trace_check itself failed: err says why */
} trace_ctx;

/* The status that stops a traced pass at the first bad value. */
#define FOUND RT_ERR_NUMERIC

static rt_status trace_check(void *vctx, const char *what, const float *data, size_t count)
{
    trace_ctx *c = vctx;
    if (count > c->host_count) {
        float *grown = realloc(c->host, count * sizeof *grown);
        if (!grown) {
            c->own_error = 1;
            return rt_error_set(c->err, RT_ERR_NOMEM, "out of host memory tracing NaN/Inf");
        }
        c->host = grown;
        c->host_count = count;
    }
    if (rt_device_download(c->m->dev, c->host, data, count * sizeof *c->host) != RT_OK) {
        c->own_error = 1;
        return rt_device_take_error(c->m->dev, c->err);
    }
    for (size_t i = 0; i < count; i++)
        if (!isfinite(c->host[i])) {
            snprintf(c->where, c->where_size, "%s (element %zu is %g)", what, i,
                     (double)c->host[i]);
            c->found = 1;
            return FOUND;
        }
    return RT_OK;
}

rt_status rt_model_trace_nonfinite(rt_model *m, int n, rt_step_state *state, char *where,
                                   size_t where_size, rt_error *err)
{
    trace_ctx c = {m, NULL, 0, where, where_size, err, 0, 0};
    where[0] = '\0';
    rt_status st = RT_OK;
    for (int i = 0; i < RT_MODEL_TENSORS && st == RT_OK; i++) {
        const rt_param_info *p = rt_model_param_info(i);
        char what[96];
        snprintf(what, sizeof what, "the parameter %s itself", p->name);
        st = trace_check(&c, what, param(m, i), p->count);
    }
    if (st == RT_OK)
        st = trace_check(&c, "the input images", act(m, A_X), act_count(A_X, n));
    m->check = trace_check;
    m->check_ctx = &c;
    if (st == RT_OK)
        st = rt_model_forward(m, n);
    if (st == RT_OK)
        st = rt_op_softmax_cross_entropy(m->dev, n, RT_MODEL_CLASSES, act(m, A_LOGITS),
                                         m->labels, act(m, G_LOGITS), state);
    if (st == RT_OK)
        st = rt_model_backward(m, n);
    m->check = NULL;
    m->check_ctx = NULL;
    free(c.host);
    if (st == RT_OK || c.found)
        return RT_OK; /* `where` says what was found, "" for nothing */
    return c.own_error ? st : rt_device_take_error(m->dev, err);
}

rt_status rt_model_predict(rt_model *m, const float *images, int n, float *probabilities,
                           rt_error *err)
{
    if (n < 1 || n > m->max_batch)
        return rt_error_set(err, RT_ERR_USAGE, "predict: %d images for a model of batch %d", n,
                            m->max_batch);
    float logits[64 * RT_MODEL_CLASSES];
    for (int start = 0; start < n; start += 64) {
        int count = n - start < 64 ? n - start : 64;
        if (rt_device_upload(m->dev, act(m, A_X), images + (size_t)start * RT_MODEL_PIXELS,
                             (size_t)count * RT_MODEL_PIXELS * sizeof(float)) != RT_OK ||
            rt_model_forward(m, count) != RT_OK ||
            rt_device_download(m->dev, logits, act(m, A_LOGITS),
                               (size_t)count * RT_MODEL_CLASSES * sizeof(float)) != RT_OK)
            return rt_device_take_error(m->dev, err);
        for (int i = 0; i < count; i++) {
            const float *z = logits + i * RT_MODEL_CLASSES;
            double zmax = z[0], sum = 0.0;
            for (int j = 1; j < RT_MODEL_CLASSES; j++)
                if (z[j] > zmax)
                    zmax = z[j];
            for (int j = 0; j < RT_MODEL_CLASSES; j++)
                sum += exp((double)z[j] - zmax);
            for (int j = 0; j < RT_MODEL_CLASSES; j++)
                probabilities[(size_t)(start + i) * RT_MODEL_CLASSES + j] =
                    (float)(exp((double)z[j] - zmax) / sum);
        }
    }
    return RT_OK;
}
