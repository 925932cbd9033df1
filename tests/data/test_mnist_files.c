/* rt_mnist_load on synthetic MNIST-sized files (all-zero images compress
 * to almost nothing): where files are looked for (dir before dir/MNIST/raw,
 * NAME or NAME.gz), the expected counts, and the "not found" error when
 * downloading is disabled. The labels of each copy start at a different
 * digit, which tells which copy was loaded. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fixtures.h"
#include "resnet/data.h"
#include "test_support.h"

static char tmp[4096];

/* An IDX pair of count images (zero but for the first pixel = tag) and
 * labels (i + tag) % 10. */
static void make_set(int count, int tag, fx_buf *images_gz, fx_buf *labels_raw, fx_buf *labels_gz)
{
    size_t n = (size_t)count * 784;
    uint8_t *pixels = calloc(n, 1);
    uint8_t *labels = malloc((size_t)count);
    CHECK(pixels && labels);
    if (!pixels || !labels)
        exit(1);
    pixels[0] = (uint8_t)tag;
    for (int i = 0; i < count; i++)
        labels[i] = (uint8_t)((i + tag) % 10);
    const uint32_t idims[3] = {(uint32_t)count, 28, 28}, ldims[1] = {(uint32_t)count};
    fx_buf raw = fx_idx(RT_IDX_MAGIC_IMAGES, 3, idims, pixels, n);
    *images_gz = fx_gzip(raw.data, raw.size);
    fx_free(&raw);
    *labels_raw = fx_idx(RT_IDX_MAGIC_LABELS, 1, ldims, labels, (size_t)count);
    *labels_gz = fx_gzip(labels_raw->data, labels_raw->size);
    CHECK(images_gz->data && labels_raw->data && labels_gz->data);
    free(pixels);
    free(labels);
}

static void put(const char *dir, const char *name, fx_buf b)
{
    char path[4096];
    CHECKF(fx_write(dir, name, b.data, b.size, path) == 0, "cannot write %s/%s", dir, name);
}

static void sub(char *out, const char *a, const char *b)
{
    fx_pathf(out, 4096, "%s/%s", a, b);
    mkdir(out, 0777);
}

static void make_dirs(char *dir, char *raw, const char *name)
{
    char mnist[4096];
    sub(dir, tmp, name);
    sub(mnist, dir, "MNIST");
    sub(raw, mnist, "raw");
}

static int is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int main(void)
{
    CHECK(rt_test_tempdir(tmp, sizeof tmp) == 0);
    fx_buf tr1_img, tr1_lab, tr1_labgz, te2_img, te2_lab, te2_labgz, tr9_img, tr9_lab, tr9_labgz;
    make_set(60000, 1, &tr1_img, &tr1_lab, &tr1_labgz);
    make_set(10000, 2, &te2_img, &te2_lab, &te2_labgz);
    make_set(10, 9, &tr9_img, &tr9_lab, &tr9_labgz);

    char dir[4096], raw[4096];
    rt_dataset train, test;
    rt_error err;
    rt_status st;
    rt_mnist_options opts = {0};

    /* training files in dir (images gzip, labels raw), test files in
     * dir/MNIST/raw; decoys in dir/MNIST/raw must lose to those in dir */
    make_dirs(dir, raw, "mixed");
    put(dir, "train-images-idx3-ubyte.gz", tr1_img);
    put(dir, "train-labels-idx1-ubyte", tr1_lab);
    put(raw, "train-labels-idx1-ubyte.gz", tr9_labgz);
    put(raw, "train-images-idx3-ubyte", tr9_img);
    put(raw, "t10k-images-idx3-ubyte.gz", te2_img);
    put(raw, "t10k-labels-idx1-ubyte", te2_lab);
    put(raw, "t10k-labels-idx1-ubyte.gz", tr9_labgz); /* NAME wins over NAME.gz */
    opts.dir = dir;
    st = rt_mnist_load(&opts, &train, &test, &err);
    CHECKF(st == RT_OK, "mixed layout: %s", err.message);
    if (st == RT_OK) {
        CHECK(train.count == 60000 && train.rows == 28 && train.cols == 28);
        CHECK(test.count == 10000 && test.rows == 28 && test.cols == 28);
        CHECK(train.images[0] == 1 && train.labels[0] == 1 && train.labels[59999] == 0);
        CHECK(test.images[0] == 2 && test.labels[0] == 2 && test.labels[9999] == 1);
        rt_dataset_free(&train);
        rt_dataset_free(&test);
    }

    /* torchvision's layout only: everything in dir/MNIST/raw as .gz */
    make_dirs(dir, raw, "torchvision");
    put(raw, "train-images-idx3-ubyte.gz", tr1_img);
    put(raw, "train-labels-idx1-ubyte.gz", tr1_labgz);
    put(raw, "t10k-images-idx3-ubyte.gz", te2_img);
    put(raw, "t10k-labels-idx1-ubyte.gz", te2_labgz);
    opts.dir = dir;
    st = rt_mnist_load(&opts, &train, &test, &err);
    CHECKF(st == RT_OK, "torchvision layout: %s", err.message);
    if (st == RT_OK) {
        CHECK(train.count == 60000 && test.count == 10000);
        CHECK(train.labels[0] == 1 && test.labels[0] == 2);
        rt_dataset_free(&train);
        rt_dataset_free(&test);
    }

    /* the test set where the training set should be: wrong count */
    make_dirs(dir, raw, "swapped");
    put(dir, "train-images-idx3-ubyte.gz", te2_img);
    put(dir, "train-labels-idx1-ubyte.gz", te2_labgz);
    put(dir, "t10k-images-idx3-ubyte.gz", te2_img);
    put(dir, "t10k-labels-idx1-ubyte.gz", te2_labgz);
    opts.dir = dir;
    st = rt_mnist_load(&opts, &train, &test, &err);
    fx_check_error("10000 training images", st, &err, RT_ERR_FORMAT,
                   "train-images-idx3-ubyte.gz", "10000 images", "60000", NULL);
    CHECK(train.images == NULL && test.images == NULL);

    /* a good training set and a test set of the wrong size: nothing kept */
    make_dirs(dir, raw, "bad-test");
    put(dir, "train-images-idx3-ubyte.gz", tr1_img);
    put(dir, "train-labels-idx1-ubyte.gz", tr1_labgz);
    put(dir, "t10k-images-idx3-ubyte.gz", tr9_img);
    put(dir, "t10k-labels-idx1-ubyte.gz", tr9_labgz);
    opts.dir = dir;
    st = rt_mnist_load(&opts, &train, &test, &err);
    fx_check_error("10 test images", st, &err, RT_ERR_FORMAT, "t10k-images-idx3-ubyte.gz",
                   "10 images", "10000", NULL);
    CHECK(train.images == NULL && train.count == 0 && test.images == NULL);

    /* missing files, downloading disabled: names the first missing file,
     * both folders, the others missing, and how to fix it; creates nothing */
    sub(dir, tmp, "missing");
    put(dir, "train-images-idx3-ubyte.gz", tr1_img);
    opts.dir = dir;
    opts.download = 0;
    st = rt_mnist_load(&opts, &train, &test, &err);
    char raw_path[4096];
    fx_pathf(raw_path, sizeof raw_path, "%s/MNIST/raw", dir);
    fx_check_error("missing", st, &err, RT_ERR_IO, raw_path, "train-labels-idx1-ubyte",
                   "not found", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte", "--data",
#ifdef RT_HAVE_CURL
                   "--no-download",
#else
                   "without libcurl",
#endif
                   NULL);
    CHECK(!is_dir(raw_path));
    CHECK(train.images == NULL && test.images == NULL);

    /* a folder that does not exist at all */
    char nowhere[4096];
    fx_pathf(nowhere, sizeof nowhere, "%s/nowhere", tmp);
    opts.dir = nowhere;
    st = rt_mnist_load(&opts, &train, &test, &err);
    fx_check_error("no folder", st, &err, RT_ERR_IO, nowhere, "train-images-idx3-ubyte",
                   "not found", NULL);
    CHECK(!is_dir(nowhere));

    fx_buf *all[] = {&tr1_img, &tr1_lab, &tr1_labgz, &te2_img, &te2_lab,
                     &te2_labgz, &tr9_img, &tr9_lab, &tr9_labgz};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        fx_free(all[i]);
    fx_remove_tree(tmp);
    return rt_test_finish("test_mnist_files");
}
