/* Training checkpoints on top of safetensors.
 *
 * Tensors: the 14 parameters, F32, PyTorch names and shapes, state_dict
 * order. Metadata (all values strings):
 *
 *   format                         "pt"
 *   resnet_train.format_version    "1"
 *   resnet_train.epochs            config.epochs             0..1000000
 *   resnet_train.batch_size        config.batch_size         1..65536
 *   resnet_train.lr                config.lr                 > 0     ("%.9g")
 *   resnet_train.adam_beta1        config.adam.beta1         [0, 1)  ("%.9g")
 *   resnet_train.adam_beta2        config.adam.beta2         [0, 1)  ("%.9g")
 *   resnet_train.adam_eps          config.adam.eps           > 0     ("%.9g")
 *   resnet_train.adam_weight_decay config.adam.weight_decay  >= 0    ("%.9g")
 *   resnet_train.shuffle           config.shuffle            0 or 1
 *   resnet_train.seed              config.seed               decimal u64
 *   resnet_train.lr_step_size      config.lr_step_size       >= 0
 *   resnet_train.lr_gamma          config.lr_gamma           > 0     ("%.9g")
 *   resnet_train.epoch             position.epoch            0..epochs
 *   resnet_train.cursor            position.cursor           >= 0
 *   resnet_train.steps             position.steps            >= 0
 *   resnet_train.epoch_rng         position.epoch_rng: 4 words as 16 hex
 *                                  digits each, comma-separated, not all 0
 *   resnet_train.adam_m            base64 of the little-endian F32 first
 *   resnet_train.adam_v            and second Adam moments, in state_dict
 *                                  order without the flat layout's gaps
 *                                  (42790 floats each; adam_v >= 0)
 *
 * Integers are plain decimal; floats use "%.9g", which round-trips every
 * float exactly. Files without any "resnet_train." key are weights only. */
#include "resnet/checkpoint.h"

#include <inttypes.h>
#include <limits.h>
#include <locale.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "io_util.h"
#include "resnet/model.h"
#include "resnet/safetensors.h"

#define PREFIX "resnet_train."

typedef enum field_kind { K_INT, K_I32, K_I64, K_U64, K_FLOAT } field_kind;

/* How a float must compare with its bounds. */
typedef enum float_range { R_POSITIVE, R_NONNEGATIVE, R_UNIT /* [0, 1) */ } float_range;

typedef struct field {
    const char *key; /* after PREFIX */
    field_kind kind;
    size_t offset; /* in rt_checkpoint */
    int64_t lo, hi; /* integers */
    float_range range; /* floats */
} field;

#define OFF(member) offsetof(rt_checkpoint, member)

static const field FIELDS[] = {
    {"epochs", K_INT, OFF(config.epochs), 0, 1000000, 0},
    {"batch_size", K_INT, OFF(config.batch_size), 1, 65536, 0},
    {"lr", K_FLOAT, OFF(config.lr), 0, 0, R_POSITIVE},
    {"adam_beta1", K_FLOAT, OFF(config.adam.beta1), 0, 0, R_UNIT},
    {"adam_beta2", K_FLOAT, OFF(config.adam.beta2), 0, 0, R_UNIT},
    {"adam_eps", K_FLOAT, OFF(config.adam.eps), 0, 0, R_POSITIVE},
    {"adam_weight_decay", K_FLOAT, OFF(config.adam.weight_decay), 0, 0, R_NONNEGATIVE},
    {"shuffle", K_INT, OFF(config.shuffle), 0, 1, 0},
    {"seed", K_U64, OFF(config.seed), 0, 0, 0},
    {"lr_step_size", K_INT, OFF(config.lr_step_size), 0, INT_MAX, 0},
    {"lr_gamma", K_FLOAT, OFF(config.lr_gamma), 0, 0, R_POSITIVE},
    {"epoch", K_I32, OFF(position.epoch), 0, 1000000, 0},
    {"cursor", K_I32, OFF(position.cursor), 0, INT32_MAX, 0},
    {"steps", K_I64, OFF(position.steps), 0, INT64_MAX, 0},
};
#define NFIELDS ((int)(sizeof FIELDS / sizeof FIELDS[0]))

/* Keys handled outside the table. */
static const char *const OTHER_KEYS[] = {"format_version", "epoch_rng", "adam_m", "adam_v"};
#define NOTHER ((int)(sizeof OTHER_KEYS / sizeof OTHER_KEYS[0]))

static const char *range_text(float_range r)
{
    switch (r) {
    case R_POSITIVE: return "must be > 0";
    case R_NONNEGATIVE: return "must be >= 0";
    case R_UNIT: return "must be in [0, 1)";
    }
    return "";
}

static int float_in_range(float v, float_range r)
{
    if (!isfinite(v))
        return 0;
    switch (r) {
    case R_POSITIVE: return v > 0.0f;
    case R_NONNEGATIVE: return v >= 0.0f;
    case R_UNIT: return v >= 0.0f && v < 1.0f;
    }
    return 0;
}

static int64_t get_int(const rt_checkpoint *ck, const field *f)
{
    const char *p = (const char *)ck + f->offset;
    switch (f->kind) {
    case K_INT: return *(const int *)(const void *)p;
    case K_I32: return *(const int32_t *)(const void *)p;
    case K_I64: return *(const int64_t *)(const void *)p;
    default: return 0;
    }
}

static void set_int(rt_checkpoint *ck, const field *f, int64_t v)
{
    char *p = (char *)ck + f->offset;
    switch (f->kind) {
    case K_INT: *(int *)(void *)p = (int)v; break;
    case K_I32: *(int32_t *)(void *)p = (int32_t)v; break;
    case K_I64: *(int64_t *)(void *)p = v; break;
    default: break;
    }
}

/* ---- text <-> numbers, independent of the locale ------------------------ */

static void format_float(char *buf, size_t size, float v)
{
    snprintf(buf, size, "%.9g", (double)v);
    const char *dp = localeconv()->decimal_point;
    if (dp && dp[0] && dp[0] != '.' && !dp[1])
        for (char *c = buf; *c; c++)
            if (*c == dp[0])
                *c = '.';
}

/* A float written by format_float (or any plain decimal/exponent number);
 * "inf", "nan", hex floats, spaces are all refused. */
static int parse_float(const char *s, float *out)
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

/* Plain decimal: an optional '-', then digits; no spaces, no '+'. */
static int parse_i64(const char *s, int64_t *out)
{
    int neg = *s == '-';
    const char *d = s + neg;
    if (!*d)
        return 0;
    int64_t v = 0;
    for (; *d; d++) {
        if (*d < '0' || *d > '9')
            return 0;
        int digit = *d - '0';
        if (v < (INT64_MIN + digit) / 10)
            return 0;
        v = v * 10 - digit;
    }
    if (!neg) {
        if (v == INT64_MIN)
            return 0;
        v = -v;
    }
    *out = v;
    return 1;
}

static int parse_u64(const char *s, uint64_t *out)
{
    if (!*s)
        return 0;
    uint64_t v = 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return 0;
        unsigned digit = (unsigned)(*s - '0');
        if (v > (UINT64_MAX - digit) / 10)
            return 0;
        v = v * 10 + digit;
    }
    *out = v;
    return 1;
}

static int parse_hex64(const char *s, size_t n, uint64_t *out)
{
    if (n == 0 || n > 16)
        return 0;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        unsigned d;
        if (c >= '0' && c <= '9')
            d = (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            d = (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            d = (unsigned)(c - 'A' + 10);
        else
            return 0;
        v = v << 4 | d;
    }
    *out = v;
    return 1;
}

/* "w0,w1,w2,w3" */
static int parse_rng(const char *s, rt_rng *rng)
{
    for (int i = 0; i < 4; i++) {
        const char *end = strchr(s, ',');
        if ((i < 3) != (end != NULL))
            return 0;
        size_t n = end ? (size_t)(end - s) : strlen(s);
        if (!parse_hex64(s, n, &rng->s[i]))
            return 0;
        s += n + (end ? 1 : 0);
    }
    return (rng->s[0] | rng->s[1] | rng->s[2] | rng->s[3]) != 0;
}

/* ---- shared checks -------------------------------------------------------- */

static const char *nonfinite_name(float v)
{
    if (isnan(v))
        return "NaN";
    return v > 0 ? "+Inf" : "-Inf";
}

/* NaN/Inf (and, for the second moment, negative values) in a flat buffer,
 * named by tensor and element. */
static rt_status check_values(const char *path, const float *flat, const char *what,
                              int nonnegative, rt_error *err)
{
    for (int t = 0; t < RT_MODEL_TENSORS; t++) {
        const rt_param_info *p = rt_model_param_info(t);
        const float *x = flat + p->offset;
        for (size_t i = 0; i < p->count; i++) {
            if (!isfinite(x[i]))
                return rt_error_set(err, RT_ERR_NUMERIC, "%s: %s of tensor '%s' element %zu is %s",
                                    path, what, p->name, i, nonfinite_name(x[i]));
            if (nonnegative && x[i] < 0.0f)
                return rt_error_set(err, RT_ERR_FORMAT,
                                    "%s: %s of tensor '%s' element %zu is negative (%g)", path,
                                    what, p->name, i, (double)x[i]);
        }
    }
    return RT_OK;
}

static rt_status check_training_state(const char *path, const rt_checkpoint *ck, const char *verb,
                                      rt_error *err)
{
    for (int i = 0; i < NFIELDS; i++) {
        const field *f = &FIELDS[i];
        if (f->kind == K_FLOAT) {
            float v = *(const float *)(const void *)((const char *)ck + f->offset);
            if (!float_in_range(v, f->range))
                return rt_error_set(err, RT_ERR_FORMAT, "%s: %s" PREFIX "%s = %.9g %s", path, verb,
                                    f->key, (double)v, range_text(f->range));
        } else if (f->kind != K_U64) {
            int64_t v = get_int(ck, f);
            if (v < f->lo || v > f->hi)
                return rt_error_set(err, RT_ERR_FORMAT,
                                    "%s: %s" PREFIX "%s = %" PRId64 " is out of range (%" PRId64
                                    "..%" PRId64 ")",
                                    path, verb, f->key, v, f->lo, f->hi);
        }
    }
    if (ck->position.epoch > ck->config.epochs)
        return rt_error_set(err, RT_ERR_FORMAT,
                            "%s: %s" PREFIX "epoch = %" PRId32 " is past " PREFIX "epochs = %d",
                            path, verb, ck->position.epoch, ck->config.epochs);
    const rt_rng *r = &ck->position.epoch_rng;
    if ((r->s[0] | r->s[1] | r->s[2] | r->s[3]) == 0)
        return rt_error_set(err, RT_ERR_FORMAT,
                            "%s: %s" PREFIX "epoch_rng is all zero (not a valid generator state)",
                            path, verb);
    return RT_OK;
}

/* ---- save ------------------------------------------------------------------ */

/* The flat buffer without its gaps, as little-endian bytes. */
static unsigned char *pack(const float *flat)
{
    unsigned char *out = malloc((size_t)RT_MODEL_PARAMETERS * 4);
    if (!out)
        return NULL;
    size_t o = 0;
    for (int t = 0; t < RT_MODEL_TENSORS; t++) {
        const rt_param_info *p = rt_model_param_info(t);
        for (size_t i = 0; i < p->count; i++, o += 4)
            rt_io_store_le_f32(out + o, flat[p->offset + i]);
    }
    return out;
}

static char *encode_moment(const float *flat)
{
    unsigned char *packed = pack(flat);
    if (!packed)
        return NULL;
    size_t n = (size_t)RT_MODEL_PARAMETERS * 4;
    char *text = malloc(rt_base64_encoded_size(n) + 1);
    if (text)
        rt_base64_encode(packed, n, text);
    free(packed);
    return text;
}

rt_status rt_checkpoint_save(const char *path, const rt_checkpoint *ck, rt_error *err)
{
    if (!ck || !ck->params)
        return rt_error_set(err, RT_ERR_USAGE, "%s: cannot save a checkpoint without parameters",
                            path);
    if (ck->has_training_state && (!ck->adam_m || !ck->adam_v))
        return rt_error_set(err, RT_ERR_USAGE,
                            "%s: cannot save: training state without Adam moments", path);
    rt_status st = check_values(path, ck->params, "cannot save: parameter", 0, err);
    if (st == RT_OK && ck->has_training_state) {
        st = check_values(path, ck->adam_m, "cannot save: Adam first moment", 0, err);
        if (st == RT_OK)
            st = check_values(path, ck->adam_v, "cannot save: Adam second moment", 1, err);
        if (st == RT_OK)
            st = check_training_state(path, ck, "cannot save: ", err);
    }
    if (st != RT_OK)
        return st;

    unsigned char *packed = pack(ck->params);
    if (!packed)
        return rt_error_set(err, RT_ERR_NOMEM, "%s: out of memory", path);
    rt_tensor_view views[RT_MODEL_TENSORS];
    size_t at = 0;
    for (int t = 0; t < RT_MODEL_TENSORS; t++) {
        const rt_param_info *p = rt_model_param_info(t);
        rt_tensor_view *v = &views[t];
        memset(v, 0, sizeof *v);
        v->name = p->name;
        v->dtype = RT_DTYPE_F32;
        v->ndim = p->ndim;
        for (int d = 0; d < p->ndim; d++)
            v->shape[d] = p->shape[d];
        v->data = packed + at;
        v->bytes = p->count * 4;
        at += v->bytes;
    }

    enum { MAXMETA = NFIELDS + NOTHER + 1 };
    const char *keys[MAXMETA], *values[MAXMETA];
    char keybuf[MAXMETA][64], valbuf[MAXMETA][96];
    char *moment_m = NULL, *moment_v = NULL;
    int n = 0;
    keys[n] = "format";
    values[n++] = "pt";
    if (ck->has_training_state) {
        snprintf(keybuf[n], sizeof keybuf[n], PREFIX "format_version");
        snprintf(valbuf[n], sizeof valbuf[n], "%d", RT_CHECKPOINT_FORMAT_VERSION);
        n++;
        for (int i = 0; i < NFIELDS; i++, n++) {
            const field *f = &FIELDS[i];
            snprintf(keybuf[n], sizeof keybuf[n], PREFIX "%s", f->key);
            if (f->kind == K_FLOAT)
                format_float(valbuf[n], sizeof valbuf[n],
                             *(const float *)(const void *)((const char *)ck + f->offset));
            else if (f->kind == K_U64)
                snprintf(valbuf[n], sizeof valbuf[n], "%" PRIu64,
                         *(const uint64_t *)(const void *)((const char *)ck + f->offset));
            else
                snprintf(valbuf[n], sizeof valbuf[n], "%" PRId64, get_int(ck, f));
        }
        const rt_rng *r = &ck->position.epoch_rng;
        snprintf(keybuf[n], sizeof keybuf[n], PREFIX "epoch_rng");
        snprintf(valbuf[n], sizeof valbuf[n], "%016" PRIx64 ",%016" PRIx64 ",%016" PRIx64
                 ",%016" PRIx64, r->s[0], r->s[1], r->s[2], r->s[3]);
        n++;
        for (int i = 1; i < n; i++) {
            keys[i] = keybuf[i];
            values[i] = valbuf[i];
        }
        moment_m = encode_moment(ck->adam_m);
        moment_v = encode_moment(ck->adam_v);
        keys[n] = PREFIX "adam_m";
        values[n++] = moment_m;
        keys[n] = PREFIX "adam_v";
        values[n++] = moment_v;
        if (!moment_m || !moment_v)
            st = rt_error_set(err, RT_ERR_NOMEM, "%s: out of memory", path);
    }
    if (st == RT_OK)
        st = rt_safetensors_write(path, views, RT_MODEL_TENSORS, keys, values, n, err);
    free(moment_m);
    free(moment_v);
    free(packed);
    return st;
}

/* ---- load ------------------------------------------------------------------ */

static void format_param_shape(char *buf, size_t size, const int64_t *shape, int ndim)
{
    size_t o = (size_t)snprintf(buf, size, "[");
    for (int i = 0; i < ndim && o < size; i++)
        o += (size_t)snprintf(buf + o, size - o, "%s%" PRId64, i ? ", " : "", shape[i]);
    if (o < size)
        snprintf(buf + o, size - o, "]");
}

static rt_status load_params(const char *path, const rt_safetensors *f, float *flat, rt_error *err)
{
    for (int i = 0; i < rt_safetensors_count(f); i++) {
        const rt_tensor_view *t = rt_safetensors_tensor(f, i);
        if (rt_model_param_find(t->name) < 0) {
            char shown[160];
            rt_io_sanitize(shown, sizeof shown, t->name);
            return rt_error_set(err, RT_ERR_FORMAT,
                                "%s: unexpected tensor '%s' (not a parameter of this model)", path,
                                shown);
        }
    }
    for (int k = 0; k < RT_MODEL_TENSORS; k++) {
        const rt_param_info *p = rt_model_param_info(k);
        const rt_tensor_view *t = rt_safetensors_find(f, p->name);
        if (!t)
            return rt_error_set(err, RT_ERR_FORMAT,
                                "%s: tensor '%s' is missing (not a checkpoint of this model?)",
                                path, p->name);
        if (t->dtype != RT_DTYPE_F32)
            return rt_error_set(err, RT_ERR_FORMAT, "%s: tensor '%s' has dtype %s, expected F32",
                                path, p->name, rt_dtype_name(t->dtype));
        int64_t want[RT_SAFETENSORS_MAX_DIMS] = {0};
        int same = t->ndim == p->ndim;
        for (int d = 0; d < p->ndim; d++) {
            want[d] = p->shape[d];
            if (same && t->shape[d] != want[d])
                same = 0;
        }
        if (!same) {
            char got[200], exp[100];
            format_param_shape(got, sizeof got, t->shape, t->ndim);
            format_param_shape(exp, sizeof exp, want, p->ndim);
            return rt_error_set(err, RT_ERR_FORMAT, "%s: tensor '%s' has shape %s, expected %s",
                                path, p->name, got, exp);
        }
        const unsigned char *src = t->data;
        for (size_t i = 0; i < p->count; i++)
            flat[p->offset + i] = rt_io_load_le_f32(src + 4 * i);
    }
    return check_values(path, flat, "parameter", 0, err);
}

static rt_status load_moment(const char *path, const char *key, const char *text,
                             const char *what, float *flat, rt_error *err)
{
    size_t len = strlen(text);
    size_t expect = (size_t)RT_MODEL_PARAMETERS * 4;
    size_t n = rt_base64_decoded_size(text, len);
    if (n == (size_t)-1)
        return rt_error_set(err, RT_ERR_FORMAT,
                            "%s: metadata %s is not base64 (its length %zu is not a multiple of 4)",
                            path, key, len);
    if (n != expect)
        return rt_error_set(err, RT_ERR_FORMAT,
                            "%s: metadata %s holds %zu bytes (%zu floats), expected %zu floats "
                            "(wrong length)",
                            path, key, n, n / 4, (size_t)RT_MODEL_PARAMETERS);
    unsigned char *bytes = malloc(n ? n : 1);
    if (!bytes)
        return rt_error_set(err, RT_ERR_NOMEM, "%s: out of memory", path);
    size_t badpos;
    if (rt_base64_decode(text, len, bytes, &badpos) != 0) {
        free(bytes);
        return rt_error_set(err, RT_ERR_FORMAT,
                            "%s: metadata %s is not valid base64 (at character %zu)", path, key,
                            badpos);
    }
    size_t o = 0;
    for (int t = 0; t < RT_MODEL_TENSORS; t++) {
        const rt_param_info *p = rt_model_param_info(t);
        for (size_t i = 0; i < p->count; i++, o += 4)
            flat[p->offset + i] = rt_io_load_le_f32(bytes + o);
    }
    free(bytes);
    return check_values(path, flat, what, strcmp(key, PREFIX "adam_v") == 0, err);
}

static rt_status bad_value(const char *path, const char *key, const char *value, const char *why,
                           rt_error *err)
{
    char shown[64];
    rt_io_sanitize(shown, sizeof shown, value);
    return rt_error_set(err, RT_ERR_FORMAT, "%s: metadata %s = \"%s\" %s", path, key, shown, why);
}

static rt_status load_training_state(const char *path, const rt_safetensors *f, rt_checkpoint *ck,
                                     rt_error *err)
{
    /* every resnet_train.* key must be one we know */
    for (int i = 0; i < rt_safetensors_metadata_count(f); i++) {
        const char *key;
        rt_safetensors_metadata_at(f, i, &key, NULL);
        if (strncmp(key, PREFIX, strlen(PREFIX)) != 0)
            continue;
        const char *rest = key + strlen(PREFIX);
        int known = 0;
        for (int k = 0; k < NFIELDS && !known; k++)
            known = strcmp(rest, FIELDS[k].key) == 0;
        for (int k = 0; k < NOTHER && !known; k++)
            known = strcmp(rest, OTHER_KEYS[k]) == 0;
        if (!known) {
            char shown[160];
            rt_io_sanitize(shown, sizeof shown, key);
            return rt_error_set(err, RT_ERR_FORMAT,
                                "%s: unknown metadata key '%s' (written by a newer version?)",
                                path, shown);
        }
    }
    char key[96];
    const char *v = rt_safetensors_metadata(f, PREFIX "format_version");
    if (!v)
        return rt_error_set(err, RT_ERR_FORMAT, "%s: metadata " PREFIX "format_version is missing",
                            path);
    int64_t version;
    if (!parse_i64(v, &version) || version < 1)
        return bad_value(path, PREFIX "format_version", v, "is not a positive integer", err);
    if (version != RT_CHECKPOINT_FORMAT_VERSION)
        return rt_error_set(err, RT_ERR_FORMAT,
                            "%s: checkpoint format version %" PRId64
                            " is not supported (this build reads version %d)",
                            path, version, RT_CHECKPOINT_FORMAT_VERSION);

    for (int i = 0; i < NFIELDS; i++) {
        const field *fd = &FIELDS[i];
        snprintf(key, sizeof key, PREFIX "%s", fd->key);
        v = rt_safetensors_metadata(f, key);
        if (!v)
            return rt_error_set(err, RT_ERR_FORMAT, "%s: metadata %s is missing", path, key);
        char *p = (char *)ck + fd->offset;
        if (fd->kind == K_FLOAT) {
            float x;
            if (!parse_float(v, &x))
                return bad_value(path, key, v, "is not a finite number", err);
            if (!float_in_range(x, fd->range)) {
                char why[64];
                snprintf(why, sizeof why, "is out of range (%s)", range_text(fd->range));
                return bad_value(path, key, v, why, err);
            }
            *(float *)(void *)p = x;
        } else if (fd->kind == K_U64) {
            uint64_t x;
            if (!parse_u64(v, &x))
                return bad_value(path, key, v, "is not an unsigned 64-bit integer", err);
            *(uint64_t *)(void *)p = x;
        } else {
            int64_t x;
            if (!parse_i64(v, &x))
                return bad_value(path, key, v, "is not an integer", err);
            if (x < fd->lo || x > fd->hi) {
                char why[96];
                snprintf(why, sizeof why, "is out of range (%" PRId64 "..%" PRId64 ")", fd->lo,
                         fd->hi);
                return bad_value(path, key, v, why, err);
            }
            set_int(ck, fd, x);
        }
    }
    v = rt_safetensors_metadata(f, PREFIX "epoch_rng");
    if (!v)
        return rt_error_set(err, RT_ERR_FORMAT, "%s: metadata " PREFIX "epoch_rng is missing", path);
    if (!parse_rng(v, &ck->position.epoch_rng))
        return bad_value(path, PREFIX "epoch_rng", v,
                         "is not 4 comma-separated hex words, not all zero", err);
    rt_status st = check_training_state(path, ck, "metadata ", err);
    if (st != RT_OK)
        return st;

    static const struct {
        const char *key, *what;
    } MOMENTS[2] = {{PREFIX "adam_m", PREFIX "adam_m (Adam first moment)"},
                    {PREFIX "adam_v", PREFIX "adam_v (Adam second moment)"}};
    size_t flat = rt_model_flat_size();
    ck->adam_m = calloc(flat, sizeof(float));
    ck->adam_v = calloc(flat, sizeof(float));
    if (!ck->adam_m || !ck->adam_v)
        return rt_error_set(err, RT_ERR_NOMEM, "%s: out of memory", path);
    for (int m = 0; m < 2; m++) {
        v = rt_safetensors_metadata(f, MOMENTS[m].key);
        if (!v)
            return rt_error_set(err, RT_ERR_FORMAT, "%s: metadata %s is missing", path,
                                MOMENTS[m].key);
        st = load_moment(path, MOMENTS[m].key, v, MOMENTS[m].what, m ? ck->adam_v : ck->adam_m,
                         err);
        if (st != RT_OK)
            return st;
    }
    ck->has_training_state = 1;
    return RT_OK;
}

rt_status rt_checkpoint_load(const char *path, rt_checkpoint *out, rt_error *err)
{
    memset(out, 0, sizeof *out);
    rt_safetensors *f;
    rt_status st = rt_safetensors_read(path, &f, err);
    if (st != RT_OK)
        return st;
    rt_checkpoint ck;
    memset(&ck, 0, sizeof ck);
    ck.params = calloc(rt_model_flat_size(), sizeof(float));
    if (!ck.params)
        st = rt_error_set(err, RT_ERR_NOMEM, "%s: out of memory", path);
    if (st == RT_OK)
        st = load_params(path, f, ck.params, err);
    if (st == RT_OK) {
        int training = 0;
        for (int i = 0; i < rt_safetensors_metadata_count(f) && !training; i++) {
            const char *key;
            rt_safetensors_metadata_at(f, i, &key, NULL);
            training = strncmp(key, PREFIX, strlen(PREFIX)) == 0;
        }
        if (training)
            st = load_training_state(path, f, &ck, err);
    }
    rt_safetensors_free(f);
    if (st != RT_OK) {
        rt_checkpoint_free(&ck);
        return st;
    }
    *out = ck;
    return RT_OK;
}

void rt_checkpoint_free(rt_checkpoint *ck)
{
    if (!ck)
        return;
    free(ck->params);
    free(ck->adam_m);
    free(ck->adam_v);
    memset(ck, 0, sizeof *ck);
}
