/* The strict JSON parser, base64 and message quoting of src/io. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "io_test_util.h"
#include "io_util.h"
#include "json.h"

static rt_status parse(const char *text, rt_json *out, rt_error *err)
{
    return rt_json_parse(text, strlen(text), out, err);
}

static void test_valid(void)
{
    rt_error err = {0};
    rt_json v;
    const char *doc = " {\"a\": [1, -2, 3.5e-1, \"x\\u00e9\\n\\\"\\\\\\/\\b\\f\\r\\t\", true, false, null],"
                      " \"b\": {}, \"c\": [], \"\\ud83d\\ude00\": \"caf\xc3\xa9\"}\r\n\t ";
    rt_status st = parse(doc, &v, &err);
    CHECKF(st == RT_OK, "valid document: %s", err.message);
    if (st != RT_OK)
        return;
    CHECK(v.type == RT_JSON_OBJECT && v.u.object.count == 4);
    const rt_json *a = rt_json_get(&v, "a");
    CHECK(a && a->type == RT_JSON_ARRAY && a->u.array.count == 7);
    if (a && a->u.array.count == 7) {
        const rt_json *it = a->u.array.items;
        CHECK(it[0].type == RT_JSON_INT && it[0].u.integer == 1);
        CHECK(it[1].type == RT_JSON_INT && it[1].u.integer == -2);
        CHECK(it[2].type == RT_JSON_NUMBER && strcmp(it[2].u.str.text, "3.5e-1") == 0);
        CHECK(it[3].type == RT_JSON_STRING &&
              strcmp(it[3].u.str.text, "x\xc3\xa9\n\"\\/\b\f\r\t") == 0 && it[3].u.str.len == 11);
        CHECK(it[4].type == RT_JSON_BOOL && it[4].u.boolean == 1);
        CHECK(it[5].type == RT_JSON_BOOL && it[5].u.boolean == 0);
        CHECK(it[6].type == RT_JSON_NULL);
    }
    const rt_json *b = rt_json_get(&v, "b");
    CHECK(b && b->type == RT_JSON_OBJECT && b->u.object.count == 0);
    const rt_json *c = rt_json_get(&v, "c");
    CHECK(c && c->type == RT_JSON_ARRAY && c->u.array.count == 0);
    /* a surrogate pair decodes to one 4-byte UTF-8 sequence */
    const rt_json *e = rt_json_get(&v, "\xf0\x9f\x98\x80");
    CHECK(e && e->type == RT_JSON_STRING && strcmp(e->u.str.text, "caf\xc3\xa9") == 0);
    CHECK(rt_json_get(&v, "missing") == NULL);
    CHECK(rt_json_get(a, "a") == NULL); /* not an object */
    rt_json_free(&v);

    /* integer limits */
    st = parse("[9223372036854775807, -9223372036854775808, 0, -0]", &v, &err);
    CHECKF(st == RT_OK, "int64 limits: %s", err.message);
    if (st == RT_OK) {
        CHECK(v.u.array.items[0].u.integer == INT64_MAX);
        CHECK(v.u.array.items[1].u.integer == INT64_MIN);
        CHECK(v.u.array.items[2].u.integer == 0 && v.u.array.items[3].u.integer == 0);
        rt_json_free(&v);
    }

    /* nesting exactly at the limit is fine */
    char deep[2 * RT_JSON_MAX_DEPTH + 1];
    for (int i = 0; i < RT_JSON_MAX_DEPTH; i++) {
        deep[i] = '[';
        deep[2 * RT_JSON_MAX_DEPTH - 1 - i] = ']';
    }
    deep[2 * RT_JSON_MAX_DEPTH] = '\0';
    st = parse(deep, &v, &err);
    CHECKF(st == RT_OK, "%d levels: %s", RT_JSON_MAX_DEPTH, err.message);
    rt_json_free(&v);

    /* a big object without duplicates (the sorted duplicate check) */
    char big[4096];
    size_t o = 0;
    o += (size_t)snprintf(big + o, sizeof big - o, "{");
    for (int i = 0; i < 100; i++)
        o += (size_t)snprintf(big + o, sizeof big - o, "%s\"k%d\":%d", i ? "," : "", i, i);
    snprintf(big + o, sizeof big - o, "}");
    st = parse(big, &v, &err);
    CHECKF(st == RT_OK && v.u.object.count == 100, "100 keys: %s", err.message);
    if (st == RT_OK) {
        const rt_json *k57 = rt_json_get(&v, "k57");
        CHECK(k57 && k57->u.integer == 57);
    }
    rt_json_free(&v);
}

typedef struct bad_case {
    const char *text;
    size_t len; /* 0: strlen */
    const char *expect;
} bad_case;

static void test_invalid(void)
{
    static const bad_case cases[] = {
        {"", 0, "unexpected end of input"},
        {"   ", 0, "unexpected end of input"},
        {"{} x", 0, "trailing garbage"},
        {"{}{}", 0, "trailing garbage"},
        {"1 2", 0, "trailing garbage"},
        {"{\"a\":1,\"a\":2}", 0, "duplicate key \"a\""},
        {"{\"a\":{\"x\":1,\"y\":2,\"x\":3}}", 0, "duplicate key \"x\""},
        {"{\"k\":[1,", 0, "unexpected end of input"},
        {"{\"k\" 1}", 0, "':'"},
        {"{1:2}", 0, "object key"},
        {"{\"a\":1,}", 0, "object key"},
        {"[1,]", 0, "where a value should be"},
        {"[1 2]", 0, "',' or ']'"},
        {"{\"a\":1 \"b\":2}", 0, "',' or '}'"},
        {"01", 0, "leading zeros"},
        {"-", 0, "'-' must be followed by a digit"},
        {"-a", 0, "'-' must be followed by a digit"},
        {"1.", 0, "decimal point"},
        {"1e", 0, "exponent"},
        {"1e+", 0, "exponent"},
        {".5", 0, "unexpected '.'"},
        {"+1", 0, "unexpected '+'"},
        {"9223372036854775808", 0, "out of range"},
        {"-9223372036854775809", 0, "out of range"},
        {"[123456789012345678901234567890]", 0, "out of range"},
        {"\"abc", 0, "unterminated string"},
        {"\"abc\\\"", 0, "unterminated string"},
        {"\"a\tb\"", 0, "control character"},
        {"\"a\\x\"", 0, "invalid escape"},
        {"\"\\u12\"", 0, "4 hex digits"},
        {"\"\\u12g4\"", 0, "4 hex digits"},
        {"\"\\ud800\"", 0, "lone high surrogate"},
        {"\"\\ud800\\u0041\"", 0, "lone high surrogate"},
        {"\"\\udc00\"", 0, "lone low surrogate"},
        {"\"\\u0000\"", 0, "\\u0000"},
        {"\"\xc0\x80\"", 0, "invalid UTF-8"},        /* overlong NUL */
        {"\"\xed\xa0\x80\"", 0, "invalid UTF-8"},    /* encoded surrogate */
        {"\"\xff\"", 0, "invalid UTF-8"},
        {"\"\xe2\x82\"", 0, "invalid UTF-8"},        /* cut sequence */
        {"\"\xf4\x90\x80\x80\"", 0, "invalid UTF-8"}, /* above U+10FFFF */
        {"tru", 0, "unexpected 't'"},
        {"nul", 0, "unexpected 'n'"},
        {"True", 0, "unexpected 'T'"},
        {"{\"a\":1}\0", 8, "NUL byte"},
        {"'a'", 0, "unexpected '''"},
        {"\x01", 0, "unexpected byte 0x01"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        rt_error err = {0};
        rt_json v;
        size_t len = cases[i].len ? cases[i].len : strlen(cases[i].text);
        rt_status st = rt_json_parse(cases[i].text, len, &v, &err);
        CHECKF(st == RT_ERR_FORMAT, "case %zu should fail", i);
        CHECKF(strstr(err.message, cases[i].expect) != NULL,
               "case %zu: message \"%s\" should contain \"%s\"", i, err.message, cases[i].expect);
        CHECKF(strncmp(err.message, "byte ", 5) == 0, "case %zu: message names the byte: %s", i,
               err.message);
        CHECK(v.type == RT_JSON_NULL);
        rt_json_free(&v);
    }

    /* a depth bomb: rejected by the depth limit, not the stack */
    size_t n = 1000000;
    char *bomb = malloc(n);
    if (bomb) {
        memset(bomb, '[', n);
        rt_error err = {0};
        rt_json v;
        rt_status st = rt_json_parse(bomb, n, &v, &err);
        EXPECT_ERROR(st, &err, RT_ERR_FORMAT, "nested more than 64 levels");
        /* objects too */
        size_t o = 0;
        for (int i = 0; i < 100; i++, o += 5)
            memcpy(bomb + o, "{\"a\":", 5);
        memcpy(bomb + o, "1", 1);
        memset(bomb + o + 1, '}', 100);
        st = rt_json_parse(bomb, o + 101, &v, &err);
        EXPECT_ERROR(st, &err, RT_ERR_FORMAT, "nested more than 64 levels");
        free(bomb);
    }

    /* duplicates found by sorting in a big object, at any place */
    char big[4096];
    size_t o = 0;
    o += (size_t)snprintf(big + o, sizeof big - o, "{");
    for (int i = 0; i < 60; i++)
        o += (size_t)snprintf(big + o, sizeof big - o, "%s\"k%d\":%d", i ? "," : "", i, i);
    snprintf(big + o, sizeof big - o, ",\"k31\":0}");
    rt_error err = {0};
    rt_json v;
    EXPECT_ERROR(parse(big, &v, &err), &err, RT_ERR_FORMAT, "duplicate key \"k31\"");

    /* too many values */
    size_t count = RT_JSON_MAX_VALUES + 10;
    char *many = malloc(2 * count + 2);
    if (many) {
        many[0] = '[';
        for (size_t i = 0; i < count; i++) {
            many[1 + 2 * i] = '0';
            many[2 + 2 * i] = i + 1 < count ? ',' : ']';
        }
        rt_status st = rt_json_parse(many, 2 * count + 1, &v, &err);
        EXPECT_ERROR(st, &err, RT_ERR_FORMAT, "more than");
        free(many);
    }
}

static void test_base64(void)
{
    static const struct {
        const char *plain, *coded;
    } vectors[] = {
        {"", ""},         {"f", "Zg=="},         {"fo", "Zm8="},          {"foo", "Zm9v"},
        {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"},
    };
    for (size_t i = 0; i < sizeof vectors / sizeof vectors[0]; i++) {
        size_t n = strlen(vectors[i].plain);
        char coded[32];
        CHECK(rt_base64_encoded_size(n) == strlen(vectors[i].coded));
        rt_base64_encode(vectors[i].plain, n, coded);
        CHECKF(strcmp(coded, vectors[i].coded) == 0, "encode \"%s\" -> %s", vectors[i].plain,
               coded);
        size_t m = rt_base64_decoded_size(vectors[i].coded, strlen(vectors[i].coded));
        CHECK(m == n);
        char plain[32];
        size_t bad;
        CHECK(rt_base64_decode(vectors[i].coded, strlen(vectors[i].coded), plain, &bad) == 0);
        CHECK(memcmp(plain, vectors[i].plain, n) == 0);
    }
    /* every byte value and length round-trips */
    unsigned char data[300], back[300];
    char text[512];
    for (int i = 0; i < 300; i++)
        data[i] = (unsigned char)(i * 37 + 11);
    for (size_t n = 0; n <= 300; n += 7) {
        rt_base64_encode(data, n, text);
        size_t bad;
        size_t m = rt_base64_decoded_size(text, strlen(text));
        CHECK(m == n);
        CHECK(rt_base64_decode(text, strlen(text), back, &bad) == 0 && memcmp(back, data, n) == 0);
    }
    static const struct {
        const char *text;
        size_t bad;
    } invalid[] = {
        {"Zg=", 3},      /* length not a multiple of 4 */
        {"Z===", 1},     /* too much padding */
        {"Zh==", 1},     /* non-zero bits dropped by the padding */
        {"Zm9=", 2},     /* idem, one '=' */
        {"Zm9v\nAAA", 4}, /* whitespace */
        {"=Zm9", 0},     /* padding first */
        {"Zg==Zg==", 2}, /* padding in the middle */
        {"Zg=A", 2},     /* '=' then a character */
        {"Zm-v", 2},     /* the URL-safe alphabet */
    };
    for (size_t i = 0; i < sizeof invalid / sizeof invalid[0]; i++) {
        unsigned char out[16];
        size_t bad = 999;
        int rc = rt_base64_decode(invalid[i].text, strlen(invalid[i].text), out, &bad);
        CHECKF(rc != 0, "\"%s\" should not decode", invalid[i].text);
        CHECKF(bad == invalid[i].bad, "\"%s\": bad at %zu, expected %zu", invalid[i].text, bad,
               invalid[i].bad);
    }
    CHECK(rt_base64_decoded_size("Zg=", 3) == (size_t)-1);
}

static void test_sanitize(void)
{
    char buf[32];
    rt_io_sanitize(buf, sizeof buf, "plain name.weight");
    CHECK(strcmp(buf, "plain name.weight") == 0);
    rt_io_sanitize(buf, sizeof buf, "a\nb\x01\\");
    CHECKF(strcmp(buf, "a\\x0ab\\x01\\\\") == 0, "%s", buf);
    rt_io_sanitize(buf, 16, "0123456789abcdefghijklmnop");
    CHECKF(strlen(buf) < 16 && strcmp(buf + strlen(buf) - 3, "...") == 0, "%s", buf);
    CHECK(rt_io_utf8_valid("caf\xc3\xa9") && !rt_io_utf8_valid("caf\xc3") &&
          !rt_io_utf8_valid("\xc0\xaf"));
    unsigned char le[8];
    rt_io_store_le64(le, 0x0102030405060708ull);
    CHECK(le[0] == 8 && le[7] == 1 && rt_io_load_le64(le) == 0x0102030405060708ull);
    rt_io_store_le_f32(le, -1.5f);
    CHECK(le[3] == 0xbf && le[2] == 0xc0 && rt_io_load_le_f32(le) == -1.5f);
}

int main(void)
{
    test_valid();
    test_invalid();
    test_base64();
    test_sanitize();
    return rt_test_finish("test_json");
}
