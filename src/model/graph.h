/* The graph of a network: primitive ops in execution order, with shapes
 * inferred for one input size, relus fused into the op before them, and
 * the state_dict's tensors. Built once by graph.c from a net_desc; model.c
 * runs it on a device. Private to the library. */
#ifndef RT_MODEL_GRAPH_H
#define RT_MODEL_GRAPH_H

#include <stddef.h>

#include "netdesc.h"
#include "resnet/network.h"

typedef enum op_kind {
    OP_CONV,
    OP_BATCHNORM,
    OP_RELU,
    OP_MAXPOOL,   /* any window; 2x2/2/0 runs as the seed's fused maxpool2 op */
    OP_AVGPOOL,   /* adaptive, to 1x1 */
    OP_FLATTEN,   /* a view: no op, no memory */
    OP_LINEAR,
    OP_ADD,
} op_kind;

#define NODE_INPUT (-1) /* in[] of a node fed by the network input */

typedef struct graph_node {
    op_kind op;
    char *name;     /* "layer1.0.conv1", "layer1.0" (a block's join), "pool1", "_3" */
    int layer;      /* the description layer it comes from */
    int in[2], nin; /* producing nodes, earlier in execution order, or NODE_INPUT */
    int c, h, w;    /* output per image; a feature vector has h = w = 1 */
    int flat;       /* output is a feature vector (after flatten or linear) */
    size_t size;    /* floats per image of the output */
    /* settings: conv (k out channels, kernel, stride, pad, bias), maxpool
     * (kernel, stride, pad), batchnorm (eps, momentum), linear (k out) */
    int k, kernel, stride, pad, bias;
    float eps, momentum;
    int relu;       /* a relu fused at the end (batchnorm, maxpool 2x2/2/0, add, relu itself) */
    /* tensors (indices into the network's table), -1 when absent */
    int t_weight, t_bias, t_mean, t_var, t_count;
    size_t stats_offset; /* batchnorm: its saved mean and invstd in the stats buffer */
    double flops;        /* forward, per image */
} graph_node;

struct rt_network {
    char *json; /* canonical description */
    char *name;
    rt_network_input input;
    graph_node *nodes;
    int node_count;
    int output; /* the node giving the logits */
    rt_tensor_info *tensors;
    int tensor_count;
    size_t params_size, buffers_size, counter_count, parameter_count;
    size_t stats_size; /* floats of saved BatchNorm statistics */
    double flops;
};

/* Builds the graph of d for data (0 fields: the description's). */
rt_status graph_build(const net_desc *d, const rt_network_input *data, const char *source,
                      rt_network *net, rt_error *err);
void graph_free(rt_network *net);

/* The input shape of node i's first input (the network input or a node's output). */
void graph_input_shape(const rt_network *net, int i, int *c, int *h, int *w);

#endif
