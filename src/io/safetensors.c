/* The safetensors reader and writer. The reader trusts nothing in the file:
 * the header length is checked against the file before anything else is
 * read, the header is parsed by a strict JSON parser, and every tensor's
 * dtype, shape and offsets are checked (with overflow checks) before the
 * buffer is checked to be tiled exactly, with no holes and no overlaps. */
#include "resnet/safetensors.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "atomic_file.h"
#include "io_util.h"
#include "json.h"

static const struct {
    const char *name;
    size_t size;
} DTYPES[RT_DTYPE_COUNT] = {
    [RT_DTYPE_BOOL] = {"BOOL", 1},       [RT_DTYPE_U8] = {"U8", 1},
    [RT_DTYPE_I8] = {"I8", 1},           [RT_DTYPE_F8_E5M2] = {"F8_E5M2", 1},
    [RT_DTYPE_F8_E4M3] = {"F8_E4M3", 1}, [RT_DTYPE_I16] = {"I16", 2},
    [RT_DTYPE_U16] = {"U16", 2},         [RT_DTYPE_F16] = {"F16", 2},
    [RT_DTYPE_BF16] = {"BF16", 2},       [RT_DTYPE_I32] = {"I32", 4},
    [RT_DTYPE_U32] = {"U32", 4},         [RT_DTYPE_F32] = {"F32", 4},
    [RT_DTYPE_F64] = {"F64", 8},         [RT_DTYPE_I64] = {"I64", 8},
    [RT_DTYPE_U64] = {"U64", 8},
};

const char *rt_dtype_name(rt_dtype dtype)
{
    return (unsigned)dtype < RT_DTYPE_COUNT ? DTYPES[dtype].name : NULL;
}

size_t rt_dtype_size(rt_dtype dtype)
{
    return (unsigned)dtype < RT_DTYPE_COUNT ? DTYPES[dtype].size : 0;
}

int rt_dtype_from_name(const char *name)
{
    for (int i = 0; i < RT_DTYPE_COUNT; i++)
        if (strcmp(DTYPES[i].name, name) == 0)
            return i;
    return -1;
}

struct rt_safetensors {
    unsigned char *alloc; /* the whole file, placed so the data buffer is 8-byte aligned */
    rt_json header;
    rt_tensor_view *tensors; /* in data order */
    int count;
    const rt_tensor_view **by_name; /* into tensors, sorted by name */
    const char **meta_keys, **meta_values;
    int meta_count;
};

/* Elements of a shape; 0 if the count overflows 64 bits (*overflow set). */
static uint64_t element_count(const int64_t *shape, int ndim, int *overflow)
{
    uint64_t n = 1;
    *overflow = 0;
    for (int i = 0; i < ndim; i++) {
        uint64_t d = (uint64_t)shape[i];
        if (d != 0 && n > UINT64_MAX / d) {
            *overflow = 1;
            return 0;
        }
        n *= d;
    }
    return n;
}

static void format_shape(char *buf, size_t size, const int64_t *shape, int ndim)
{
    size_t o = 0;
    o += (size_t)snprintf(buf, size, "[");
    for (int i = 0; i < ndim && o < size; i++)
        o += (size_t)snprintf(buf + o, size - o, "%s%" PRId64, i ? ", " : "", shape[i]);
    if (o < size)
        snprintf(buf + o, size - o, "]");
}

/* ---- reading ------------------------------------------------------------ */

typedef struct reading {
    const char *path;
    rt_error *err;
} reading;

static rt_status bad(const reading *r, const char *fmt, const char *name, const char *detail)
{
    char shown[160];
    rt_io_sanitize(shown, sizeof shown, name ? name : "");
    char msg[RT_ERROR_MESSAGE_MAX / 2];
    snprintf(msg, sizeof msg, fmt, shown, detail ? detail : "");
    return rt_error_set(r->err, RT_ERR_FORMAT, "%s: %s", r->path, msg);
}

static rt_status parse_tensor(const reading *r, const char *name, const rt_json *entry,
                              uint64_t buffer_size, rt_tensor_view *t, uint64_t *begin)
{
    if (entry->type != RT_JSON_OBJECT)
        return bad(r, "tensor '%s': its entry is %s, not an object", name,
                   rt_json_type_name(entry->type));
    const rt_json *dtype = NULL, *shape = NULL, *offsets = NULL;
    for (size_t i = 0; i < entry->u.object.count; i++) {
        const rt_json_member *m = &entry->u.object.members[i];
        if (strcmp(m->key, "dtype") == 0)
            dtype = &m->value;
        else if (strcmp(m->key, "shape") == 0)
            shape = &m->value;
        else if (strcmp(m->key, "data_offsets") == 0)
            offsets = &m->value;
        else {
            char key[96];
            rt_io_sanitize(key, sizeof key, m->key);
            return bad(r, "tensor '%s': unknown field \"%s\"", name, key);
        }
    }
    if (!dtype)
        return bad(r, "tensor '%s': \"dtype\" is missing%s", name, NULL);
    if (!shape)
        return bad(r, "tensor '%s': \"shape\" is missing%s", name, NULL);
    if (!offsets)
        return bad(r, "tensor '%s': \"data_offsets\" is missing%s", name, NULL);

    if (dtype->type != RT_JSON_STRING)
        return bad(r, "tensor '%s': dtype is %s, not a string", name,
                   rt_json_type_name(dtype->type));
    int dt = rt_dtype_from_name(dtype->u.str.text);
    if (dt < 0) {
        char shown[64];
        rt_io_sanitize(shown, sizeof shown, dtype->u.str.text);
        return bad(r, "tensor '%s': unknown dtype \"%s\"", name, shown);
    }
    t->dtype = (rt_dtype)dt;

    if (shape->type != RT_JSON_ARRAY)
        return bad(r, "tensor '%s': shape must be a list of non-negative integers (it is %s)",
                   name, rt_json_type_name(shape->type));
    if (shape->u.array.count > RT_SAFETENSORS_MAX_DIMS) {
        char detail[64];
        snprintf(detail, sizeof detail, "%zu", shape->u.array.count);
        return bad(r, "tensor '%s': shape has %s dimensions, more than the 8 supported", name,
                   detail);
    }
    t->ndim = (int)shape->u.array.count;
    for (int i = 0; i < t->ndim; i++) {
        const rt_json *d = &shape->u.array.items[i];
        if (d->type != RT_JSON_INT || d->u.integer < 0)
            return bad(r, "tensor '%s': shape must be a list of non-negative integers%s", name,
                       NULL);
        t->shape[i] = d->u.integer;
    }
    int overflow;
    uint64_t elements = element_count(t->shape, t->ndim, &overflow);
    uint64_t dsize = rt_dtype_size(t->dtype);
    if (overflow || elements > UINT64_MAX / dsize) {
        char s[256];
        format_shape(s, sizeof s, t->shape, t->ndim);
        return bad(r, "tensor '%s': the byte size of shape %s overflows", name, s);
    }
    uint64_t need = elements * dsize;

    if (offsets->type != RT_JSON_ARRAY || offsets->u.array.count != 2 ||
        offsets->u.array.items[0].type != RT_JSON_INT ||
        offsets->u.array.items[1].type != RT_JSON_INT || offsets->u.array.items[0].u.integer < 0 ||
        offsets->u.array.items[1].u.integer < offsets->u.array.items[0].u.integer)
        return bad(r, "tensor '%s': data_offsets must be [begin, end] with 0 <= begin <= end%s",
                   name, NULL);
    uint64_t b = (uint64_t)offsets->u.array.items[0].u.integer;
    uint64_t e = (uint64_t)offsets->u.array.items[1].u.integer;
    if (e > buffer_size) {
        char detail[128];
        snprintf(detail, sizeof detail, "%" PRIu64 " is beyond the end of the data buffer (%" PRIu64
                 " bytes; is the file truncated?)", e, buffer_size);
        return bad(r, "tensor '%s': data_offsets end %s", name, detail);
    }
    if (e - b != need) {
        char s[200], detail[400];
        format_shape(s, sizeof s, t->shape, t->ndim);
        snprintf(detail, sizeof detail, "%" PRIu64 " bytes, but dtype %s with shape %s needs %" PRIu64,
                 e - b, rt_dtype_name(t->dtype), s, need);
        return bad(r, "tensor '%s': data_offsets span %s", name, detail);
    }
    *begin = b;
    t->bytes = (size_t)need;
    return RT_OK;
}

typedef struct placed {
    uint64_t begin, end;
    int order; /* position in the header */
    rt_tensor_view view;
} placed;

static int cmp_placed(const void *a, const void *b)
{
    const placed *x = a, *y = b;
    if (x->begin != y->begin)
        return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end)
        return x->end < y->end ? -1 : 1;
    return x->order - y->order;
}

static int cmp_by_name(const void *a, const void *b)
{
    return strcmp((*(const rt_tensor_view *const *)a)->name,
                  (*(const rt_tensor_view *const *)b)->name);
}

static rt_status read_file(const reading *r, rt_safetensors *f, const unsigned char **header,
                           size_t *header_len, const unsigned char **buffer, uint64_t *buffer_size)
{
    FILE *fp = fopen(r->path, "rb");
    if (!fp)
        return rt_error_set(r->err, RT_ERR_IO, "%s: cannot open: %s", r->path, strerror(errno));
    rt_status st = RT_OK;
    struct stat sb;
    unsigned char len8[8];
    if (fstat(fileno(fp), &sb) != 0) {
        st = rt_error_set(r->err, RT_ERR_IO, "%s: cannot stat: %s", r->path, strerror(errno));
        goto done;
    }
    if (!S_ISREG(sb.st_mode)) {
        st = rt_error_set(r->err, RT_ERR_IO, "%s: not a regular file", r->path);
        goto done;
    }
    uint64_t size = (uint64_t)sb.st_size;
    if (size < 8) {
        st = rt_error_set(r->err, RT_ERR_FORMAT,
                          "%s: file too short for safetensors (%" PRIu64
                          " bytes; the 8-byte header length is missing)",
                          r->path, size);
        goto done;
    }
    if (fread(len8, 1, 8, fp) != 8) {
        st = rt_error_set(r->err, RT_ERR_IO, "%s: read failed: %s", r->path,
                          ferror(fp) ? strerror(errno) : "unexpected end of file");
        goto done;
    }
    uint64_t n = rt_io_load_le64(len8);
    if (n == 0) {
        st = rt_error_set(r->err, RT_ERR_FORMAT, "%s: header length is 0", r->path);
        goto done;
    }
    if (n > RT_SAFETENSORS_MAX_HEADER) {
        st = rt_error_set(r->err, RT_ERR_FORMAT,
                          "%s: header length %" PRIu64 " is absurd (more than %u bytes); "
                          "not a safetensors file?",
                          r->path, n, RT_SAFETENSORS_MAX_HEADER);
        goto done;
    }
    if (n > size - 8) {
        st = rt_error_set(r->err, RT_ERR_FORMAT,
                          "%s: header length %" PRIu64 " exceeds the file size (%" PRIu64
                          " bytes after the length; truncated file?)",
                          r->path, n, size - 8);
        goto done;
    }
    if (size > SIZE_MAX - 16) {
        st = rt_error_set(r->err, RT_ERR_NOMEM, "%s: file too large for memory", r->path);
        goto done;
    }
    /* place the file so the data buffer (at 8 + n) is 8-byte aligned */
    size_t pad = (size_t)((8 - (8 + n) % 8) % 8);
    f->alloc = malloc((size_t)size + pad + 1);
    if (!f->alloc) {
        st = rt_error_set(r->err, RT_ERR_NOMEM, "%s: out of memory reading %" PRIu64 " bytes",
                          r->path, size);
        goto done;
    }
    unsigned char *base = f->alloc + pad;
    memcpy(base, len8, 8);
    size_t rest = (size_t)size - 8;
    size_t got = fread(base + 8, 1, rest, fp);
    if (got != rest) {
        st = rt_error_set(r->err, RT_ERR_IO, "%s: read failed: %s", r->path,
                          ferror(fp) ? strerror(errno) : "the file shrank while being read");
        goto done;
    }
    *header = base + 8;
    *header_len = (size_t)n;
    *buffer = base + 8 + n;
    *buffer_size = size - 8 - n;
done:
    fclose(fp);
    return st;
}

static rt_status parse_metadata(const reading *r, rt_safetensors *f, const rt_json *meta)
{
    if (meta->type != RT_JSON_OBJECT)
        return bad(r, "__metadata__ is %s, not an object of strings%s",
                   rt_json_type_name(meta->type), NULL);
    size_t n = meta->u.object.count;
    if (n == 0)
        return RT_OK;
    f->meta_keys = malloc(n * sizeof *f->meta_keys);
    f->meta_values = malloc(n * sizeof *f->meta_values);
    if (!f->meta_keys || !f->meta_values)
        return rt_error_set(r->err, RT_ERR_NOMEM, "%s: out of memory", r->path);
    for (size_t i = 0; i < n; i++) {
        const rt_json_member *m = &meta->u.object.members[i];
        if (m->value.type != RT_JSON_STRING)
            return bad(r, "__metadata__ value of '%s' is %s, not a string", m->key,
                       rt_json_type_name(m->value.type));
        f->meta_keys[i] = m->key;
        f->meta_values[i] = m->value.u.str.text;
    }
    f->meta_count = (int)n;
    return RT_OK;
}

static rt_status parse_header(const reading *r, rt_safetensors *f, uint64_t buffer_size,
                              const unsigned char *buffer)
{
    const rt_json *h = &f->header;
    if (h->type != RT_JSON_OBJECT)
        return bad(r, "the header is %s, not a JSON object%s", rt_json_type_name(h->type), NULL);
    size_t members = h->u.object.count;
    placed *p = members ? calloc(members, sizeof *p) : NULL;
    if (members && !p)
        return rt_error_set(r->err, RT_ERR_NOMEM, "%s: out of memory", r->path);
    rt_status st = RT_OK;
    int n = 0;
    for (size_t i = 0; i < members && st == RT_OK; i++) {
        const rt_json_member *m = &h->u.object.members[i];
        if (strcmp(m->key, "__metadata__") == 0) {
            st = parse_metadata(r, f, &m->value);
            continue;
        }
        placed *t = &p[n];
        t->view.name = m->key;
        t->order = n;
        st = parse_tensor(r, m->key, &m->value, buffer_size, &t->view, &t->begin);
        t->end = t->begin + t->view.bytes;
        n++;
    }
    if (st == RT_OK && n > 0) {
        qsort(p, (size_t)n, sizeof *p, cmp_placed);
        uint64_t at = 0;
        for (int i = 0; i < n && st == RT_OK; i++) {
            if (p[i].begin < at) {
                char a[160], b[160], msg[400];
                rt_io_sanitize(a, sizeof a, p[i - 1].view.name);
                rt_io_sanitize(b, sizeof b, p[i].view.name);
                snprintf(msg, sizeof msg, "tensors '%s' and '%s' overlap in the data buffer", a, b);
                st = rt_error_set(r->err, RT_ERR_FORMAT, "%s: %s", r->path, msg);
            } else if (p[i].begin > at) {
                st = rt_error_set(r->err, RT_ERR_FORMAT,
                                  "%s: hole in the data buffer: bytes %" PRIu64 "..%" PRIu64
                                  " belong to no tensor",
                                  r->path, at, p[i].begin);
            }
            at = p[i].end > at ? p[i].end : at;
        }
        if (st == RT_OK && at != buffer_size)
            st = rt_error_set(r->err, RT_ERR_FORMAT,
                              "%s: hole in the data buffer: bytes %" PRIu64 "..%" PRIu64
                              " after the last tensor belong to no tensor",
                              r->path, at, buffer_size);
    } else if (st == RT_OK && buffer_size != 0) {
        st = rt_error_set(r->err, RT_ERR_FORMAT,
                          "%s: hole in the data buffer: %" PRIu64 " bytes but no tensors",
                          r->path, buffer_size);
    }
    if (st == RT_OK && n > 0) {
        f->tensors = malloc((size_t)n * sizeof *f->tensors);
        f->by_name = malloc((size_t)n * sizeof *f->by_name);
        if (!f->tensors || !f->by_name) {
            st = rt_error_set(r->err, RT_ERR_NOMEM, "%s: out of memory", r->path);
        } else {
            for (int i = 0; i < n; i++) {
                f->tensors[i] = p[i].view;
                f->tensors[i].data = buffer + p[i].begin;
                f->by_name[i] = &f->tensors[i];
            }
            f->count = n;
            qsort(f->by_name, (size_t)n, sizeof *f->by_name, cmp_by_name);
        }
    }
    free(p);
    return st;
}

rt_status rt_safetensors_read(const char *path, rt_safetensors **out, rt_error *err)
{
    *out = NULL;
    reading r = {path, err};
    rt_safetensors *f = calloc(1, sizeof *f);
    if (!f)
        return rt_error_set(err, RT_ERR_NOMEM, "%s: out of memory", path);
    const unsigned char *header = NULL, *buffer = NULL;
    size_t header_len = 0;
    uint64_t buffer_size = 0;
    rt_status st = read_file(&r, f, &header, &header_len, &buffer, &buffer_size);
    if (st == RT_OK) {
        st = rt_json_parse((const char *)header, header_len, &f->header, err);
        if (st == RT_OK)
            st = parse_header(&r, f, buffer_size, buffer);
        else
            rt_error_prefix(err, "%s: invalid JSON header", path);
    }
    if (st != RT_OK) {
        rt_safetensors_free(f);
        return st;
    }
    *out = f;
    return RT_OK;
}

void rt_safetensors_free(rt_safetensors *f)
{
    if (!f)
        return;
    rt_json_free(&f->header);
    free(f->alloc);
    free(f->tensors);
    free(f->by_name);
    free(f->meta_keys);
    free(f->meta_values);
    free(f);
}

int rt_safetensors_count(const rt_safetensors *f) { return f ? f->count : 0; }

const rt_tensor_view *rt_safetensors_tensor(const rt_safetensors *f, int index)
{
    if (!f || index < 0 || index >= f->count)
        return NULL;
    return &f->tensors[index];
}

const rt_tensor_view *rt_safetensors_find(const rt_safetensors *f, const char *name)
{
    if (!f || !name)
        return NULL;
    int lo = 0, hi = f->count - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        const rt_tensor_view *t = f->by_name[mid];
        int c = strcmp(name, t->name);
        if (c == 0)
            return t;
        if (c < 0)
            hi = mid - 1;
        else
            lo = mid + 1;
    }
    return NULL;
}

int rt_safetensors_metadata_count(const rt_safetensors *f) { return f ? f->meta_count : 0; }

int rt_safetensors_metadata_at(const rt_safetensors *f, int index, const char **key,
                               const char **value)
{
    if (!f || index < 0 || index >= f->meta_count)
        return 0;
    if (key)
        *key = f->meta_keys[index];
    if (value)
        *value = f->meta_values[index];
    return 1;
}

const char *rt_safetensors_metadata(const rt_safetensors *f, const char *key)
{
    if (!f || !key)
        return NULL;
    for (int i = 0; i < f->meta_count; i++)
        if (strcmp(f->meta_keys[i], key) == 0)
            return f->meta_values[i];
    return NULL;
}

/* ---- writing ------------------------------------------------------------ */

typedef struct sbuf {
    char *p;
    size_t len, cap;
    int oom;
} sbuf;

static void sb_put(sbuf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t c = b->cap ? b->cap : 256;
        while (c < b->len + n + 1)
            c *= 2;
        char *q = realloc(b->p, c);
        if (!q) {
            b->oom = 1;
            return;
        }
        b->p = q;
        b->cap = c;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void sb_str(sbuf *b, const char *s) { sb_put(b, s, strlen(s)); }

static void sb_u64(sbuf *b, uint64_t v)
{
    char t[32];
    snprintf(t, sizeof t, "%" PRIu64, v);
    sb_str(b, t);
}

/* A JSON string literal (s is valid UTF-8). */
static void sb_json_string(sbuf *b, const char *s)
{
    sb_put(b, "\"", 1);
    const char *run = s;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        sb_put(b, run, (size_t)(s - run));
        char esc[8];
        if (c == '"' || c == '\\')
            snprintf(esc, sizeof esc, "\\%c", c);
        else if (c == '\n')
            snprintf(esc, sizeof esc, "\\n");
        else if (c == '\t')
            snprintf(esc, sizeof esc, "\\t");
        else if (c == '\r')
            snprintf(esc, sizeof esc, "\\r");
        else
            snprintf(esc, sizeof esc, "\\u%04x", c);
        sb_str(b, esc);
        run = s + 1;
    }
    sb_put(b, run, (size_t)(s - run));
    sb_put(b, "\"", 1);
}

static int cmp_str_ptr(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The first repeated string of list[0..n), NULL if none. */
static rt_status check_unique(const char *path, const char *const *list, int n, const char *what,
                              rt_error *err)
{
    if (n < 2)
        return RT_OK;
    const char **sorted = malloc((size_t)n * sizeof *sorted);
    if (!sorted)
        return rt_error_set(err, RT_ERR_NOMEM, "%s: out of memory", path);
    memcpy(sorted, list, (size_t)n * sizeof *sorted);
    qsort(sorted, (size_t)n, sizeof *sorted, cmp_str_ptr);
    rt_status st = RT_OK;
    for (int i = 1; i < n; i++)
        if (strcmp(sorted[i], sorted[i - 1]) == 0) {
            char shown[160];
            rt_io_sanitize(shown, sizeof shown, sorted[i]);
            st = rt_error_set(err, RT_ERR_USAGE, "%s: cannot save: duplicate %s '%s'", path, what,
                              shown);
            break;
        }
    free(sorted);
    return st;
}

static rt_status check_name(const char *path, const char *name, const char *what, rt_error *err)
{
    if (!name || !*name)
        return rt_error_set(err, RT_ERR_USAGE, "%s: cannot save: a %s is empty", path, what);
    char shown[160];
    rt_io_sanitize(shown, sizeof shown, name);
    if (!rt_io_utf8_valid(name))
        return rt_error_set(err, RT_ERR_USAGE, "%s: cannot save: %s '%s' is not valid UTF-8",
                            path, what, shown);
    if (strcmp(name, "__metadata__") == 0)
        return rt_error_set(err, RT_ERR_USAGE, "%s: cannot save: '__metadata__' is reserved",
                            path);
    return RT_OK;
}

static rt_status check_tensors(const char *path, const rt_tensor_view *t, int count,
                               const char *const *meta_keys, const char *const *meta_values,
                               int meta_count, rt_error *err)
{
    if (count < 0 || meta_count < 0 || (count > 0 && !t) ||
        (meta_count > 0 && (!meta_keys || !meta_values)))
        return rt_error_set(err, RT_ERR_USAGE, "%s: cannot save: bad tensor or metadata list",
                            path);
    rt_status st;
    for (int i = 0; i < count; i++) {
        if ((st = check_name(path, t[i].name, "tensor name", err)) != RT_OK)
            return st;
        char shown[160];
        rt_io_sanitize(shown, sizeof shown, t[i].name);
        if ((unsigned)t[i].dtype >= RT_DTYPE_COUNT)
            return rt_error_set(err, RT_ERR_USAGE, "%s: cannot save: tensor '%s' has no valid dtype",
                                path, shown);
        if (t[i].ndim < 0 || t[i].ndim > RT_SAFETENSORS_MAX_DIMS)
            return rt_error_set(err, RT_ERR_USAGE,
                                "%s: cannot save: tensor '%s' has %d dimensions (0..8 allowed)",
                                path, shown, t[i].ndim);
        for (int d = 0; d < t[i].ndim; d++)
            if (t[i].shape[d] < 0)
                return rt_error_set(err, RT_ERR_USAGE,
                                    "%s: cannot save: tensor '%s' has a negative dimension", path,
                                    shown);
        int overflow;
        uint64_t e = element_count(t[i].shape, t[i].ndim, &overflow);
        uint64_t ds = rt_dtype_size(t[i].dtype);
        if (overflow || e > UINT64_MAX / ds || e * ds != (uint64_t)t[i].bytes)
            return rt_error_set(err, RT_ERR_USAGE,
                                "%s: cannot save: tensor '%s' has %zu bytes, which does not match "
                                "its shape and dtype",
                                path, shown, t[i].bytes);
        if (t[i].bytes && !t[i].data)
            return rt_error_set(err, RT_ERR_USAGE, "%s: cannot save: tensor '%s' has no data", path,
                                shown);
    }
    for (int i = 0; i < meta_count; i++) {
        if ((st = check_name(path, meta_keys[i], "metadata key", err)) != RT_OK)
            return st;
        if (!meta_values[i] || !rt_io_utf8_valid(meta_values[i])) {
            char shown[160];
            rt_io_sanitize(shown, sizeof shown, meta_keys[i]);
            return rt_error_set(err, RT_ERR_USAGE,
                                "%s: cannot save: metadata value of '%s' is missing or not "
                                "valid UTF-8",
                                path, shown);
        }
    }
    if (meta_count > 0 &&
        (st = check_unique(path, meta_keys, meta_count, "metadata key", err)) != RT_OK)
        return st;
    if (count > 1) {
        const char **names = malloc((size_t)count * sizeof *names);
        if (!names)
            return rt_error_set(err, RT_ERR_NOMEM, "%s: out of memory", path);
        for (int i = 0; i < count; i++)
            names[i] = t[i].name;
        st = check_unique(path, names, count, "tensor name", err);
        free(names);
        if (st != RT_OK)
            return st;
    }
    return RT_OK;
}

rt_status rt_safetensors_write(const char *path, const rt_tensor_view *tensors, int count,
                               const char *const *meta_keys, const char *const *meta_values,
                               int meta_count, rt_error *err)
{
    rt_status st = check_tensors(path, tensors, count, meta_keys, meta_values, meta_count, err);
    if (st != RT_OK)
        return st;
    sbuf h = {0};
    sb_put(&h, "{", 1);
    int first = 1;
    if (meta_count > 0) {
        sb_str(&h, "\"__metadata__\":{");
        for (int i = 0; i < meta_count; i++) {
            if (i)
                sb_put(&h, ",", 1);
            sb_json_string(&h, meta_keys[i]);
            sb_put(&h, ":", 1);
            sb_json_string(&h, meta_values[i]);
        }
        sb_put(&h, "}", 1);
        first = 0;
    }
    uint64_t at = 0;
    for (int i = 0; i < count; i++) {
        const rt_tensor_view *t = &tensors[i];
        if (!first)
            sb_put(&h, ",", 1);
        first = 0;
        sb_json_string(&h, t->name);
        sb_str(&h, ":{\"dtype\":\"");
        sb_str(&h, rt_dtype_name(t->dtype));
        sb_str(&h, "\",\"shape\":[");
        for (int d = 0; d < t->ndim; d++) {
            if (d)
                sb_put(&h, ",", 1);
            sb_u64(&h, (uint64_t)t->shape[d]);
        }
        sb_str(&h, "],\"data_offsets\":[");
        sb_u64(&h, at);
        sb_put(&h, ",", 1);
        at += t->bytes;
        sb_u64(&h, at);
        sb_str(&h, "]}");
    }
    sb_put(&h, "}", 1);
    while (!h.oom && (8 + h.len) % 8)
        sb_put(&h, " ", 1);
    if (h.oom) {
        free(h.p);
        return rt_error_set(err, RT_ERR_NOMEM, "%s: out of memory building the header", path);
    }
    if (h.len > RT_SAFETENSORS_MAX_HEADER) {
        free(h.p);
        return rt_error_set(err, RT_ERR_USAGE,
                            "%s: cannot save: the header would be %zu bytes, more than %u", path,
                            h.len, RT_SAFETENSORS_MAX_HEADER);
    }
    unsigned char len8[8];
    rt_io_store_le64(len8, (uint64_t)h.len);

    rt_atomic_file af;
    st = rt_atomic_open(&af, path, err);
    if (st == RT_OK) {
        st = rt_atomic_write(&af, len8, 8, err);
        if (st == RT_OK)
            st = rt_atomic_write(&af, h.p, h.len, err);
        for (int i = 0; i < count && st == RT_OK; i++)
            st = rt_atomic_write(&af, tensors[i].data, tensors[i].bytes, err);
        if (st == RT_OK)
            st = rt_atomic_commit(&af, err);
        else
            rt_atomic_abort(&af);
    }
    free(h.p);
    return st;
}
