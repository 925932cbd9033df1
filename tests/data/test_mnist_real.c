/* The real MNIST files ($RESNET_TRAIN_DATA; skipped when unset): both sets
 * load with the published counts and first labels, and the decompressed
 * files (header included) have the MD5 sums published in the data
 * folder's README. Then the same files through torchvision's layout. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fixtures.h"
#include "md5.h"
#include "resnet/data.h"
#include "test_support.h"

static void be32(uint8_t *p, uint32_t v)
{
    for (int k = 0; k < 4; k++)
        p[k] = (uint8_t)(v >> (24 - 8 * k));
}

/* The MD5 of the IDX files the set came from: header rebuilt, then data. */
static void set_md5(const rt_dataset *set, char images_md5[33], char labels_md5[33])
{
    uint8_t header[16], digest[16];
    rt_md5 md5;
    be32(header, RT_IDX_MAGIC_IMAGES);
    be32(header + 4, (uint32_t)set->count);
    be32(header + 8, (uint32_t)set->rows);
    be32(header + 12, (uint32_t)set->cols);
    rt_md5_init(&md5);
    rt_md5_update(&md5, header, 16);
    rt_md5_update(&md5, set->images, (size_t)set->count * (size_t)set->rows * (size_t)set->cols);
    rt_md5_final(&md5, digest);
    rt_md5_digest_hex(digest, images_md5);
    be32(header, RT_IDX_MAGIC_LABELS);
    rt_md5_init(&md5);
    rt_md5_update(&md5, header, 8);
    rt_md5_update(&md5, set->labels, (size_t)set->count);
    rt_md5_final(&md5, digest);
    rt_md5_digest_hex(digest, labels_md5);
}

static void check_first(const char *what, const uint8_t *labels, const uint8_t *expect)
{
    for (int i = 0; i < 10; i++)
        CHECKF(labels[i] == expect[i], "%s label %d is %u, expected %u", what, i, labels[i],
               expect[i]);
}

int main(void)
{
    const char *data = rt_test_mnist_dir();
    if (!data)
        return rt_test_skip("RESNET_TRAIN_DATA is not set");
    static const uint8_t train_first[10] = {5, 0, 4, 1, 9, 2, 1, 3, 1, 4};
    static const uint8_t test_first[10] = {7, 2, 1, 0, 4, 1, 4, 9, 5, 9};

    rt_mnist_options opts = {.dir = data, .download = 0};
    rt_dataset train, test;
    rt_error err;
    rt_status st = rt_mnist_load(&opts, &train, &test, &err);
    CHECKF(st == RT_OK, "loading %s: %s", data, err.message);
    if (st != RT_OK)
        return rt_test_finish("test_mnist_real");
    CHECK(train.count == 60000 && train.rows == 28 && train.cols == 28);
    CHECK(test.count == 10000 && test.rows == 28 && test.cols == 28);
    check_first("train", train.labels, train_first);
    check_first("test", test.labels, test_first);

    /* README: "MD5 after gunzip" */
    char im[33], lm[33];
    set_md5(&train, im, lm);
    CHECKF(strcmp(im, "6bbc9ace898e44ae57da46a324031adb") == 0, "train images MD5 %s", im);
    CHECKF(strcmp(lm, "a25bea736e30d166cdddb491f175f624") == 0, "train labels MD5 %s", lm);
    set_md5(&test, im, lm);
    CHECKF(strcmp(im, "2646ac647ad5339dbf082846283269ea") == 0, "test images MD5 %s", im);
    CHECKF(strcmp(lm, "27ae3e4e09519cfbb04c329615203637") == 0, "test labels MD5 %s", lm);

    /* the label counts per digit add up and every digit occurs */
    int hist[10] = {0};
    for (int i = 0; i < test.count; i++)
        hist[test.labels[i]]++;
    for (int d = 0; d < 10; d++)
        CHECKF(hist[d] > 800, "digit %d occurs %d times in the test set", d, hist[d]);

    /* the same files through torchvision's layout (dir/MNIST/raw) */
    char tmp[4096], path[4096];
    CHECK(rt_test_tempdir(tmp, sizeof tmp) == 0);
    fx_pathf(path, sizeof path, "%s/MNIST", tmp);
    mkdir(path, 0777);
    fx_pathf(path, sizeof path, "%s/MNIST/raw", tmp);
    mkdir(path, 0777);
    static const char *const names[4] = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                                         "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"};
    char abs_data[4096];
    CHECK(realpath(data, abs_data) != NULL);
    for (int i = 0; i < 4; i++) {
        char target[4096];
        fx_pathf(target, sizeof target, "%s/%s.gz", abs_data, names[i]);
        fx_pathf(path, sizeof path, "%s/MNIST/raw/%s.gz", tmp, names[i]);
        CHECKF(symlink(target, path) == 0, "symlink %s", path);
    }
    rt_dataset train2, test2;
    opts.dir = tmp;
    st = rt_mnist_load(&opts, &train2, &test2, &err);
    CHECKF(st == RT_OK, "torchvision layout: %s", err.message);
    if (st == RT_OK) {
        CHECK(train2.count == 60000 && test2.count == 10000);
        CHECK(memcmp(train2.images, train.images, 60000u * 784) == 0);
        CHECK(memcmp(test2.labels, test.labels, 10000) == 0);
        rt_dataset_free(&train2);
        rt_dataset_free(&test2);
    }
    fx_remove_tree(tmp);
    rt_dataset_free(&train);
    rt_dataset_free(&test);
    return rt_test_finish("test_mnist_real");
}
