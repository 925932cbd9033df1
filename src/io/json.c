/* A strict recursive-descent JSON parser; see json.h for what it rejects. */
#include "json.h"

#include <stdlib.h>
#include <string.h>

#include "io_util.h"

typedef struct parser {
    const unsigned char *start, *p, *end;
    size_t values;
    rt_error *err;
} parser;

static size_t offset(const parser *ps, const unsigned char *at) { return (size_t)(at - ps->start); }

static rt_status fail_at(parser *ps, const unsigned char *at, const char *what)
{
    return rt_error_set(ps->err, RT_ERR_FORMAT, "byte %zu: %s", offset(ps, at), what);
}

/* "unexpected 'x'" or "unexpected byte 0xNN" or "unexpected end of input". */
static rt_status fail_unexpected(parser *ps, const char *context)
{
    if (ps->p >= ps->end)
        return rt_error_set(ps->err, RT_ERR_FORMAT, "byte %zu: unexpected end of input %s",
                            offset(ps, ps->p), context);
    unsigned c = *ps->p;
    if (c >= 0x21 && c < 0x7f)
        return rt_error_set(ps->err, RT_ERR_FORMAT, "byte %zu: unexpected '%c' %s",
                            offset(ps, ps->p), (char)c, context);
    return rt_error_set(ps->err, RT_ERR_FORMAT, "byte %zu: unexpected byte 0x%02x %s",
                        offset(ps, ps->p), c, context);
}

static void skip_ws(parser *ps)
{
    while (ps->p < ps->end &&
           (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
        ps->p++;
}

static rt_status parse_value(parser *ps, rt_json *out, int depth);

static int hex4(const unsigned char *s, uint32_t *v)
{
    uint32_t x = 0;
    for (int i = 0; i < 4; i++) {
        unsigned c = s[i];
        x <<= 4;
        if (c >= '0' && c <= '9')
            x |= c - '0';
        else if (c >= 'a' && c <= 'f')
            x |= c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            x |= c - 'A' + 10;
        else
            return 0;
    }
    *v = x;
    return 1;
}

static size_t put_utf8(char *o, uint32_t cp)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xc0 | cp >> 6);
        o[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xe0 | cp >> 12);
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        o[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    o[0] = (char)(0xf0 | cp >> 18);
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    o[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

/* At an opening quote: decodes the string into a fresh NUL-terminated
 * buffer (never longer than the raw text). */
static rt_status parse_string(parser *ps, char **text, size_t *len)
{
    const unsigned char *open = ps->p++;
    const unsigned char *q = ps->p;
    while (q < ps->end && *q != '"') {
        if (*q == '\\')
            q++;
        q++;
    }
    if (q >= ps->end)
        return fail_at(ps, open, "unterminated string");
    char *buf = malloc((size_t)(q - ps->p) + 1);
    if (!buf)
        return rt_error_set(ps->err, RT_ERR_NOMEM, "out of memory parsing JSON");
    size_t o = 0;
    const unsigned char *s = ps->p;
    rt_status st = RT_OK;
    while (s < q) {
        unsigned c = *s;
        if (c < 0x20) {
            st = fail_at(ps, s, "control character in a string (must be escaped)");
            break;
        }
        if (c >= 0x80) {
            size_t n = rt_io_utf8_sequence(s, q);
            if (!n) {
                st = fail_at(ps, s, "invalid UTF-8 in a string");
                break;
            }
            memcpy(buf + o, s, n);
            o += n;
            s += n;
            continue;
        }
        if (c != '\\') {
            buf[o++] = (char)c;
            s++;
            continue;
        }
        const unsigned char *esc = s++;
        switch (*s) {
        case '"': buf[o++] = '"'; s++; break;
        case '\\': buf[o++] = '\\'; s++; break;
        case '/': buf[o++] = '/'; s++; break;
        case 'b': buf[o++] = '\b'; s++; break;
        case 'f': buf[o++] = '\f'; s++; break;
        case 'n': buf[o++] = '\n'; s++; break;
        case 'r': buf[o++] = '\r'; s++; break;
        case 't': buf[o++] = '\t'; s++; break;
        case 'u': {
            uint32_t cp;
            if (q - s < 5 || !hex4(s + 1, &cp)) {
                st = fail_at(ps, esc, "\\u must be followed by 4 hex digits");
                break;
            }
            s += 5;
            if (cp >= 0xdc00 && cp <= 0xdfff) {
                st = fail_at(ps, esc, "lone low surrogate in a \\u escape");
                break;
            }
            if (cp >= 0xd800 && cp <= 0xdbff) {
                uint32_t lo;
                if (q - s < 6 || s[0] != '\\' || s[1] != 'u' || !hex4(s + 2, &lo) ||
                    lo < 0xdc00 || lo > 0xdfff) {
                    st = fail_at(ps, esc, "lone high surrogate in a \\u escape");
                    break;
                }
                s += 6;
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
            }
            if (cp == 0) {
                st = fail_at(ps, esc, "\\u0000 in a string is not supported");
                break;
            }
            o += put_utf8(buf + o, cp);
            break;
        }
        default:
            st = fail_at(ps, esc, "invalid escape in a string");
            break;
        }
        if (st != RT_OK)
            break;
    }
    if (st != RT_OK) {
        free(buf);
        return st;
    }
    buf[o] = '\0';
    ps->p = q + 1;
    *text = buf;
    *len = o;
    return RT_OK;
}

static int is_digit(const parser *ps, const unsigned char *s) { return s < ps->end && *s >= '0' && *s <= '9'; }

static rt_status parse_number(parser *ps, rt_json *out)
{
    const unsigned char *begin = ps->p, *s = ps->p;
    int negative = 0;
    if (*s == '-') {
        negative = 1;
        s++;
    }
    if (!is_digit(ps, s))
        return fail_at(ps, begin, "'-' must be followed by a digit");
    if (*s == '0' && is_digit(ps, s + 1))
        return fail_at(ps, begin, "numbers must not have leading zeros");
    const unsigned char *digits = s;
    while (is_digit(ps, s))
        s++;
    const unsigned char *digits_end = s;
    int integer = 1;
    if (s < ps->end && *s == '.') {
        integer = 0;
        s++;
        if (!is_digit(ps, s))
            return fail_at(ps, begin, "a decimal point must be followed by a digit");
        while (is_digit(ps, s))
            s++;
    }
    if (s < ps->end && (*s == 'e' || *s == 'E')) {
        integer = 0;
        s++;
        if (s < ps->end && (*s == '+' || *s == '-'))
            s++;
        if (!is_digit(ps, s))
            return fail_at(ps, begin, "an exponent must have digits");
        while (is_digit(ps, s))
            s++;
    }
    if (integer) {
        /* accumulate negatively so INT64_MIN fits */
        int64_t v = 0;
        for (const unsigned char *d = digits; d < digits_end; d++) {
            int digit = *d - '0';
            if (v < (INT64_MIN + digit) / 10)
                return fail_at(ps, begin, "integer out of range (it does not fit 64 bits)");
            v = v * 10 - digit;
        }
        if (!negative) {
            if (v == INT64_MIN)
                return fail_at(ps, begin, "integer out of range (it does not fit 64 bits)");
            v = -v;
        }
        out->type = RT_JSON_INT;
        out->u.integer = v;
    } else {
        size_t n = (size_t)(s - begin);
        char *text = malloc(n + 1);
        if (!text)
            return rt_error_set(ps->err, RT_ERR_NOMEM, "out of memory parsing JSON");
        memcpy(text, begin, n);
        text[n] = '\0';
        out->type = RT_JSON_NUMBER;
        out->u.str.text = text;
        out->u.str.len = n;
    }
    ps->p = s;
    return RT_OK;
}

static int cmp_member_ptr(const void *a, const void *b)
{
    const rt_json_member *x = *(const rt_json_member *const *)a;
    const rt_json_member *y = *(const rt_json_member *const *)b;
    return strcmp(x->key, y->key);
}

static rt_status duplicate_key(parser *ps, const unsigned char *open, const char *key)
{
    char shown[128];
    rt_io_sanitize(shown, sizeof shown, key);
    return rt_error_set(ps->err, RT_ERR_FORMAT,
                        "byte %zu: duplicate key \"%s\" in the object that starts there",
                        offset(ps, open), shown);
}

/* Duplicate keys: pairwise for small objects, by sorting otherwise. */
static rt_status check_duplicates(parser *ps, const unsigned char *open, rt_json_member *m,
                                  size_t n)
{
    if (n <= 16) {
        for (size_t i = 1; i < n; i++)
            for (size_t j = 0; j < i; j++)
                if (strcmp(m[i].key, m[j].key) == 0)
                    return duplicate_key(ps, open, m[i].key);
        return RT_OK;
    }
    rt_json_member **sorted = malloc(n * sizeof *sorted);
    if (!sorted)
        return rt_error_set(ps->err, RT_ERR_NOMEM, "out of memory parsing JSON");
    for (size_t i = 0; i < n; i++)
        sorted[i] = &m[i];
    qsort(sorted, n, sizeof *sorted, cmp_member_ptr);
    rt_status st = RT_OK;
    for (size_t i = 1; i < n && st == RT_OK; i++)
        if (strcmp(sorted[i]->key, sorted[i - 1]->key) == 0)
            st = duplicate_key(ps, open, sorted[i]->key);
    free(sorted);
    return st;
}

/* Grows a vector of elem-sized items to hold at least need. */
static int grow(void **items, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 1;
    size_t c = *cap ? *cap * 2 : 4;
    while (c < need)
        c *= 2;
    void *p = realloc(*items, c * elem);
    if (!p)
        return 0;
    *items = p;
    *cap = c;
    return 1;
}

static rt_status parse_object(parser *ps, rt_json *out, int depth)
{
    const unsigned char *open = ps->p++;
    rt_json_member *m = NULL;
    size_t n = 0, cap = 0;
    rt_status st = RT_OK;
    out->type = RT_JSON_OBJECT;
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == '}') {
        ps->p++;
        out->u.object.members = NULL;
        out->u.object.count = 0;
        return RT_OK;
    }
    for (;;) {
        skip_ws(ps);
        if (ps->p >= ps->end || *ps->p != '"') {
            st = fail_unexpected(ps, "where an object key (a string) should be");
            break;
        }
        if (!grow((void **)&m, &cap, n + 1, sizeof *m)) {
            st = rt_error_set(ps->err, RT_ERR_NOMEM, "out of memory parsing JSON");
            break;
        }
        rt_json_member *mem = &m[n];
        if ((st = parse_string(ps, &mem->key, &mem->key_len)) != RT_OK)
            break;
        skip_ws(ps);
        if (ps->p >= ps->end || *ps->p != ':') {
            free(mem->key);
            st = fail_unexpected(ps, "where ':' should follow an object key");
            break;
        }
        ps->p++;
        if ((st = parse_value(ps, &mem->value, depth)) != RT_OK) {
            free(mem->key);
            break;
        }
        n++;
        skip_ws(ps);
        if (ps->p < ps->end && *ps->p == ',') {
            ps->p++;
            continue;
        }
        if (ps->p < ps->end && *ps->p == '}') {
            ps->p++;
            break;
        }
        st = fail_unexpected(ps, "where ',' or '}' should be in an object");
        break;
    }
    out->u.object.members = m;
    out->u.object.count = n;
    if (st == RT_OK)
        st = check_duplicates(ps, open, m, n);
    if (st != RT_OK) {
        rt_json_free(out);
        out->type = RT_JSON_NULL;
    }
    return st;
}

static rt_status parse_array(parser *ps, rt_json *out, int depth)
{
    ps->p++;
    rt_json *items = NULL;
    size_t n = 0, cap = 0;
    rt_status st = RT_OK;
    out->type = RT_JSON_ARRAY;
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == ']') {
        ps->p++;
        out->u.array.items = NULL;
        out->u.array.count = 0;
        return RT_OK;
    }
    for (;;) {
        if (!grow((void **)&items, &cap, n + 1, sizeof *items)) {
            st = rt_error_set(ps->err, RT_ERR_NOMEM, "out of memory parsing JSON");
            break;
        }
        if ((st = parse_value(ps, &items[n], depth)) != RT_OK)
            break;
        n++;
        skip_ws(ps);
        if (ps->p < ps->end && *ps->p == ',') {
            ps->p++;
            continue;
        }
        if (ps->p < ps->end && *ps->p == ']') {
            ps->p++;
            break;
        }
        st = fail_unexpected(ps, "where ',' or ']' should be in an array");
        break;
    }
    out->u.array.items = items;
    out->u.array.count = n;
    if (st != RT_OK) {
        rt_json_free(out);
        out->type = RT_JSON_NULL;
    }
    return st;
}

static rt_status parse_literal(parser *ps, const char *word, rt_json *out)
{
    size_t n = strlen(word);
    if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n) != 0)
        return fail_unexpected(ps, "where a value should be");
    ps->p += n;
    if (word[0] == 'n') {
        out->type = RT_JSON_NULL;
    } else {
        out->type = RT_JSON_BOOL;
        out->u.boolean = word[0] == 't';
    }
    return RT_OK;
}

static rt_status parse_value(parser *ps, rt_json *out, int depth)
{
    memset(out, 0, sizeof *out);
    out->type = RT_JSON_NULL;
    skip_ws(ps);
    if (ps->p >= ps->end)
        return fail_unexpected(ps, "where a value should be");
    if (++ps->values > RT_JSON_MAX_VALUES)
        return rt_error_set(ps->err, RT_ERR_FORMAT, "byte %zu: more than %u values",
                            offset(ps, ps->p), RT_JSON_MAX_VALUES);
    unsigned c = *ps->p;
    if (c == '{' || c == '[') {
        if (depth >= RT_JSON_MAX_DEPTH)
            return rt_error_set(ps->err, RT_ERR_FORMAT,
                                "byte %zu: nested more than %d levels deep", offset(ps, ps->p),
                                RT_JSON_MAX_DEPTH);
        return c == '{' ? parse_object(ps, out, depth + 1) : parse_array(ps, out, depth + 1);
    }
    if (c == '"') {
        rt_status st = parse_string(ps, &out->u.str.text, &out->u.str.len);
        if (st == RT_OK)
            out->type = RT_JSON_STRING;
        return st;
    }
    if (c == '-' || (c >= '0' && c <= '9'))
        return parse_number(ps, out);
    if (c == 't')
        return parse_literal(ps, "true", out);
    if (c == 'f')
        return parse_literal(ps, "false", out);
    if (c == 'n')
        return parse_literal(ps, "null", out);
    return fail_unexpected(ps, "where a value should be");
}

rt_status rt_json_parse(const char *text, size_t len, rt_json *out, rt_error *err)
{
    parser ps = {(const unsigned char *)text, (const unsigned char *)text,
                 (const unsigned char *)text + len, 0, err};
    memset(out, 0, sizeof *out);
    out->type = RT_JSON_NULL;
    if (len && memchr(text, '\0', len)) {
        size_t at = (size_t)((const char *)memchr(text, '\0', len) - text);
        return rt_error_set(err, RT_ERR_FORMAT, "byte %zu: NUL byte in JSON text", at);
    }
    rt_status st = parse_value(&ps, out, 0);
    if (st != RT_OK)
        return st;
    skip_ws(&ps);
    if (ps.p != ps.end) {
        rt_json_free(out);
        return fail_unexpected(&ps, "after the end of the JSON value (trailing garbage)");
    }
    return RT_OK;
}

void rt_json_free(rt_json *v)
{
    if (!v)
        return;
    switch (v->type) {
    case RT_JSON_STRING:
    case RT_JSON_NUMBER:
        free(v->u.str.text);
        break;
    case RT_JSON_ARRAY:
        for (size_t i = 0; i < v->u.array.count; i++)
            rt_json_free(&v->u.array.items[i]);
        free(v->u.array.items);
        break;
    case RT_JSON_OBJECT:
        for (size_t i = 0; i < v->u.object.count; i++) {
            free(v->u.object.members[i].key);
            rt_json_free(&v->u.object.members[i].value);
        }
        free(v->u.object.members);
        break;
    default:
        break;
    }
    memset(v, 0, sizeof *v);
    v->type = RT_JSON_NULL;
}

const rt_json *rt_json_get(const rt_json *object, const char *key)
{
    if (!object || object->type != RT_JSON_OBJECT)
        return NULL;
    for (size_t i = 0; i < object->u.object.count; i++)
        if (strcmp(object->u.object.members[i].key, key) == 0)
            return &object->u.object.members[i].value;
    return NULL;
}

const char *rt_json_type_name(rt_json_type type)
{
    switch (type) {
    case RT_JSON_NULL: return "null";
    case RT_JSON_BOOL: return "a boolean";
    case RT_JSON_INT: return "an integer";
    case RT_JSON_NUMBER: return "a non-integer number";
    case RT_JSON_STRING: return "a string";
    case RT_JSON_ARRAY: return "an array";
    case RT_JSON_OBJECT: return "an object";
    }
    return "an unknown value";
}
