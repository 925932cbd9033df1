/* Helpers for the data tests: IDX files built in memory, gzip-compressed
 * with zlib, written into a temporary folder, and error checks. */
#ifndef RT_TEST_DATA_FIXTURES_H
#define RT_TEST_DATA_FIXTURES_H

#include <stddef.h>
#include <stdint.h>

#include "resnet/error.h"

typedef struct fx_buf {
    uint8_t *data;
    size_t size;
} fx_buf;

/* An IDX file: the magic, ndim big-endian dimensions, then payload (which
 * may be shorter or longer than the dimensions say). */
fx_buf fx_idx(uint32_t magic, int ndim, const uint32_t *dims, const void *payload, size_t size);
/* The gzip compression of data (one member). */
fx_buf fx_gzip(const void *data, size_t size);
/* a followed by b. */
fx_buf fx_concat(fx_buf a, fx_buf b);
void fx_free(fx_buf *b);

/* Writes data to dir/name; the path goes into path (4096 bytes). Returns 0 on success. */
int fx_write(const char *dir, const char *name, const void *data, size_t size, char *path);

/* Checks that st is expect and that err's message contains path (when not
 * NULL) and each of the NULL-terminated substrings; prints it if not (and
 * always when RT_TEST_VERBOSE is set). */
void fx_check_error(const char *what, rt_status st, const rt_error *err, rt_status expect,
                    const char *path, ...);

/* snprintf into a path buffer; a path that does not fit fails a check. */
void fx_pathf(char *out, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Removes a folder and everything in it (for test clean-up). */
void fx_remove_tree(const char *path);

/* The whole content of a file, or {NULL, 0}. */
fx_buf fx_read(const char *path);

#endif
