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
/* The most data an IDX file may hold: larger headers are rejected as corrupt
 * before anything is allocated. */
#define RT_IDX_MAX_BYTES ((size_t)1 << 30)

/* One IDX file of unsigned bytes, read whole. */
typedef struct rt_idx {
    uint32_t magic;
    int ndim;
    uint32_t dims[3];
    size_t size;   /* bytes of data = product of dims */
    uint8_t *data; /* malloc'd */
} rt_idx;

/* Reads path, gunzipping it when it starts with the gzip magic (1f 8b, not
 * the name), and checks the magic against expect_magic (RT_IDX_MAGIC_IMAGES
 * or RT_IDX_MAGIC_LABELS; 0 accepts any unsigned-byte IDX file of 1 to 3
 * dimensions), that no dimension is zero, that their product stays within
 * RT_IDX_MAX_BYTES, that the data is all there and that nothing trails it
 * (nor the gzip stream). Errors name the path and the problem; on failure
 * *out is zeroed. */
rt_status rt_idx_read(const char *path, uint32_t expect_magic, rt_idx *out, rt_error *err);
void rt_idx_free(rt_idx *idx);

/* A labelled image set: count images of channels x rows x cols bytes
 * (planar: each channel's rows in turn), labels 0..classes-1. */
typedef struct rt_dataset {
    int32_t count, rows, cols, channels;
    uint8_t *images; /* count * channels * rows * cols bytes */
    uint8_t *labels; /* count bytes */
    int32_t classes; /* the number of classes the labels index (every loader sets it:
                        10 for MNIST); last, so positional initialisers still work */
} rt_dataset;

void rt_dataset_free(rt_dataset *set);

/* Builds a dataset from an image file and a label file, checking that the
 * counts agree (the message names both files and counts), images are 28x28
 * and every label is 0..9 (naming the index and value of the first bad
 * one); classes is set to 10. On failure *out is zeroed. */
rt_status rt_dataset_load(const char *images_path, const char *labels_path, rt_dataset *out,
                          rt_error *err);

/* A progress/notice callback: the library never prints. */
typedef void (*rt_notice_fn)(void *ctx, const char *message);

typedef struct rt_mnist_options {
    const char *dir;          /* the data folder */
    int download;             /* download missing files (needs libcurl) */
    const char *const *mirrors; /* NULL-terminated base URLs; NULL = torchvision's two */
    rt_notice_fn notice;      /* "downloading URL", "saved PATH (N bytes, MD5 ok)", a
                                 failed mirror (may be NULL) */
    void *notice_ctx;
} rt_mnist_options;

/* Finds the four MNIST files in dir or dir/MNIST/raw (torchvision's layout),
 * each as NAME or NAME.gz (in that order: dir/NAME, dir/NAME.gz,
 * dir/MNIST/raw/NAME, dir/MNIST/raw/NAME.gz), downloading the missing ones
 * as NAME.gz into dir/MNIST/raw when allowed (each mirror in turn, the MD5
 * checked against the published sums), and loads the training set (60000)
 * and the test set (10000). A NULL or empty dir means ".". Missing files
 * with downloading disabled, or a build without libcurl, fail with RT_ERR_IO
 * naming the file, both folders and the fix. On failure both sets are
 * zeroed. */
rt_status rt_mnist_load(const rt_mnist_options *opts, rt_dataset *train, rt_dataset *test,
                        rt_error *err);

/* Downloads one file from base_url + name (a '/' is added between them when
 * base_url lacks one) into path: written to a temporary file beside it
 * (path.part-XXXXXX), MD5-checked against md5_hex (32 hex digits; NULL skips
 * the check), fsync'd, then renamed into place; on any failure the
 * temporary file is deleted and nothing is left at path. Only http and
 * https; HTTP status >= 400 fails; at most 64 MiB. Errors (RT_ERR_NETWORK,
 * or RT_ERR_IO for the local file) name the URL and curl's message, or the
 * expected and actual MD5. Without libcurl: RT_ERR_NETWORK "built without
 * libcurl". */
rt_status rt_download_verified(const char *base_url, const char *name, const char *md5_hex,
                               const char *path, rt_error *err);

/* The MD5 of a memory block as 32 lower-case hex digits plus NUL. */
void rt_md5_hex(const void *data, size_t size, char out[33]);

#ifdef __cplusplus
}
#endif
#endif
