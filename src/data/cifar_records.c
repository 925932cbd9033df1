/* The CIFAR binary record format: each record is the label byte (CIFAR-100:
 * the coarse, then the fine label byte) and 3072 image bytes, the 32x32
 * red plane, then green, then blue: already rt_dataset's planar layout. */
#include <stdlib.h>
#include <string.h>

#include "cifar.h"

size_t rt_cifar_record_bytes(int cifar100)
{
    return (cifar100 ? 2u : 1u) + RT_CIFAR_IMAGE_BYTES;
}

static const char *title(int cifar100)
{
    return cifar100 ? "CIFAR-100" : "CIFAR-10";
}

rt_status rt_cifar_check_size(const char *name, uint64_t size, int cifar100,
                              int32_t expect_records, rt_error *err)
{
    uint64_t rec = rt_cifar_record_bytes(cifar100);
    if (size == 0)
        return rt_error_set(err, RT_ERR_FORMAT, "%s: empty file (0 bytes): not a %s batch file",
                            name, title(cifar100));
    if (size % rec != 0)
        return rt_error_set(err, RT_ERR_FORMAT,
                            "%s: %llu bytes is not a whole number of %llu-byte %s records "
                            "(%llu records and %llu bytes over): truncated or not a %s file",
                            name, (unsigned long long)size, (unsigned long long)rec,
                            title(cifar100), (unsigned long long)(size / rec),
                            (unsigned long long)(size % rec), title(cifar100));
    uint64_t records = size / rec;
    if (expect_records > 0 && records != (uint64_t)expect_records)
        return rt_error_set(err, RT_ERR_FORMAT, "%s: holds %llu records, expected %d", name,
                            (unsigned long long)records, (int)expect_records);
    if (records > INT32_MAX)
        return rt_error_set(err, RT_ERR_FORMAT, "%s: %llu records are too many", name,
                            (unsigned long long)records);
    return RT_OK;
}

rt_status rt_cifar_check(const char *name, const uint8_t *data, size_t size, int cifar100,
                         int32_t expect_records, rt_error *err)
{
    rt_status st = rt_cifar_check_size(name, size, cifar100, expect_records, err);
    if (st != RT_OK)
        return st;
    size_t rec = rt_cifar_record_bytes(cifar100), count = size / rec;
    for (size_t i = 0; i < count; i++) {
        const uint8_t *r = data + i * rec;
        if (!cifar100 && r[0] > 9)
            return rt_error_set(err, RT_ERR_FORMAT,
                                "%s: bad label: record %zu has label %u, expected 0..9", name, i,
                                r[0]);
        if (cifar100 && r[0] > 19)
            return rt_error_set(err, RT_ERR_FORMAT,
                                "%s: bad label: record %zu has coarse label %u, expected 0..19",
                                name, i, r[0]);
        if (cifar100 && r[1] > 99)
            return rt_error_set(err, RT_ERR_FORMAT,
                                "%s: bad label: record %zu has fine label %u, expected 0..99",
                                name, i, r[1]);
    }
    return RT_OK;
}

rt_status rt_cifar_from_records(uint8_t *records, int32_t count, int cifar100, int coarse,
                                rt_dataset *out, rt_error *err)
{
    memset(out, 0, sizeof *out);
    if (count <= 0) {
        free(records);
        return rt_error_set(err, RT_ERR_USAGE, "rt_cifar_from_records: %d records", (int)count);
    }
    size_t rec = rt_cifar_record_bytes(cifar100), n = (size_t)count;
    size_t label_at = cifar100 && !coarse ? 1 : 0, skip = rec - RT_CIFAR_IMAGE_BYTES;
    uint8_t *labels = malloc(n);
    if (!labels) {
        free(records);
        return rt_error_set(err, RT_ERR_NOMEM, "out of memory for %d CIFAR labels", (int)count);
    }
    for (size_t i = 0; i < n; i++)
        labels[i] = records[i * rec + label_at];
    /* record i's image moves from i * rec + skip down to i * 3072: never
     * over a record not yet moved */
    for (size_t i = 0; i < n; i++)
        memmove(records + i * RT_CIFAR_IMAGE_BYTES, records + i * rec + skip,
                RT_CIFAR_IMAGE_BYTES);
    uint8_t *images = realloc(records, n * RT_CIFAR_IMAGE_BYTES);
    out->images = images ? images : records; /* a failed shrink keeps the bigger block */
    out->labels = labels;
    out->count = count;
    out->channels = 3;
    out->rows = RT_CIFAR_SIDE;
    out->cols = RT_CIFAR_SIDE;
    out->classes = cifar100 ? (coarse ? 20 : 100) : 10;
    return RT_OK;
}

rt_status rt_cifar_parse(const char *name, const uint8_t *data, size_t size, int cifar100,
                         int coarse, int32_t expect_records, rt_dataset *out, rt_error *err)
{
    memset(out, 0, sizeof *out);
    rt_status st = rt_cifar_check(name, data, size, cifar100, expect_records, err);
    if (st != RT_OK)
        return st;
    uint8_t *copy = malloc(size);
    if (!copy)
        return rt_error_set(err, RT_ERR_NOMEM, "%s: out of memory for %zu bytes", name, size);
    memcpy(copy, data, size);
    return rt_cifar_from_records(copy, (int32_t)(size / rt_cifar_record_bytes(cifar100)), cifar100,
                                 coarse, out, err);
}
