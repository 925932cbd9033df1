/* A network on a device: its buffers, and its forward and backward passes
 * as sequences of device ops in graph order (plan.c says where everything
 * lives). A step allocates nothing. */
#include "resnet/model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph.h"
#include "plan.h"
#include "resnet/rng.h"

/* Called after every op while tracing a non-finite value (NULL otherwise). */
typedef rt_status (*check_fn)(void *ctx, const char *what, const float *data, size_t count);

struct rt_model {
    rt_device *dev;
    const rt_network *net;
    model_plan plan;
    check_fn check;
    void *check_ctx;
    int max_batch, training;
    size_t flat; /* floats of the parameter buffer */
    float *state;    /* params | grads | adam m | adam v (params only without training) */
    float *buffers;  /* running statistics */
    int64_t *counters;
    float *stats;    /* BatchNorm's saved batch statistics */
    float *input;
    float *act, *grad, *temp;
    int32_t *labels;
    size_t device_bytes;
    const rt_batchnorm_sync *bn_sync; /* training BatchNorm over several ranks, NULL alone */
    rt_gradients_ready_fn on_ready;   /* told as backward finishes gradients, NULL for none */
    void *on_ready_ctx;
};

#define TRY(call)                        \
    do {                                 \
        rt_status st_ = (call);          \
        if (st_ != RT_OK)                \
            return st_;                  \
    } while (0)

static size_t round64(size_t x) { return (x + 63) / 64 * 64; }

static void *alloc_or_fail(rt_model *m, size_t bytes, int *failed)
{
    if (*failed)
        return NULL;
    void *p = rt_device_alloc(m->dev, bytes);
    if (!p)
        *failed = 1;
    return p;
}

static double gib(size_t bytes) { return (double)bytes / (double)(1u << 30); }

rt_status rt_model_create(rt_device *dev, const rt_network *net, int max_batch, int training,
                          rt_model **out, rt_error *err)
{
    *out = NULL;
    if (max_batch <= 0 || max_batch > (1 << 20))
        return rt_error_set(err, RT_ERR_USAGE, "batch size %d is out of range (1..%d)",
                            max_batch, 1 << 20);
    rt_model *m = calloc(1, sizeof *m);
    if (!m)
        return rt_error_set(err, RT_ERR_NOMEM, "out of host memory creating the model");
    m->dev = dev;
    m->net = net;
    m->max_batch = max_batch;
    m->training = training;
    m->flat = rt_network_params_size(net);
    rt_status st = plan_model(net, max_batch, training, &m->plan, err);
    if (st != RT_OK) {
        free(m);
        return st;
    }
    size_t input = round64(rt_network_input_size(net) * (size_t)max_batch);
    size_t floats[] = {
        (training ? 4 : 1) * m->flat,
        rt_network_buffers_size(net) + 1,
        m->plan.stats_floats + 1,
        input,
        m->plan.act_floats,
        m->plan.grad_floats + 1,
        m->plan.temp_floats + 1,
    };
    size_t total = 0;
    for (size_t i = 0; i < sizeof floats / sizeof floats[0]; i++)
        total += floats[i] * sizeof(float);
    size_t counters = (rt_network_counter_count(net) + 1) * sizeof(int64_t);
    size_t labels = (size_t)max_batch * sizeof(int32_t);
    total += counters + labels;
    size_t capacity = rt_device_memory_total(dev);
    if (capacity && total > capacity) {
        size_t activations = (m->plan.act_floats + m->plan.grad_floats) * sizeof(float);
        rt_model_destroy(m);
        return rt_error_set(err, RT_ERR_NOMEM,
                            "network '%s' at batch %d needs %.2f GiB of %s memory (%.2f GiB of "
                            "activations and gradients), more than the %.2f GiB there is",
                            rt_network_name(net), max_batch, gib(total), rt_device_kind(dev),
                            gib(activations), gib(capacity));
    }
    int failed = 0;
    m->state = alloc_or_fail(m, floats[0] * sizeof(float), &failed);
    m->buffers = alloc_or_fail(m, floats[1] * sizeof(float), &failed);
    m->stats = alloc_or_fail(m, floats[2] * sizeof(float), &failed);
    m->input = alloc_or_fail(m, floats[3] * sizeof(float), &failed);
    m->act = alloc_or_fail(m, (floats[4] + 1) * sizeof(float), &failed);
    m->grad = alloc_or_fail(m, floats[5] * sizeof(float), &failed);
    m->temp = alloc_or_fail(m, floats[6] * sizeof(float), &failed);
    m->counters = alloc_or_fail(m, counters, &failed);
    m->labels = alloc_or_fail(m, labels, &failed);
    if (failed) {
        st = rt_device_take_error(dev, err);
        rt_model_destroy(m);
        return st;
    }
    m->device_bytes = total;
    *out = m;
    return RT_OK;
}

void rt_model_destroy(rt_model *m)
{
    if (!m)
        return;
    void *bufs[] = {m->labels, m->counters, m->temp, m->grad, m->act,
                    m->input,  m->stats,    m->buffers, m->state};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        rt_device_free(m->dev, bufs[i]);
    plan_free(&m->plan);
    free(m);
}

rt_device *rt_model_device(const rt_model *m) { return m->dev; }
const rt_network *rt_model_network(const rt_model *m) { return m->net; }
int rt_model_max_batch(const rt_model *m) { return m->max_batch; }
int rt_model_classes(const rt_model *m) { return m->net->input.classes; }
size_t rt_model_input_size(const rt_model *m) { return rt_network_input_size(m->net); }
size_t rt_model_device_bytes(const rt_model *m) { return m->device_bytes; }
float *rt_model_params(rt_model *m) { return m->state; }
float *rt_model_grads(rt_model *m) { return m->training ? m->state + m->flat : NULL; }
float *rt_model_adam_m(rt_model *m) { return m->training ? m->state + 2 * m->flat : NULL; }
float *rt_model_adam_v(rt_model *m) { return m->training ? m->state + 3 * m->flat : NULL; }
float *rt_model_buffers(rt_model *m) { return m->buffers; }
int64_t *rt_model_counters(rt_model *m) { return m->counters; }
float *rt_model_input(rt_model *m) { return m->input; }
int32_t *rt_model_labels(rt_model *m) { return m->labels; }

/* The output of node i (the model input for NODE_INPUT). */
static float *act_of(rt_model *m, int i)
{
    if (i == NODE_INPUT)
        return m->input;
    size_t at = m->plan.nodes[i].act;
    return at == SIZE_MAX ? m->input : m->act + at;
}

static float *grad_of(rt_model *m, int i)
{
    int slot = m->plan.nodes[i].slot;
    return slot < 0 ? NULL : m->grad + m->plan.slot_offset[slot];
}

float *rt_model_logits(rt_model *m) { return act_of(m, m->net->output); }
float *rt_model_dlogits(rt_model *m) { return m->training ? grad_of(m, m->net->output) : NULL; }

static const graph_node *node(const rt_model *m, int i) { return &m->net->nodes[i]; }

static float *tensor(rt_model *m, int t, float *base)
{
    return t < 0 ? NULL : base + m->net->tensors[t].offset;
}

/* ---- parameters ---------------------------------------------------------------- */

/* A standard normal draw from two 53-bit uniforms (Box-Muller, cosine
 * branch only, so each draw takes two words of the stream). */
static double normal(rt_rng *rng)
{
    double u1 = ((double)(rt_rng_next(rng) >> 11) + 0.5) * 0x1.0p-53;
    double u2 = (double)(rt_rng_next(rng) >> 11) * 0x1.0p-53;
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

rt_status rt_model_init_params(rt_model *m, uint64_t seed, rt_error *err)
{
    const rt_network *net = m->net;
    size_t nbuf = rt_network_buffers_size(net), ncount = rt_network_counter_count(net);
    float *params = calloc(m->flat + 1, sizeof *params);
    float *buffers = calloc(nbuf + 1, sizeof *buffers);
    int64_t *counters = calloc(ncount + 1, sizeof *counters);
    if (!params || !buffers || !counters) {
        free(params), free(buffers), free(counters);
        return rt_error_set(err, RT_ERR_NOMEM, "out of host memory initialising parameters");
    }
    rt_rng rng;
    rt_rng_seed(&rng, seed);
    for (int i = 0; i < rt_network_tensor_count(net); i++) {
        const rt_tensor_info *t = rt_network_tensor(net, i);
        if (t->role == RT_TENSOR_COUNTER)
            continue;
        float *dst = (t->role == RT_TENSOR_PARAMETER ? params : buffers) + t->offset;
        for (size_t j = 0; j < t->count; j++) {
            switch (t->init) {
            case RT_INIT_UNIFORM:
                dst[j] = (2.0f * rt_rng_uniform(&rng) - 1.0f) * t->init_scale;
                break;
            case RT_INIT_NORMAL: dst[j] = (float)(normal(&rng) * t->init_scale); break;
            case RT_INIT_ONES: dst[j] = 1.0f; break;
            case RT_INIT_ZEROS: dst[j] = 0.0f; break;
            }
        }
    }
    rt_status st = rt_model_upload_params(m, params, err);
    if (st == RT_OK)
        st = rt_model_upload_buffers(m, buffers, counters, err);
    free(params), free(buffers), free(counters);
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

rt_status rt_model_upload_buffers(rt_model *m, const float *buffers, const int64_t *counters,
                                  rt_error *err)
{
    size_t nb = rt_network_buffers_size(m->net), nc = rt_network_counter_count(m->net);
    if (rt_device_upload(m->dev, m->buffers, buffers, nb * sizeof(float)) != RT_OK ||
        rt_device_upload(m->dev, m->counters, counters, nc * sizeof(int64_t)) != RT_OK)
        return rt_device_take_error(m->dev, err);
    return RT_OK;
}

rt_status rt_model_download_buffers(rt_model *m, float *buffers, int64_t *counters,
                                    rt_error *err)
{
    size_t nb = rt_network_buffers_size(m->net), nc = rt_network_counter_count(m->net);
    if (rt_device_download(m->dev, buffers, m->buffers, nb * sizeof(float)) != RT_OK ||
        rt_device_download(m->dev, counters, m->counters, nc * sizeof(int64_t)) != RT_OK)
        return rt_device_take_error(m->dev, err);
    return RT_OK;
}

/* ---- forward ------------------------------------------------------------------- */

static rt_conv_shape conv_shape(const rt_model *m, int i, int n)
{
    const graph_node *g = node(m, i);
    int c, h, w;
    graph_input_shape(m->net, i, &c, &h, &w);
    rt_conv_shape s = {n, c, h, w, g->k, g->kernel, g->kernel, g->pad, g->stride};
    return s;
}

static rt_pool_shape pool_shape(const rt_model *m, int i, int n)
{
    const graph_node *g = node(m, i);
    int c, h, w;
    graph_input_shape(m->net, i, &c, &h, &w);
    rt_pool_shape s = {n, c, h, w, g->kernel, g->stride, g->pad};
    return s;
}

static int is_pool2(const graph_node *g) { return g->kernel == 2 && g->stride == 2 && g->pad == 0; }

static rt_batchnorm bn_of(rt_model *m, int i, int n)
{
    const graph_node *g = node(m, i);
    rt_batchnorm bn = {n,
                       g->c,
                       g->h * g->w,
                       g->eps,
                       g->momentum,
                       g->relu,
                       tensor(m, g->t_weight, m->state),
                       tensor(m, g->t_bias, m->state),
                       tensor(m, g->t_mean, m->buffers),
                       tensor(m, g->t_var, m->buffers),
                       m->counters + m->net->tensors[g->t_count].offset,
                       m->stats + g->stats_offset,
                       m->stats + g->stats_offset + round64((size_t)g->c),
                       m->bn_sync};
    return bn;
}

static rt_status forward_node(rt_model *m, int i, int n, int training)
{
    rt_device *d = m->dev;
    const graph_node *g = node(m, i);
    const float *x = act_of(m, g->in[0]);
    float *y = act_of(m, i);
    int c, h, w;
    graph_input_shape(m->net, i, &c, &h, &w);
    switch (g->op) {
    case OP_CONV: {
        rt_conv_shape s = conv_shape(m, i, n);
        return rt_op_conv_forward(d, &s, x, tensor(m, g->t_weight, m->state),
                                  tensor(m, g->t_bias, m->state), y);
    }
    case OP_BATCHNORM: {
        rt_batchnorm bn = bn_of(m, i, n);
        return rt_op_batchnorm_forward(d, &bn, training, x, y);
    }
    case OP_RELU:
        return rt_op_relu_forward(d, (size_t)n * g->size, x, y);
    case OP_MAXPOOL:
        if (is_pool2(g))
            return rt_op_maxpool2_forward(d, n, c, h, w, g->relu, x, y);
        else {
            rt_pool_shape s = pool_shape(m, i, n);
            return rt_op_maxpool_forward(d, &s, x, y);
        }
    case OP_AVGPOOL:
        return rt_op_avgpool_forward(d, n, c, h * w, x, y);
    case OP_FLATTEN:
        return RT_OK;
    case OP_LINEAR:
        return rt_op_linear_forward(d, n, (int)node(m, g->in[0])->size, g->k, x,
                                    tensor(m, g->t_weight, m->state),
                                    tensor(m, g->t_bias, m->state), y);
    case OP_ADD: {
        const float *b = act_of(m, g->in[1]);
        size_t count = (size_t)n * g->size;
        return g->relu ? rt_op_add_relu_forward(d, count, x, b, y) : rt_op_add(d, count, x, b, y);
    }
    }
    return RT_OK;
}

static void describe_output(const rt_model *m, int i, char *what, size_t size)
{
    const graph_node *g = node(m, i);
    snprintf(what, size, "the output of %s%s (forward)", g->name,
             g->relu && g->op != OP_RELU ? " with its relu" : "");
}

rt_status rt_model_forward(rt_model *m, int n, int training)
{
    if (training && !m->training)
        return rt_error_set(NULL, RT_ERR_USAGE, "model made for evaluation only");
    for (int i = 0; i < m->net->node_count; i++) {
        TRY(forward_node(m, i, n, training));
        if (m->check && node(m, i)->op != OP_FLATTEN) {
            char what[NET_NAME_MAX + 64];
            describe_output(m, i, what, sizeof what);
            TRY(m->check(m->check_ctx, what, act_of(m, i), (size_t)n * node(m, i)->size));
        }
    }
    return RT_OK;
}

/* ---- backward ------------------------------------------------------------------ */

static rt_status check_tensor_grad(rt_model *m, int t)
{
    if (!m->check || t < 0)
        return RT_OK;
    const rt_tensor_info *ti = &m->net->tensors[t];
    char what[NET_NAME_MAX + 64];
    snprintf(what, sizeof what, "the gradient of %s (backward)", ti->name);
    return m->check(m->check_ctx, what, rt_model_grads(m) + ti->offset, ti->count);
}

static rt_status check_input_grad(rt_model *m, int i, int j, int n)
{
    int in = node(m, i)->in[j];
    if (!m->check || in < 0)
        return RT_OK;
    char what[NET_NAME_MAX + 80];
    snprintf(what, sizeof what, "the gradient of the input of %s (backward)", node(m, i)->name);
    return m->check(m->check_ctx, what, grad_of(m, in), (size_t)n * node(m, in)->size);
}

/* Where an op that can only write puts its input gradient: the slot
 * itself, or the scratch buffer to be added to it. */
static float *target(rt_model *m, int i, int j)
{
    grad_action a = m->plan.nodes[i].input[j];
    return a == GA_ACCUM ? m->temp : grad_of(m, node(m, i)->in[j]);
}

static rt_status finish_input(rt_model *m, int i, int j, int n)
{
    int in = node(m, i)->in[j];
    if (m->plan.nodes[i].input[j] == GA_ACCUM) {
        float *slot = grad_of(m, in);
        TRY(rt_op_add(m->dev, (size_t)n * node(m, in)->size, slot, m->temp, slot));
    }
    return check_input_grad(m, i, j, n);
}

/* A flatten or a join hands d on: nothing when the slot is shared, else a
 * copy (the first contribution) or a sum. */
static rt_status pass_on(rt_model *m, int i, int j, const float *d, int n)
{
    int in = node(m, i)->in[j];
    size_t count = (size_t)n * node(m, in)->size;
    float *slot = grad_of(m, in);
    switch (m->plan.nodes[i].input[j]) {
    case GA_WRITE:
        if (rt_device_copy(m->dev, slot, d, count * sizeof(float)) != RT_OK)
            return RT_ERR_DEVICE;
        break;
    case GA_ACCUM: TRY(rt_op_add(m->dev, count, slot, d, slot)); break;
    default: break;
    }
    return check_input_grad(m, i, j, n);
}

static rt_status backward_node(rt_model *m, int i, int n)
{
    rt_device *d = m->dev;
    const graph_node *g = node(m, i);
    const node_plan *np = &m->plan.nodes[i];
    const float *x = act_of(m, g->in[0]), *y = act_of(m, i);
    float *dy = grad_of(m, i);
    float *grads = rt_model_grads(m);
    int c, h, w;
    graph_input_shape(m->net, i, &c, &h, &w);
    int wants = np->input[0] == GA_WRITE || np->input[0] == GA_ACCUM;
    switch (g->op) {
    case OP_CONV: {
        rt_conv_shape s = conv_shape(m, i, n);
        TRY(rt_op_conv_backward_filter(d, &s, x, dy, tensor(m, g->t_weight, grads)));
        TRY(check_tensor_grad(m, g->t_weight));
        if (g->t_bias >= 0) {
            TRY(rt_op_conv_backward_bias(d, &s, dy, tensor(m, g->t_bias, grads)));
            TRY(check_tensor_grad(m, g->t_bias));
        }
        if (!wants)
            return RT_OK;
        TRY(rt_op_conv_backward_data(d, &s, dy, tensor(m, g->t_weight, m->state),
                                     grad_of(m, g->in[0]),
                                     np->input[0] == GA_ACCUM ? 1.0f : 0.0f));
        return check_input_grad(m, i, 0, n);
    }
    case OP_BATCHNORM: {
        rt_batchnorm bn = bn_of(m, i, n);
        /* the input's gradient is needed only where parameters come before */
        float *dx = wants ? target(m, i, 0) : m->temp;
        TRY(rt_op_batchnorm_backward(d, &bn, x, y, dy, dx, tensor(m, g->t_weight, grads),
                                     tensor(m, g->t_bias, grads)));
        TRY(check_tensor_grad(m, g->t_weight));
        TRY(check_tensor_grad(m, g->t_bias));
        return wants ? finish_input(m, i, 0, n) : RT_OK;
    }
    case OP_RELU:
        if (!wants)
            return RT_OK;
        TRY(rt_op_relu_backward(d, (size_t)n * g->size, y, dy, target(m, i, 0)));
        return finish_input(m, i, 0, n);
    case OP_MAXPOOL:
        if (!wants)
            return RT_OK;
        if (is_pool2(g)) {
            TRY(rt_op_maxpool2_backward(d, n, c, h, w, g->relu, x, y, dy, target(m, i, 0)));
        } else {
            rt_pool_shape s = pool_shape(m, i, n);
            TRY(rt_op_maxpool_backward(d, &s, x, dy, target(m, i, 0)));
        }
        return finish_input(m, i, 0, n);
    case OP_AVGPOOL:
        if (!wants)
            return RT_OK;
        TRY(rt_op_avgpool_backward(d, n, c, h * w, dy, target(m, i, 0)));
        return finish_input(m, i, 0, n);
    case OP_FLATTEN:
        return pass_on(m, i, 0, dy, n);
    case OP_LINEAR: {
        int in_features = (int)node(m, g->in[0])->size;
        TRY(rt_op_linear_backward_params(d, n, in_features, g->k, x, dy,
                                         tensor(m, g->t_weight, grads),
                                         tensor(m, g->t_bias, grads)));
        TRY(check_tensor_grad(m, g->t_weight));
        TRY(check_tensor_grad(m, g->t_bias));
        if (!wants)
            return RT_OK;
        TRY(rt_op_linear_backward_data(d, n, in_features, g->k, dy,
                                       tensor(m, g->t_weight, m->state), target(m, i, 0)));
        return finish_input(m, i, 0, n);
    }
    case OP_ADD: {
        size_t count = (size_t)n * g->size;
        if (np->mask_into >= 0) {
            /* the seed's scheme: the mask lands in the shortcut's slot,
             * which the other input shares */
            int jx = np->mask_into;
            TRY(rt_op_add_relu_backward(d, count, y, dy, grad_of(m, g->in[jx])));
            TRY(check_input_grad(m, i, jx, n));
            return check_input_grad(m, i, 1 - jx, n);
        }
        if (g->relu)
            TRY(rt_op_add_relu_backward(d, count, y, dy, dy));
        for (int j = 0; j < 2; j++)
            if (np->input[j] != GA_NONE)
                TRY(pass_on(m, i, j, dy, n));
        return RT_OK;
    }
    }
    return RT_OK;
}

void rt_model_set_batchnorm_sync(rt_model *m, const rt_batchnorm_sync *sync) { m->bn_sync = sync; }

void rt_model_on_gradients_ready(rt_model *m, rt_gradients_ready_fn fn, void *ctx)
{
    m->on_ready = fn;
    m->on_ready_ctx = ctx;
}

rt_status rt_model_backward(rt_model *m, int n)
{
    if (!m->training)
        return rt_error_set(NULL, RT_ERR_USAGE, "model made for evaluation only");
    if (m->check)
        TRY(m->check(m->check_ctx, "the gradient of the loss with respect to the logits",
                     rt_model_dlogits(m), (size_t)n * (size_t)rt_model_classes(m)));
    size_t told = m->flat;
    for (int i = m->net->node_count - 1; i >= 0; i--) {
        if (!m->plan.nodes[i].backward)
            continue;
        TRY(backward_node(m, i, n));
        if (m->on_ready && m->plan.grads_ready[i] < told) {
            told = m->plan.grads_ready[i];
            TRY(m->on_ready(m->on_ready_ctx, told));
        }
    }
    return m->on_ready && told > 0 ? m->on_ready(m->on_ready_ctx, 0) : RT_OK;
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
    const rt_network *net = m->net;
    for (int i = 0; i < rt_network_tensor_count(net) && st == RT_OK; i++) {
        const rt_tensor_info *t = rt_network_tensor(net, i);
        if (t->role == RT_TENSOR_COUNTER)
            continue;
        char what[NET_NAME_MAX + 64];
        snprintf(what, sizeof what, "the %s %s itself",
                 t->role == RT_TENSOR_PARAMETER ? "parameter" : "buffer", t->name);
        st = trace_check(&c, what, (t->role == RT_TENSOR_PARAMETER ? m->state : m->buffers) +
                                       t->offset,
                         t->count);
    }
    if (st == RT_OK)
        st = trace_check(&c, "the input images", m->input, (size_t)n * rt_model_input_size(m));
    m->check = trace_check;
    m->check_ctx = &c;
    /* this rank alone traces: its BatchNorm statistics its own */
    const rt_batchnorm_sync *sync = m->bn_sync;
    rt_gradients_ready_fn on_ready = m->on_ready;
    m->bn_sync = NULL;
    m->on_ready = NULL;
    if (st == RT_OK)
        st = rt_model_forward(m, n, 1);
    if (st == RT_OK)
        st = rt_op_softmax_cross_entropy(m->dev, n, rt_model_classes(m), rt_model_logits(m),
                                         m->labels, rt_model_dlogits(m), state);
    if (st == RT_OK)
        st = rt_model_backward(m, n);
    m->check = NULL;
    m->check_ctx = NULL;
    m->bn_sync = sync;
    m->on_ready = on_ready;
    free(c.host);
    if (st == RT_OK || c.found)
        return RT_OK; /* `where` says what was found, "" for nothing */
    return c.own_error ? st : rt_device_take_error(m->dev, err);
}

rt_status rt_model_predict(rt_model *m, const float *images, int n, float *probabilities,
                           rt_error *err)
{
    if (n < 1)
        return rt_error_set(err, RT_ERR_USAGE, "predict: %d images", n);
    int classes = rt_model_classes(m);
    size_t pixels = rt_model_input_size(m);
    float *logits = malloc((size_t)m->max_batch * (size_t)classes * sizeof *logits);
    if (!logits)
        return rt_error_set(err, RT_ERR_NOMEM, "out of host memory for predictions");
    rt_status st = RT_OK;
    for (int start = 0; start < n && st == RT_OK; start += m->max_batch) {
        int count = n - start < m->max_batch ? n - start : m->max_batch;
        if (rt_device_upload(m->dev, m->input, images + (size_t)start * pixels,
                             (size_t)count * pixels * sizeof(float)) != RT_OK ||
            rt_model_forward(m, count, 0) != RT_OK ||
            rt_device_download(m->dev, logits, rt_model_logits(m),
                               (size_t)count * classes * sizeof(float)) != RT_OK) {
            st = rt_device_take_error(m->dev, err);
            break;
        }
        for (int i = 0; i < count; i++) {
            const float *z = logits + (size_t)i * classes;
            double zmax = z[0], sum = 0.0;
            for (int j = 1; j < classes; j++)
                if (z[j] > zmax)
                    zmax = z[j];
            for (int j = 0; j < classes; j++)
                sum += exp((double)z[j] - zmax);
            for (int j = 0; j < classes; j++)
                probabilities[(size_t)(start + i) * classes + j] =
                    (float)(exp((double)z[j] - zmax) / sum);
        }
    }
    free(logits);
    return st;
}
