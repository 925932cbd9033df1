/* A growable text buffer for building JSON and messages. Private to the
 * library. A failed allocation sets `failed` and later appends do nothing,
 * so callers check once at the end. */
#ifndef RT_CORE_STRBUF_H
#define RT_CORE_STRBUF_H

#include <stddef.h>

#include "resnet/error.h"

typedef struct rt_strbuf {
    char *buf; /* NUL-terminated */
    size_t len, cap;
    int failed;
} rt_strbuf;

void rt_strbuf_init(rt_strbuf *s);
void rt_strbuf_printf(rt_strbuf *s, const char *fmt, ...) RT_PRINTF_LIKE(2, 3);
/* The text (the caller frees it), or NULL if an append failed. */
char *rt_strbuf_take(rt_strbuf *s);

#endif
