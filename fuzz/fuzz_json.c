/* The strict JSON parser of safetensors headers (private to the library,
 * src/io/json.h), on the input as text. Reached through safetensors too,
 * but directly it gets far more executions per second. */
#include "fuzz_common.h"
#include "json.h"

static void walk(const rt_json *v, int depth)
{
    if (depth > RT_JSON_MAX_DEPTH + 1)
        abort();
    switch (v->type) {
    case RT_JSON_STRING:
    case RT_JSON_NUMBER:
        if (strlen(v->u.str.text) != v->u.str.len)
            abort();
        break;
    case RT_JSON_ARRAY:
        for (size_t i = 0; i < v->u.array.count; i++)
            walk(&v->u.array.items[i], depth + 1);
        break;
    case RT_JSON_OBJECT:
        for (size_t i = 0; i < v->u.object.count; i++) {
            const rt_json_member *m = &v->u.object.members[i];
            if (strlen(m->key) != m->key_len || rt_json_get(v, m->key) != &m->value)
                abort();
            walk(&m->value, depth + 1);
        }
        break;
    default:
        break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    rt_json v;
    rt_error err;
    rt_error_clear(&err);
    /* a copy exactly size bytes long, so ASan sees any read past the end */
    char *text = malloc(size ? size : 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    rt_status st = rt_json_parse(text, size, &v, &err);
    fuzz_check_error(st, &err);
    if (st == RT_OK) {
        walk(&v, 0);
        rt_json_free(&v);
    }
    free(text);
    return 0;
}
