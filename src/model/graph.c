/* From a description to a graph: names resolved, layers put in dependency
 * order (a cycle is an error), blocks expanded as torchvision builds them,
 * shapes inferred with every size checked, relus fused into the op before
 * them, and the tensors laid out in state_dict order. */
#include "graph.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Per image, no activation may exceed this many floats (the ops index with
 * 32-bit sizes in places, and a batch multiplies it). */
#define MAX_ACTIVATION ((uint64_t)1 << 30)
/* All parameters and buffers together: 2^34 floats (64 GiB) at most. */
#define MAX_TENSOR_FLOATS ((uint64_t)1 << 34)

typedef struct layer_link {
    int in[2], nin; /* input layers, -1 for the network input */
    int out;        /* the node giving the layer's output, once emitted */
    int consumers;  /* layers taking their input from it */
} layer_link;

typedef struct builder {
    const net_desc *d;
    const char *source;
    rt_error *err;
    rt_network *net;
    layer_link *links;
    int cap;
} builder;

static rt_status nomem(builder *b)
{
    return rt_error_set(b->err, RT_ERR_NOMEM, "%s: out of memory building the network",
                        b->source);
}

static rt_status layer_fail(builder *b, int layer, const char *fmt, ...) RT_PRINTF_LIKE(3, 4);
static rt_status layer_fail(builder *b, int layer, const char *fmt, ...)
{
    char msg[RT_ERROR_MESSAGE_MAX / 2];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    const layer_desc *l = &b->d->layers[layer];
    if (l->named)
        return rt_error_set(b->err, RT_ERR_FORMAT, "%s: layers[%d] (%s \"%s\"): %s", b->source,
                            layer, layer_type_name(l->type), l->name, msg);
    return rt_error_set(b->err, RT_ERR_FORMAT, "%s: layers[%d] (%s): %s", b->source, layer,
                        layer_type_name(l->type), msg);
}

static char *dup_printf(const char *fmt, ...) RT_PRINTF_LIKE(1, 2);
static char *dup_printf(const char *fmt, ...)
{
    char buf[NET_NAME_MAX + 64];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof buf)
        return NULL;
    char *s = malloc((size_t)n + 1);
    if (s)
        memcpy(s, buf, (size_t)n + 1);
    return s;
}

/* ---- shapes ------------------------------------------------------------------ */

typedef struct shape {
    int c, h, w, flat;
} shape;

static shape shape_of(const builder *b, int node)
{
    if (node == NODE_INPUT) {
        shape s = {b->net->input.channels, b->net->input.height, b->net->input.width, 0};
        return s;
    }
    const graph_node *n = &b->net->nodes[node];
    shape s = {n->c, n->h, n->w, n->flat};
    return s;
}

static const char *shape_text(shape s, char *buf, size_t size)
{
    if (s.flat)
        snprintf(buf, size, "%d features", s.c);
    else
        snprintf(buf, size, "%dx%dx%d", s.c, s.h, s.w);
    return buf;
}

static const char *source_name(const builder *b, int node)
{
    return node == NODE_INPUT ? "input" : b->net->nodes[node].name;
}

static rt_status need_image(builder *b, int layer, int in)
{
    shape s = shape_of(b, in);
    if (!s.flat)
        return RT_OK;
    return layer_fail(b, layer, "needs an image (C x H x W), but its input \"%s\" is a feature "
                                "vector of %d values",
                      source_name(b, in), s.c);
}

static rt_status check_size(builder *b, int layer, const char *what, uint64_t c, uint64_t h,
                            uint64_t w)
{
    if (c * h * w <= MAX_ACTIVATION)
        return RT_OK;
    return layer_fail(b, layer, "%s would be %llux%llux%llu = %llu floats per image, more than "
                                "the 2^30 supported",
                      what, (unsigned long long)c, (unsigned long long)h, (unsigned long long)w,
                      (unsigned long long)(c * h * w));
}

/* A window of `kernel` with `pad` over `size`: the output size, or an error
 * when the window does not fit. */
static rt_status window_out(builder *b, int layer, int in, int kernel, int stride, int pad,
                            int *oh, int *ow)
{
    shape s = shape_of(b, in);
    if (s.h + 2 * pad < kernel || s.w + 2 * pad < kernel)
        return layer_fail(b, layer,
                          "its %dx%d kernel is larger than its padded input %dx%d (\"%s\" is "
                          "%dx%d, padding %d)",
                          kernel, kernel, s.h + 2 * pad, s.w + 2 * pad, source_name(b, in), s.h,
                          s.w, pad);
    *oh = (s.h + 2 * pad - kernel) / stride + 1;
    *ow = (s.w + 2 * pad - kernel) / stride + 1;
    return RT_OK;
}

/* ---- emitting nodes ------------------------------------------------------------ */

static int new_node(builder *b, op_kind op, int layer, char *name, int in0, int in1)
{
    rt_network *net = b->net;
    if (!name)
        return -1;
    if (net->node_count == b->cap) {
        int cap = b->cap ? 2 * b->cap : 64;
        graph_node *grown = realloc(net->nodes, (size_t)cap * sizeof *grown);
        if (!grown) {
            free(name);
            return -1;
        }
        net->nodes = grown;
        b->cap = cap;
    }
    graph_node *n = &net->nodes[net->node_count];
    memset(n, 0, sizeof *n);
    n->op = op;
    n->name = name;
    n->layer = layer;
    n->in[0] = in0;
    n->in[1] = in1;
    n->nin = in1 == -2 ? 1 : 2;
    n->t_weight = n->t_bias = n->t_mean = n->t_var = n->t_count = -1;
    return net->node_count++;
}

static void set_out(graph_node *n, int c, int h, int w, int flat)
{
    n->c = c, n->h = h, n->w = w, n->flat = flat;
    n->size = (size_t)c * (size_t)h * (size_t)w;
}

static rt_status emit_conv(builder *b, int layer, char *name, int in, int k, int kernel,
                           int stride, int pad, int bias, int *out)
{
    rt_status st = need_image(b, layer, in);
    int oh, ow;
    if (st == RT_OK)
        st = window_out(b, layer, in, kernel, stride, pad, &oh, &ow);
    if (st == RT_OK)
        st = check_size(b, layer, "its output", (uint64_t)k, (uint64_t)oh, (uint64_t)ow);
    if (st != RT_OK) {
        free(name);
        return st;
    }
    shape s = shape_of(b, in);
    int i = new_node(b, OP_CONV, layer, name, in, -2);
    if (i < 0)
        return nomem(b);
    graph_node *n = &b->net->nodes[i];
    n->k = k, n->kernel = kernel, n->stride = stride, n->pad = pad, n->bias = bias;
    set_out(n, k, oh, ow, 0);
    n->flops = 2.0 * k * s.c * kernel * kernel * (double)oh * ow;
    *out = i;
    return RT_OK;
}

static rt_status emit_bn(builder *b, int layer, char *name, int in, float eps, float momentum,
                         int relu, int *out)
{
    rt_status st = need_image(b, layer, in);
    if (st != RT_OK) {
        free(name);
        return st;
    }
    shape s = shape_of(b, in);
    int i = new_node(b, OP_BATCHNORM, layer, name, in, -2);
    if (i < 0)
        return nomem(b);
    graph_node *n = &b->net->nodes[i];
    n->eps = eps, n->momentum = momentum, n->relu = relu;
    set_out(n, s.c, s.h, s.w, 0);
    *out = i;
    return RT_OK;
}

static rt_status emit_add(builder *b, int layer, char *name, int a, int c, int relu, int *out)
{
    shape sa = shape_of(b, a), sc = shape_of(b, c);
    if (sa.c != sc.c || sa.h != sc.h || sa.w != sc.w || sa.flat != sc.flat) {
        free(name);
        char ta[64], tc[64];
        return layer_fail(b, layer, "it adds \"%s\" (%s) and \"%s\" (%s), which differ in shape",
                          source_name(b, a), shape_text(sa, ta, sizeof ta), source_name(b, c),
                          shape_text(sc, tc, sizeof tc));
    }
    int i = new_node(b, OP_ADD, layer, name, a, c);
    if (i < 0)
        return nomem(b);
    graph_node *n = &b->net->nodes[i];
    n->relu = relu;
    set_out(n, sa.c, sa.h, sa.w, sa.flat);
    *out = i;
    return RT_OK;
}

#define TRY(call)                  \
    do {                           \
        rt_status st_ = (call);    \
        if (st_ != RT_OK)          \
            return st_;            \
    } while (0)

/* torchvision's BasicBlock (expansion 1) and Bottleneck (expansion 4, the
 * stride on the 3x3 convolution): convolutions without bias, BatchNorm
 * (eps 1e-5, momentum 0.1) with the relu fused, the projection shortcut
 * `downsample` (1x1 convolution with the stride, then BatchNorm) when
 * asked or, by default, when the shape changes; the join adds and relus. */
static rt_status emit_block(builder *b, int layer, int in, int *out)
{
    const layer_desc *l = &b->d->layers[layer];
    const char *bn = l->name;
    int bottleneck = l->type == LT_BOTTLENECK;
    int planes = l->planes, width = planes, expanded = bottleneck ? 4 * planes : planes;
    TRY(need_image(b, layer, in));
    int c_in = shape_of(b, in).c;
    int downsample = l->downsample < 0 ? (l->stride != 1 || c_in != expanded) : l->downsample;
    int x = in, y;
    if (bottleneck) {
        TRY(emit_conv(b, layer, dup_printf("%s.conv1", bn), x, width, 1, 1, 0, 0, &y));
        TRY(emit_bn(b, layer, dup_printf("%s.bn1", bn), y, 1e-5f, 0.1f, 1, &y));
        TRY(emit_conv(b, layer, dup_printf("%s.conv2", bn), y, width, 3, l->stride, 1, 0, &y));
        TRY(emit_bn(b, layer, dup_printf("%s.bn2", bn), y, 1e-5f, 0.1f, 1, &y));
        TRY(emit_conv(b, layer, dup_printf("%s.conv3", bn), y, expanded, 1, 1, 0, 0, &y));
        TRY(emit_bn(b, layer, dup_printf("%s.bn3", bn), y, 1e-5f, 0.1f, 0, &y));
    } else {
        TRY(emit_conv(b, layer, dup_printf("%s.conv1", bn), x, planes, 3, l->stride, 1, 0, &y));
        TRY(emit_bn(b, layer, dup_printf("%s.bn1", bn), y, 1e-5f, 0.1f, 1, &y));
        TRY(emit_conv(b, layer, dup_printf("%s.conv2", bn), y, planes, 3, 1, 1, 0, &y));
        TRY(emit_bn(b, layer, dup_printf("%s.bn2", bn), y, 1e-5f, 0.1f, 0, &y));
    }
    int shortcut = x;
    if (downsample) {
        TRY(emit_conv(b, layer, dup_printf("%s.downsample.0", bn), x, expanded, 1, l->stride, 0,
                      0, &shortcut));
        TRY(emit_bn(b, layer, dup_printf("%s.downsample.1", bn), shortcut, 1e-5f, 0.1f, 0,
                    &shortcut));
    } else {
        shape sx = shape_of(b, x), sy = shape_of(b, y);
        if (sx.c != sy.c || sx.h != sy.h || sx.w != sy.w) {
            char tx[64], ty[64];
            return layer_fail(b, layer,
                              "without \"downsample\" its input (%s) cannot be added to its "
                              "output (%s)",
                              shape_text(sx, tx, sizeof tx), shape_text(sy, ty, sizeof ty));
        }
    }
    return emit_add(b, layer, dup_printf("%s", bn), y, shortcut, 1, out);
}

static rt_status emit_layer(builder *b, int layer)
{
    const layer_desc *l = &b->d->layers[layer];
    layer_link *link = &b->links[layer];
    int in = link->in[0] < 0 ? NODE_INPUT : b->links[link->in[0]].out;
    int out = -1;
    switch (l->type) {
    case LT_CONV:
        TRY(emit_conv(b, layer, dup_printf("%s", l->name), in, l->out_channels, l->kernel,
                      l->stride, l->padding, l->bias, &out));
        break;
    case LT_BATCHNORM:
        TRY(emit_bn(b, layer, dup_printf("%s", l->name), in, l->eps, l->momentum, 0, &out));
        break;
    case LT_RELU: {
        shape s = shape_of(b, in);
        if ((out = new_node(b, OP_RELU, layer, dup_printf("%s", l->name), in, -2)) < 0)
            return nomem(b);
        set_out(&b->net->nodes[out], s.c, s.h, s.w, s.flat);
        break;
    }
    case LT_MAXPOOL: {
        int oh, ow;
        TRY(need_image(b, layer, in));
        TRY(window_out(b, layer, in, l->kernel, l->stride, l->padding, &oh, &ow));
        shape s = shape_of(b, in);
        if ((out = new_node(b, OP_MAXPOOL, layer, dup_printf("%s", l->name), in, -2)) < 0)
            return nomem(b);
        graph_node *n = &b->net->nodes[out];
        n->kernel = l->kernel, n->stride = l->stride, n->pad = l->padding;
        set_out(n, s.c, oh, ow, 0);
        break;
    }
    case LT_AVGPOOL: {
        TRY(need_image(b, layer, in));
        shape s = shape_of(b, in);
        if ((out = new_node(b, OP_AVGPOOL, layer, dup_printf("%s", l->name), in, -2)) < 0)
            return nomem(b);
        set_out(&b->net->nodes[out], s.c, 1, 1, 0);
        break;
    }
    case LT_FLATTEN: {
        shape s = shape_of(b, in);
        if ((out = new_node(b, OP_FLATTEN, layer, dup_printf("%s", l->name), in, -2)) < 0)
            return nomem(b);
        set_out(&b->net->nodes[out], s.c * s.h * s.w, 1, 1, 1);
        break;
    }
    case LT_LINEAR: {
        shape s = shape_of(b, in);
        if (!s.flat) {
            char t[64];
            return layer_fail(b, layer, "takes a feature vector, but its input \"%s\" is an image "
                                        "(%s): put a flatten before it",
                              source_name(b, in), shape_text(s, t, sizeof t));
        }
        int features = l->out_features ? l->out_features : b->net->input.classes;
        if ((out = new_node(b, OP_LINEAR, layer, dup_printf("%s", l->name), in, -2)) < 0)
            return nomem(b);
        graph_node *n = &b->net->nodes[out];
        n->k = features, n->bias = l->bias;
        set_out(n, features, 1, 1, 1);
        n->flops = 2.0 * s.c * features;
        break;
    }
    case LT_ADD: {
        int second = link->in[1] < 0 ? NODE_INPUT : b->links[link->in[1]].out;
        TRY(emit_add(b, layer, dup_printf("%s", l->name), in, second, l->relu, &out));
        break;
    }
    case LT_BASIC_BLOCK:
    case LT_BOTTLENECK:
        TRY(emit_block(b, layer, in, &out));
        break;
    default:
        return layer_fail(b, layer, "unsupported layer type");
    }
    link->out = out;
    return RT_OK;
}

/* ---- names, order ------------------------------------------------------------- */

typedef struct name_entry {
    const char *name;
    int index;
} name_entry;

static int cmp_name(const void *a, const void *b)
{
    return strcmp(((const name_entry *)a)->name, ((const name_entry *)b)->name);
}

static int find_name(const name_entry *sorted, int count, const char *name)
{
    name_entry key = {name, 0};
    const name_entry *hit = bsearch(&key, sorted, (size_t)count, sizeof key, cmp_name);
    return hit ? hit->index : -1;
}

/* Inputs of every layer, by index; duplicate and unknown names fail. */
static rt_status resolve_inputs(builder *b, name_entry *sorted)
{
    const net_desc *d = b->d;
    for (int i = 0; i < d->count; i++) {
        sorted[i].name = d->layers[i].name;
        sorted[i].index = i;
    }
    qsort(sorted, (size_t)d->count, sizeof *sorted, cmp_name);
    for (int i = 1; i < d->count; i++)
        if (!strcmp(sorted[i - 1].name, sorted[i].name)) {
            int a = sorted[i - 1].index, c = sorted[i].index;
            return layer_fail(b, a > c ? a : c, "layers[%d] has the same name",
                              a > c ? c : a);
        }
    for (int i = 0; i < d->count; i++) {
        const layer_desc *l = &d->layers[i];
        layer_link *k = &b->links[i];
        k->out = -1;
        if (l->nfrom == 0) {
            k->nin = 1;
            k->in[0] = i - 1; /* the layer listed before; -1 is the network input */
            continue;
        }
        k->nin = l->nfrom;
        for (int j = 0; j < l->nfrom; j++) {
            if (!strcmp(l->from[j], "input")) {
                k->in[j] = -1;
                continue;
            }
            int at = find_name(sorted, d->count, l->from[j]);
            if (at < 0)
                return layer_fail(b, i, "takes its input from \"%s\", which is not a layer of "
                                        "the network",
                                  l->from[j]);
            if (at == i)
                return layer_fail(b, i, "takes its input from itself");
            k->in[j] = at;
        }
    }
    return RT_OK;
}

/* Dependency order, the listing order among layers that are ready at the
 * same time; a cycle is reported with its layers. */
static rt_status order_layers(builder *b, int *order)
{
    const net_desc *d = b->d;
    char *placed = calloc((size_t)d->count, 1);
    if (!placed)
        return nomem(b);
    int n = 0, scan = 0;
    while (n < d->count) {
        int found = -1;
        for (int t = 0; t < d->count && found < 0; t++) {
            int i = (scan + t) % d->count;
            if (placed[i])
                continue;
            int ready = 1;
            for (int j = 0; j < b->links[i].nin; j++)
                ready &= b->links[i].in[j] < 0 || placed[b->links[i].in[j]];
            if (ready)
                found = i;
        }
        if (found < 0)
            break;
        placed[found] = 1;
        order[n++] = found;
        /* restart from the first layer not yet placed, to keep listing order */
        scan = 0;
        while (scan < d->count && placed[scan])
            scan++;
    }
    if (n == d->count) {
        free(placed);
        return RT_OK;
    }
    /* a cycle: walk inputs among the layers left until one repeats */
    int start = 0;
    while (placed[start])
        start++;
    int *seen = malloc((size_t)d->count * sizeof *seen);
    if (!seen) {
        free(placed);
        return nomem(b);
    }
    for (int i = 0; i < d->count; i++)
        seen[i] = -1;
    int at = start, step = 0;
    while (seen[at] < 0) {
        seen[at] = step++;
        int next = -1;
        for (int j = 0; j < b->links[at].nin && next < 0; j++)
            if (b->links[at].in[j] >= 0 && !placed[b->links[at].in[j]])
                next = b->links[at].in[j];
        at = next;
    }
    char path[512] = "";
    int first = at, shown = 0;
    do {
        size_t len = strlen(path);
        if (shown++ == 8) {
            snprintf(path + len, sizeof path - len, " <- ...");
            break;
        }
        snprintf(path + len, sizeof path - len, "%s\"%s\"", len ? " <- " : "",
                 d->layers[at].name);
        int next = -1;
        for (int j = 0; j < b->links[at].nin && next < 0; j++)
            if (b->links[at].in[j] >= 0 && !placed[b->links[at].in[j]] &&
                seen[b->links[at].in[j]] >= 0)
                next = b->links[at].in[j];
        at = next;
    } while (at != first && at >= 0);
    size_t len = strlen(path);
    snprintf(path + len, sizeof path - len, " <- \"%s\"", d->layers[first].name);
    free(seen);
    free(placed);
    return rt_error_set(b->err, RT_ERR_FORMAT,
                        "%s: the layers form a cycle, each taking its input from the next: %s",
                        b->source, path);
}

/* ---- fusing relus ------------------------------------------------------------- */

static int consumers_of(const rt_network *net, int node)
{
    int count = 0;
    for (int i = 0; i < net->node_count; i++)
        for (int j = 0; j < net->nodes[i].nin; j++)
            count += net->nodes[i].in[j] == node;
    return count;
}

/* relu(batchnorm), relu(maxpool 2x2/2/0) and relu(add) become one op when
 * nothing else reads the value before the relu. */
static void fuse_relus(rt_network *net)
{
    int *remap = malloc((size_t)net->node_count * sizeof *remap);
    if (!remap)
        return; /* unfused is correct, only slower */
    for (int i = 0; i < net->node_count; i++)
        remap[i] = i;
    for (int i = 0; i < net->node_count; i++) {
        graph_node *r = &net->nodes[i];
        int p = r->in[0];
        if (r->op != OP_RELU || p < 0)
            continue;
        graph_node *prev = &net->nodes[p];
        int fusable = prev->op == OP_BATCHNORM || prev->op == OP_ADD ||
                      (prev->op == OP_MAXPOOL && prev->kernel == 2 && prev->stride == 2 &&
                       prev->pad == 0);
        if (!fusable || prev->relu || consumers_of(net, p) != 1 || net->output == p)
            continue;
        prev->relu = 1;
        remap[i] = p;
        for (int k = 0; k < net->node_count; k++)
            for (int j = 0; j < net->nodes[k].nin; j++)
                if (net->nodes[k].in[j] == i)
                    net->nodes[k].in[j] = p;
        if (net->output == i)
            net->output = p;
        r->op = OP_FLATTEN; /* marked for removal below */
        r->nin = -1;
    }
    /* drop the fused relus, renumbering the rest */
    int kept = 0;
    for (int i = 0; i < net->node_count; i++) {
        if (net->nodes[i].nin == -1) {
            free(net->nodes[i].name);
            remap[i] = -1;
            continue;
        }
        remap[i] = kept;
        net->nodes[kept++] = net->nodes[i];
    }
    for (int i = 0; i < kept; i++)
        for (int j = 0; j < net->nodes[i].nin; j++)
            if (net->nodes[i].in[j] >= 0)
                net->nodes[i].in[j] = remap[net->nodes[i].in[j]];
    net->output = remap[net->output];
    net->node_count = kept;
    free(remap);
}

/* ---- tensors ------------------------------------------------------------------- */

static rt_status add_tensor(builder *b, const graph_node *n, const char *suffix, int ndim,
                            const int *shape, rt_tensor_role role, rt_tensor_init init,
                            float scale, int *index)
{
    rt_network *net = b->net;
    rt_tensor_info *t = &net->tensors[net->tensor_count];
    memset(t, 0, sizeof *t);
    char *name = dup_printf("%s.%s", n->name, suffix);
    if (!name)
        return nomem(b);
    t->name = name;
    t->ndim = ndim;
    t->count = 1;
    for (int i = 0; i < ndim; i++) {
        t->shape[i] = shape[i];
        t->count *= (size_t)shape[i];
    }
    t->role = role;
    t->init = init;
    t->init_scale = scale;
    size_t aligned = (t->count + 63) / 64 * 64;
    if (role == RT_TENSOR_PARAMETER) {
        t->offset = net->params_size;
        net->params_size += aligned;
        net->parameter_count += t->count;
    } else if (role == RT_TENSOR_BUFFER) {
        t->offset = net->buffers_size;
        net->buffers_size += aligned;
    } else {
        t->offset = net->counter_count++;
    }
    if ((uint64_t)net->params_size + net->buffers_size > MAX_TENSOR_FLOATS) {
        /* not yet counted in tensor_count, so the network's cleanup would miss it */
        free(name);
        t->name = NULL;
        return layer_fail(b, n->layer, "the network's parameters pass 2^34 floats (64 GiB)");
    }
    *index = net->tensor_count++;
    return RT_OK;
}

static rt_status node_tensors(builder *b, graph_node *n)
{
    net_init scheme = b->d->init;
    if (n->op == OP_CONV) {
        shape in = shape_of(b, n->in[0]);
        int w[4] = {n->k, in.c, n->kernel, n->kernel}, bias[1] = {n->k};
        double fan_in = (double)in.c * n->kernel * n->kernel;
        double fan_out = (double)n->k * n->kernel * n->kernel;
        /* in float, as the seed's first implementation drew it */
        float uniform = 1.0f / sqrtf((float)fan_in);
        if (scheme == INIT_TORCHVISION)
            TRY(add_tensor(b, n, "weight", 4, w, RT_TENSOR_PARAMETER, RT_INIT_NORMAL,
                           (float)sqrt(2.0 / fan_out), &n->t_weight));
        else
            TRY(add_tensor(b, n, "weight", 4, w, RT_TENSOR_PARAMETER, RT_INIT_UNIFORM, uniform,
                           &n->t_weight));
        if (n->bias)
            TRY(add_tensor(b, n, "bias", 1, bias, RT_TENSOR_PARAMETER, RT_INIT_UNIFORM, uniform,
                           &n->t_bias));
    } else if (n->op == OP_LINEAR) {
        shape in = shape_of(b, n->in[0]);
        int w[2] = {n->k, in.c}, bias[1] = {n->k};
        float uniform = 1.0f / sqrtf((float)in.c);
        TRY(add_tensor(b, n, "weight", 2, w, RT_TENSOR_PARAMETER, RT_INIT_UNIFORM, uniform,
                       &n->t_weight));
        if (n->bias)
            TRY(add_tensor(b, n, "bias", 1, bias, RT_TENSOR_PARAMETER, RT_INIT_UNIFORM, uniform,
                           &n->t_bias));
    } else if (n->op == OP_BATCHNORM) {
        int c[1] = {n->c};
        TRY(add_tensor(b, n, "weight", 1, c, RT_TENSOR_PARAMETER, RT_INIT_ONES, 0, &n->t_weight));
        TRY(add_tensor(b, n, "bias", 1, c, RT_TENSOR_PARAMETER, RT_INIT_ZEROS, 0, &n->t_bias));
        TRY(add_tensor(b, n, "running_mean", 1, c, RT_TENSOR_BUFFER, RT_INIT_ZEROS, 0,
                       &n->t_mean));
        TRY(add_tensor(b, n, "running_var", 1, c, RT_TENSOR_BUFFER, RT_INIT_ONES, 0, &n->t_var));
        TRY(add_tensor(b, n, "num_batches_tracked", 0, c, RT_TENSOR_COUNTER, RT_INIT_ZEROS, 0,
                       &n->t_count));
        n->stats_offset = b->net->stats_size;
        b->net->stats_size += 2 * (((size_t)n->c + 63) / 64 * 64);
    }
    return RT_OK;
}

static int cmp_tensor_name(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Tensors in state_dict order: layers as listed, each layer's modules in
 * the order torchvision registers them. */
static rt_status lay_out_tensors(builder *b)
{
    rt_network *net = b->net;
    const net_desc *d = b->d;
    net->tensors = calloc((size_t)net->node_count * 5 + 1, sizeof *net->tensors);
    int *start = calloc((size_t)d->count + 1, sizeof *start);
    int *by_layer = malloc(((size_t)net->node_count + 1) * sizeof *by_layer);
    if (!net->tensors || !start || !by_layer) {
        free(start);
        free(by_layer);
        return nomem(b);
    }
    for (int i = 0; i < net->node_count; i++)
        start[net->nodes[i].layer + 1]++;
    for (int l = 0; l < d->count; l++)
        start[l + 1] += start[l];
    int *fill = calloc((size_t)d->count + 1, sizeof *fill);
    if (!fill) {
        free(start);
        free(by_layer);
        return nomem(b);
    }
    for (int i = 0; i < net->node_count; i++) {
        int l = net->nodes[i].layer;
        by_layer[start[l] + fill[l]++] = i;
    }
    rt_status st = RT_OK;
    for (int k = 0; k < net->node_count && st == RT_OK; k++)
        st = node_tensors(b, &net->nodes[by_layer[k]]);
    free(fill);
    free(start);
    free(by_layer);
    if (st != RT_OK)
        return st;
    /* names must be unique (a block's "layer1.0.conv1" against a layer so named) */
    const char **names = malloc(((size_t)net->tensor_count + 1) * sizeof *names);
    if (!names)
        return nomem(b);
    for (int i = 0; i < net->tensor_count; i++)
        names[i] = net->tensors[i].name;
    qsort(names, (size_t)net->tensor_count, sizeof *names, cmp_tensor_name);
    for (int i = 1; i < net->tensor_count; i++)
        if (!strcmp(names[i - 1], names[i])) {
            st = rt_error_set(b->err, RT_ERR_FORMAT,
                              "%s: two tensors would be named \"%s\" (rename one of the layers)",
                              b->source, names[i]);
            break;
        }
    free(names);
    return st;
}

/* ---- the whole build -------------------------------------------------------------- */

static rt_status pick_input(builder *b, const rt_network_input *data)
{
    const net_desc *d = b->d;
    rt_network_input *in = &b->net->input;
    int pinned = d->channels > 0;
    const int given[4] = {d->channels, d->height, d->width, d->classes};
    const int have[4] = {data ? data->channels : 0, data ? data->height : 0,
                         data ? data->width : 0, data ? data->classes : 0};
    int *dst[4] = {&in->channels, &in->height, &in->width, &in->classes};
    static const char *const what[4] = {"channels", "height", "width", "classes"};
    for (int i = 0; i < 4; i++) {
        int pin = i < 3 ? pinned : d->classes > 0;
        if (pin && have[i] && have[i] != given[i])
            return rt_error_set(b->err, RT_ERR_USAGE,
                                "%s: the network takes %s %d, the data has %d", b->source,
                                what[i], given[i], have[i]);
        *dst[i] = pin ? given[i] : have[i];
        if (*dst[i] <= 0)
            return rt_error_set(b->err, RT_ERR_USAGE,
                                "%s: the input's %s are not known (the description gives no "
                                "\"%s\" and no data set says it)",
                                b->source, what[i], i < 3 ? "input" : "classes");
    }
    if (in->channels > 65536 || in->height > 65536 || in->width > 65536 ||
        (uint64_t)in->channels * in->height * in->width > MAX_ACTIVATION)
        return rt_error_set(b->err, RT_ERR_USAGE, "%s: an input of %dx%dx%d is too large",
                            b->source, in->channels, in->height, in->width);
    return RT_OK;
}

static rt_status build(builder *b, const rt_network_input *data)
{
    const net_desc *d = b->d;
    rt_network *net = b->net;
    TRY(pick_input(b, data));
    b->links = calloc((size_t)d->count, sizeof *b->links);
    name_entry *sorted = malloc((size_t)d->count * sizeof *sorted);
    int *order = malloc((size_t)d->count * sizeof *order);
    rt_status st = b->links && sorted && order ? RT_OK : nomem(b);
    if (st == RT_OK)
        st = resolve_inputs(b, sorted);
    if (st == RT_OK)
        st = order_layers(b, order);
    for (int k = 0; k < d->count && st == RT_OK; k++)
        st = emit_layer(b, order[k]);
    int out_layer = d->count - 1;
    if (st == RT_OK && d->output) {
        out_layer = find_name(sorted, d->count, d->output);
        if (out_layer < 0)
            st = rt_error_set(b->err, RT_ERR_FORMAT,
                              "%s: \"output\" names \"%s\", which is not a layer of the network",
                              b->source, d->output);
    }
    free(sorted);
    free(order);
    if (st != RT_OK)
        return st;
    for (int i = 0; i < d->count; i++)
        for (int j = 0; j < b->links[i].nin; j++)
            if (b->links[i].in[j] >= 0)
                b->links[b->links[i].in[j]].consumers++;
    for (int i = 0; i < d->count; i++)
        if (i != out_layer && b->links[i].consumers == 0)
            return layer_fail(b, i, "its output is used by no layer (and it is not the "
                                    "network's output)");
    net->output = b->links[out_layer].out;
    const graph_node *o = &net->nodes[net->output];
    if (!o->flat || (int)o->size != net->input.classes) {
        char t[64];
        shape so = {o->c, o->h, o->w, o->flat};
        return layer_fail(b, out_layer,
                          "the network's output gives %s per image; a classifier of %d "
                          "classes needs %d features (end with flatten and linear)",
                          shape_text(so, t, sizeof t), net->input.classes, net->input.classes);
    }
    fuse_relus(net);
    TRY(lay_out_tensors(b));
    for (int i = 0; i < net->node_count; i++)
        net->flops += net->nodes[i].flops;
    return RT_OK;
}

rt_status graph_build(const net_desc *d, const rt_network_input *data, const char *source,
                      rt_network *net, rt_error *err)
{
    memset(net, 0, sizeof *net);
    builder b = {d, source, err, net, NULL, 0};
    rt_status st = build(&b, data);
    free(b.links);
    if (st == RT_OK) {
        net->name = dup_printf("%s", d->name);
        net->json = net_desc_write(d, net->input.channels, net->input.height, net->input.width,
                                   net->input.classes);
        if (!net->name || !net->json)
            st = nomem(&b);
    }
    if (st != RT_OK)
        graph_free(net);
    return st;
}

void graph_free(rt_network *net)
{
    for (int i = 0; i < net->node_count; i++)
        free(net->nodes[i].name);
    free(net->nodes);
    for (int i = 0; i < net->tensor_count; i++)
        free((char *)net->tensors[i].name);
    free(net->tensors);
    free(net->json);
    free(net->name);
    memset(net, 0, sizeof *net);
}

void graph_input_shape(const rt_network *net, int i, int *c, int *h, int *w)
{
    int in = net->nodes[i].in[0];
    if (in == NODE_INPUT) {
        *c = net->input.channels, *h = net->input.height, *w = net->input.width;
    } else {
        *c = net->nodes[in].c, *h = net->nodes[in].h, *w = net->nodes[in].w;
    }
}
