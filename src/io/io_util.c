#include "io_util.h"

#include <errno.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

void rt_io_sanitize(char *dst, size_t size, const char *src)
{
    size_t o = 0;
    if (size < 8) {
        if (size)
            dst[0] = '\0';
        return;
    }
    for (const unsigned char *s = (const unsigned char *)src; *s; s++) {
        size_t need = (*s >= 0x20 && *s < 0x7f && *s != '\\') ? 1 : (*s == '\\' ? 2 : 4);
        if (o + need + 4 > size) { /* room for "..." and the NUL */
            memcpy(dst + o, "...", 4);
            return;
        }
        if (need == 1) {
            dst[o++] = (char)*s;
        } else if (need == 2) {
            dst[o++] = '\\';
            dst[o++] = '\\';
        } else {
            static const char hex[] = "0123456789abcdef";
            dst[o++] = '\\';
            dst[o++] = 'x';
            dst[o++] = hex[*s >> 4];
            dst[o++] = hex[*s & 15];
        }
    }
    dst[o] = '\0';
}

uint32_t rt_io_load_le32(const void *p)
{
    const unsigned char *b = p;
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

uint64_t rt_io_load_le64(const void *p)
{
    const unsigned char *b = p;
    return (uint64_t)rt_io_load_le32(b) | (uint64_t)rt_io_load_le32(b + 4) << 32;
}

void rt_io_store_le32(void *p, uint32_t v)
{
    unsigned char *b = p;
    b[0] = (unsigned char)v;
    b[1] = (unsigned char)(v >> 8);
    b[2] = (unsigned char)(v >> 16);
    b[3] = (unsigned char)(v >> 24);
}

void rt_io_store_le64(void *p, uint64_t v)
{
    unsigned char *b = p;
    rt_io_store_le32(b, (uint32_t)v);
    rt_io_store_le32(b + 4, (uint32_t)(v >> 32));
}

float rt_io_load_le_f32(const void *p)
{
    uint32_t u = rt_io_load_le32(p);
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

void rt_io_store_le_f32(void *p, float v)
{
    uint32_t u;
    memcpy(&u, &v, sizeof u);
    rt_io_store_le32(p, u);
}

size_t rt_io_utf8_sequence(const unsigned char *s, const unsigned char *end)
{
    unsigned c = s[0];
    size_t n;
    uint32_t cp;
    if (c >= 0xc2 && c <= 0xdf) {
        n = 2;
        cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if ((size_t)(end - s) < n)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3f);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10ffff ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return n;
}

int rt_io_utf8_valid(const char *str)
{
    const unsigned char *s = (const unsigned char *)str, *end = s + strlen(str);
    while (s < end) {
        if (*s < 0x80) {
            s++;
            continue;
        }
        size_t n = rt_io_utf8_sequence(s, end);
        if (!n)
            return 0;
        s += n;
    }
    return 1;
}

void rt_io_format_float(char *buf, size_t size, float v)
{
    snprintf(buf, size, "%.9g", (double)v);
    const char *dp = localeconv()->decimal_point;
    if (dp && dp[0] && dp[0] != '.' && !dp[1])
        for (char *c = buf; *c; c++)
            if (*c == dp[0])
                *c = '.';
}

int rt_io_parse_float(const char *s, float *out)
{
    char tmp[64];
    size_t n = strlen(s);
    if (n == 0 || n >= sizeof tmp)
        return 0;
    int digits = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c >= '0' && c <= '9')
            digits = 1;
        else if (c != '.' && c != 'e' && c != 'E' && c != '+' && c != '-')
            return 0;
    }
    if (!digits)
        return 0;
    memcpy(tmp, s, n + 1);
    const char *dp = localeconv()->decimal_point;
    if (dp && dp[0] && dp[0] != '.' && !dp[1])
        for (char *c = tmp; *c; c++)
            if (*c == '.')
                *c = dp[0];
    char *end;
    float v = strtof(tmp, &end);
    if (*end != '\0' || end == tmp || !isfinite(v))
        return 0;
    *out = v;
    return 1;
}

rt_status rt_io_read_text(const char *path, size_t max_bytes, char **out, size_t *len,
                          rt_error *err)
{
    *out = NULL;
    *len = 0;
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return rt_error_set(err, RT_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fileno(fp), &sb) != 0 || !S_ISREG(sb.st_mode)) {
        fclose(fp);
        return rt_error_set(err, RT_ERR_IO, "%s: not a regular file", path);
    }
    if ((uint64_t)sb.st_size > max_bytes) {
        fclose(fp);
        return rt_error_set(err, RT_ERR_FORMAT, "%s: %lld bytes is more than the %zu allowed",
                            path, (long long)sb.st_size, max_bytes);
    }
    size_t size = (size_t)sb.st_size;
    char *buf = malloc(size + 1);
    if (!buf) {
        fclose(fp);
        return rt_error_set(err, RT_ERR_NOMEM, "%s: out of memory reading %zu bytes", path, size);
    }
    size_t got = fread(buf, 1, size, fp);
    int failed = ferror(fp);
    fclose(fp);
    if (got != size || failed) {
        free(buf);
        return rt_error_set(err, RT_ERR_IO, "%s: read failed: %s", path,
                            failed ? strerror(errno) : "the file shrank while being read");
    }
    buf[size] = '\0';
    *out = buf;
    *len = size;
    return RT_OK;
}
