/* Training checkpoints, as safetensors files that PyTorch can load.
 *
 * The file's tensors are exactly the model's 14 parameters, with PyTorch's
 * state_dict names, dtype F32 and PyTorch's shapes, in state_dict order, so
 * that in Python
 *     model.load_state_dict(safetensors.torch.load_file(path))
 * works (strict) on the seed's model. Everything else needed to continue a
 * run exactly is in "__metadata__" under keys of its own ("resnet_train.*",
 * see checkpoint.c), next to "format": "pt". A file without those keys (one
 * saved from PyTorch with safetensors.torch.save_file(model.state_dict()))
 * loads as weights only. */
#ifndef RESNET_CHECKPOINT_H
#define RESNET_CHECKPOINT_H

#include "resnet/error.h"
#include "resnet/train.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The version written into "resnet_train.format_version". */
#define RT_CHECKPOINT_FORMAT_VERSION 1

typedef struct rt_checkpoint {
    /* rt_model_flat_size() floats in the model's flat layout (the alignment
     * gaps zero). */
    float *params;
    /* 0 for a weights-only file (one saved from PyTorch, say): then adam_m
     * and adam_v are NULL and position and config are all zero. */
    int has_training_state;
    float *adam_m, *adam_v; /* flat layout, when has_training_state */
    rt_train_position position;
    /* Only the fields that shape the run are saved and loaded: epochs,
     * batch_size, lr, adam (beta1, beta2, eps, weight_decay), shuffle, seed,
     * lr_step_size, lr_gamma. Load leaves the others (eval_every, log_every,
     * progress_interval, stop_flag) zero. */
    rt_train_config config;
} rt_checkpoint;

/* Saves atomically: an existing file at path is replaced only once the new
 * one is complete and on disk. Refuses NaN or Inf in the parameters or
 * moments (naming the tensor and element). ck is not modified; its buffers
 * stay the caller's. */
rt_status rt_checkpoint_save(const char *path, const rt_checkpoint *ck, rt_error *err);

/* Loads and validates a checkpoint into *out (fresh malloc'd buffers,
 * released by rt_checkpoint_free). On failure *out is left zeroed and
 * nothing needs freeing. */
rt_status rt_checkpoint_load(const char *path, rt_checkpoint *out, rt_error *err);

/* Frees the buffers of a loaded checkpoint and zeroes it. */
void rt_checkpoint_free(rt_checkpoint *ck);

#ifdef __cplusplus
}
#endif
#endif
