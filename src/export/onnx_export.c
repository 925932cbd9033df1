/* A network of the family as an ONNX model (opset 17, IR version 8), the
 * records encoded by protobuf-c from onnx.proto (a subset of ONNX's own).
 *
 * The graph's ops map one to one: Conv (bias when the layer has one),
 * BatchNormalization in inference form (the running statistics), Relu
 * after every op with a fused relu, MaxPool, GlobalAveragePool, Flatten,
 * Gemm (transB = 1, as nn.Linear) and Add. The input is `input`
 * [N, C, H, W] with a symbolic batch N; the output is `logits` [N, classes].
 * Every allocation of one export goes in an arena freed at the end. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../io/atomic_file.h"
#include "../model/graph.h"
#include "onnx.pb-c.h"
#include "resnet/export.h"

#define ONNX_OPSET 17
#define ONNX_IR_VERSION 8

typedef struct arena {
    void **blocks;
    size_t count, cap;
    int failed;
} arena;

static void *arena_alloc(arena *a, size_t bytes)
{
    if (a->failed)
        return NULL;
    if (a->count == a->cap) {
        size_t cap = a->cap ? 2 * a->cap : 256;
        void **b = realloc(a->blocks, cap * sizeof *b);
        if (!b) {
            a->failed = 1;
            return NULL;
        }
        a->blocks = b;
        a->cap = cap;
    }
    void *p = calloc(1, bytes ? bytes : 1);
    if (!p) {
        a->failed = 1;
        return NULL;
    }
    a->blocks[a->count++] = p;
    return p;
}

static void arena_free(arena *a)
{
    for (size_t i = 0; i < a->count; i++)
        free(a->blocks[i]);
    free(a->blocks);
}

static char *arena_printf(arena *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *s = n >= 0 ? arena_alloc(a, (size_t)n + 1) : NULL;
    if (!s)
        return NULL;
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return s;
}

/* The graph being written: its nodes and initialisers grow as ops are added. */
typedef struct onnx_builder {
    arena mem;
    Onnx__NodeProto **nodes;
    size_t node_count, node_cap;
    Onnx__TensorProto **inits;
    size_t init_count, init_cap;
    char **outputs; /* per graph node: the name of the value it produces */
} onnx_builder;

static int grow(arena *a, void ***list, size_t *count, size_t *cap)
{
    if (*count < *cap)
        return 1;
    size_t n = *cap ? 2 * *cap : 64;
    void **fresh = arena_alloc(a, n * sizeof *fresh);
    if (!fresh)
        return 0;
    if (*count)
        memcpy(fresh, *list, *count * sizeof *fresh);
    *list = fresh;
    *cap = n;
    return 1;
}

static Onnx__AttributeProto *attr_ints(onnx_builder *b, const char *name, int count, int value)
{
    Onnx__AttributeProto *at = arena_alloc(&b->mem, sizeof *at);
    int64_t *v = arena_alloc(&b->mem, (size_t)count * sizeof *v);
    if (!at || !v)
        return NULL;
    onnx__attribute_proto__init(at);
    for (int i = 0; i < count; i++)
        v[i] = value;
    at->name = (char *)name;
    at->has_type = 1;
    at->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS;
    at->n_ints = (size_t)count;
    at->ints = v;
    return at;
}

static Onnx__AttributeProto *attr_int(onnx_builder *b, const char *name, int64_t value)
{
    Onnx__AttributeProto *at = arena_alloc(&b->mem, sizeof *at);
    if (!at)
        return NULL;
    onnx__attribute_proto__init(at);
    at->name = (char *)name;
    at->has_type = 1;
    at->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT;
    at->has_i = 1;
    at->i = value;
    return at;
}

static Onnx__AttributeProto *attr_float(onnx_builder *b, const char *name, float value)
{
    Onnx__AttributeProto *at = arena_alloc(&b->mem, sizeof *at);
    if (!at)
        return NULL;
    onnx__attribute_proto__init(at);
    at->name = (char *)name;
    at->has_type = 1;
    at->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT;
    at->has_f = 1;
    at->f = value;
    return at;
}

/* Adds a node op_type(inputs) -> output with up to 4 attributes (NULL ends). */
static int add_node(onnx_builder *b, const char *op_type, const char *name, char **inputs,
                    int nin, char *output, Onnx__AttributeProto *a0, Onnx__AttributeProto *a1,
                    Onnx__AttributeProto *a2, Onnx__AttributeProto *a3)
{
    if (!grow(&b->mem, (void ***)&b->nodes, &b->node_count, &b->node_cap))
        return 0;
    Onnx__NodeProto *n = arena_alloc(&b->mem, sizeof *n);
    char **in = arena_alloc(&b->mem, (size_t)nin * sizeof *in);
    char **out = arena_alloc(&b->mem, sizeof *out);
    Onnx__AttributeProto **attrs = arena_alloc(&b->mem, 4 * sizeof *attrs);
    if (!n || !in || !out || !attrs || !output)
        return 0;
    onnx__node_proto__init(n);
    memcpy(in, inputs, (size_t)nin * sizeof *in);
    out[0] = output;
    n->op_type = (char *)op_type;
    n->name = (char *)name;
    n->n_input = (size_t)nin;
    n->input = in;
    n->n_output = 1;
    n->output = out;
    Onnx__AttributeProto *given[4] = {a0, a1, a2, a3};
    for (int i = 0; i < 4 && given[i]; i++)
        attrs[n->n_attribute++] = given[i];
    n->attribute = attrs;
    b->nodes[b->node_count++] = n;
    return 1;
}

/* An initialiser holding one state_dict tensor; returns its name. */
static char *add_tensor(onnx_builder *b, const rt_network *net, int index, const float *params,
                        const float *buffers)
{
    const rt_tensor_info *t = rt_network_tensor(net, index);
    if (!grow(&b->mem, (void ***)&b->inits, &b->init_count, &b->init_cap))
        return NULL;
    Onnx__TensorProto *tp = arena_alloc(&b->mem, sizeof *tp);
    int64_t *dims = arena_alloc(&b->mem, 4 * sizeof *dims);
    if (!tp || !dims)
        return NULL;
    onnx__tensor_proto__init(tp);
    for (int d = 0; d < t->ndim; d++)
        dims[d] = t->shape[d];
    tp->n_dims = (size_t)t->ndim;
    tp->dims = dims;
    tp->has_data_type = 1;
    tp->data_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
    tp->name = (char *)t->name;
    /* raw_data is little-endian float32: the host's layout on every machine
     * we build for */
    const float *base = t->role == RT_TENSOR_PARAMETER ? params : buffers;
    tp->has_raw_data = 1;
    tp->raw_data.len = t->count * sizeof(float);
    tp->raw_data.data = (uint8_t *)(base + t->offset);
    b->inits[b->init_count++] = tp;
    return (char *)t->name;
}

static char *input_of(onnx_builder *b, const graph_node *n, int k)
{
    return n->in[k] == NODE_INPUT ? "input" : b->outputs[n->in[k]];
}

/* Emits graph node i; a fused relu becomes a Relu after it. */
static int add_graph_node(onnx_builder *b, const rt_network *net, int i, const float *params,
                          const float *buffers)
{
    const graph_node *n = &net->nodes[i];
    char *out = arena_printf(&b->mem, "%s%s", n->name, n->relu && n->op != OP_RELU ? ".pre_relu" : "");
    char *ins[5] = {input_of(b, n, 0), NULL, NULL, NULL, NULL};
    int ok = 1;
    switch (n->op) {
    case OP_CONV: {
        ins[1] = add_tensor(b, net, n->t_weight, params, buffers);
        int nin = 2;
        if (n->bias && n->t_bias >= 0)
            ins[nin++] = add_tensor(b, net, n->t_bias, params, buffers);
        ok = ins[1] && ins[nin - 1] &&
             add_node(b, "Conv", n->name, ins, nin, out, attr_ints(b, "kernel_shape", 2, n->kernel),
                      attr_ints(b, "strides", 2, n->stride), attr_ints(b, "pads", 4, n->pad),
                      attr_ints(b, "dilations", 2, 1));
        break;
    }
    case OP_BATCHNORM:
        ins[1] = add_tensor(b, net, n->t_weight, params, buffers);
        ins[2] = add_tensor(b, net, n->t_bias, params, buffers);
        ins[3] = add_tensor(b, net, n->t_mean, params, buffers);
        ins[4] = add_tensor(b, net, n->t_var, params, buffers);
        ok = ins[1] && ins[2] && ins[3] && ins[4] &&
             add_node(b, "BatchNormalization", n->name, ins, 5, out,
                      attr_float(b, "epsilon", n->eps), attr_float(b, "momentum", 1.0f - n->momentum),
                      attr_int(b, "training_mode", 0), NULL);
        break;
    case OP_RELU:
        ok = add_node(b, "Relu", n->name, ins, 1, out, NULL, NULL, NULL, NULL);
        break;
    case OP_MAXPOOL:
        ok = add_node(b, "MaxPool", n->name, ins, 1, out, attr_ints(b, "kernel_shape", 2, n->kernel),
                      attr_ints(b, "strides", 2, n->stride), attr_ints(b, "pads", 4, n->pad),
                      attr_int(b, "ceil_mode", 0));
        break;
    case OP_AVGPOOL:
        ok = add_node(b, "GlobalAveragePool", n->name, ins, 1, out, NULL, NULL, NULL, NULL);
        break;
    case OP_FLATTEN:
        ok = add_node(b, "Flatten", n->name, ins, 1, out, attr_int(b, "axis", 1), NULL, NULL, NULL);
        break;
    case OP_LINEAR: {
        int c, h, w;
        graph_input_shape(net, i, &c, &h, &w);
        if (h != 1 || w != 1) { /* Gemm wants [N, features]: flatten what came */
            char *flat = arena_printf(&b->mem, "%s.flatten", n->name);
            ok = add_node(b, "Flatten", flat, ins, 1, flat, attr_int(b, "axis", 1), NULL, NULL,
                          NULL);
            ins[0] = flat;
        }
        ins[1] = add_tensor(b, net, n->t_weight, params, buffers);
        ins[2] = n->t_bias >= 0 ? add_tensor(b, net, n->t_bias, params, buffers) : NULL;
        ok = ok && ins[1] && (n->t_bias < 0 || ins[2]) &&
             add_node(b, "Gemm", n->name, ins, n->t_bias >= 0 ? 3 : 2, out,
                      attr_int(b, "transB", 1), attr_float(b, "alpha", 1.0f),
                      attr_float(b, "beta", 1.0f), NULL);
        break;
    }
    case OP_ADD:
        ins[1] = input_of(b, n, 1);
        ok = add_node(b, "Add", n->name, ins, 2, out, NULL, NULL, NULL, NULL);
        break;
    }
    if (ok && n->relu && n->op != OP_RELU) {
        char *relu_out = arena_printf(&b->mem, "%s", n->name);
        char *relu_name = arena_printf(&b->mem, "%s.relu", n->name);
        ins[0] = out;
        ok = relu_out && relu_name &&
             add_node(b, "Relu", relu_name, ins, 1, relu_out, NULL, NULL, NULL, NULL);
        out = relu_out;
    }
    b->outputs[i] = out;
    return ok && !b->mem.failed;
}

/* A float tensor [N, d1, d2, ...] with a symbolic batch. */
static Onnx__ValueInfoProto *value_info(onnx_builder *b, char *name, const int *dims, int ndim)
{
    Onnx__ValueInfoProto *v = arena_alloc(&b->mem, sizeof *v);
    Onnx__TypeProto *type = arena_alloc(&b->mem, sizeof *type);
    Onnx__TypeProto__Tensor *tensor = arena_alloc(&b->mem, sizeof *tensor);
    Onnx__TensorShapeProto *shape = arena_alloc(&b->mem, sizeof *shape);
    Onnx__TensorShapeProto__Dimension **dim = arena_alloc(&b->mem, (size_t)(ndim + 1) * sizeof *dim);
    if (!v || !type || !tensor || !shape || !dim)
        return NULL;
    onnx__value_info_proto__init(v);
    onnx__type_proto__init(type);
    onnx__type_proto__tensor__init(tensor);
    onnx__tensor_shape_proto__init(shape);
    for (int d = 0; d <= ndim; d++) {
        dim[d] = arena_alloc(&b->mem, sizeof **dim);
        if (!dim[d])
            return NULL;
        onnx__tensor_shape_proto__dimension__init(dim[d]);
        if (d == 0) {
            dim[d]->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
            dim[d]->dim_param = "N";
        } else {
            dim[d]->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
            dim[d]->dim_value = dims[d - 1];
        }
    }
    shape->n_dim = (size_t)ndim + 1;
    shape->dim = dim;
    tensor->has_elem_type = 1;
    tensor->elem_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
    tensor->shape = shape;
    type->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    type->tensor_type = tensor;
    v->name = name;
    v->type = type;
    return v;
}

static rt_status write_atomically(const char *path, const void *bytes, size_t size, rt_error *err)
{
    rt_atomic_file af;
    rt_status st = rt_atomic_open(&af, path, err);
    if (st != RT_OK)
        return st;
    if ((st = rt_atomic_write(&af, bytes, size, err)) != RT_OK) {
        rt_atomic_abort(&af);
        return st;
    }
    return rt_atomic_commit(&af, err);
}

rt_status rt_export_onnx(const rt_network *net, const float *params, const float *buffers,
                         const char *path, rt_error *err)
{
    onnx_builder b;
    memset(&b, 0, sizeof b);
    rt_status st = RT_OK;
    b.outputs = arena_alloc(&b.mem, (size_t)net->node_count * sizeof *b.outputs);
    for (int i = 0; b.outputs && i < net->node_count; i++)
        if (!add_graph_node(&b, net, i, params, buffers)) {
            st = rt_error_set(err, RT_ERR_NOMEM, "out of host memory building the ONNX graph");
            break;
        }
    Onnx__ModelProto model = ONNX__MODEL_PROTO__INIT;
    Onnx__GraphProto graph = ONNX__GRAPH_PROTO__INIT;
    Onnx__OperatorSetIdProto opset = ONNX__OPERATOR_SET_ID_PROTO__INIT;
    Onnx__OperatorSetIdProto *opsets[1] = {&opset};
    Onnx__ValueInfoProto *inputs[1], *outputs[1];
    uint8_t *bytes = NULL;
    if (st == RT_OK && b.outputs) {
        const rt_network_input *in = &net->input;
        int in_dims[3] = {in->channels, in->height, in->width};
        int out_dims[1] = {net->nodes[net->output].k};
        inputs[0] = value_info(&b, "input", in_dims, 3);
        /* the last node's value is renamed `logits` by an Identity */
        char *last[1] = {b.outputs[net->output]};
        if (!inputs[0] || !add_node(&b, "Identity", "logits", last, 1, "logits", NULL, NULL, NULL, NULL) ||
            !(outputs[0] = value_info(&b, "logits", out_dims, 1)))
            st = rt_error_set(err, RT_ERR_NOMEM, "out of host memory building the ONNX graph");
    } else if (st == RT_OK) {
        st = rt_error_set(err, RT_ERR_NOMEM, "out of host memory building the ONNX graph");
    }
    if (st == RT_OK) {
        graph.name = (char *)rt_network_name(net);
        graph.n_node = b.node_count;
        graph.node = b.nodes;
        graph.n_initializer = b.init_count;
        graph.initializer = b.inits;
        graph.n_input = 1;
        graph.input = inputs;
        graph.n_output = 1;
        graph.output = outputs;
        opset.domain = "";
        opset.has_version = 1;
        opset.version = ONNX_OPSET;
        model.has_ir_version = 1;
        model.ir_version = ONNX_IR_VERSION;
        model.n_opset_import = 1;
        model.opset_import = opsets;
        model.producer_name = "resnet-train";
        model.producer_version = RT_VERSION;
        model.graph = &graph;
        size_t size = onnx__model_proto__get_packed_size(&model);
        bytes = malloc(size ? size : 1);
        if (!bytes)
            st = rt_error_set(err, RT_ERR_NOMEM, "out of host memory for the ONNX model (%zu bytes)",
                              size);
        else if (onnx__model_proto__pack(&model, bytes) != size)
            st = rt_error_set(err, RT_ERR_FORMAT, "protobuf-c packed a different size");
        else
            st = write_atomically(path, bytes, size, err);
    }
    free(bytes);
    arena_free(&b.mem);
    return st;
}

int rt_export_onnx_available(void) { return 1; }
