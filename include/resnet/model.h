/* The seed's residual network, as data: its parameter tensors (PyTorch's
 * state_dict names and shapes), one flat parameter buffer, one flat gradient
 * buffer and an activation arena on a device, and its forward and backward
 * passes written as device ops.
 *
 *   a1 = relu(maxpool2(conv1(x)))             20x24x24 -> 20x12x12
 *   b1 = relu(rb1.conv2(rb1.conv1(a1)) + a1)
 *   a2 = relu(maxpool2(conv2(b1)))            15x10x10 -> 15x5x5
 *   b2 = relu(rb2.conv2(rb2.conv1(a2)) + a2)
 *   logits = full_c(flatten(b2))
 */
#ifndef RESNET_MODEL_H
#define RESNET_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "resnet/device.h"
#include "resnet/error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define RT_MODEL_INPUT_C 1
#define RT_MODEL_INPUT_H 28
#define RT_MODEL_INPUT_W 28
#define RT_MODEL_PIXELS (RT_MODEL_INPUT_H * RT_MODEL_INPUT_W)
#define RT_MODEL_CLASSES 10
#define RT_MODEL_TENSORS 14
#define RT_MODEL_PARAMETERS 42790

typedef struct rt_param_info {
    const char *name; /* PyTorch state_dict name, e.g. "resblock1.conv2.weight" */
    int ndim;
    int shape[4];
    size_t count;  /* elements */
    size_t offset; /* position in the flat buffer, in floats (aligned to 64) */
    int fan_in;    /* for PyTorch's default initialisation bound 1/sqrt(fan_in) */
} rt_param_info;

/* The RT_MODEL_TENSORS parameter tensors in state_dict order. */
const rt_param_info *rt_model_param_info(int index);
/* Index of the tensor with this name, -1 if none. */
int rt_model_param_find(const char *name);
/* Floats in the flat buffer, alignment gaps included (the gaps stay zero). */
size_t rt_model_flat_size(void);

typedef struct rt_model rt_model;

/* Allocates parameters, gradients, Adam moments and activations for batches
 * of up to max_batch images on dev. Parameters start at zero. */
rt_status rt_model_create(rt_device *dev, int max_batch, rt_model **out, rt_error *err);
void rt_model_destroy(rt_model *model);

rt_device *rt_model_device(const rt_model *model);
int rt_model_max_batch(const rt_model *model);

/* Device buffers, each rt_model_flat_size() floats. */
float *rt_model_params(rt_model *model);
float *rt_model_grads(rt_model *model);
float *rt_model_adam_m(rt_model *model);
float *rt_model_adam_v(rt_model *model);
/* Device buffers of the current batch: input images (max_batch x 784),
 * labels (int32), logits and their gradient (max_batch x 10). */
float *rt_model_input(rt_model *model);
int32_t *rt_model_labels(rt_model *model);
float *rt_model_logits(rt_model *model);
float *rt_model_dlogits(rt_model *model);

/* PyTorch's default initialisation: every weight and bias uniform in
 * [-1/sqrt(fan_in), 1/sqrt(fan_in)], drawn from rt_rng seeded with seed. */
rt_status rt_model_init_params(rt_model *model, uint64_t seed, rt_error *err);

/* Host copies of the flat parameter buffer (rt_model_flat_size() floats). */
rt_status rt_model_upload_params(rt_model *model, const float *host, rt_error *err);
rt_status rt_model_download_params(rt_model *model, float *host, rt_error *err);

/* logits = net(input) for the first n images of rt_model_input(). */
rt_status rt_model_forward(rt_model *model, int n);
/* Gradients of every parameter into rt_model_grads() from rt_model_dlogits(),
 * after rt_model_forward() on the same n. */
rt_status rt_model_backward(rt_model *model, int n);

/* Finds where a NaN or Inf first appears in a training step on the first n
 * images of the current batch: the parameters, the input, then every op's
 * output through the forward pass, the loss and the backward pass, in
 * order. Writes a description of the first bad value into where ("" when
 * all is finite). Slow (a device round trip per op): for diagnosis.
 * state is scratch device memory for the loss. */
rt_status rt_model_trace_nonfinite(rt_model *model, int n, rt_step_state *state, char *where,
                                   size_t where_size, rt_error *err);

/* Class probabilities (softmax of the logits, computed in double) of n
 * images given on the host as n x 784 floats in [0, 1], n at most the
 * model's batch size. */
rt_status rt_model_predict(rt_model *model, const float *images, int n, float *probabilities,
                           rt_error *err);

/* Bytes of device memory the model holds. */
size_t rt_model_device_bytes(const rt_model *model);

#ifdef __cplusplus
}
#endif
#endif
