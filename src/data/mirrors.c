/* Downloading one file from each mirror in turn, with notices. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "data_util.h"

rt_status rt_data_download(rt_notice_fn fn, void *ctx, const char *const *mirrors,
                           const char *file, const char *md5_hex, const char *dest,
                           uint64_t max_bytes, rt_error *err)
{
    char failures[RT_ERROR_MESSAGE_MAX] = "";
    size_t used = 0;
    rt_status last = RT_ERR_NETWORK;
    for (size_t m = 0; mirrors[m]; m++) {
        const char *base = mirrors[m];
        size_t nb = strlen(base);
        const char *slash = nb > 0 && base[nb - 1] != '/' ? "/" : "";
        rt_data_notify(fn, ctx, "downloading %s%s%s", base, slash, file);
        rt_error e;
        rt_error_clear(&e);
        last = rt_download_verified_max(base, file, md5_hex, dest, max_bytes, &e);
        if (last == RT_OK) {
            struct stat st;
            long long bytes = stat(dest, &st) == 0 ? (long long)st.st_size : -1;
            rt_data_notify(fn, ctx, "saved %s (%lld bytes, MD5 ok)", dest, bytes);
            return RT_OK;
        }
        if (mirrors[m + 1])
            rt_data_notify(fn, ctx, "%s; trying the next mirror", e.message);
        if (used < sizeof failures) {
            int n = snprintf(failures + used, sizeof failures - used, "%s%s", used ? "; " : "",
                             e.message);
            used += n > 0 ? (size_t)n : 0;
        }
    }
    if (!mirrors[0])
        return rt_error_set(err, RT_ERR_USAGE, "%s: cannot download: no mirror given", file);
    return rt_error_set(err, last, "%s: download failed from every mirror: %s", file, failures);
}
