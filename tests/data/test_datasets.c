/* The named data sets: the table (shapes, classes, normalisation, names
 * found ignoring case, '-' and '_'), rt_data_load's dispatch (MNIST the
 * default and loaded exactly as rt_mnist_load), Fashion-MNIST and KMNIST
 * found in their torchvision folders only (never MNIST's files in DIR),
 * and the errors: an unknown name, coarse labels for a set without them,
 * a missing set with downloading disabled. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fixtures.h"
#include "resnet/datasets.h"
#include "test_support.h"

static char tmp[4096];

static void spec_cases(void)
{
    const rt_dataset_spec *s = rt_dataset_spec_find("mnist");
    CHECK(s && !strcmp(s->name, "mnist") && s->channels == 1 && s->height == 28 &&
          s->width == 28 && s->classes == 10 && !s->has_normalization && s->mean[0] == 0 &&
          s->std[0] == 1);
    s = rt_dataset_spec_find("fashion-mnist");
    CHECK(s && !strcmp(s->name, "fashion-mnist") && s->classes == 10 && !s->has_normalization);
    CHECK(rt_dataset_spec_find("FashionMNIST") == s && rt_dataset_spec_find("fashion_mnist") == s);
    s = rt_dataset_spec_find("kmnist");
    CHECK(s && s->channels == 1 && s->classes == 10 && !s->has_normalization);
    CHECK(rt_dataset_spec_find("KMNIST") == s);
    s = rt_dataset_spec_find("cifar10");
    CHECK(s && s->channels == 3 && s->height == 32 && s->width == 32 && s->classes == 10 &&
          s->has_normalization && s->mean[0] == 0.4914f && s->mean[1] == 0.4822f &&
          s->mean[2] == 0.4465f && s->std[0] == 0.2470f && s->std[1] == 0.2435f &&
          s->std[2] == 0.2616f);
    CHECK(rt_dataset_spec_find("CIFAR-10") == s && rt_dataset_spec_find("CIFAR10") == s);
    s = rt_dataset_spec_find("cifar100");
    CHECK(s && s->channels == 3 && s->classes == 100 && s->has_normalization &&
          s->mean[0] == 0.5071f && s->mean[1] == 0.4865f && s->mean[2] == 0.4409f &&
          s->std[0] == 0.2673f && s->std[1] == 0.2564f && s->std[2] == 0.2762f);
    CHECK(rt_dataset_spec_find("cifar") == NULL && rt_dataset_spec_find("") == NULL &&
          rt_dataset_spec_find(NULL) == NULL && rt_dataset_spec_find("mnist2") == NULL &&
          rt_dataset_spec_find("cifar1000") == NULL);
    CHECK(!strcmp(rt_dataset_names(), "mnist, fashion-mnist, kmnist, cifar10, cifar100"));
}

/* The four files in dir: count images (all zero but the first pixel = tag)
 * and labels (i + tag) % 10; images gzip, labels raw. */
static void write_set(const char *dir, const char *prefix, int count, int tag)
{
    size_t n = (size_t)count * 784;
    uint8_t *pixels = calloc(n, 1), *labels = malloc((size_t)count);
    CHECK(pixels && labels);
    if (!pixels || !labels)
        exit(1);
    pixels[0] = (uint8_t)tag;
    for (int i = 0; i < count; i++)
        labels[i] = (uint8_t)((i + tag) % 10);
    const uint32_t idims[3] = {(uint32_t)count, 28, 28}, ldims[1] = {(uint32_t)count};
    fx_buf raw = fx_idx(RT_IDX_MAGIC_IMAGES, 3, idims, pixels, n);
    fx_buf gz = fx_gzip(raw.data, raw.size);
    fx_buf lab = fx_idx(RT_IDX_MAGIC_LABELS, 1, ldims, labels, (size_t)count);
    char name[128], path[4096];
    snprintf(name, sizeof name, "%s-images-idx3-ubyte.gz", prefix);
    CHECK(fx_write(dir, name, gz.data, gz.size, path) == 0);
    snprintf(name, sizeof name, "%s-labels-idx1-ubyte", prefix);
    CHECK(fx_write(dir, name, lab.data, lab.size, path) == 0);
    fx_free(&raw);
    fx_free(&gz);
    fx_free(&lab);
    free(pixels);
    free(labels);
}

static void mkdirs(char *out, const char *a, const char *b)
{
    fx_pathf(out, 4096, "%s/%s", a, b);
    char part[4096];
    for (size_t i = 1; out[i - 1]; i++)
        if (out[i] == '/' || out[i] == '\0') {
            memcpy(part, out, i);
            part[i] = '\0';
            mkdir(part, 0777);
        }
}

static void check_loaded(const char *what, rt_status st, const rt_error *err, rt_dataset *train,
                         rt_dataset *test, int train_tag, int test_tag)
{
    CHECKF(st == RT_OK, "%s: %s", what, err->message);
    if (st != RT_OK)
        return;
    CHECKF(train->count == 60000 && test->count == 10000 && train->classes == 10 &&
               test->classes == 10 && train->channels == 1 && train->rows == 28,
           "%s: shapes", what);
    CHECKF(train->images[0] == train_tag && train->labels[0] == train_tag &&
               test->images[0] == test_tag && test->labels[0] == test_tag,
           "%s: loaded the wrong copy (%u, %u)", what, train->images[0], test->images[0]);
    rt_dataset_free(train);
    rt_dataset_free(test);
}

static void idx_cases(void)
{
    char dir[4096], raw[4096];
    rt_dataset train, test;
    rt_error err;
    rt_status st;
    mkdirs(dir, tmp, "idx");
    /* MNIST flat in dir (tags 1, 2), Fashion-MNIST (3, 4) and KMNIST (5, 6)
     * in their torchvision folders */
    write_set(dir, "train", 60000, 1);
    write_set(dir, "t10k", 10000, 2);
    mkdirs(raw, dir, "FashionMNIST/raw");
    write_set(raw, "train", 60000, 3);
    write_set(raw, "t10k", 10000, 4);
    mkdirs(raw, dir, "KMNIST/raw");
    write_set(raw, "train", 60000, 5);
    write_set(raw, "t10k", 10000, 6);

    rt_data_options o = {0};
    o.dir = dir;
    st = rt_data_load(&o, &train, &test, &err);
    check_loaded("default (mnist)", st, &err, &train, &test, 1, 2);
    o.dataset = "";
    st = rt_data_load(&o, &train, &test, &err);
    check_loaded("empty name (mnist)", st, &err, &train, &test, 1, 2);
    o.dataset = "mnist";
    st = rt_data_load(&o, &train, &test, &err);
    check_loaded("mnist", st, &err, &train, &test, 1, 2);
    rt_mnist_options mo = {dir, 0, NULL, NULL, NULL};
    st = rt_mnist_load(&mo, &train, &test, &err);
    check_loaded("rt_mnist_load", st, &err, &train, &test, 1, 2);
    o.dataset = "fashion-mnist";
    st = rt_data_load(&o, &train, &test, &err);
    check_loaded("fashion-mnist", st, &err, &train, &test, 3, 4);
    o.dataset = "kmnist";
    st = rt_data_load(&o, &train, &test, &err);
    check_loaded("kmnist", st, &err, &train, &test, 5, 6);

    /* a label of 10 in Fashion-MNIST's test labels (its training set loads first) */
    mkdirs(dir, tmp, "idx-bad");
    mkdirs(raw, dir, "FashionMNIST/raw");
    write_set(raw, "train", 60000, 3);
    write_set(raw, "t10k", 10000, 4);
    static uint8_t labels[10000];
    labels[1234] = 10;
    const uint32_t ldims[1] = {10000};
    fx_buf lab = fx_idx(RT_IDX_MAGIC_LABELS, 1, ldims, labels, 10000);
    char path[4096];
    CHECK(fx_write(raw, "t10k-labels-idx1-ubyte", lab.data, lab.size, path) == 0);
    fx_free(&lab);
    o.dir = dir;
    o.dataset = "fashion-mnist";
    st = rt_data_load(&o, &train, &test, &err);
    fx_check_error("fashion-mnist label 10", st, &err, RT_ERR_FORMAT, path,
                   "bad label: label 1234 is 10, expected 0..9", NULL);
    CHECK(!train.images && !test.images);

    /* only MNIST's files in dir: Fashion-MNIST and KMNIST are not found */
    mkdirs(dir, tmp, "mnist-only");
    write_set(dir, "train", 60000, 1);
    write_set(dir, "t10k", 10000, 2);
    o.dir = dir;
    o.download = 0;
    o.dataset = "fashion-mnist";
    st = rt_data_load(&o, &train, &test, &err);
    fx_pathf(path, sizeof path, "%s/FashionMNIST/raw", dir);
    fx_check_error("fashion-mnist missing", st, &err, RT_ERR_IO, path,
                   "Fashion-MNIST file train-images-idx3-ubyte (or train-images-idx3-ubyte.gz) "
                   "not found",
                   "(nor train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte)",
                   "DIR/FashionMNIST/raw holds them",
#ifdef RT_HAVE_CURL
                   "--no-download",
#else
                   "without libcurl",
#endif
                   NULL);
    CHECK(!train.images && !test.images);
    struct stat sb;
    CHECK(stat(path, &sb) != 0); /* nothing created */
    o.dataset = "kmnist";
    st = rt_data_load(&o, &train, &test, &err);
    fx_pathf(path, sizeof path, "%s/KMNIST/raw", dir);
    fx_check_error("kmnist missing", st, &err, RT_ERR_IO, path, "KMNIST file", "not found",
                   NULL);
}

static void usage_cases(void)
{
    rt_dataset train, test;
    rt_error err;
    rt_data_options o = {0};
    o.dir = tmp;
    o.dataset = "imagenet";
    rt_status st = rt_data_load(&o, &train, &test, &err);
    fx_check_error("unknown", st, &err, RT_ERR_USAGE, NULL, "unknown data set \"imagenet\"",
                   "mnist, fashion-mnist, kmnist, cifar10, cifar100", NULL);
    o.dataset = "bad\nname";
    st = rt_data_load(&o, &train, &test, &err);
    fx_check_error("unknown, newline", st, &err, RT_ERR_USAGE, NULL, "bad?name", NULL);
    o.dataset = "cifar10";
    o.coarse_labels = 1;
    st = rt_data_load(&o, &train, &test, &err);
    fx_check_error("coarse cifar10", st, &err, RT_ERR_USAGE, NULL, "only for cifar100", NULL);
    o.dataset = NULL;
    st = rt_data_load(&o, &train, &test, &err);
    fx_check_error("coarse mnist", st, &err, RT_ERR_USAGE, NULL, "only for cifar100", NULL);
    st = rt_data_load(NULL, &train, &test, &err);
    CHECK(st == RT_ERR_USAGE);
}

int main(void)
{
    CHECK(rt_test_tempdir(tmp, sizeof tmp) == 0);
    spec_cases();
    idx_cases();
    usage_cases();
    fx_remove_tree(tmp);
    return rt_test_finish("test_datasets");
}
