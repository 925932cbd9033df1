/* A network description as parsed from JSON, before shapes: the layers as
 * written (blocks not yet expanded), their settings checked one by one.
 * netdesc.c reads and writes the JSON form (docs/networks.md); graph.c
 * makes a graph of it. Private to the library. */
#ifndef RT_MODEL_NETDESC_H
#define RT_MODEL_NETDESC_H

#include <stddef.h>

#include "resnet/error.h"

/* The most layers a description may list, and the longest name. */
#define NET_MAX_LAYERS 4096
#define NET_NAME_MAX 200

typedef enum layer_type {
    LT_CONV,
    LT_BATCHNORM,
    LT_RELU,
    LT_MAXPOOL,
    LT_AVGPOOL,
    LT_FLATTEN,
    LT_LINEAR,
    LT_ADD,
    LT_BASIC_BLOCK,
    LT_BOTTLENECK,
    LT_COUNT
} layer_type;

typedef enum net_init { INIT_PYTORCH, INIT_TORCHVISION } net_init;

typedef struct layer_desc {
    char *name;   /* as written, or "_<index>" for an unnamed layer */
    int named;
    layer_type type;
    char *from[2]; /* the input layers' names ("input" for the network input) */
    int nfrom;     /* 0: the layer listed before (or the input, for the first) */
    /* conv2d */
    int out_channels, kernel, stride, padding, bias;
    /* batchnorm2d */
    float eps, momentum;
    /* maxpool2d: kernel, stride, padding as above; linear: */
    int out_features; /* 0: the number of classes */
    /* add */
    int relu;
    /* basic_block, bottleneck */
    int planes;
    int downsample; /* -1: when the shape changes (torchvision's rule), 0 never, 1 always */
} layer_desc;

typedef struct net_desc {
    char *name;
    int channels, height, width; /* 0: from the data */
    int classes;                 /* 0: from the data */
    net_init init;
    char *output; /* NULL: the last layer listed */
    layer_desc *layers;
    int count;
} net_desc;

const char *layer_type_name(layer_type t);

/* Parses and checks every setting; `source` prefixes messages. */
rt_status net_desc_parse(const char *json, size_t len, const char *source, net_desc *out,
                         rt_error *err);
void net_desc_free(net_desc *d);

/* The canonical JSON text (malloc'd): every setting written, in a fixed
 * order, with the given input and classes. NULL when out of memory. */
char *net_desc_write(const net_desc *d, int channels, int height, int width, int classes);

#endif
