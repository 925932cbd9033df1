/* Paths, folders, notices and printable names for the data loaders. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "data_util.h"

rt_status rt_data_path(char *out, const char *fmt, const char *dir, const char *name,
                       rt_error *err)
{
    int n = snprintf(out, RT_DATA_PATH_MAX, fmt, dir, name);
    if (n < 0 || n >= RT_DATA_PATH_MAX)
        return rt_error_set(err, RT_ERR_USAGE, "%s: path too long", dir);
    return RT_OK;
}

int rt_data_is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && !S_ISDIR(st.st_mode);
}

int rt_data_is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

rt_status rt_data_make_dirs(const char *dir, rt_error *err)
{
    char path[RT_DATA_PATH_MAX];
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
    if (!rt_data_is_dir(dir))
        return rt_error_set(err, RT_ERR_IO, "%s: not a folder", dir);
    return RT_OK;
}

void rt_data_notify(rt_notice_fn fn, void *ctx, const char *fmt, ...)
{
    if (!fn)
        return;
    char message[RT_ERROR_MESSAGE_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    fn(ctx, message);
}

void rt_data_printable(const char *in, char *out, size_t size)
{
    if (size == 0)
        return;
    size_t n = 0;
    for (; in[n] && n + 1 < size; n++) {
        unsigned char c = (unsigned char)in[n];
        out[n] = c < 0x20 || c >= 0x7f ? '?' : (char)c;
    }
    out[n] = '\0';
    if (in[n] && size >= 4)
        memcpy(out + size - 4, "...", 4);
}
