/* Where a CIFAR set comes from: the unpacked folder in the data folder,
 * else the archive there, else the archive downloaded there. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cifar.h"
#include "data_util.h"

/* The unpacked folder counts when it holds any of the set's record files
 * (then all of them must be there). */
static int folder_in_use(const rt_cifar_set *set, const char *folder)
{
    if (!rt_data_is_dir(folder))
        return 0;
    for (int i = 0; i <= set->train_files && i <= RT_CIFAR_MAX_TRAIN_FILES; i++) {
        char path[RT_DATA_PATH_MAX];
        const char *file = i < set->train_files ? set->train[i] : set->test;
        struct stat st;
        if (file && rt_data_path(path, "%s/%s", folder, file, NULL) == RT_OK &&
            stat(path, &st) == 0)
            return 1;
    }
    return 0;
}

static rt_status not_found(const rt_cifar_set *set, const char *dir, const char *folder,
                           const char *archive, const char *cannot, const char *fix,
                           rt_error *err)
{
    return rt_error_set(err, RT_ERR_IO,
                        "%s not found: neither the unpacked folder %s nor the archive %s is "
                        "there, and %s: %s, or pass --data DIR with the folder holding either "
                        "(looked in %s)",
                        set->title, folder, archive, cannot, fix, dir);
}

rt_status rt_cifar_load(const rt_cifar_set *set, const rt_data_options *o, rt_dataset *train,
                        rt_dataset *test, rt_error *err)
{
    memset(train, 0, sizeof *train);
    memset(test, 0, sizeof *test);
    if (!set || !o)
        return rt_error_set(err, RT_ERR_USAGE, "rt_cifar_load: missing argument");
    const char *dir = o->dir && *o->dir ? o->dir : ".";
    char folder[RT_DATA_PATH_MAX], archive[RT_DATA_PATH_MAX];
    rt_status st;
    if ((st = rt_data_path(folder, "%s/%s", dir, set->folder, err)) != RT_OK ||
        (st = rt_data_path(archive, "%s/%s", dir, set->archive, err)) != RT_OK)
        return st;
    if (folder_in_use(set, folder))
        return rt_cifar_load_folder(set, folder, o->coarse_labels, train, test, err);
    if (rt_data_is_file(archive))
        return rt_cifar_read_archive(set, archive, o->coarse_labels, train, test, err);
#ifndef RT_HAVE_ARCHIVE
    char fix[512];
    snprintf(fix, sizeof fix, "unpack %s into %s (tar xzf %s)", set->archive, dir, set->archive);
    return not_found(set, dir, folder, archive,
                     "this build cannot read the archive (built without libarchive)", fix, err);
#else
#ifndef RT_HAVE_CURL
    char fix[512];
    snprintf(fix, sizeof fix, "download %s%s into %s", set->mirrors[0], set->archive, dir);
    return not_found(set, dir, folder, archive,
                     "this build cannot download (built without libcurl)", fix, err);
#else
    if (!o->download)
        return not_found(set, dir, folder, archive, "downloading is disabled",
                         "run without --no-download to download it", err);
    if ((st = rt_data_make_dirs(dir, err)) != RT_OK ||
        (st = rt_data_download(o->notice, o->notice_ctx, o->mirrors ? o->mirrors : set->mirrors,
                               set->archive, set->archive_md5, archive, set->archive_max_bytes,
                               err)) != RT_OK)
        return st;
    return rt_cifar_read_archive(set, archive, o->coarse_labels, train, test, err);
#endif
#endif
}
