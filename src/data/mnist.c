/* Finding, downloading and loading the four IDX files of MNIST and of the
 * sets made in its image (Fashion-MNIST, KMNIST): one table row per set. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data_util.h"
#include "idx_sets.h"
#include "resnet/data.h"

static const char *const file_names[4] = {
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
};

/* torchvision's mirrors and sums (torchvision/datasets/mnist.py); MNIST's
 * mirrors in the order torchvision had them when this was written */
static const char *const mnist_mirrors[] = {
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
    NULL,
};
static const char *const fashion_mirrors[] = {
    "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
    NULL,
};
static const char *const kmnist_mirrors[] = {
    "http://codh.rois.ac.jp/kmnist/dataset/kmnist/",
    NULL,
};

const rt_idx_set rt_idx_mnist = {
    "MNIST", "MNIST", 1, 10,
    {"f68b3c2dcbeaaa9fbdd348bbdeb94873", "d53e105ee54ea40749a09fcbcd1e9432",
     "9fb629c4189551a2d022fa330f9573f3", "ec29112dd5afa0611ce80d1b7f02629c"},
    mnist_mirrors,
};
const rt_idx_set rt_idx_fashion_mnist = {
    "Fashion-MNIST", "FashionMNIST", 0, 10,
    {"8d4fb7e6c68d591d4c3dfef9ec88bf0d", "25c81989df183df01b3e8a0aad5dffbe",
     "bef4ecab320f06d8554ea6380940ec79", "bb300cfdad3c16e7a12a480ee83cd310"},
    fashion_mirrors,
};
const rt_idx_set rt_idx_kmnist = {
    "KMNIST", "KMNIST", 0, 10,
    {"bdb82020997e1d708af4cf47b453dcf7", "e144d726b3acfaa3e44228e80efcd344",
     "5c965bf0a639b31b8f53240b1b52f4d7", "7320c461ea6c1c855c0b718fb2a4b134"},
    kmnist_mirrors,
};

/* Looks for NAME and NAME.gz in dir (flat sets), then in dir/FOLDER/raw;
 * *found is 0 if none is there. */
static rt_status find_file(const rt_idx_set *set, const char *dir, const char *name,
                           char path[RT_DATA_PATH_MAX], int *found, rt_error *err)
{
    char raw[RT_DATA_PATH_MAX];
    rt_status st = rt_data_path(raw, "%s/%s/raw", dir, set->folder, err);
    if (st != RT_OK)
        return st;
    static const char *const forms[2] = {"%s/%s", "%s/%s.gz"};
    const char *bases[2] = {dir, raw};
    *found = 0;
    for (int b = set->flat ? 0 : 1; b < 2; b++) {
        for (int f = 0; f < 2; f++) {
            if ((st = rt_data_path(path, forms[f], bases[b], name, err)) != RT_OK)
                return st;
            if (rt_data_is_file(path)) {
                *found = 1;
                return RT_OK;
            }
        }
    }
    return RT_OK;
}

static rt_status load_set(const rt_idx_set *set, const char *images, const char *labels,
                          int32_t expect, const char *what, rt_dataset *out, rt_error *err)
{
    rt_status st = rt_idx_pair_load(images, labels, set->classes, out, err);
    if (st != RT_OK)
        return st;
    if (out->count != expect) {
        st = rt_error_set(err, RT_ERR_FORMAT, "%s: holds %d images, but the %s %s set has %d",
                          images, (int)out->count, set->title, what, (int)expect);
        rt_dataset_free(out);
    }
    return st;
}

/* The error for missing files when they cannot be downloaded. */
static rt_status not_found(const rt_idx_set *set, const char *dir, const int found[4],
                           const char *cannot, rt_error *err)
{
    int first = 0;
    while (found[first])
        first++;
    char others[256] = "";
    for (int i = first + 1, n = 0; i < 4; i++)
        if (!found[i])
            n += snprintf(others + n, sizeof others - (size_t)n, "%s%s", n ? ", " : "",
                          file_names[i]);
    char also[300] = "";
    if (others[0])
        snprintf(also, sizeof also, " (nor %s)", others);
    char where[2 * RT_DATA_PATH_MAX + 16], holder[RT_DATA_PATH_MAX + 64];
    if (set->flat) {
        snprintf(where, sizeof where, "%s or %s/%s/raw", dir, dir, set->folder);
        snprintf(holder, sizeof holder, "with the folder holding them");
    } else {
        snprintf(where, sizeof where, "%s/%s/raw", dir, set->folder);
        snprintf(holder, sizeof holder, "where DIR/%s/raw holds them", set->folder);
    }
#ifdef RT_HAVE_CURL
    const char *fix = "run without --no-download to download them, or pass --data DIR";
#else
    const char *fix = set->flat ? "put the four files (NAME or NAME.gz) in one of those "
                                  "folders, or pass --data DIR"
                                : "put the four files (NAME or NAME.gz) in that folder, or "
                                  "pass --data DIR";
#endif
    return rt_error_set(err, RT_ERR_IO, "%s file %s (or %s.gz) not found in %s%s, and %s: %s %s",
                        set->title, file_names[first], file_names[first], where, also, cannot,
                        fix, holder);
}

rt_status rt_idx_set_load(const rt_idx_set *set, const rt_mnist_options *opts, rt_dataset *train,
                          rt_dataset *test, rt_error *err)
{
    memset(train, 0, sizeof *train);
    memset(test, 0, sizeof *test);
    if (!opts)
        return rt_error_set(err, RT_ERR_USAGE, "rt_mnist_load: no options given");
    const char *dir = opts->dir && *opts->dir ? opts->dir : ".";
    const char *const *mirrors = opts->mirrors ? opts->mirrors : set->mirrors;
    char paths[4][RT_DATA_PATH_MAX];
    int found[4], missing = 0;
    rt_status st;
    for (int i = 0; i < 4; i++) {
        if ((st = find_file(set, dir, file_names[i], paths[i], &found[i], err)) != RT_OK)
            return st;
        missing += !found[i];
    }
    if (missing) {
#ifdef RT_HAVE_CURL
        const char *cannot = opts->download ? NULL : "downloading is disabled";
#else
        const char *cannot = "this build cannot download (built without libcurl)";
#endif
        if (cannot)
            return not_found(set, dir, found, cannot, err);
        char raw[RT_DATA_PATH_MAX];
        if ((st = rt_data_path(raw, "%s/%s/raw", dir, set->folder, err)) != RT_OK ||
            (st = rt_data_make_dirs(raw, err)) != RT_OK)
            return st;
        for (int i = 0; i < 4; i++) {
            if (found[i])
                continue;
            char gz[64];
            snprintf(gz, sizeof gz, "%s.gz", file_names[i]);
            if ((st = rt_data_path(paths[i], "%s/%s", raw, gz, err)) != RT_OK ||
                (st = rt_data_download(opts->notice, opts->notice_ctx, mirrors, gz,
                                       set->gz_md5[i], paths[i], RT_DOWNLOAD_DEFAULT_MAX, err)) !=
                    RT_OK)
                return st;
        }
    }
    if ((st = load_set(set, paths[0], paths[1], 60000, "training", train, err)) != RT_OK)
        return st;
    if ((st = load_set(set, paths[2], paths[3], 10000, "test", test, err)) != RT_OK) {
        rt_dataset_free(train);
        return st;
    }
    return RT_OK;
}

rt_status rt_mnist_load(const rt_mnist_options *opts, rt_dataset *train, rt_dataset *test,
                        rt_error *err)
{
    return rt_idx_set_load(&rt_idx_mnist, opts, train, test, err);
}
