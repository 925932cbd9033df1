/* Helpers shared by the tests of tests/io. */
#ifndef RT_IO_TEST_UTIL_H
#define RT_IO_TEST_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "resnet/error.h"
#include "test_support.h"

/* Checks that a call failed with status want and a message containing
 * every non-NULL substring given. */
#define EXPECT_ERROR(st, err, want, ...) \
    io_expect_error(__FILE__, __LINE__, (st), (err), (want), __VA_ARGS__, (const char *)NULL)

static inline void io_expect_error(const char *file, int line, rt_status st, const rt_error *err,
                                   rt_status want, ...)
{
    rt_test_check(st == want, file, line, "status %s (%d), expected %s; message: %s",
                  rt_status_name(st), (int)st, rt_status_name(want), err->message);
    rt_test_check(strchr(err->message, '\n') == NULL, file, line, "message is one line: %s",
                  err->message);
    va_list ap;
    va_start(ap, want);
    const char *sub;
    while ((sub = va_arg(ap, const char *)) != NULL)
        rt_test_check(strstr(err->message, sub) != NULL, file, line,
                      "message \"%s\" should contain \"%s\"", err->message, sub);
    va_end(ap);
}

/* Writes n bytes to path; 0 on success. */
static inline int io_write_bytes(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    int ok = fwrite(data, 1, n, f) == n;
    return (fclose(f) == 0 && ok) ? 0 : -1;
}

/* Reads a whole file into a malloc'd buffer; NULL on failure. */
static inline unsigned char *io_read_bytes(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, len = 0;
    unsigned char *buf = malloc(cap);
    size_t k;
    while (buf && (k = fread(buf + len, 1, cap - len, f)) > 0) {
        len += k;
        if (len == cap) {
            unsigned char *nb = realloc(buf, cap *= 2);
            if (!nb)
                free(buf);
            buf = nb;
        }
    }
    fclose(f);
    *n = len;
    return buf;
}

#endif
