#include "fixtures.h"

#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "test_support.h"

fx_buf fx_idx(uint32_t magic, int ndim, const uint32_t *dims, const void *payload, size_t size)
{
    fx_buf b = {0};
    size_t header = 4 + 4 * (size_t)ndim;
    b.data = malloc(header + size + 1);
    if (!b.data)
        return b;
    uint32_t words[4] = {magic, 0, 0, 0};
    for (int i = 0; i < ndim; i++)
        words[i + 1] = dims[i];
    for (int w = 0; w <= ndim; w++)
        for (int k = 0; k < 4; k++)
            b.data[4 * w + k] = (uint8_t)(words[w] >> (24 - 8 * k));
    if (size)
        memcpy(b.data + header, payload, size);
    b.size = header + size;
    return b;
}

fx_buf fx_gzip(const void *data, size_t size)
{
    fx_buf b = {0};
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (deflateInit2(&zs, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return b;
    size_t cap = deflateBound(&zs, (uLong)size) + 64;
    b.data = malloc(cap);
    if (!b.data) {
        deflateEnd(&zs);
        return b;
    }
    zs.next_in = (Bytef *)(uintptr_t)data;
    zs.avail_in = (uInt)size;
    zs.next_out = b.data;
    zs.avail_out = (uInt)cap;
    int rc = deflate(&zs, Z_FINISH);
    b.size = cap - zs.avail_out;
    deflateEnd(&zs);
    if (rc != Z_STREAM_END) {
        free(b.data);
        b.data = NULL;
        b.size = 0;
    }
    return b;
}

fx_buf fx_concat(fx_buf a, fx_buf b)
{
    fx_buf c = {0};
    c.data = malloc(a.size + b.size + 1);
    if (!c.data)
        return c;
    if (a.size) /* memcpy from NULL is undefined even for 0 bytes */
        memcpy(c.data, a.data, a.size);
    if (b.size)
        memcpy(c.data + a.size, b.data, b.size);
    c.size = a.size + b.size;
    return c;
}

void fx_free(fx_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->size = 0;
}

int fx_write(const char *dir, const char *name, const void *data, size_t size, char *path)
{
    snprintf(path, 4096, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    size_t n = size ? fwrite(data, 1, size, f) : 0;
    int bad = fclose(f) != 0 || n != size;
    return bad ? -1 : 0;
}

void fx_check_error(const char *what, rt_status st, const rt_error *err, rt_status expect,
                    const char *path, ...)
{
    if (getenv("RT_TEST_VERBOSE"))
        printf("%-22s %s: %s\n", what, rt_status_name(st), err->message);
    CHECKF(st == expect, "%s: status %s (%s), expected %s", what, rt_status_name(st),
           err->message, rt_status_name(expect));
    CHECKF(err->status == st, "%s: err->status %d differs from the returned %d", what,
           (int)err->status, (int)st);
    CHECKF(strchr(err->message, '\n') == NULL, "%s: message is not one line: %s", what,
           err->message);
    if (path)
        CHECKF(strstr(err->message, path) != NULL, "%s: message does not name %s: %s", what,
               path, err->message);
    va_list ap;
    va_start(ap, path);
    for (const char *s; (s = va_arg(ap, const char *)) != NULL;)
        CHECKF(strstr(err->message, s) != NULL, "%s: message lacks \"%s\": %s", what, s,
               err->message);
    va_end(ap);
}

void fx_pathf(char *out, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(out, size, fmt, ap);
    va_end(ap);
    CHECKF(n >= 0 && (size_t)n < size, "path too long: %s", out);
}

void fx_remove_tree(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return;
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        if (d) {
            struct dirent *e;
            while ((e = readdir(d)) != NULL) {
                if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                    continue;
                char child[4096];
                snprintf(child, sizeof child, "%s/%s", path, e->d_name);
                fx_remove_tree(child);
            }
            closedir(d);
        }
        rmdir(path);
    } else {
        unlink(path);
    }
}

fx_buf fx_read(const char *path)
{
    fx_buf b = {0};
    FILE *f = fopen(path, "rb");
    if (!f)
        return b;
    size_t cap = 1 << 16;
    b.data = malloc(cap);
    for (size_t n; b.data && (n = fread(b.data + b.size, 1, cap - b.size, f)) > 0;) {
        b.size += n;
        if (b.size == cap) {
            uint8_t *g = realloc(b.data, cap *= 2);
            if (!g) {
                free(b.data);
                b.data = NULL;
                b.size = 0;
            }
            b.data = g;
        }
    }
    fclose(f);
    return b;
}
