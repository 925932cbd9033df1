/* Finding, downloading and loading the four MNIST files. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "resnet/data.h"

#define PATH_SIZE 4096

typedef struct mnist_file {
    const char *name;
    const char *gz_md5; /* of NAME.gz as published (torchvision checks the same) */
} mnist_file;

static const mnist_file files[4] = {
    {"train-images-idx3-ubyte", "f68b3c2dcbeaaa9fbdd348bbdeb94873"},
    {"train-labels-idx1-ubyte", "d53e105ee54ea40749a09fcbcd1e9432"},
    {"t10k-images-idx3-ubyte", "9fb629c4189551a2d022fa330f9573f3"},
    {"t10k-labels-idx1-ubyte", "ec29112dd5afa0611ce80d1b7f02629c"},
};

/* torchvision's mirrors, in its order */
static const char *const default_mirrors[] = {
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
    NULL,
};

static void notify(const rt_mnist_options *opts, const char *fmt, ...) RT_PRINTF_LIKE(2, 3);

static void notify(const rt_mnist_options *opts, const char *fmt, ...)
{
    if (!opts->notice)
        return;
    char message[RT_ERROR_MESSAGE_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    opts->notice(opts->notice_ctx, message);
}

static rt_status make_path(char *buf, const char *fmt, const char *dir, const char *name,
                           rt_error *err)
{
    int n = snprintf(buf, PATH_SIZE, fmt, dir, name);
    if (n < 0 || n >= PATH_SIZE)
        return rt_error_set(err, RT_ERR_USAGE, "%s: path too long", dir);
    return RT_OK;
}

static int exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && !S_ISDIR(st.st_mode);
}

/* Looks for NAME and NAME.gz in dir, then in dir/MNIST/raw; *found is 0 if
 * none is there. */
static rt_status find_file(const char *dir, const char *name, char path[PATH_SIZE], int *found,
                           rt_error *err)
{
    static const char *const forms[] = {"%s/%s", "%s/%s.gz", "%s/MNIST/raw/%s",
                                        "%s/MNIST/raw/%s.gz"};
    *found = 0;
    for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
        rt_status st = make_path(path, forms[i], dir, name, err);
        if (st != RT_OK)
            return st;
        if (exists(path)) {
            *found = 1;
            return RT_OK;
        }
    }
    return RT_OK;
}

/* mkdir -p */
static rt_status make_dirs(const char *dir, rt_error *err)
{
    char path[PATH_SIZE];
    size_t n = strlen(dir);
    if (n >= sizeof path)
        return rt_error_set(err, RT_ERR_USAGE, "%s: path too long", dir);
    memcpy(path, dir, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (path[i] != '/' && path[i] != '\0')
            continue;
        char c = path[i];
        path[i] = '\0';
        if (mkdir(path, 0777) != 0 && errno != EEXIST)
            return rt_error_set(err, RT_ERR_IO, "%s: cannot create folder: %s", path,
                                strerror(errno));
        path[i] = c;
    }
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return rt_error_set(err, RT_ERR_IO, "%s: not a folder", dir);
    return RT_OK;
}

/* Tries each mirror in turn for NAME.gz. */
static rt_status download(const rt_mnist_options *opts, const char *const *mirrors,
                          const mnist_file *file, const char *dest, rt_error *err)
{
    char gz[64];
    snprintf(gz, sizeof gz, "%s.gz", file->name);
    char failures[RT_ERROR_MESSAGE_MAX] = "";
    size_t used = 0;
    rt_status last = RT_ERR_NETWORK;
    for (size_t m = 0; mirrors[m]; m++) {
        const char *base = mirrors[m];
        size_t nb = strlen(base);
        const char *slash = nb > 0 && base[nb - 1] != '/' ? "/" : "";
        notify(opts, "downloading %s%s%s", base, slash, gz);
        rt_error e;
        rt_error_clear(&e);
        last = rt_download_verified(base, gz, file->gz_md5, dest, &e);
        if (last == RT_OK) {
            struct stat st;
            long long bytes = stat(dest, &st) == 0 ? (long long)st.st_size : -1;
            notify(opts, "saved %s (%lld bytes, MD5 ok)", dest, bytes);
            return RT_OK;
        }
        if (mirrors[m + 1])
            notify(opts, "%s; trying the next mirror", e.message);
        if (used < sizeof failures) {
            int n = snprintf(failures + used, sizeof failures - used, "%s%s", used ? "; " : "",
                             e.message);
            used += n > 0 ? (size_t)n : 0;
        }
    }
    if (!mirrors[0])
        return rt_error_set(err, RT_ERR_USAGE, "%s: cannot download: no mirror given", gz);
    return rt_error_set(err, last, "%s: download failed from every mirror: %s", gz, failures);
}

static rt_status load_set(const char *images, const char *labels, int32_t expect,
                          const char *what, rt_dataset *out, rt_error *err)
{
    rt_status st = rt_dataset_load(images, labels, out, err);
    if (st != RT_OK)
        return st;
    if (out->count != expect) {
        st = rt_error_set(err, RT_ERR_FORMAT,
                          "%s: holds %d images, but the MNIST %s set has %d", images,
                          (int)out->count, what, (int)expect);
        rt_dataset_free(out);
    }
    return st;
}

rt_status rt_mnist_load(const rt_mnist_options *opts, rt_dataset *train, rt_dataset *test,
                        rt_error *err)
{
    memset(train, 0, sizeof *train);
    memset(test, 0, sizeof *test);
    if (!opts)
        return rt_error_set(err, RT_ERR_USAGE, "rt_mnist_load: no options given");
    const char *dir = opts->dir && *opts->dir ? opts->dir : ".";
    const char *const *mirrors = opts->mirrors ? opts->mirrors : default_mirrors;
    char paths[4][PATH_SIZE];
    int found[4], missing = 0;
    rt_status st;
    for (int i = 0; i < 4; i++) {
        if ((st = find_file(dir, files[i].name, paths[i], &found[i], err)) != RT_OK)
            return st;
        missing += !found[i];
    }
    if (missing) {
        int first = 0;
        while (found[first])
            first++;
        char others[256] = "";
        for (int i = first + 1, n = 0; i < 4; i++)
            if (!found[i])
                n += snprintf(others + n, sizeof others - (size_t)n, "%s%s", n ? ", " : "",
                              files[i].name);
        char also[300] = "";
        if (others[0])
            snprintf(also, sizeof also, " (nor %s)", others);
#ifdef RT_HAVE_CURL
        const char *cannot = opts->download ? NULL : "downloading is disabled";
        const char *fix = "run without --no-download to download them, or pass --data DIR "
                          "with the folder holding them";
#else
        const char *cannot = "this build cannot download (built without libcurl)";
        const char *fix = "put the four files (NAME or NAME.gz) in one of those folders, or "
                          "pass --data DIR with the folder holding them";
#endif
        if (cannot)
            return rt_error_set(err, RT_ERR_IO,
                                "MNIST file %s (or %s.gz) not found in %s or %s/MNIST/raw%s, "
                                "and %s: %s",
                                files[first].name, files[first].name, dir, dir, also, cannot,
                                fix);
        char raw[PATH_SIZE];
        if ((st = make_path(raw, "%s/%s", dir, "MNIST/raw", err)) != RT_OK ||
            (st = make_dirs(raw, err)) != RT_OK)
            return st;
        for (int i = 0; i < 4; i++) {
            if (found[i])
                continue;
            if ((st = make_path(paths[i], "%s/MNIST/raw/%s.gz", dir, files[i].name, err)) !=
                    RT_OK ||
                (st = download(opts, mirrors, &files[i], paths[i], err)) != RT_OK)
                return st;
        }
    }
    if ((st = load_set(paths[0], paths[1], 60000, "training", train, err)) != RT_OK)
        return st;
    if ((st = load_set(paths[2], paths[3], 10000, "test", test, err)) != RT_OK) {
        rt_dataset_free(train);
        return st;
    }
    return RT_OK;
}
