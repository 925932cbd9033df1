/* A small strict JSON parser (RFC 8259), enough for safetensors headers.
 *
 * It builds a tree of rt_json values. Strictness: no trailing garbage, no
 * duplicate keys in an object, nesting at most RT_JSON_MAX_DEPTH deep, at
 * most RT_JSON_MAX_VALUES values in all, valid UTF-8 only, no "\u0000" (so
 * every string is a NUL-free C string), no lone surrogates, integers must
 * fit an int64_t. Numbers with a fraction or an exponent are kept as their
 * text (RT_JSON_NUMBER) and never converted, so nothing depends on the
 * locale. Private to the library. */
#ifndef RT_IO_JSON_H
#define RT_IO_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "resnet/error.h"

#define RT_JSON_MAX_DEPTH 64
#define RT_JSON_MAX_VALUES (1u << 22)

typedef enum rt_json_type {
    RT_JSON_NULL,
    RT_JSON_BOOL,
    RT_JSON_INT,    /* an integer literal (no fraction, no exponent) */
    RT_JSON_NUMBER, /* any other number, kept as text */
    RT_JSON_STRING,
    RT_JSON_ARRAY,
    RT_JSON_OBJECT,
} rt_json_type;

typedef struct rt_json rt_json;
typedef struct rt_json_member rt_json_member;

struct rt_json {
    rt_json_type type;
    union {
        int boolean;
        int64_t integer;
        struct {
            char *text; /* NUL-terminated; STRING: decoded UTF-8, NUMBER: the literal */
            size_t len;
        } str;
        struct {
            rt_json *items;
            size_t count;
        } array;
        struct {
            rt_json_member *members; /* in document order */
            size_t count;
        } object;
    } u;
};

struct rt_json_member {
    char *key; /* NUL-terminated decoded UTF-8 */
    size_t key_len;
    rt_json value;
};

/* Parses text[0..len) (NUL bytes are not allowed in it) into *out. On
 * failure the message says where: "byte 17: expected ':' after an object
 * key". Free a parsed tree with rt_json_free. */
rt_status rt_json_parse(const char *text, size_t len, rt_json *out, rt_error *err);
void rt_json_free(rt_json *value);

/* The member of an object with this key, NULL if none (or not an object). */
const rt_json *rt_json_get(const rt_json *object, const char *key);

/* A short name of a type, for messages: "an object", "a string", ... */
const char *rt_json_type_name(rt_json_type type);

#endif
