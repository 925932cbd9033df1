/* The IDX data sets: MNIST and the sets made in its image (Fashion-MNIST,
 * KMNIST): the same four files, 60000 + 10000 images of 28x28, each set
 * with its own checksums, mirrors and torchvision folder. */
#ifndef RT_IDX_SETS_H
#define RT_IDX_SETS_H

#include "resnet/data.h"

typedef struct rt_idx_set {
    const char *title;          /* for messages: "MNIST", "Fashion-MNIST", "KMNIST" */
    const char *folder;         /* torchvision's DIR/FOLDER/raw: "MNIST", "FashionMNIST" */
    int flat;                   /* also looked for in DIR itself, first (MNIST only: the
                                   others' files have MNIST's names) */
    int classes;
    const char *gz_md5[4];      /* of NAME.gz as published, in rt_idx_set_files' order */
    const char *const *mirrors; /* torchvision's, in its order */
} rt_idx_set;

extern const rt_idx_set rt_idx_mnist, rt_idx_fashion_mnist, rt_idx_kmnist;

/* Finds the set's four files (NAME or NAME.gz: in DIR when flat, then in
 * DIR/FOLDER/raw), downloads the missing ones into DIR/FOLDER/raw when
 * allowed, and loads the training (60000) and test (10000) sets: what
 * rt_mnist_load documents, for any of the sets. */
rt_status rt_idx_set_load(const rt_idx_set *set, const rt_mnist_options *opts, rt_dataset *train,
                          rt_dataset *test, rt_error *err);

/* rt_dataset_load with labels 0..classes-1 (1..256); sets out->classes. */
rt_status rt_idx_pair_load(const char *images_path, const char *labels_path, int classes,
                           rt_dataset *out, rt_error *err);

#endif
