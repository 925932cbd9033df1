/* Reading and writing safetensors files (the format of Hugging Face's
 * `safetensors` package), independent of the model.
 *
 * Layout: an 8-byte little-endian u64 N, N bytes of a JSON object
 *   {"NAME": {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]},
 *    ..., "__metadata__": {"key": "string value", ...}}
 * (possibly padded with trailing spaces), then the data buffer. Offsets are
 * relative to the buffer; the tensors tile it exactly; data is
 * little-endian and row-major.
 *
 * rt_safetensors_read loads a whole file into memory and validates all of
 * it before returning; every error is one line that names the file. */
#ifndef RESNET_SAFETENSORS_H
#define RESNET_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "resnet/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum rt_dtype {
    RT_DTYPE_BOOL,
    RT_DTYPE_U8,
    RT_DTYPE_I8,
    RT_DTYPE_F8_E5M2,
    RT_DTYPE_F8_E4M3,
    RT_DTYPE_I16,
    RT_DTYPE_U16,
    RT_DTYPE_F16,
    RT_DTYPE_BF16,
    RT_DTYPE_I32,
    RT_DTYPE_U32,
    RT_DTYPE_F32,
    RT_DTYPE_F64,
    RT_DTYPE_I64,
    RT_DTYPE_U64,
    RT_DTYPE_COUNT
} rt_dtype;

#define RT_SAFETENSORS_MAX_DIMS 8
/* Headers longer than this are refused (the limit of the Python package). */
#define RT_SAFETENSORS_MAX_HEADER 100000000u

/* The file's name of a dtype ("F32"), NULL if out of range. */
const char *rt_dtype_name(rt_dtype dtype);
/* Bytes per element, 0 if out of range. */
size_t rt_dtype_size(rt_dtype dtype);
/* The dtype with this name; -1 if unknown. */
int rt_dtype_from_name(const char *name);

typedef struct rt_tensor_view {
    const char *name;
    rt_dtype dtype;
    int ndim;                                /* 0 (a scalar) .. RT_SAFETENSORS_MAX_DIMS */
    int64_t shape[RT_SAFETENSORS_MAX_DIMS]; /* unused entries 0 */
    const void *data;                        /* little-endian bytes, row-major */
    size_t bytes;                            /* elements * rt_dtype_size(dtype) */
} rt_tensor_view;

/* A whole file, read into memory and validated. */
typedef struct rt_safetensors rt_safetensors;

rt_status rt_safetensors_read(const char *path, rt_safetensors **out, rt_error *err);
void rt_safetensors_free(rt_safetensors *f);

/* Tensors in the order of their data in the file. In a file read back, a
 * view's data is 8-byte aligned when its offset in the buffer is a multiple
 * of 8 (always the first one); others may be unaligned: use memcpy or
 * rt_tensor_view.bytes-sized copies rather than casting. Views and names
 * live as long as the rt_safetensors. */
int rt_safetensors_count(const rt_safetensors *f);
const rt_tensor_view *rt_safetensors_tensor(const rt_safetensors *f, int index);
const rt_tensor_view *rt_safetensors_find(const rt_safetensors *f, const char *name); /* NULL if absent */

/* The "__metadata__" entries, in the order of the file. */
int rt_safetensors_metadata_count(const rt_safetensors *f);
/* Fills *key and *value for entry index; 0 if out of range. */
int rt_safetensors_metadata_at(const rt_safetensors *f, int index, const char **key,
                               const char **value);
const char *rt_safetensors_metadata(const rt_safetensors *f, const char *key); /* NULL if absent */

/* Writes atomically (a temporary file beside the target, fsync, rename):
 * on failure an existing file at path is left as it was. Tensors go into
 * the buffer in the given order; the header is padded with spaces so the
 * buffer starts 8-byte aligned. Names must be unique, non-empty, valid
 * UTF-8 and not "__metadata__"; so must metadata keys, and metadata values
 * must be valid UTF-8. meta_keys/meta_values may be NULL when meta_count
 * is 0 (then no "__metadata__" is written). */
rt_status rt_safetensors_write(const char *path, const rt_tensor_view *tensors, int count,
                               const char *const *meta_keys, const char *const *meta_values,
                               int meta_count, rt_error *err);

#ifdef __cplusplus
}
#endif
#endif
