/* PGM (Netpbm graymap), plain (P2) and raw (P5), parsed strictly:
 *   magic, whitespace, width, whitespace, height, whitespace, maxval, then
 *   one whitespace character and the raster;
 * comments ("#" to the end of the line) may stand wherever whitespace may
 * in the header. Samples are big-endian 16-bit when maxval > 255 (P5).
 * Only whitespace may follow the raster (one image per file). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "image_internal.h"

typedef struct pgm {
    const char *path;
    FILE *fp;
    rt_error *err;
} pgm;

static int is_space(int c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

static rt_status truncated(pgm *p, const char *where)
{
    if (ferror(p->fp))
        return rt_error_set(p->err, RT_ERR_IO, "%s: read failed: %s", p->path, strerror(errno));
    return rt_error_set(p->err, RT_ERR_FORMAT, "%s: truncated PGM: the file ends %s", p->path,
                        where);
}

/* Skips whitespace and comments; at least one separator is required. */
static rt_status separator(pgm *p, const char *before)
{
    int seen = 0;
    for (;;) {
        int c = getc(p->fp);
        if (c == '#') {
            while ((c = getc(p->fp)) != EOF && c != '\n' && c != '\r')
                ;
            if (c == EOF)
                return truncated(p, "inside a header comment");
            seen = 1;
        } else if (c != EOF && is_space(c)) {
            seen = 1;
        } else {
            if (c == EOF)
                return truncated(p, before);
            ungetc(c, p->fp);
            if (!seen)
                return rt_error_set(p->err, RT_ERR_FORMAT,
                                    "%s: malformed PGM header: expected whitespace %s", p->path,
                                    before);
            return RT_OK;
        }
    }
}

/* A decimal header number, 1..limit. */
static rt_status header_number(pgm *p, const char *what, long limit, long *out)
{
    int c = getc(p->fp);
    if (c == EOF)
        return truncated(p, "in the header");
    if (c < '0' || c > '9')
        return rt_error_set(p->err, RT_ERR_FORMAT,
                            "%s: malformed PGM header: the %s is not a decimal number", p->path,
                            what);
    long v = 0;
    int big = 0;
    while (c != EOF && c >= '0' && c <= '9') {
        v = v * 10 + (c - '0');
        if (v > limit)
            big = 1, v = limit + 1;
        c = getc(p->fp);
    }
    if (c != EOF)
        ungetc(c, p->fp);
    if (c != EOF && !is_space(c) && c != '#')
        return rt_error_set(p->err, RT_ERR_FORMAT,
                            "%s: malformed PGM header: unexpected character after the %s", p->path,
                            what);
    if (v == 0)
        return rt_error_set(p->err, RT_ERR_FORMAT, "%s: PGM %s is 0", p->path, what);
    if (big)
        return rt_error_set(p->err, RT_ERR_FORMAT, "%s: PGM %s is too large (more than %ld)",
                            p->path, what, limit);
    *out = v;
    return RT_OK;
}

/* Bytes left in the file from the current position; -1 if unknown. */
static long long remaining(pgm *p)
{
    struct stat sb;
    long pos = ftell(p->fp);
    if (pos < 0 || fstat(fileno(p->fp), &sb) != 0 || !S_ISREG(sb.st_mode))
        return -1;
    return (long long)sb.st_size - pos;
}

static rt_status trailing(pgm *p)
{
    int c;
    while ((c = getc(p->fp)) != EOF)
        if (!is_space(c))
            return rt_error_set(p->err, RT_ERR_FORMAT,
                                "%s: data after the PGM raster (only one image per file is "
                                "supported)",
                                p->path);
    if (ferror(p->fp))
        return rt_error_set(p->err, RT_ERR_IO, "%s: read failed: %s", p->path, strerror(errno));
    return RT_OK;
}

static rt_status bad_sample(pgm *p, long v, long maxval, size_t i, long width)
{
    return rt_error_set(p->err, RT_ERR_FORMAT,
                        "%s: PGM sample %ld at (x %ld, y %ld) exceeds maxval %ld", p->path, v,
                        (long)(i % (size_t)width), (long)(i / (size_t)width), maxval);
}

static uint8_t scale(long v, long maxval) { return (uint8_t)((v * 255 + maxval / 2) / maxval); }

static rt_status raster_raw(pgm *p, long width, long maxval, size_t count, uint8_t *px)
{
    size_t bps = maxval > 255 ? 2 : 1;
    long long left = remaining(p);
    if (left >= 0 && (unsigned long long)left < count * bps)
        return rt_error_set(p->err, RT_ERR_FORMAT,
                            "%s: truncated PGM: the raster has %lld bytes, %zu expected", p->path,
                            left, count * bps);
    unsigned char buf[65536];
    size_t done = 0;
    while (done < count) {
        size_t want = (count - done) * bps;
        if (want > sizeof buf)
            want = sizeof buf;
        size_t got = fread(buf, 1, want, p->fp);
        if (got != want)
            return truncated(p, "inside the raster");
        for (size_t k = 0; k < want; k += bps, done++) {
            long v = bps == 2 ? (long)buf[k] << 8 | buf[k + 1] : buf[k];
            if (v > maxval)
                return bad_sample(p, v, maxval, done, width);
            px[done] = scale(v, maxval);
        }
    }
    return RT_OK;
}

static rt_status raster_plain(pgm *p, long width, long maxval, size_t count, uint8_t *px)
{
    long long left = remaining(p);
    /* every sample takes a digit and, but for the last, a separator */
    if (left >= 0 && (unsigned long long)left + 1 < 2 * (unsigned long long)count)
        return rt_error_set(p->err, RT_ERR_FORMAT,
                            "%s: truncated PGM: %lld bytes cannot hold %zu plain samples", p->path,
                            left, count);
    for (size_t i = 0; i < count; i++) {
        int c;
        while ((c = getc(p->fp)) != EOF && is_space(c))
            ;
        if (c == EOF) {
            if (ferror(p->fp))
                return truncated(p, "");
            return rt_error_set(p->err, RT_ERR_FORMAT,
                                "%s: truncated PGM: the raster ends after %zu of %zu samples",
                                p->path, i, count);
        }
        if (c < '0' || c > '9')
            return rt_error_set(p->err, RT_ERR_FORMAT,
                                "%s: malformed PGM raster: sample %zu is not a decimal number",
                                p->path, i);
        long v = 0;
        while (c != EOF && c >= '0' && c <= '9') {
            if (v <= 65535)
                v = v * 10 + (c - '0');
            c = getc(p->fp);
        }
        if (c != EOF && !is_space(c))
            return rt_error_set(p->err, RT_ERR_FORMAT,
                                "%s: malformed PGM raster: unexpected character after sample %zu",
                                p->path, i);
        if (v > maxval)
            return bad_sample(p, v, maxval, i, width);
        px[i] = scale(v, maxval);
    }
    return RT_OK;
}

rt_status rt_image_read_pgm(const char *path, FILE *fp, rt_image *out, rt_error *err)
{
    pgm p = {path, fp, err};
    char magic[2];
    if (fread(magic, 1, 2, fp) != 2 || magic[0] != 'P' || (magic[1] != '2' && magic[1] != '5'))
        return rt_error_set(err, RT_ERR_FORMAT, "%s: not a PGM file (P2 or P5)", path);
    int raw = magic[1] == '5';
    long width, height, maxval;
    rt_status st;
    if ((st = separator(&p, "before the width")) != RT_OK ||
        (st = header_number(&p, "width", 1L << 20, &width)) != RT_OK ||
        (st = separator(&p, "before the height")) != RT_OK ||
        (st = header_number(&p, "height", 1L << 20, &height)) != RT_OK ||
        (st = separator(&p, "before the maxval")) != RT_OK ||
        (st = header_number(&p, "maxval", 65535, &maxval)) != RT_OK)
        return st;
    /* exactly one whitespace character ends the header */
    int c = getc(fp);
    if (c == EOF)
        return truncated(&p, "before the raster");
    if (!is_space(c))
        return rt_error_set(err, RT_ERR_FORMAT,
                            "%s: malformed PGM header: the maxval must be followed by whitespace",
                            path);
    unsigned long long pixels = (unsigned long long)width * (unsigned long long)height;
    if (pixels > RT_IMAGE_MAX_PIXELS)
        return rt_error_set(err, RT_ERR_FORMAT,
                            "%s: image too large: %ldx%ld pixels (at most %u)", path, width,
                            height, RT_IMAGE_MAX_PIXELS);
    uint8_t *px = malloc((size_t)pixels);
    if (!px)
        return rt_error_set(err, RT_ERR_NOMEM, "%s: out of memory for %llu pixels", path, pixels);
    st = raw ? raster_raw(&p, width, maxval, (size_t)pixels, px)
             : raster_plain(&p, width, maxval, (size_t)pixels, px);
    if (st == RT_OK)
        st = trailing(&p);
    if (st != RT_OK) {
        free(px);
        return st;
    }
    out->width = (int)width;
    out->height = (int)height;
    out->pixels = px;
    return RT_OK;
}
