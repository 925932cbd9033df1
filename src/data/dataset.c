/* A labelled image set built from an IDX image file and an IDX label file. */
#include <stdlib.h>
#include <string.h>

#include "idx_sets.h"
#include "resnet/data.h"

#define MNIST_SIDE 28

void rt_dataset_free(rt_dataset *set)
{
    if (set) {
        free(set->images);
        free(set->labels);
        memset(set, 0, sizeof *set);
    }
}

rt_status rt_dataset_load(const char *images_path, const char *labels_path, rt_dataset *out,
                          rt_error *err)
{
    return rt_idx_pair_load(images_path, labels_path, 10, out, err);
}

rt_status rt_idx_pair_load(const char *images_path, const char *labels_path, int classes,
                           rt_dataset *out, rt_error *err)
{
    memset(out, 0, sizeof *out);
    if (!images_path || !labels_path)
        return rt_error_set(err, RT_ERR_USAGE, "rt_dataset_load: no path given");
    if (classes < 1 || classes > 256)
        return rt_error_set(err, RT_ERR_USAGE, "rt_dataset_load: %d classes", classes);
    rt_idx images, labels;
    rt_status st = rt_idx_read(images_path, RT_IDX_MAGIC_IMAGES, &images, err);
    if (st != RT_OK)
        return st;
    if (images.dims[1] != MNIST_SIDE || images.dims[2] != MNIST_SIDE) {
        st = rt_error_set(err, RT_ERR_FORMAT, "%s: images are %ux%u, expected %dx%d", images_path,
                          images.dims[1], images.dims[2], MNIST_SIDE, MNIST_SIDE);
        rt_idx_free(&images);
        return st;
    }
    st = rt_idx_read(labels_path, RT_IDX_MAGIC_LABELS, &labels, err);
    if (st != RT_OK) {
        rt_idx_free(&images);
        return st;
    }
    if (images.dims[0] != labels.dims[0]) {
        st = rt_error_set(err, RT_ERR_FORMAT,
                          "count mismatch: %s holds %u images but %s holds %u labels",
                          images_path, images.dims[0], labels_path, labels.dims[0]);
    } else {
        for (size_t i = 0; i < labels.size; i++) {
            if (labels.data[i] >= classes) {
                st = rt_error_set(err, RT_ERR_FORMAT,
                                  "%s: bad label: label %zu is %u, expected 0..%d", labels_path,
                                  i, labels.data[i], classes - 1);
                break;
            }
        }
    }
    if (st != RT_OK) {
        rt_idx_free(&images);
        rt_idx_free(&labels);
        return st;
    }
    /* counts are <= RT_IDX_MAX_BYTES (2^30), so they fit in int32_t */
    out->count = (int32_t)images.dims[0];
    out->rows = MNIST_SIDE;
    out->channels = 1;
    out->cols = MNIST_SIDE;
    out->images = images.data;
    out->labels = labels.data;
    out->classes = classes;
    return RT_OK;
}
