/* MNIST data: the IDX file format (raw or gzip-compressed), loading the
 * four MNIST files from a folder, and downloading them when missing. */
#ifndef RESNET_DATA_H
#define RESNET_DATA_H

#include <stddef.h>
#include <stdint.h>

#include "resnet/error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define RT_IDX_MAGIC_IMAGES 0x00000803u /* unsigned bytes, 3 dimensions */
#define RT_IDX_MAGIC_LABELS 0x00000801u /* unsigned bytes, 1 dimension */

/* One IDX file of unsigned bytes, read whole. */
typedef struct rt_idx {
    uint32_t magic;
    int ndim;
    uint32_t dims[3];
    size_t size;   /* bytes of data = product of dims */
    uint8_t *data; /* malloc'd */
} rt_idx;

/* Reads path, gunzipping it when it starts with the gzip magic, and checks
 * the magic against expect_magic (an image or label file), that no
 * dimension is zero, that their product does not overflow or exceed the
 * data, and that nothing trails it. Errors name the path and the problem. */
rt_status rt_idx_read(const char *path, uint32_t expect_magic, rt_idx *out, rt_error *err);
void rt_idx_free(rt_idx *idx);

/* A labelled image set: count images of rows x cols bytes, labels 0..9. */
typedef struct rt_dataset {
    int32_t count, rows, cols;
    uint8_t *images; /* count * rows * cols bytes */
    uint8_t *labels; /* count bytes */
} rt_dataset;

void rt_dataset_free(rt_dataset *set);

/* Builds a dataset from an image file and a label file, checking that the
 * counts agree, images are 28x28 and every label is 0..9. */
rt_status rt_dataset_load(const char *images_path, const char *labels_path, rt_dataset *out,
                          rt_error *err);

/* A progress/notice callback: the library never prints. */
typedef void (*rt_notice_fn)(void *ctx, const char *message);

typedef struct rt_mnist_options {
    const char *dir;          /* the data folder */
    int download;             /* download missing files (needs libcurl) */
    const char *const *mirrors; /* NULL-terminated base URLs; NULL = torchvision's two */
    rt_notice_fn notice;      /* "downloading ...", "saved ... to ..." (may be NULL) */
    void *notice_ctx;
} rt_mnist_options;

/* Finds the four MNIST files in dir or dir/MNIST/raw (torchvision's layout),
 * each as NAME or NAME.gz, downloading the missing ones into dir/MNIST/raw
 * when allowed, and loads the training set (60000) and the test set (10000). */
rt_status rt_mnist_load(const rt_mnist_options *opts, rt_dataset *train, rt_dataset *test,
                        rt_error *err);

/* Downloads one file from base_url + name into path: written to a temporary
 * file beside it, MD5-checked against md5_hex, then renamed into place; on
 * any failure nothing is left at path. */
rt_status rt_download_verified(const char *base_url, const char *name, const char *md5_hex,
                               const char *path, rt_error *err);

/* The MD5 of a memory block as 32 lower-case hex digits plus NUL. */
void rt_md5_hex(const void *data, size_t size, char out[33]);

#ifdef __cplusplus
}
#endif
#endif
