/* A network (resnet/network.h) on a device: its flat parameter buffer with
 * gradients and Adam moments, BatchNorm's running statistics and counters,
 * an activation arena planned once for the largest batch (a step allocates
 * nothing), and its forward and backward passes as device ops in the
 * graph's order.
 *
 * Gradients: every output that needs one has a slot; a node passing its
 * gradient through unchanged (flatten, the residual join) shares its
 * input's slot where it is the only reader, later contributions add to the
 * first (convolutions with beta = 1, other ops through a scratch buffer),
 * and slots live only from their first write to their last read, so they
 * share memory. */
#ifndef RESNET_MODEL_H
#define RESNET_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "resnet/device.h"
#include "resnet/error.h"
#include "resnet/network.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct rt_model rt_model;

/* Allocates everything for batches of up to max_batch images of net (which
 * must outlive the model) on dev. training = 0 makes a model that only
 * runs forward in evaluation mode (no gradients, moments or saved
 * statistics). Parameters start at zero. A network that does not fit the
 * device's memory fails with RT_ERR_NOMEM and the sizes, before anything
 * is allocated. */
rt_status rt_model_create(rt_device *dev, const rt_network *net, int max_batch, int training,
                          rt_model **out, rt_error *err);
void rt_model_destroy(rt_model *model);

rt_device *rt_model_device(const rt_model *model);
const rt_network *rt_model_network(const rt_model *model);
int rt_model_max_batch(const rt_model *model);
int rt_model_classes(const rt_model *model);
/* Floats per input image. */
size_t rt_model_input_size(const rt_model *model);

/* Device buffers, each rt_network_params_size() floats (grads and the
 * moments only in a training model). */
float *rt_model_params(rt_model *model);
float *rt_model_grads(rt_model *model);
float *rt_model_adam_m(rt_model *model);
float *rt_model_adam_v(rt_model *model);
/* BatchNorm's running statistics (rt_network_buffers_size() floats) and
 * num_batches_tracked counters (rt_network_counter_count()). */
float *rt_model_buffers(rt_model *model);
int64_t *rt_model_counters(rt_model *model);
/* The current batch: input images (max_batch x input size), labels
 * (int32), logits and their gradient (max_batch x classes). */
float *rt_model_input(rt_model *model);
int32_t *rt_model_labels(rt_model *model);
float *rt_model_logits(rt_model *model);
float *rt_model_dlogits(rt_model *model);

/* Every tensor as its rt_tensor_info.init says, drawn from an rt_rng
 * seeded with seed, tensor after tensor in state_dict order (the seed's
 * network: PyTorch's U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for every weight
 * and bias); running means 0, variances 1, counters 0. */
rt_status rt_model_init_params(rt_model *model, uint64_t seed, rt_error *err);

/* Host copies of the flat parameter buffer. */
rt_status rt_model_upload_params(rt_model *model, const float *host, rt_error *err);
rt_status rt_model_download_params(rt_model *model, float *host, rt_error *err);
/* Host copies of the running statistics and counters. */
rt_status rt_model_upload_buffers(rt_model *model, const float *buffers,
                                  const int64_t *counters, rt_error *err);
rt_status rt_model_download_buffers(rt_model *model, float *buffers, int64_t *counters,
                                    rt_error *err);

/* logits = net(input) for the first n images of rt_model_input();
 * training selects BatchNorm's batch statistics (and updates the running
 * ones) as PyTorch's model.train() does, else the running statistics. */
rt_status rt_model_forward(rt_model *model, int n, int training);
/* Gradients of every parameter into rt_model_grads() from
 * rt_model_dlogits(), after rt_model_forward(model, n, 1). */
rt_status rt_model_backward(rt_model *model, int n);
/* Training BatchNorm layers take their statistics over the ranks through
 * sync (resnet/device.h), NULL for the batch's own (the default). */
void rt_model_set_batchnorm_sync(rt_model *model, const rt_batchnorm_sync *sync);
/* fn(ctx, from) is called during rt_model_backward each time more of the
 * gradients are final: rt_model_grads()[from, params size) will not be
 * written again in this pass; from falls to 0 by the pass's end. A failing
 * fn ends the pass with its status. Data-parallel training starts the sums
 * of finished gradient buckets from it. NULL for none (the default). */
typedef rt_status (*rt_gradients_ready_fn)(void *ctx, size_t from);
void rt_model_on_gradients_ready(rt_model *model, rt_gradients_ready_fn fn, void *ctx);

/* Finds where a NaN or Inf first appears in a training step on the first n
 * images of the current batch: the parameters, the input, then every op's
 * output through the forward pass, the loss and the backward pass, in
 * order. Writes a description of the first bad value into where ("" when
 * all is finite). Slow (a device round trip per op): for diagnosis.
 * state is scratch device memory for the loss. */
rt_status rt_model_trace_nonfinite(rt_model *model, int n, rt_step_state *state, char *where,
                                   size_t where_size, rt_error *err);

/* Class probabilities (softmax of the logits, computed in double) of n
 * images given on the host as n x input-size floats, in evaluation mode. */
rt_status rt_model_predict(rt_model *model, const float *images, int n, float *probabilities,
                           rt_error *err);

/* Bytes of device memory the model holds. */
size_t rt_model_device_bytes(const rt_model *model);

#ifdef __cplusplus
}
#endif
#endif
