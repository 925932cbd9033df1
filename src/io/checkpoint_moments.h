/* The Adam moments of a checkpoint: in its metadata as base64 when they
 * are small, else in a safetensors file beside it. Private to the library
 * (checkpoint.c).
 *
 * Beside it: PATH.adam-STEPS, with tensors "exp_avg.NAME" and
 * "exp_avg_sq.NAME" (PyTorch's names for Adam's state) per parameter
 * tensor, F32. The checkpoint's metadata names the file (in its folder)
 * and holds the CRC-32 of the moments, so a missing, stale or mixed-up
 * file is refused. It is written first, atomically, under a name of its
 * own: until the checkpoint itself is replaced, the old checkpoint and the
 * old moments file stay whole. Afterwards older PATH.adam-* files go. */
#ifndef RT_IO_CHECKPOINT_MOMENTS_H
#define RT_IO_CHECKPOINT_MOMENTS_H

#include <stddef.h>
#include <stdint.h>

#include "resnet/error.h"
#include "resnet/network.h"

/* 1 when the moments of net go into the metadata (their base64 text
 * stays far below the 100 MB header limit). */
int ck_moments_inline(const rt_network *net);

/* The parameter tensors of a flat buffer as little-endian F32, without the
 * gaps, in state_dict order (malloc'd; NULL when out of memory). */
unsigned char *ck_pack_params(const rt_network *net, const float *flat, size_t *bytes);

/* NaN/Inf (and, with nonnegative, negative values) among the tensors of
 * one role in a flat buffer: "PATH: WHAT of tensor 'NAME' element I is NaN". */
rt_status ck_check_values(const char *path, const rt_network *net, rt_tensor_role role,
                          const float *flat, const char *what, int nonnegative, rt_error *err);

/* Inline: base64 of the packed moment, and back (key names the metadata
 * key in messages, what the moment). */
char *ck_encode_moment(const rt_network *net, const float *flat);
rt_status ck_decode_moment(const char *path, const rt_network *net, const char *key,
                           const char *text, const char *what, int nonnegative, float *flat,
                           rt_error *err);

/* Beside: writes PATH.adam-STEPS; name receives its file name (no folder)
 * and crc the CRC-32 of the moments. */
rt_status ck_write_moments_file(const char *path, const rt_network *net, const float *m,
                                const float *v, int64_t steps, char *name, size_t name_size,
                                uint32_t *crc, rt_error *err);
/* Reads the file `name` in PATH's folder into m and v, checking it holds
 * exactly the network's moments and that their CRC-32 is crc. */
rt_status ck_read_moments_file(const char *path, const char *name, uint32_t crc,
                               const rt_network *net, float *m, float *v, rt_error *err);
/* Removes PATH.adam-* files other than keep (best effort). */
void ck_remove_stale_moments(const char *path, const char *keep);

#endif
