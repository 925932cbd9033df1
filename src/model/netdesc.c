/* Network descriptions: the JSON form (docs/networks.md) read strictly into
 * a net_desc, and written back in canonical form. Every setting is checked
 * here, one by one, with a message naming the layer and the setting; what
 * needs shapes (sizes that fit, channels that agree) is checked by graph.c. */
#include "netdesc.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../io/io_util.h"
#include "../io/json.h"
#include "../core/strbuf.h"

/* The one format this version reads and writes (the "format" key). */
#define NET_FORMAT "resnet-train network 1"

static const char *const TYPE_NAMES[LT_COUNT] = {
    [LT_CONV] = "conv2d",          [LT_BATCHNORM] = "batchnorm2d",
    [LT_RELU] = "relu",            [LT_MAXPOOL] = "maxpool2d",
    [LT_AVGPOOL] = "adaptive_avgpool2d", [LT_FLATTEN] = "flatten",
    [LT_LINEAR] = "linear",        [LT_ADD] = "add",
    [LT_BASIC_BLOCK] = "basic_block", [LT_BOTTLENECK] = "bottleneck",
};

/* The settings each type takes besides name, type and from. */
static const char *const TYPE_KEYS[LT_COUNT][5] = {
    [LT_CONV] = {"out_channels", "kernel_size", "stride", "padding", "bias"},
    [LT_BATCHNORM] = {"eps", "momentum"},
    [LT_MAXPOOL] = {"kernel_size", "stride", "padding"},
    [LT_AVGPOOL] = {"output_size"},
    [LT_LINEAR] = {"out_features", "bias"},
    [LT_ADD] = {"relu"},
    [LT_BASIC_BLOCK] = {"planes", "stride", "downsample"},
    [LT_BOTTLENECK] = {"planes", "stride", "downsample"},
};

const char *layer_type_name(layer_type t) { return t < LT_COUNT ? TYPE_NAMES[t] : "?"; }

typedef struct reader {
    const char *source;
    rt_error *err;
    int index;        /* the layer being read, -1 for the top level */
    const char *name; /* its name when known */
} reader;

/* "SOURCE: layers[3] (\"conv2\"): MESSAGE" or "SOURCE: MESSAGE". */
static rt_status fail(const reader *r, const char *fmt, ...) RT_PRINTF_LIKE(2, 3);
static rt_status fail(const reader *r, const char *fmt, ...)
{
    char msg[RT_ERROR_MESSAGE_MAX / 2];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (r->index < 0)
        return rt_error_set(r->err, RT_ERR_FORMAT, "%s: %s", r->source, msg);
    if (r->name)
        return rt_error_set(r->err, RT_ERR_FORMAT, "%s: layers[%d] (\"%s\"): %s", r->source,
                            r->index, r->name, msg);
    return rt_error_set(r->err, RT_ERR_FORMAT, "%s: layers[%d]: %s", r->source, r->index, msg);
}

static char *dup_string(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

/* Names: 1..NET_NAME_MAX characters of [A-Za-z0-9_.-], not starting with
 * '_' (reserved for unnamed layers) or '.', no empty dot-separated part:
 * PyTorch module paths. */
static const char *name_problem(const char *s)
{
    size_t n = strlen(s);
    if (n == 0)
        return "is empty";
    if (n > NET_NAME_MAX)
        return "is longer than 200 characters";
    if (s[0] == '_')
        return "starts with '_' (reserved for unnamed layers)";
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '_' || c == '-' || c == '.';
        if (!ok)
            return "holds a character other than letters, digits, '_', '-' and '.'";
        if (c == '.' && (i == 0 || i + 1 == n || s[i + 1] == '.'))
            return "has an empty part between dots";
    }
    if (strcmp(s, "input") == 0)
        return "is reserved for the network's input";
    return NULL;
}

static rt_status get_int(const reader *r, const rt_json *obj, const char *key, int lo, int hi,
                         int fallback, int *out)
{
    const rt_json *v = rt_json_get(obj, key);
    if (!v) {
        *out = fallback;
        return RT_OK;
    }
    if (v->type != RT_JSON_INT)
        return fail(r, "\"%s\" must be an integer, not %s", key, rt_json_type_name(v->type));
    if (v->u.integer < lo || v->u.integer > hi)
        return fail(r, "\"%s\" must be %d..%d (got %lld)", key, lo, hi,
                    (long long)v->u.integer);
    *out = (int)v->u.integer;
    return RT_OK;
}

static rt_status get_bool(const reader *r, const rt_json *obj, const char *key, int fallback,
                          int *out)
{
    const rt_json *v = rt_json_get(obj, key);
    if (!v) {
        *out = fallback;
        return RT_OK;
    }
    if (v->type != RT_JSON_BOOL)
        return fail(r, "\"%s\" must be true or false, not %s", key, rt_json_type_name(v->type));
    *out = v->u.boolean;
    return RT_OK;
}

/* A number in (lo, hi] or [lo, hi] (closed_lo), as a float. */
static rt_status get_float(const reader *r, const rt_json *obj, const char *key, float lo,
                           int closed_lo, float hi, float fallback, float *out)
{
    const rt_json *v = rt_json_get(obj, key);
    if (!v) {
        *out = fallback;
        return RT_OK;
    }
    float x;
    if (v->type == RT_JSON_INT && v->u.integer >= -1000000 && v->u.integer <= 1000000)
        x = (float)v->u.integer;
    else if (v->type != RT_JSON_NUMBER || !rt_io_parse_float(v->u.str.text, &x))
        return fail(r, "\"%s\" must be a finite number, not %s", key,
                    rt_json_type_name(v->type));
    if (!(closed_lo ? x >= lo : x > lo) || !(x <= hi))
        return fail(r, "\"%s\" must be in %s%g, %g] (got %g)", key, closed_lo ? "[" : "(",
                    (double)lo, (double)hi, (double)x);
    *out = x;
    return RT_OK;
}

static int key_allowed(layer_type t, const char *key)
{
    if (!strcmp(key, "name") || !strcmp(key, "type") || !strcmp(key, "from"))
        return 1;
    for (int i = 0; i < 5 && TYPE_KEYS[t][i]; i++)
        if (!strcmp(key, TYPE_KEYS[t][i]))
            return 1;
    return 0;
}

static rt_status unknown_key(const reader *r, layer_type t, const char *key)
{
    char shown[64], keys[160] = "name, type, from";
    rt_io_sanitize(shown, sizeof shown, key);
    for (int i = 0; i < 5 && TYPE_KEYS[t][i]; i++) {
        strcat(keys, ", ");
        strcat(keys, TYPE_KEYS[t][i]);
    }
    return fail(r, "unknown setting \"%s\" for %s (it takes %s)", shown, TYPE_NAMES[t], keys);
}

static rt_status read_from(const reader *r, const rt_json *v, layer_desc *l)
{
    const rt_json *items = v;
    size_t count = 1;
    if (v->type == RT_JSON_ARRAY) {
        items = v->u.array.items;
        count = v->u.array.count;
    }
    int want = l->type == LT_ADD ? 2 : 1;
    if ((int)count != want)
        return fail(r, "\"from\" must name %s (got %zu)",
                    want == 2 ? "two layers, [\"a\", \"b\"]" : "one layer", count);
    for (size_t i = 0; i < count; i++) {
        if (items[i].type != RT_JSON_STRING)
            return fail(r, "\"from\" must hold layer names (strings), not %s",
                        rt_json_type_name(items[i].type));
        const char *s = items[i].u.str.text;
        const char *why = strcmp(s, "input") == 0 ? NULL : name_problem(s);
        if (why) {
            char shown[64];
            rt_io_sanitize(shown, sizeof shown, s);
            return fail(r, "\"from\" names \"%s\", which %s", shown, why);
        }
        if (!(l->from[i] = dup_string(s)))
            return rt_error_set(r->err, RT_ERR_NOMEM, "%s: out of memory", r->source);
    }
    l->nfrom = (int)count;
    return RT_OK;
}

static rt_status read_layer(reader *r, const rt_json *obj, layer_desc *l)
{
    if (obj->type != RT_JSON_OBJECT)
        return fail(r, "a layer must be an object, not %s", rt_json_type_name(obj->type));
    const rt_json *name = rt_json_get(obj, "name");
    if (name) {
        if (name->type != RT_JSON_STRING)
            return fail(r, "\"name\" must be a string, not %s", rt_json_type_name(name->type));
        const char *why = name_problem(name->u.str.text);
        if (why) {
            char shown[64];
            rt_io_sanitize(shown, sizeof shown, name->u.str.text);
            return fail(r, "the name \"%s\" %s", shown, why);
        }
        l->name = dup_string(name->u.str.text);
        l->named = 1;
    } else {
        char auto_name[24];
        snprintf(auto_name, sizeof auto_name, "_%d", r->index);
        l->name = dup_string(auto_name);
    }
    if (!l->name)
        return rt_error_set(r->err, RT_ERR_NOMEM, "%s: out of memory", r->source);
    r->name = l->named ? l->name : NULL;

    const rt_json *type = rt_json_get(obj, "type");
    if (!type)
        return fail(r, "\"type\" is missing");
    if (type->type != RT_JSON_STRING)
        return fail(r, "\"type\" must be a string, not %s", rt_json_type_name(type->type));
    int t = 0;
    while (t < LT_COUNT && strcmp(type->u.str.text, TYPE_NAMES[t]) != 0)
        t++;
    if (t == LT_COUNT) {
        char shown[64];
        rt_io_sanitize(shown, sizeof shown, type->u.str.text);
        return fail(r,
                    "unknown layer type \"%s\" (expected conv2d, batchnorm2d, relu, maxpool2d, "
                    "adaptive_avgpool2d, flatten, linear, add, basic_block or bottleneck)",
                    shown);
    }
    l->type = (layer_type)t;
    for (size_t i = 0; i < obj->u.object.count; i++)
        if (!key_allowed(l->type, obj->u.object.members[i].key))
            return unknown_key(r, l->type, obj->u.object.members[i].key);
    const rt_json *from = rt_json_get(obj, "from");
    if (from) {
        rt_status st = read_from(r, from, l);
        if (st != RT_OK)
            return st;
    } else if (l->type == LT_ADD) {
        return fail(r, "an add needs \"from\": the two layers it sums");
    }

    rt_status st = RT_OK;
    l->stride = 1;
    switch (l->type) {
    case LT_CONV:
        if (!rt_json_get(obj, "out_channels") || !rt_json_get(obj, "kernel_size"))
            return fail(r, "conv2d needs \"out_channels\" and \"kernel_size\"");
        if ((st = get_int(r, obj, "out_channels", 1, 65536, 0, &l->out_channels)) ||
            (st = get_int(r, obj, "kernel_size", 1, 255, 0, &l->kernel)) ||
            (st = get_int(r, obj, "stride", 1, 255, 1, &l->stride)) ||
            (st = get_int(r, obj, "padding", 0, 255, 0, &l->padding)) ||
            (st = get_bool(r, obj, "bias", 1, &l->bias)))
            return st;
        break;
    case LT_BATCHNORM:
        if ((st = get_float(r, obj, "eps", 0.0f, 0, 1.0f, 1e-5f, &l->eps)) ||
            (st = get_float(r, obj, "momentum", 0.0f, 1, 1.0f, 0.1f, &l->momentum)))
            return st;
        break;
    case LT_MAXPOOL:
        if (!rt_json_get(obj, "kernel_size"))
            return fail(r, "maxpool2d needs \"kernel_size\"");
        if ((st = get_int(r, obj, "kernel_size", 1, 255, 0, &l->kernel)) ||
            (st = get_int(r, obj, "stride", 1, 255, l->kernel, &l->stride)) ||
            (st = get_int(r, obj, "padding", 0, 255, 0, &l->padding)))
            return st;
        if (2 * l->padding > l->kernel)
            return fail(r, "\"padding\" %d is more than half the kernel size %d (PyTorch "
                           "refuses it too)",
                        l->padding, l->kernel);
        break;
    case LT_AVGPOOL: {
        int size;
        if ((st = get_int(r, obj, "output_size", 1, 1, 1, &size)))
            return fail(r, "\"output_size\" must be 1 (global average pooling is the one "
                           "supported)");
        break;
    }
    case LT_LINEAR:
        if ((st = get_int(r, obj, "out_features", 1, 1 << 20, 0, &l->out_features)) ||
            (st = get_bool(r, obj, "bias", 1, &l->bias)))
            return st;
        break;
    case LT_ADD:
        if ((st = get_bool(r, obj, "relu", 0, &l->relu)))
            return st;
        break;
    case LT_BASIC_BLOCK:
    case LT_BOTTLENECK: {
        if (!rt_json_get(obj, "planes"))
            return fail(r, "%s needs \"planes\"", TYPE_NAMES[l->type]);
        if ((st = get_int(r, obj, "planes", 1, 16384, 0, &l->planes)) ||
            (st = get_int(r, obj, "stride", 1, 255, 1, &l->stride)))
            return st;
        const rt_json *ds = rt_json_get(obj, "downsample");
        l->downsample = -1;
        if (ds && ds->type == RT_JSON_BOOL)
            l->downsample = ds->u.boolean;
        else if (ds && !(ds->type == RT_JSON_STRING && !strcmp(ds->u.str.text, "auto")))
            return fail(r, "\"downsample\" must be \"auto\", true or false");
        if (!l->named)
            return fail(r, "a %s needs a \"name\" (its tensors are named after it)",
                        TYPE_NAMES[l->type]);
        break;
    }
    default:
        break;
    }
    if ((l->type == LT_CONV || l->type == LT_BATCHNORM || l->type == LT_LINEAR) && !l->named)
        return fail(r, "a %s needs a \"name\" (its tensors are named after it)",
                    TYPE_NAMES[l->type]);
    return RT_OK;
}

static const char *const TOP_KEYS[] = {"format", "name", "input", "classes", "init", "output",
                                       "layers"};

static rt_status read_top(reader *r, const rt_json *root, net_desc *d)
{
    if (root->type != RT_JSON_OBJECT)
        return fail(r, "a network description is a JSON object, not %s",
                    rt_json_type_name(root->type));
    for (size_t i = 0; i < root->u.object.count; i++) {
        const char *key = root->u.object.members[i].key;
        int known = 0;
        for (size_t k = 0; k < sizeof TOP_KEYS / sizeof TOP_KEYS[0]; k++)
            known |= strcmp(key, TOP_KEYS[k]) == 0;
        if (!known) {
            char shown[64];
            rt_io_sanitize(shown, sizeof shown, key);
            return fail(r, "unknown key \"%s\" (a description has format, name, input, classes, "
                           "init, output and layers)",
                        shown);
        }
    }
    const rt_json *format = rt_json_get(root, "format");
    if (format && (format->type != RT_JSON_STRING || strcmp(format->u.str.text, NET_FORMAT)))
        return fail(r, "\"format\" must be \"" NET_FORMAT "\" (the version this build reads)");
    const rt_json *name = rt_json_get(root, "name");
    if (!name || name->type != RT_JSON_STRING)
        return fail(r, "\"name\" (a string) is missing");
    const char *why = name_problem(name->u.str.text);
    if (why || strlen(name->u.str.text) > 64) {
        char shown[64];
        rt_io_sanitize(shown, sizeof shown, name->u.str.text);
        return fail(r, "the network name \"%s\" %s", shown, why ? why : "is longer than 64");
    }
    if (!(d->name = dup_string(name->u.str.text)))
        return rt_error_set(r->err, RT_ERR_NOMEM, "%s: out of memory", r->source);
    const rt_json *input = rt_json_get(root, "input");
    if (input) {
        if (input->type != RT_JSON_OBJECT || input->u.object.count != 3 ||
            !rt_json_get(input, "channels") || !rt_json_get(input, "height") ||
            !rt_json_get(input, "width"))
            return fail(r, "\"input\" must be {\"channels\": C, \"height\": H, \"width\": W}");
        rt_status st;
        if ((st = get_int(r, input, "channels", 1, 65536, 0, &d->channels)) ||
            (st = get_int(r, input, "height", 1, 65536, 0, &d->height)) ||
            (st = get_int(r, input, "width", 1, 65536, 0, &d->width)))
            return st;
    }
    rt_status st = get_int(r, root, "classes", 1, 1 << 20, 0, &d->classes);
    if (st != RT_OK)
        return st;
    const rt_json *init = rt_json_get(root, "init");
    d->init = INIT_PYTORCH;
    if (init) {
        if (init->type == RT_JSON_STRING && !strcmp(init->u.str.text, "torchvision"))
            d->init = INIT_TORCHVISION;
        else if (!(init->type == RT_JSON_STRING && !strcmp(init->u.str.text, "pytorch")))
            return fail(r, "\"init\" must be \"pytorch\" (every layer's default) or "
                           "\"torchvision\" (its ResNets' rule)");
    }
    const rt_json *output = rt_json_get(root, "output");
    if (output) {
        if (output->type != RT_JSON_STRING || name_problem(output->u.str.text))
            return fail(r, "\"output\" must be the name of a layer");
        if (!(d->output = dup_string(output->u.str.text)))
            return rt_error_set(r->err, RT_ERR_NOMEM, "%s: out of memory", r->source);
    }
    const rt_json *layers = rt_json_get(root, "layers");
    if (!layers || layers->type != RT_JSON_ARRAY || layers->u.array.count == 0)
        return fail(r, "\"layers\" (a non-empty array of layers) is missing");
    if (layers->u.array.count > NET_MAX_LAYERS)
        return fail(r, "%zu layers is more than the %d supported", layers->u.array.count,
                    NET_MAX_LAYERS);
    d->layers = calloc(layers->u.array.count, sizeof *d->layers);
    if (!d->layers)
        return rt_error_set(r->err, RT_ERR_NOMEM, "%s: out of memory", r->source);
    d->count = (int)layers->u.array.count;
    for (int i = 0; i < d->count; i++) {
        r->index = i;
        r->name = NULL;
        if ((st = read_layer(r, &layers->u.array.items[i], &d->layers[i])) != RT_OK)
            return st;
    }
    return RT_OK;
}

rt_status net_desc_parse(const char *json, size_t len, const char *source, net_desc *out,
                         rt_error *err)
{
    memset(out, 0, sizeof *out);
    rt_json root;
    rt_error jerr = {0};
    if (memchr(json, '\0', len))
        return rt_error_set(err, RT_ERR_FORMAT, "%s: not JSON text (it holds a NUL byte)", source);
    if (rt_json_parse(json, len, &root, &jerr) != RT_OK)
        return rt_error_set(err, RT_ERR_FORMAT, "%s: not valid JSON: %s", source, jerr.message);
    reader r = {source, err, -1, NULL};
    rt_status st = read_top(&r, &root, out);
    rt_json_free(&root);
    if (st != RT_OK)
        net_desc_free(out);
    return st;
}

void net_desc_free(net_desc *d)
{
    if (!d)
        return;
    for (int i = 0; i < d->count; i++) {
        free(d->layers[i].name);
        free(d->layers[i].from[0]);
        free(d->layers[i].from[1]);
    }
    free(d->layers);
    free(d->name);
    free(d->output);
    memset(d, 0, sizeof *d);
}

/* ---- the canonical text ------------------------------------------------------ */

static const char *boolean(int v) { return v ? "true" : "false"; }

char *net_desc_write(const net_desc *d, int channels, int height, int width, int classes)
{
    rt_strbuf t;
    rt_strbuf_init(&t);
    rt_strbuf_printf(&t, "{\"format\": \"" NET_FORMAT "\", \"name\": \"%s\",\n", d->name);
    rt_strbuf_printf(&t, " \"input\": {\"channels\": %d, \"height\": %d, \"width\": %d}, \"classes\": %d,\n",
        channels, height, width, classes);
    rt_strbuf_printf(&t, " \"init\": \"%s\",", d->init == INIT_TORCHVISION ? "torchvision" : "pytorch");
    if (d->output)
        rt_strbuf_printf(&t, " \"output\": \"%s\",", d->output);
    rt_strbuf_printf(&t, "\n \"layers\": [\n");
    for (int i = 0; i < d->count; i++) {
        const layer_desc *l = &d->layers[i];
        rt_strbuf_printf(&t, "  {");
        if (l->named)
            rt_strbuf_printf(&t, "\"name\": \"%s\", ", l->name);
        rt_strbuf_printf(&t, "\"type\": \"%s\"", TYPE_NAMES[l->type]);
        if (l->nfrom == 1)
            rt_strbuf_printf(&t, ", \"from\": \"%s\"", l->from[0]);
        else if (l->nfrom == 2)
            rt_strbuf_printf(&t, ", \"from\": [\"%s\", \"%s\"]", l->from[0], l->from[1]);
        char eps[32], momentum[32];
        switch (l->type) {
        case LT_CONV:
            rt_strbuf_printf(&t, ", \"out_channels\": %d, \"kernel_size\": %d, \"stride\": %d, "
                    "\"padding\": %d, \"bias\": %s",
                l->out_channels, l->kernel, l->stride, l->padding, boolean(l->bias));
            break;
        case LT_BATCHNORM:
            rt_io_format_float(eps, sizeof eps, l->eps);
            rt_io_format_float(momentum, sizeof momentum, l->momentum);
            rt_strbuf_printf(&t, ", \"eps\": %s, \"momentum\": %s", eps, momentum);
            break;
        case LT_MAXPOOL:
            rt_strbuf_printf(&t, ", \"kernel_size\": %d, \"stride\": %d, \"padding\": %d", l->kernel,
                l->stride, l->padding);
            break;
        case LT_AVGPOOL:
            rt_strbuf_printf(&t, ", \"output_size\": 1");
            break;
        case LT_LINEAR:
            rt_strbuf_printf(&t, ", \"out_features\": %d, \"bias\": %s",
                l->out_features ? l->out_features : classes, boolean(l->bias));
            break;
        case LT_ADD:
            rt_strbuf_printf(&t, ", \"relu\": %s", boolean(l->relu));
            break;
        case LT_BASIC_BLOCK:
        case LT_BOTTLENECK:
            rt_strbuf_printf(&t, ", \"planes\": %d, \"stride\": %d, \"downsample\": %s", l->planes, l->stride,
                l->downsample < 0 ? "\"auto\"" : boolean(l->downsample));
            break;
        default:
            break;
        }
        rt_strbuf_printf(&t, "}%s\n", i + 1 < d->count ? "," : "");
    }
    rt_strbuf_printf(&t, " ]}\n");
    return rt_strbuf_take(&t);
}
