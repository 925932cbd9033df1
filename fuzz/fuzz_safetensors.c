/* The safetensors reader: rt_safetensors_read on the input as a file, then
 * every view and metadata entry is read back (ASan checks each byte lies in
 * the file's buffer). */
#include "fuzz_common.h"
#include "resnet/safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_file(data, size);
    rt_safetensors *f = NULL;
    rt_error err;
    rt_error_clear(&err);
    rt_status st = rt_safetensors_read(path, &f, &err);
    fuzz_check_error(st, &err);
    if (st != RT_OK) {
        if (f)
            abort();
        return 0;
    }
    volatile unsigned sink = 0;
    size_t total = 0;
    for (int i = 0; i < rt_safetensors_count(f); i++) {
        const rt_tensor_view *t = rt_safetensors_tensor(f, i);
        if (!t || !t->name || rt_safetensors_find(f, t->name) != t)
            abort();
        if (t->ndim < 0 || t->ndim > RT_SAFETENSORS_MAX_DIMS)
            abort();
        uint64_t n = rt_dtype_size(t->dtype);
        for (int d = 0; d < t->ndim; d++)
            n *= (uint64_t)t->shape[d];
        if (n != t->bytes)
            abort();
        const unsigned char *p = t->data;
        for (size_t k = 0; k < t->bytes; k++)
            sink += p[k];
        total += t->bytes;
    }
    if (total > size)
        abort();
    for (int i = 0; i < rt_safetensors_metadata_count(f); i++) {
        const char *k, *v;
        if (!rt_safetensors_metadata_at(f, i, &k, &v))
            abort();
        sink += (unsigned)strlen(k) + (unsigned)strlen(v);
        if (!rt_safetensors_metadata(f, k))
            abort();
    }
    (void)sink;
    rt_safetensors_free(f);
    return 0;
}
