/* A CIFAR set from its unpacked folder (cifar-10-batches-bin/ or
 * cifar-100-binary/): every record file present and of the right size
 * before any is read, then each read straight into its place. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cifar.h"
#include "data_util.h"

/* Opens path and checks it is a regular file of expect bytes. */
static rt_status open_checked(const char *path, int cifar100, int32_t records, size_t expect,
                              FILE **out, rt_error *err)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return rt_error_set(err, RT_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    rt_status s = RT_OK;
    if (fstat(fileno(f), &st) != 0)
        s = rt_error_set(err, RT_ERR_IO, "%s: cannot stat: %s", path, strerror(errno));
    else if (!S_ISREG(st.st_mode))
        s = rt_error_set(err, RT_ERR_IO, "%s: not a regular file", path);
    else if ((s = rt_cifar_check_size(path, (uint64_t)st.st_size, cifar100, records, err)) ==
                 RT_OK &&
             (uint64_t)st.st_size != (uint64_t)expect)
        s = rt_error_set(err, RT_ERR_FORMAT, "%s: %lld bytes, expected %zu", path,
                         (long long)st.st_size, expect);
    if (s != RT_OK) {
        fclose(f);
        return s;
    }
    *out = f;
    return RT_OK;
}

static rt_status read_into(const char *path, int cifar100, int32_t records, uint8_t *dst,
                           size_t size, rt_error *err)
{
    FILE *f;
    rt_status st = open_checked(path, cifar100, records, size, &f, err);
    if (st != RT_OK)
        return st;
    size_t got = fread(dst, 1, size, f);
    if (got != size)
        st = ferror(f) ? rt_error_set(err, RT_ERR_IO, "%s: read failed: %s", path, strerror(errno))
                       : rt_error_set(err, RT_ERR_FORMAT,
                                      "%s: cut short while reading (%zu of %zu bytes)", path, got,
                                      size);
    else if (fgetc(f) != EOF)
        st = rt_error_set(err, RT_ERR_FORMAT, "%s: grew while it was read", path);
    fclose(f);
    return st;
}

rt_status rt_cifar_load_folder(const rt_cifar_set *set, const char *folder, int coarse,
                               rt_dataset *train, rt_dataset *test, rt_error *err)
{
    memset(train, 0, sizeof *train);
    memset(test, 0, sizeof *test);
    size_t train_bytes = rt_cifar_train_bytes(set), test_bytes = rt_cifar_test_bytes(set);
    if (!train_bytes || !test_bytes)
        return rt_error_set(err, RT_ERR_USAGE, "%s: malformed CIFAR set description", folder);
    size_t file_bytes = train_bytes / (size_t)set->train_files;
    char paths[RT_CIFAR_MAX_TRAIN_FILES + 1][RT_DATA_PATH_MAX];
    const char *names[RT_CIFAR_MAX_TRAIN_FILES];
    int n = set->train_files;
    rt_status st;
    for (int i = 0; i <= n; i++) {
        const char *file = i < n ? set->train[i] : set->test;
        if ((st = rt_data_path(paths[i], "%s/%s", folder, file, err)) != RT_OK)
            return st;
        if (i < n)
            names[i] = paths[i];
    }
    /* everything there and of the right size before anything is read */
    for (int i = 0; i <= n; i++) {
        struct stat sb;
        if (stat(paths[i], &sb) != 0)
            return rt_error_set(err, RT_ERR_IO,
                                "%s: not found: the unpacked %s folder %s lacks %s "
                                "(unpack %s again, or remove the folder to use the archive)",
                                paths[i], set->title, folder, i < n ? set->train[i] : set->test,
                                set->archive);
        FILE *f;
        if ((st = open_checked(paths[i], set->cifar100,
                               i < n ? set->train_records : set->test_records,
                               i < n ? file_bytes : test_bytes, &f, err)) != RT_OK)
            return st;
        fclose(f);
    }
    uint8_t *train_buf = malloc(train_bytes), *test_buf = malloc(test_bytes);
    if (!train_buf || !test_buf) {
        free(train_buf);
        free(test_buf);
        return rt_error_set(err, RT_ERR_NOMEM, "%s: out of memory for %zu bytes of records",
                            folder, train_bytes + test_bytes);
    }
    for (int i = 0; i <= n; i++) {
        uint8_t *dst = i < n ? train_buf + (size_t)i * file_bytes : test_buf;
        st = read_into(paths[i], set->cifar100, i < n ? set->train_records : set->test_records,
                       dst, i < n ? file_bytes : test_bytes, err);
        if (st != RT_OK) {
            free(train_buf);
            free(test_buf);
            return st;
        }
    }
    return rt_cifar_finish(set, coarse, train_buf, names, test_buf, paths[n], train, test, err);
}
