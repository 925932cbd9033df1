/* Training checkpoints, as safetensors files that PyTorch can load.
 *
 * The file's tensors are exactly the network's state_dict: its names,
 * shapes and order, F32 (num_batches_tracked: I64 scalars), so that in
 * Python
 *     model.load_state_dict(safetensors.torch.load_file(path))
 * works (strict) on the same network built by PyTorch (torchvision's
 * resnet18(num_classes=10) for our resnet18, the tutorial's model for the
 * seed). Everything else needed to continue a run exactly is in
 * "__metadata__" under keys of its own ("resnet_train.*", see
 * checkpoint.c), next to "format": "pt": the network's description itself,
 * the recipe, the position, and the Adam moments (base64 there for small
 * networks; for large ones, whose moments would pass the 100 MB header
 * limit of PyTorch's safetensors, in a file beside it, see
 * checkpoint_moments.c). A file without any "resnet_train." key (one saved
 * from PyTorch with safetensors.torch.save_file(model.state_dict())) loads
 * as weights only. */
#ifndef RESNET_CHECKPOINT_H
#define RESNET_CHECKPOINT_H

#include "resnet/error.h"
#include "resnet/network.h"
#include "resnet/train.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The version written into "resnet_train.format_version"; version 1 files
 * (the seed's network, before networks were data) are read too. */
#define RT_CHECKPOINT_FORMAT_VERSION 5

typedef struct rt_checkpoint {
    /* The network the file holds. Loaded: made from the file's description
     * (or the fallback, for a file without one) and owned by the
     * checkpoint. Saved: the caller's. */
    const rt_network *network;
    int owns_network;
    /* The state_dict in the network's flat layouts (alignment gaps zero):
     * parameters (rt_network_params_size floats), running statistics
     * (rt_network_buffers_size floats), counters (int64). */
    float *params;
    float *buffers;
    int64_t *counters;
    /* 0 for a weights-only file (one saved from PyTorch, say): then adam_m
     * and adam_v are NULL and position and config are all zero. */
    int has_training_state;
    float *adam_m, *adam_v; /* parameter layout, when has_training_state */
    rt_train_position position;
    /* Only the fields that shape the run are saved and loaded: epochs,
     * batch_size, lr, adam (beta1, beta2, eps, weight_decay), shuffle, seed,
     * lr_step_size, lr_gamma. Load leaves the others (eval_every, log_every,
     * progress_interval, stop_flag) zero. */
    rt_train_config config;
} rt_checkpoint;

/* Saves atomically: an existing file at path is replaced only once the new
 * one is complete and on disk (and the moments file beside it, when there
 * is one, before it). Refuses NaN or Inf in the parameters, statistics or
 * moments (naming the tensor and element). ck is not modified; its buffers
 * stay the caller's. */
rt_status rt_checkpoint_save(const char *path, const rt_checkpoint *ck, rt_error *err);

/* Loads and validates a checkpoint into *out (fresh buffers, released by
 * rt_checkpoint_free). The network is the file's own description; a file
 * without one is read as `fallback`'s (which must then be given). With
 * must_match, a file describing another network than fallback fails with
 * RT_ERR_USAGE, naming both. On failure *out is zeroed. */
rt_status rt_checkpoint_load(const char *path, const rt_network *fallback, int must_match,
                             rt_checkpoint *out, rt_error *err);

/* Frees what a loaded checkpoint owns and zeroes it. */
void rt_checkpoint_free(rt_checkpoint *ck);

#ifdef __cplusplus
}
#endif
#endif
