/* The named data sets: MNIST (the default), Fashion-MNIST, KMNIST, CIFAR-10
 * and CIFAR-100, their shapes and usual normalisation, and loading one by
 * name (docs/datasets.md: where each is looked for, its checksums, the
 * checks). */
#ifndef RESNET_DATASETS_H
#define RESNET_DATASETS_H

#include "resnet/data.h"
#include "resnet/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct rt_dataset_spec {
    const char *name;                     /* "mnist", "fashion-mnist", "kmnist", "cifar10",
                                             "cifar100" */
    int channels, height, width, classes; /* cifar100: 100 (the fine labels) */
    int has_normalization;                /* 1 when the data set's usual recipe normalises */
    float mean[3], std[3];                /* the usual per-channel values (torchvision's
                                             recipes); mean 0 and std 1 where
                                             has_normalization is 0, so applying them
                                             changes nothing */
} rt_dataset_spec;

/* The data set called name (case is ignored, and so are '-' and '_':
 * "FashionMNIST", "fashion_mnist" and "CIFAR-10" are found too); NULL when
 * unknown. */
const rt_dataset_spec *rt_dataset_spec_find(const char *name);

/* "mnist, fashion-mnist, kmnist, cifar10, cifar100", for messages. */
const char *rt_dataset_names(void);

typedef struct rt_data_options {
    const char *dataset;        /* NULL or "" = "mnist" */
    const char *dir;            /* the data folder; NULL or "" = "." */
    int download;               /* download what is missing (needs libcurl) */
    const char *const *mirrors; /* NULL-terminated base URLs; NULL = the set's own */
    rt_notice_fn notice;        /* as rt_mnist_options (may be NULL) */
    void *notice_ctx;
    int coarse_labels;          /* cifar100: the 20 superclass labels instead of the 100
                                   fine ones (a usage error for the other sets) */
} rt_data_options;

/* Loads the training and test sets of the named data set from o->dir,
 * downloading what is missing when allowed:
 *   mnist          exactly rt_mnist_load (DIR or DIR/MNIST/raw);
 *   fashion-mnist  the same four IDX files in DIR/FashionMNIST/raw;
 *   kmnist         the same four IDX files in DIR/KMNIST/raw;
 *   cifar10        DIR/cifar-10-batches-bin/{data_batch_1..5,test_batch}.bin,
 *                  else DIR/cifar-10-binary.tar.gz, else that archive downloaded;
 *   cifar100       DIR/cifar-100-binary/{train,test}.bin, else
 *                  DIR/cifar-100-binary.tar.gz, else that archive downloaded.
 * Both sets get count, channels, rows, cols and classes (the label count:
 * 20 with coarse_labels) set; images are planar bytes. An unknown name is
 * RT_ERR_USAGE naming the known ones. Every other failure is one line
 * naming the file (and, in an archive, the member); on failure both sets
 * are zeroed. */
rt_status rt_data_load(const rt_data_options *o, rt_dataset *train, rt_dataset *test,
                       rt_error *err);

#ifdef __cplusplus
}
#endif
#endif
