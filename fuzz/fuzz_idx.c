/* The IDX reader (raw and gzip): rt_idx_read on the input as a file, with
 * any unsigned-byte magic accepted, then expecting the MNIST image or label
 * magic the file does not have. */
#include "fuzz_common.h"
#include "resnet/data.h"

static void check(const char *path, uint32_t magic)
{
    rt_idx idx;
    rt_error err;
    rt_error_clear(&err);
    rt_status st = rt_idx_read(path, magic, &idx, &err);
    fuzz_check_error(st, &err);
    if (st != RT_OK) {
        if (idx.data || idx.size || idx.ndim)
            abort(); /* *out must be zeroed on failure */
        return;
    }
    size_t product = 1;
    for (int i = 0; i < idx.ndim; i++)
        product *= idx.dims[i];
    if (idx.ndim < 1 || idx.ndim > 3 || product != idx.size || idx.size > RT_IDX_MAX_BYTES ||
        !idx.data)
        abort();
    volatile uint8_t sink = 0;
    for (size_t i = 0; i < idx.size; i += 4096)
        sink ^= idx.data[i];
    sink ^= idx.data[idx.size - 1];
    (void)sink;
    rt_idx_free(&idx);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_file(data, size);
    check(path, 0);
    /* and a magic the file does not have (the loader's wrong-file message) */
    check(path, size >= 4 && data[3] == 1 ? RT_IDX_MAGIC_IMAGES : RT_IDX_MAGIC_LABELS);
    return 0;
}
