/* Helpers shared by the file-format code of src/io (and the network
 * descriptions): reading a whole file, little-endian conversion, floats as
 * text, and quoting untrusted text in messages.
 * Private to the library. */
#ifndef RT_IO_UTIL_H
#define RT_IO_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "resnet/error.h"

/* Copies src into dst (size >= 8) for a one-line message: printable ASCII
 * as is, other bytes as \xNN, cut to fit with "..." at the end. */
void rt_io_sanitize(char *dst, size_t size, const char *src);

/* Length of the valid UTF-8 sequence at s (s < end, *s >= 0x80), 0 if it
 * is invalid: overlong forms, surrogates and code points above U+10FFFF are
 * rejected. */
size_t rt_io_utf8_sequence(const unsigned char *s, const unsigned char *end);
/* 1 when the NUL-terminated s is valid UTF-8. */
int rt_io_utf8_valid(const char *s);

/* Little-endian loads and stores that work on any host and any alignment. */
uint32_t rt_io_load_le32(const void *p);
uint64_t rt_io_load_le64(const void *p);
void rt_io_store_le32(void *p, uint32_t v);
void rt_io_store_le64(void *p, uint64_t v);
float rt_io_load_le_f32(const void *p);
void rt_io_store_le_f32(void *p, float v);

/* A float as "%.9g" (which round-trips every float), with '.' whatever the
 * locale; and back: plain decimal or exponent notation only ("inf", "nan",
 * hex floats and spaces are refused), finite. parse returns 1 on success. */
void rt_io_format_float(char *buf, size_t size, float v);
int rt_io_parse_float(const char *s, float *out);

/* Reads a whole regular file of at most max_bytes into a malloc'd,
 * NUL-terminated buffer. Errors name the path. */
rt_status rt_io_read_text(const char *path, size_t max_bytes, char **out, size_t *len,
                          rt_error *err);

#endif
