/* The IDX reader: raw or gzip-compressed (recognised by its magic bytes,
 * not its name), validated strictly, and never trusting a header value
 * before it has been checked: sizes are computed with overflow checks and
 * capped at RT_IDX_MAX_BYTES, and the buffer for compressed data grows as
 * it is inflated instead of being sized by the header. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "resnet/data.h"

#define CHUNK 65536
#define FIRST_GROWTH (1u << 20)

typedef struct reader {
    const char *path;
    FILE *file;
    int gzip;
    int inflating;      /* zs is initialised */
    int stream_end;     /* the last gzip member ended, and nothing follows */
    size_t pending;     /* raw: bytes of in[] not yet handed out */
    size_t pending_pos;
    uint64_t file_size; /* from fstat, 0 if not a regular file */
    int regular;
    z_stream zs;
    unsigned char in[CHUNK];
} reader;

static rt_status read_failed(reader *r, rt_error *err)
{
    return rt_error_set(err, RT_ERR_IO, "%s: read failed: %s", r->path, strerror(errno));
}

/* Refills in[] from the file for inflate; *n is 0 at end of file. */
static rt_status refill(reader *r, size_t keep, size_t *n, rt_error *err)
{
    *n = 0;
    if (keep)
        memmove(r->in, r->zs.next_in, keep);
    size_t k = fread(r->in + keep, 1, CHUNK - keep, r->file);
    if (k == 0 && ferror(r->file))
        return read_failed(r, err);
    r->zs.next_in = r->in;
    r->zs.avail_in = (uInt)(keep + k);
    *n = k;
    return RT_OK;
}

/* After a gzip member ends: another member may follow (gzip allows
 * concatenated members), anything else is an error. */
static rt_status member_end(reader *r, rt_error *err)
{
    size_t n;
    rt_status st;
    if (r->zs.avail_in < 2 && (st = refill(r, r->zs.avail_in, &n, err)) != RT_OK)
        return st;
    if (r->zs.avail_in == 0) {
        r->stream_end = 1;
        return RT_OK;
    }
    if (r->zs.avail_in >= 2 && r->zs.next_in[0] == 0x1f && r->zs.next_in[1] == 0x8b) {
        if (inflateReset(&r->zs) != Z_OK)
            return rt_error_set(err, RT_ERR_FORMAT, "%s: cannot restart zlib", r->path);
        return RT_OK;
    }
    return rt_error_set(err, RT_ERR_FORMAT,
                        "%s: trailing garbage after the end of the gzip stream "
                        "(bytes that are not another gzip member)",
                        r->path);
}

/* Reads up to n bytes of (decompressed) content; *got < n only at its end. */
static rt_status reader_read(reader *r, void *buf, size_t n, size_t *got, rt_error *err)
{
    *got = 0;
    if (!r->gzip) {
        unsigned char *out = buf;
        size_t take = r->pending < n ? r->pending : n;
        memcpy(out, r->in + r->pending_pos, take);
        r->pending -= take;
        r->pending_pos += take;
        size_t k = take < n ? fread(out + take, 1, n - take, r->file) : 0;
        if (take + k < n && ferror(r->file))
            return read_failed(r, err);
        *got = take + k;
        return RT_OK;
    }
    rt_status st;
    size_t done = 0;
    while (done < n && !r->stream_end) {
        size_t want = n - done;
        if (want > (uInt)-1)
            want = (uInt)-1;
        if (r->zs.avail_in == 0) {
            size_t k;
            if ((st = refill(r, 0, &k, err)) != RT_OK)
                return st;
            if (k == 0)
                return rt_error_set(err, RT_ERR_FORMAT,
                                    "%s: truncated gzip: the compressed stream ends early "
                                    "(the file is cut short or the download was incomplete)",
                                    r->path);
        }
        r->zs.next_out = (unsigned char *)buf + done;
        r->zs.avail_out = (uInt)want;
        int rc = inflate(&r->zs, Z_NO_FLUSH);
        done += want - r->zs.avail_out;
        switch (rc) {
        case Z_OK:
        case Z_BUF_ERROR: /* needs more input: the loop refills */
            break;
        case Z_STREAM_END:
            if ((st = member_end(r, err)) != RT_OK)
                return st;
            break;
        case Z_MEM_ERROR:
            return rt_error_set(err, RT_ERR_NOMEM, "%s: out of memory in zlib", r->path);
        default:
            return rt_error_set(err, RT_ERR_FORMAT, "%s: corrupt gzip data: %s", r->path,
                                r->zs.msg ? r->zs.msg : "zlib could not inflate it");
        }
    }
    *got = done;
    return RT_OK;
}

static rt_status reader_open(reader *r, const char *path, rt_error *err)
{
    memset(r, 0, offsetof(reader, in));
    r->path = path;
    r->file = fopen(path, "rb");
    if (!r->file)
        return rt_error_set(err, RT_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(r->file), &st) == 0) {
        if (S_ISDIR(st.st_mode))
            return rt_error_set(err, RT_ERR_IO, "%s: is a folder, not a file", path);
        if (S_ISREG(st.st_mode)) {
            r->regular = 1;
            r->file_size = (uint64_t)st.st_size;
        }
    }
    size_t n = fread(r->in, 1, 2, r->file);
    if (n < 2 && ferror(r->file))
        return read_failed(r, err);
    if (n == 0)
        return rt_error_set(err, RT_ERR_FORMAT, "%s: empty file (0 bytes)", path);
    if (n == 2 && r->in[0] == 0x1f && r->in[1] == 0x8b) {
        r->gzip = 1;
        if (inflateInit2(&r->zs, 16 + MAX_WBITS) != Z_OK) /* gzip wrapper only */
            return rt_error_set(err, RT_ERR_NOMEM, "%s: cannot start zlib", path);
        r->inflating = 1;
        r->zs.next_in = r->in;
        r->zs.avail_in = (uInt)n;
    } else {
        r->pending = n;
    }
    return RT_OK;
}

static void reader_close(reader *r)
{
    if (r->inflating)
        inflateEnd(&r->zs);
    if (r->file)
        fclose(r->file);
    r->inflating = 0;
    r->file = NULL;
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int is_ubyte_magic(uint32_t magic)
{
    return (magic & 0xffffff00u) == 0x00000800u && (magic & 0xffu) >= 1 && (magic & 0xffu) <= 3;
}

static const char *kind_of(uint32_t magic)
{
    switch (magic) {
    case RT_IDX_MAGIC_IMAGES: return "an IDX image file";
    case RT_IDX_MAGIC_LABELS: return "an IDX label file";
    case 0x00000802u: return "an IDX file of unsigned bytes with 2 dimensions";
    default: return "not an IDX file of unsigned bytes";
    }
}

static const char *dim_name(int ndim, int i)
{
    static const char *const names3[] = {"the image count", "the row count", "the column count"};
    static const char *const names2[] = {"the item count", "the item length"};
    if (ndim == 3)
        return names3[i];
    if (ndim == 2)
        return names2[i];
    return "the label count";
}

/* "60000 images of 28x28 (47040000 bytes)" and the like. */
static void describe(const rt_idx *idx, char *buf, size_t size)
{
    if (idx->ndim == 3)
        snprintf(buf, size, "%u images of %ux%u (%zu bytes)", idx->dims[0], idx->dims[1],
                 idx->dims[2], idx->size);
    else if (idx->ndim == 2)
        snprintf(buf, size, "%u items of %u bytes (%zu bytes)", idx->dims[0], idx->dims[1],
                 idx->size);
    else
        snprintf(buf, size, "%u labels (%zu bytes)", idx->dims[0], idx->size);
}

static rt_status read_header(reader *r, uint32_t expect_magic, rt_idx *out, size_t *header_len,
                             rt_error *err)
{
    uint8_t hdr[16];
    size_t got;
    rt_status st;
    const char *path = r->path;
    if ((st = reader_read(r, hdr, 4, &got, err)) != RT_OK)
        return st;
    if (got == 0)
        return rt_error_set(err, RT_ERR_FORMAT, "%s: empty: the gzip stream holds no data", path);
    if (got < 4)
        return rt_error_set(err, RT_ERR_FORMAT,
                            "%s: truncated header: the %s holds only %zu bytes, too short "
                            "for the 4-byte IDX magic number",
                            path, r->gzip ? "decompressed data" : "file", got);
    uint32_t magic = be32(hdr);
    if (expect_magic ? magic != expect_magic : !is_ubyte_magic(magic)) {
        if (expect_magic)
            return rt_error_set(err, RT_ERR_FORMAT,
                                "%s: wrong magic number 0x%08x (%s): expected 0x%08x for %s "
                                "(unsigned bytes, %u dimension%s)",
                                path, magic, kind_of(magic), expect_magic, kind_of(expect_magic),
                                expect_magic & 0xffu, (expect_magic & 0xffu) == 1 ? "" : "s");
        return rt_error_set(err, RT_ERR_FORMAT,
                            "%s: wrong magic number 0x%08x: expected 0x0000080N, an IDX file "
                            "of unsigned bytes with N = 1 to 3 dimensions",
                            path, magic);
    }
    int ndim = (int)(magic & 0xffu);
    size_t need = 4 + 4 * (size_t)ndim;
    if ((st = reader_read(r, hdr + 4, need - 4, &got, err)) != RT_OK)
        return st;
    if (got < need - 4)
        return rt_error_set(err, RT_ERR_FORMAT,
                            "%s: truncated header: the %s ends after %zu bytes, but the "
                            "header of %s is %zu bytes",
                            path, r->gzip ? "decompressed data" : "file", 4 + got,
                            kind_of(magic), need);
    out->magic = magic;
    out->ndim = ndim;
    uint64_t product = 1;
    int too_large = 0;
    for (int i = 0; i < ndim; i++) {
        out->dims[i] = be32(hdr + 4 + 4 * i);
        if (out->dims[i] == 0)
            return rt_error_set(err, RT_ERR_FORMAT,
                                "%s: bad header: %s is 0 (an empty or corrupt file)", path,
                                dim_name(ndim, i));
        /* stepwise, so the product never overflows: it stays <= the cap */
        if (!too_large && out->dims[i] > RT_IDX_MAX_BYTES / product)
            too_large = 1;
        else if (!too_large)
            product *= out->dims[i];
    }
    if (too_large) {
        char dims[64];
        if (ndim == 3)
            snprintf(dims, sizeof dims, "%u x %u x %u", out->dims[0], out->dims[1], out->dims[2]);
        else if (ndim == 2)
            snprintf(dims, sizeof dims, "%u x %u", out->dims[0], out->dims[1]);
        else
            snprintf(dims, sizeof dims, "%u", out->dims[0]);
        return rt_error_set(err, RT_ERR_FORMAT,
                            "%s: bad header: %s %s %s too large (more than %u MiB of data; a "
                            "corrupt header?)",
                            path, ndim == 1 ? "label count" : "dimensions", dims,
                            ndim == 1 ? "is" : "are", (unsigned)(RT_IDX_MAX_BYTES >> 20));
    }
    out->size = (size_t)product;
    *header_len = need;
    return RT_OK;
}

static rt_status truncated(const char *path, const rt_idx *idx, uint64_t have, rt_error *err)
{
    char what[128];
    describe(idx, what, sizeof what);
    return rt_error_set(err, RT_ERR_FORMAT,
                        "%s: truncated: header says %s but only %llu bytes of data follow",
                        path, what, (unsigned long long)have);
}

static rt_status trailing(const char *path, const rt_idx *idx, uint64_t extra, rt_error *err)
{
    char what[128];
    describe(idx, what, sizeof what);
    return rt_error_set(err, RT_ERR_FORMAT,
                        "%s: trailing garbage: header says %s but %llu more bytes follow the "
                        "data",
                        path, what, (unsigned long long)extra);
}

static rt_status read_data(reader *r, rt_idx *out, size_t header_len, rt_error *err)
{
    rt_status st;
    size_t cap;
    if (!r->gzip && r->regular) {
        /* the size of the data is known: check it before allocating */
        uint64_t rest = r->file_size > header_len ? r->file_size - header_len : 0;
        if (rest < out->size)
            return truncated(r->path, out, rest, err);
        if (rest > out->size)
            return trailing(r->path, out, rest - out->size, err);
        cap = out->size;
    } else {
        /* compressed: grow the buffer as data arrives, up to the checked size */
        uint64_t guess = r->regular ? r->file_size * 4 : 0;
        if (guess < FIRST_GROWTH)
            guess = FIRST_GROWTH;
        cap = guess < out->size ? (size_t)guess : out->size;
    }
    uint8_t *data = malloc(cap);
    if (!data)
        return rt_error_set(err, RT_ERR_NOMEM, "%s: out of memory for %zu bytes", r->path, cap);
    size_t have = 0;
    for (;;) {
        size_t got;
        if ((st = reader_read(r, data + have, cap - have, &got, err)) != RT_OK) {
            free(data);
            return st;
        }
        have += got;
        if (have < cap) {
            free(data);
            return truncated(r->path, out, have, err);
        }
        if (cap == out->size)
            break;
        size_t next = cap > out->size / 2 ? out->size : cap * 2;
        uint8_t *grown = realloc(data, next);
        if (!grown) {
            free(data);
            return rt_error_set(err, RT_ERR_NOMEM, "%s: out of memory for %zu bytes", r->path,
                                next);
        }
        data = grown;
        cap = next;
    }
    /* Nothing may follow the data; reading to the end also makes zlib check
     * the gzip CRC and length. */
    uint64_t extra = 0;
    unsigned char scratch[4096];
    for (;;) {
        size_t got;
        if ((st = reader_read(r, scratch, sizeof scratch, &got, err)) != RT_OK) {
            free(data);
            return st;
        }
        extra += got;
        if (got < sizeof scratch)
            break;
    }
    if (extra) {
        free(data);
        return trailing(r->path, out, extra, err);
    }
    out->data = data;
    return RT_OK;
}

rt_status rt_idx_read(const char *path, uint32_t expect_magic, rt_idx *out, rt_error *err)
{
    memset(out, 0, sizeof *out);
    if (!path)
        return rt_error_set(err, RT_ERR_USAGE, "rt_idx_read: no path given");
    if (expect_magic && !is_ubyte_magic(expect_magic))
        return rt_error_set(err, RT_ERR_USAGE,
                            "%s: rt_idx_read: unsupported magic 0x%08x asked for", path,
                            expect_magic);
    reader *r = malloc(sizeof *r);
    if (!r)
        return rt_error_set(err, RT_ERR_NOMEM, "%s: out of memory", path);
    size_t header_len = 0;
    rt_status st = reader_open(r, path, err);
    if (st == RT_OK)
        st = read_header(r, expect_magic, out, &header_len, err);
    if (st == RT_OK)
        st = read_data(r, out, header_len, err);
    if (st == RT_OK && fclose(r->file) != 0)
        st = read_failed(r, err);
    else if (st != RT_OK && r->file)
        fclose(r->file);
    r->file = NULL;
    reader_close(r);
    free(r);
    if (st != RT_OK)
        rt_idx_free(out);
    return st;
}

void rt_idx_free(rt_idx *idx)
{
    if (idx) {
        free(idx->data);
        memset(idx, 0, sizeof *idx);
    }
}
