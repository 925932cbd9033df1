#include "strbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

void rt_strbuf_init(rt_strbuf *s)
{
    s->cap = 1024;
    s->len = 0;
    s->buf = malloc(s->cap);
    s->failed = s->buf == NULL;
    if (s->buf)
        s->buf[0] = '\0';
}

void rt_strbuf_printf(rt_strbuf *s, const char *fmt, ...)
{
    while (!s->failed) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(s->buf + s->len, s->cap - s->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            s->failed = 1;
        } else if ((size_t)n < s->cap - s->len) {
            s->len += (size_t)n;
            return;
        } else {
            size_t cap = (s->cap + (size_t)n + 1) * 2;
            char *grown = realloc(s->buf, cap);
            if (!grown)
                s->failed = 1;
            else
                s->buf = grown, s->cap = cap;
        }
    }
}

char *rt_strbuf_take(rt_strbuf *s)
{
    char *out = s->failed ? NULL : s->buf;
    if (s->failed)
        free(s->buf);
    s->buf = NULL;
    s->len = s->cap = 0;
    return out;
}
