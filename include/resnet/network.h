/* Networks as data: a description (JSON, docs/networks.md, or one of the
 * built-ins) made into a checked graph for one input size and class count.
 *
 * A description lists layers in the order of their tensors in PyTorch's
 * state_dict; each names the layer(s) it takes its input from ("from";
 * by default the layer listed before it, the network input for the first),
 * so the layers run in dependency order, whatever order they are listed
 * in. Shapes are inferred once, here; every mistake (an unknown layer or
 * setting, a missing input, a cycle, shapes that do not fit, sizes that
 * overflow) is one message naming the layer. The built-ins (`seed`, the
 * torchvision ResNets, the CIFAR ResNets) are descriptions written by
 * rt_network_builtin_json() and go through the same parser.
 *
 * The graph's tensors follow PyTorch's state_dict: names, shapes and
 * order; parameters (seen by the optimiser) live in one flat float buffer,
 * BatchNorm's running statistics in a second one and its
 * num_batches_tracked counters (int64) in a third. */
#ifndef RESNET_NETWORK_H
#define RESNET_NETWORK_H

#include <stddef.h>
#include <stdint.h>

#include "resnet/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What the data gives a network: image channels, height, width and the
 * number of classes. A description may pin any of them; then the data's
 * must agree. */
typedef struct rt_network_input {
    int channels, height, width, classes;
} rt_network_input;

typedef struct rt_network rt_network;

/* ---- built-ins ------------------------------------------------------------- */
int rt_network_builtin_count(void);
/* Name and one-line summary of built-in i (0-based), NULL past the end. */
const char *rt_network_builtin_name(int i);
const char *rt_network_builtin_summary(int i);
/* The input its figures are usually quoted for ("3x224x224"), as text. */
const char *rt_network_builtin_reference_input(int i);
/* The JSON description of built-in `name` (malloc'd; the caller frees it),
 * or NULL when there is no such built-in. */
char *rt_network_builtin_json(const char *name);

/* ---- making a graph ---------------------------------------------------------- */
/* Parses a JSON description and builds its graph for `data` (fields 0 are
 * taken from the description, which must then pin them). `source` names
 * the text in messages (a file name, "built-in resnet18"). */
rt_status rt_network_parse(const char *json, size_t len, const char *source,
                           const rt_network_input *data, rt_network **out, rt_error *err);
/* --model VALUE: a built-in name, or a path to a JSON description (a
 * value ending in ".json" or containing '/'). */
rt_status rt_network_load(const char *model, const rt_network_input *data, rt_network **out,
                          rt_error *err);
void rt_network_free(rt_network *net);

const char *rt_network_name(const rt_network *net);
/* The description in canonical form: every setting written out, input
 * and classes filled in. Two networks are the same when these agree;
 * checkpoints record it. */
const char *rt_network_json(const rt_network *net);
rt_network_input rt_network_input_of(const rt_network *net);
/* Floats per input image (channels x height x width). */
size_t rt_network_input_size(const rt_network *net);
/* Trainable parameters (elements), and the forward pass's floating-point
 * operations per image (2 x the multiply-adds of convolutions and linear
 * layers, PyTorch's usual count x 2). */
size_t rt_network_parameter_count(const rt_network *net);
double rt_network_forward_flops(const rt_network *net);

/* ---- the state_dict ---------------------------------------------------------- */
typedef enum rt_tensor_role {
    RT_TENSOR_PARAMETER, /* F32, in the flat parameter buffer (the optimiser's) */
    RT_TENSOR_BUFFER,    /* F32, in the flat buffer of running statistics */
    RT_TENSOR_COUNTER,   /* I64 scalar (num_batches_tracked), in the counters */
} rt_tensor_role;

/* How a tensor starts (rt_model_init_params), drawn in state_dict order. */
typedef enum rt_tensor_init {
    RT_INIT_UNIFORM,       /* U(-scale, scale): PyTorch's default, scale = 1/sqrt(fan_in) */
    RT_INIT_NORMAL,        /* N(0, scale^2): kaiming_normal_, scale = sqrt(2/fan_out) */
    RT_INIT_ONES,
    RT_INIT_ZEROS,
} rt_tensor_init;

typedef struct rt_tensor_info {
    const char *name; /* "layer1.0.conv1.weight" */
    int ndim;         /* 0 (a scalar counter) .. 4 */
    int shape[4];
    size_t count;     /* elements */
    rt_tensor_role role;
    size_t offset;    /* floats into its flat buffer (64-aligned), or the counter's index */
    rt_tensor_init init;
    float init_scale;
} rt_tensor_info;

int rt_network_tensor_count(const rt_network *net);
const rt_tensor_info *rt_network_tensor(const rt_network *net, int index);
/* Index of the tensor with this name, -1 if none. */
int rt_network_tensor_find(const rt_network *net, const char *name);
/* Sizes of the three flat buffers: floats (alignment gaps included, they
 * stay zero) and counters. */
size_t rt_network_params_size(const rt_network *net);
size_t rt_network_buffers_size(const rt_network *net);
size_t rt_network_counter_count(const rt_network *net);

#ifdef __cplusplus
}
#endif
#endif
