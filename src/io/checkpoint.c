/* Training checkpoints on top of safetensors.
 *
 * Tensors: the network's state_dict (parameters and running statistics
 * F32, num_batches_tracked I64 scalars), PyTorch names and shapes,
 * state_dict order. Metadata (all values strings):
 *
 *   format                         "pt"
 *   resnet_train.format_version    "5" ("4": no ranks key; "3": no resized crop keys; "2": no recipe keys past
 *                                  lr_gamma, read as the seed's recipe;
 *                                  "1": the seed's network, no
 *                                  "network" key; both still read)
 *   resnet_train.network           the network's description, canonical JSON
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
 *   (format 3:)
 *   resnet_train.optimizer         config.optimizer          adam, adamw or sgd
 *   resnet_train.momentum, dampening, nesterov, no_decay_norm_bias,
 *                schedule (a name), schedule_per_step, milestones ("a,b"),
 *                eta_min, pct_start, div_factor, final_div_factor, warmup,
 *                warmup_start, label_smoothing, crop_pad, flip, normalize,
 *                mean0..3, std0..3, (format 4:) resized_crop,
 *                crop_scale_low, crop_scale_high: the rt_train_config fields of those
 *                names (adam_weight_decay is every optimiser's decay; for
 *                SGD adam_m holds the momentum buffer)
 *   resnet_train.epoch             position.epoch            0..epochs
 *   resnet_train.cursor            position.cursor           >= 0
 *   resnet_train.steps             position.steps            >= 0
 *   resnet_train.ranks             position.ranks: how many data-parallel ranks trained
 *                                  it (format 5; 1 before)
 *   resnet_train.epoch_rng         position.epoch_rng: 4 words as 16 hex
 *                                  digits each, comma-separated, not all 0
 *   resnet_train.adam_m            base64 of the little-endian F32 first
 *   resnet_train.adam_v            and second Adam moments, in state_dict
 *                                  order without the flat layout's gaps
 *                                  (adam_v >= 0), for networks whose
 *                                  moments fit the header; else
 *   resnet_train.adam_file         the file beside holding them, and
 *   resnet_train.adam_crc32        their CRC-32 (checkpoint_moments.h)
 *
 * Integers are plain decimal; floats use "%.9g", which round-trips every
 * float exactly. Files without any "resnet_train." key are weights only. */
#include "resnet/checkpoint.h"

#include <inttypes.h>
#include <stdarg.h>
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checkpoint_moments.h"
#include "io_util.h"
#include "resnet/safetensors.h"

#define PREFIX "resnet_train."

/* K_NAME: an enum stored as its name (name_of(0..hi)); K_LIST: the
 * milestones, comma-separated. */
typedef enum field_kind { K_INT, K_I32, K_I64, K_U64, K_FLOAT, K_NAME, K_LIST } field_kind;

/* How a float must compare with its bounds. */
typedef enum float_range {
    R_POSITIVE,
    R_NONNEGATIVE,
    R_UNIT /* [0, 1) */,
    R_FINITE,
    R_SHARE /* (0, 1] */,
} float_range;

typedef struct field {
    const char *key; /* after PREFIX */
    field_kind kind;
    size_t offset; /* in rt_checkpoint */
    int64_t lo, hi; /* integers */
    float_range range; /* floats */
    int since; /* the format version that added it (0: the first); older files have the default */
    const char *(*name_of)(int value); /* K_NAME: the names of 0..hi */
} field;

static const char *optimizer_name(int value) { return rt_optimizer_name((rt_optimizer)value); }
static const char *schedule_name(int value) { return rt_schedule_name((rt_schedule)value); }

#define OFF(member) offsetof(rt_checkpoint, member)

static const field FIELDS[] = {
    {"epochs", K_INT, OFF(config.epochs), 0, 1000000, 0, 0, NULL},
    {"batch_size", K_INT, OFF(config.batch_size), 1, 65536, 0, 0, NULL},
    {"lr", K_FLOAT, OFF(config.lr), 0, 0, R_POSITIVE, 0, NULL},
    {"adam_beta1", K_FLOAT, OFF(config.adam.beta1), 0, 0, R_UNIT, 0, NULL},
    {"adam_beta2", K_FLOAT, OFF(config.adam.beta2), 0, 0, R_UNIT, 0, NULL},
    {"adam_eps", K_FLOAT, OFF(config.adam.eps), 0, 0, R_POSITIVE, 0, NULL},
    {"adam_weight_decay", K_FLOAT, OFF(config.adam.weight_decay), 0, 0, R_NONNEGATIVE, 0, NULL},
    {"shuffle", K_INT, OFF(config.shuffle), 0, 1, 0, 0, NULL},
    {"seed", K_U64, OFF(config.seed), 0, 0, 0, 0, NULL},
    {"lr_step_size", K_INT, OFF(config.lr_step_size), 0, INT_MAX, 0, 0, NULL},
    {"lr_gamma", K_FLOAT, OFF(config.lr_gamma), 0, 0, R_POSITIVE, 0, NULL},
    {"optimizer", K_NAME, OFF(config.optimizer), 0, 2, 0, 3, optimizer_name},
    {"momentum", K_FLOAT, OFF(config.momentum), 0, 0, R_UNIT, 3, NULL},
    {"dampening", K_FLOAT, OFF(config.dampening), 0, 0, R_NONNEGATIVE, 3, NULL},
    {"nesterov", K_INT, OFF(config.nesterov), 0, 1, 0, 3, NULL},
    {"no_decay_norm_bias", K_INT, OFF(config.no_decay_norm_bias), 0, 1, 0, 3, NULL},
    {"schedule", K_NAME, OFF(config.schedule), 0, 4, 0, 3, schedule_name},
    {"schedule_per_step", K_INT, OFF(config.schedule_per_step), 0, 1, 0, 3, NULL},
    {"milestones", K_LIST, OFF(config.milestones), 0, 0, 0, 3, NULL},
    {"eta_min", K_FLOAT, OFF(config.eta_min), 0, 0, R_NONNEGATIVE, 3, NULL},
    {"pct_start", K_FLOAT, OFF(config.pct_start), 0, 0, R_UNIT, 3, NULL},
    {"div_factor", K_FLOAT, OFF(config.div_factor), 0, 0, R_POSITIVE, 3, NULL},
    {"final_div_factor", K_FLOAT, OFF(config.final_div_factor), 0, 0, R_POSITIVE, 3, NULL},
    {"warmup", K_INT, OFF(config.warmup), 0, 1 << 30, 0, 3, NULL},
    {"warmup_start", K_FLOAT, OFF(config.warmup_start), 0, 0, R_POSITIVE, 3, NULL},
    {"label_smoothing", K_FLOAT, OFF(config.label_smoothing), 0, 0, R_UNIT, 3, NULL},
    {"crop_pad", K_INT, OFF(config.crop_pad), 0, 64, 0, 3, NULL},
    {"flip", K_INT, OFF(config.flip), 0, 1, 0, 3, NULL},
    {"resized_crop", K_INT, OFF(config.resized_crop), 0, 1, 0, 4, NULL},
    {"crop_scale_low", K_FLOAT, OFF(config.crop_scale[0]), 0, 0, R_SHARE, 4, NULL},
    {"crop_scale_high", K_FLOAT, OFF(config.crop_scale[1]), 0, 0, R_SHARE, 4, NULL},
    {"normalize", K_INT, OFF(config.normalize), 0, 1, 0, 3, NULL},
    {"mean0", K_FLOAT, OFF(config.mean[0]), 0, 0, R_FINITE, 3, NULL},
    {"mean1", K_FLOAT, OFF(config.mean[1]), 0, 0, R_FINITE, 3, NULL},
    {"mean2", K_FLOAT, OFF(config.mean[2]), 0, 0, R_FINITE, 3, NULL},
    {"mean3", K_FLOAT, OFF(config.mean[3]), 0, 0, R_FINITE, 3, NULL},
    {"std0", K_FLOAT, OFF(config.std[0]), 0, 0, R_POSITIVE, 3, NULL},
    {"std1", K_FLOAT, OFF(config.std[1]), 0, 0, R_POSITIVE, 3, NULL},
    {"std2", K_FLOAT, OFF(config.std[2]), 0, 0, R_POSITIVE, 3, NULL},
    {"std3", K_FLOAT, OFF(config.std[3]), 0, 0, R_POSITIVE, 3, NULL},
    {"epoch", K_I32, OFF(position.epoch), 0, 1000000, 0, 0, NULL},
    {"cursor", K_I32, OFF(position.cursor), 0, INT32_MAX, 0, 0, NULL},
    {"steps", K_I64, OFF(position.steps), 0, INT64_MAX, 0, 0, NULL},
    {"ranks", K_I32, OFF(position.ranks), 1, 1 << 20, 0, 5, NULL},
};
#define NFIELDS ((int)(sizeof FIELDS / sizeof FIELDS[0]))

/* Keys handled outside the table. */
static const char *const OTHER_KEYS[] = {"format_version", "epoch_rng", "adam_m",  "adam_v",
                                         "network",        "adam_file", "adam_crc32"};
#define NOTHER ((int)(sizeof OTHER_KEYS / sizeof OTHER_KEYS[0]))

static const char *range_text(float_range r)
{
    switch (r) {
    case R_POSITIVE: return "must be > 0";
    case R_NONNEGATIVE: return "must be >= 0";
    case R_UNIT: return "must be in [0, 1)";
    case R_FINITE: return "must be finite";
    case R_SHARE: return "must be in (0, 1]";
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
    case R_FINITE: return 1;
    case R_SHARE: return v > 0.0f && v <= 1.0f;
    }
    return 0;
}

static int64_t get_int(const rt_checkpoint *ck, const field *f)
{
    const char *p = (const char *)ck + f->offset;
    switch (f->kind) {
    case K_INT:
    case K_NAME: return *(const int *)(const void *)p;
    case K_I32: return *(const int32_t *)(const void *)p;
    case K_I64: return *(const int64_t *)(const void *)p;
    default: return 0;
    }
}

static void set_int(rt_checkpoint *ck, const field *f, int64_t v)
{
    char *p = (char *)ck + f->offset;
    switch (f->kind) {
    case K_INT:
    case K_NAME: *(int *)(void *)p = (int)v; break;
    case K_I32: *(int32_t *)(void *)p = (int32_t)v; break;
    case K_I64: *(int64_t *)(void *)p = v; break;
    default: break;
    }
}

/* ---- text <-> numbers, independent of the locale ------------------------ */

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
        } else if (f->kind != K_U64 && f->kind != K_LIST) {
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

/* The state_dict's values: finite parameters and statistics, running
 * variances >= 0, counters >= 0. */
static rt_status check_state(const char *path, const rt_checkpoint *ck, const char *verb,
                             rt_error *err)
{
    char what[64];
    snprintf(what, sizeof what, "%sparameter", verb);
    rt_status st = ck_check_values(path, ck->network, RT_TENSOR_PARAMETER, ck->params, what, 0,
                                   err);
    snprintf(what, sizeof what, "%sbuffer", verb);
    if (st == RT_OK)
        st = ck_check_values(path, ck->network, RT_TENSOR_BUFFER, ck->buffers, what, 0, err);
    for (int t = 0; t < rt_network_tensor_count(ck->network) && st == RT_OK; t++) {
        const rt_tensor_info *p = rt_network_tensor(ck->network, t);
        if (p->role == RT_TENSOR_COUNTER && ck->counters[p->offset] < 0)
            st = rt_error_set(err, RT_ERR_FORMAT, "%s: %stensor '%s' is negative (%" PRId64 ")",
                              path, verb, p->name, ck->counters[p->offset]);
    }
    return st;
}

/* ---- save ------------------------------------------------------------------ */

/* The metadata of a checkpoint with training state. */
typedef struct meta {
    const char *keys[NFIELDS + NOTHER + 2];
    const char *values[NFIELDS + NOTHER + 2];
    char keybuf[NFIELDS + NOTHER + 2][64];
    char valbuf[NFIELDS + NOTHER + 2][192];
    int n;
} meta;

static void meta_add(meta *m, const char *key, const char *value)
{
    snprintf(m->keybuf[m->n], sizeof m->keybuf[m->n], "%s", key);
    m->keys[m->n] = m->keybuf[m->n];
    m->values[m->n] = value;
    m->n++;
}

static void meta_add_own(meta *m, const char *key, const char *fmt, ...) RT_PRINTF_LIKE(3, 4);
static void meta_add_own(meta *m, const char *key, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m->valbuf[m->n], sizeof m->valbuf[m->n], fmt, ap);
    va_end(ap);
    meta_add(m, key, m->valbuf[m->n]);
}

static void recipe_metadata(const rt_checkpoint *ck, meta *m)
{
    meta_add_own(m, PREFIX "format_version", "%d", RT_CHECKPOINT_FORMAT_VERSION);
    meta_add(m, PREFIX "network", rt_network_json(ck->network));
    for (int i = 0; i < NFIELDS; i++) {
        const field *f = &FIELDS[i];
        char key[64];
        snprintf(key, sizeof key, PREFIX "%s", f->key);
        const char *p = (const char *)ck + f->offset;
        if (f->kind == K_FLOAT) {
            char text[32];
            rt_io_format_float(text, sizeof text, *(const float *)(const void *)p);
            meta_add_own(m, key, "%s", text);
        } else if (f->kind == K_NAME) {
            meta_add(m, key, f->name_of((int)get_int(ck, f)));
        } else if (f->kind == K_LIST) {
            char text[192] = "";
            size_t used = 0;
            for (int k = 0; k < ck->config.milestone_count && used < sizeof text; k++)
                used += (size_t)snprintf(text + used, sizeof text - used, "%s%d", k ? "," : "",
                                         ck->config.milestones[k]);
            meta_add_own(m, key, "%s", text);
        } else if (f->kind == K_U64) {
            meta_add_own(m, key, "%" PRIu64, *(const uint64_t *)(const void *)p);
        } else {
            meta_add_own(m, key, "%" PRId64, get_int(ck, f));
        }
    }
    const rt_rng *r = &ck->position.epoch_rng;
    meta_add_own(m, PREFIX "epoch_rng", "%016" PRIx64 ",%016" PRIx64 ",%016" PRIx64 ",%016" PRIx64,
                 r->s[0], r->s[1], r->s[2], r->s[3]);
}

/* The state_dict as tensor views over one packed little-endian buffer. */
static rt_status state_views(const char *path, const rt_checkpoint *ck, rt_tensor_view **views_out,
                             unsigned char **data_out, rt_error *err)
{
    const rt_network *net = ck->network;
    int count = rt_network_tensor_count(net);
    size_t bytes = 0;
    for (int t = 0; t < count; t++) {
        const rt_tensor_info *p = rt_network_tensor(net, t);
        bytes += p->role == RT_TENSOR_COUNTER ? 8 : p->count * 4;
    }
    rt_tensor_view *views = calloc((size_t)count + 1, sizeof *views);
    unsigned char *data = malloc(bytes ? bytes : 1);
    if (!views || !data) {
        free(views), free(data);
        return rt_error_set(err, RT_ERR_NOMEM, "%s: out of memory", path);
    }
    size_t at = 0;
    for (int t = 0; t < count; t++) {
        const rt_tensor_info *p = rt_network_tensor(net, t);
        rt_tensor_view *v = &views[t];
        v->name = p->name;
        v->ndim = p->ndim;
        for (int d = 0; d < p->ndim; d++)
            v->shape[d] = p->shape[d];
        v->data = data + at;
        if (p->role == RT_TENSOR_COUNTER) {
            v->dtype = RT_DTYPE_I64;
            rt_io_store_le64(data + at, (uint64_t)ck->counters[p->offset]);
            v->bytes = 8;
        } else {
            const float *src = (p->role == RT_TENSOR_PARAMETER ? ck->params : ck->buffers) +
                               p->offset;
            v->dtype = RT_DTYPE_F32;
            for (size_t i = 0; i < p->count; i++)
                rt_io_store_le_f32(data + at + 4 * i, src[i]);
            v->bytes = p->count * 4;
        }
        at += v->bytes;
    }
    *views_out = views;
    *data_out = data;
    return RT_OK;
}

rt_status rt_checkpoint_save(const char *path, const rt_checkpoint *ck, rt_error *err)
{
    if (!ck || !ck->network || !ck->params || !ck->buffers || !ck->counters)
        return rt_error_set(err, RT_ERR_USAGE, "%s: cannot save a checkpoint without its state",
                            path);
    if (ck->has_training_state && (!ck->adam_m || !ck->adam_v))
        return rt_error_set(err, RT_ERR_USAGE,
                            "%s: cannot save: training state without Adam moments", path);
    const rt_network *net = ck->network;
    rt_status st = check_state(path, ck, "cannot save: ", err);
    if (st == RT_OK && ck->has_training_state) {
        st = ck_check_values(path, net, RT_TENSOR_PARAMETER, ck->adam_m,
                             "cannot save: Adam first moment", 0, err);
        if (st == RT_OK)
            st = ck_check_values(path, net, RT_TENSOR_PARAMETER, ck->adam_v,
                                 "cannot save: Adam second moment", 1, err);
        if (st == RT_OK)
            st = check_training_state(path, ck, "cannot save: ", err);
    }
    if (st != RT_OK)
        return st;

    meta *m = calloc(1, sizeof *m);
    if (!m)
        return rt_error_set(err, RT_ERR_NOMEM, "%s: out of memory", path);
    meta_add(m, "format", "pt");
    char *moment_m = NULL, *moment_v = NULL;
    char moments_file[4352] = "";
    if (ck->has_training_state) {
        recipe_metadata(ck, m);
        if (ck_moments_inline(net)) {
            moment_m = ck_encode_moment(net, ck->adam_m);
            moment_v = ck_encode_moment(net, ck->adam_v);
            meta_add(m, PREFIX "adam_m", moment_m);
            meta_add(m, PREFIX "adam_v", moment_v);
            if (!moment_m || !moment_v)
                st = rt_error_set(err, RT_ERR_NOMEM, "%s: out of memory", path);
        } else {
            uint32_t crc;
            st = ck_write_moments_file(path, net, ck->adam_m, ck->adam_v, ck->position.steps,
                                       moments_file, sizeof moments_file, &crc, err);
            meta_add(m, PREFIX "adam_file", moments_file);
            meta_add_own(m, PREFIX "adam_crc32", "%08" PRIx32, crc);
        }
    }
    rt_tensor_view *views = NULL;
    unsigned char *data = NULL;
    if (st == RT_OK)
        st = state_views(path, ck, &views, &data, err);
    if (st == RT_OK)
        st = rt_safetensors_write(path, views, rt_network_tensor_count(net), m->keys, m->values,
                                  m->n, err);
    if (st == RT_OK && moments_file[0])
        ck_remove_stale_moments(path, moments_file);
    free(views);
    free(data);
    free(moment_m);
    free(moment_v);
    free(m);
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

/* Every tensor of the network, with its dtype and shape; no others. */
static rt_status check_tensors(const char *path, const rt_safetensors *f, const rt_network *net,
                               rt_error *err)
{
    for (int i = 0; i < rt_safetensors_count(f); i++) {
        const rt_tensor_view *t = rt_safetensors_tensor(f, i);
        if (rt_network_tensor_find(net, t->name) < 0) {
            char shown[160];
            rt_io_sanitize(shown, sizeof shown, t->name);
            return rt_error_set(err, RT_ERR_FORMAT,
                                "%s: unexpected tensor '%s' (not a parameter of this model)", path,
                                shown);
        }
    }
    for (int k = 0; k < rt_network_tensor_count(net); k++) {
        const rt_tensor_info *p = rt_network_tensor(net, k);
        const rt_tensor_view *t = rt_safetensors_find(f, p->name);
        if (!t)
            return rt_error_set(err, RT_ERR_FORMAT,
                                "%s: tensor '%s' is missing (not a checkpoint of this model?)",
                                path, p->name);
        rt_dtype want_dtype = p->role == RT_TENSOR_COUNTER ? RT_DTYPE_I64 : RT_DTYPE_F32;
        if (t->dtype != want_dtype)
            return rt_error_set(err, RT_ERR_FORMAT, "%s: tensor '%s' has dtype %s, expected %s",
                                path, p->name, rt_dtype_name(t->dtype), rt_dtype_name(want_dtype));
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
    }
    return RT_OK;
}

/* The tensors' values (checked by check_tensors) into ck's buffers. */
static rt_status load_state(const char *path, const rt_safetensors *f, rt_checkpoint *ck,
                            rt_error *err)
{
    const rt_network *net = ck->network;
    for (int k = 0; k < rt_network_tensor_count(net); k++) {
        const rt_tensor_info *p = rt_network_tensor(net, k);
        const unsigned char *src = rt_safetensors_find(f, p->name)->data;
        if (p->role == RT_TENSOR_COUNTER) {
            ck->counters[p->offset] = (int64_t)rt_io_load_le64(src);
            continue;
        }
        float *dst = (p->role == RT_TENSOR_PARAMETER ? ck->params : ck->buffers) + p->offset;
        for (size_t i = 0; i < p->count; i++)
            dst[i] = rt_io_load_le_f32(src + 4 * i);
    }
    return check_state(path, ck, "", err);
}

static rt_status bad_value(const char *path, const char *key, const char *value, const char *why,
                           rt_error *err)
{
    char shown[64];
    rt_io_sanitize(shown, sizeof shown, value);
    return rt_error_set(err, RT_ERR_FORMAT, "%s: metadata %s = \"%s\" %s", path, key, shown, why);
}

/* "", or "a,b,c": increasing positive integers, at most RT_MAX_MILESTONES. */
static int parse_milestones(const char *v, rt_train_config *cfg)
{
    int n = 0;
    cfg->milestone_count = 0;
    if (!*v)
        return 1;
    const char *p = v;
    for (;;) {
        char item[24];
        size_t len = strcspn(p, ",");
        if (len == 0 || len >= sizeof item || n == RT_MAX_MILESTONES)
            return 0;
        memcpy(item, p, len);
        item[len] = '\0';
        int64_t x;
        if (!parse_i64(item, &x) || x < 1 || x > INT_MAX ||
            (n > 0 && x <= cfg->milestones[n - 1]))
            return 0;
        cfg->milestones[n++] = (int)x;
        p += len;
        if (!*p)
            break;
        p++;
    }
    cfg->milestone_count = n;
    return 1;
}

/* The recipe, the position and the moments. */
static rt_status load_training_state(const char *path, const rt_safetensors *f, int version,
                                     rt_checkpoint *ck, rt_error *err)
{
    char key[96];
    /* what a file from before format 3 did not record: the seed's recipe */
    rt_train_config_default(&ck->config);
    ck->config.eval_every = 0; /* not the recipe's: left zero */
    ck->position.ranks = 1;    /* before format 5: one process */
    ck->config.log_every = 0;
    for (int i = 0; i < NFIELDS; i++) {
        const field *fd = &FIELDS[i];
        snprintf(key, sizeof key, PREFIX "%s", fd->key);
        const char *v = rt_safetensors_metadata(f, key);
        if (!v && version < fd->since)
            continue;
        if (!v)
            return rt_error_set(err, RT_ERR_FORMAT, "%s: metadata %s is missing", path, key);
        char *p = (char *)ck + fd->offset;
        if (fd->kind == K_NAME) {
            int found = -1;
            for (int k = 0; k <= fd->hi && found < 0; k++)
                if (!strcmp(v, fd->name_of(k)))
                    found = k;
            if (found < 0)
                return bad_value(path, key, v, "is not a known name", err);
            set_int(ck, fd, found);
        } else if (fd->kind == K_LIST) {
            if (!parse_milestones(v, &ck->config))
                return bad_value(path, key, v,
                                 "is not up to 16 increasing positive comma-separated counts",
                                 err);
        } else if (fd->kind == K_FLOAT) {
            float x;
            if (!rt_io_parse_float(v, &x))
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
    const char *v = rt_safetensors_metadata(f, PREFIX "epoch_rng");
    if (!v)
        return rt_error_set(err, RT_ERR_FORMAT, "%s: metadata " PREFIX "epoch_rng is missing", path);
    if (!parse_rng(v, &ck->position.epoch_rng))
        return bad_value(path, PREFIX "epoch_rng", v,
                         "is not 4 comma-separated hex words, not all zero", err);
    rt_status st = check_training_state(path, ck, "metadata ", err);
    if (st != RT_OK)
        return st;

    const rt_network *net = ck->network;
    size_t flat = rt_network_params_size(net);
    ck->adam_m = calloc(flat + 1, sizeof(float));
    ck->adam_v = calloc(flat + 1, sizeof(float));
    if (!ck->adam_m || !ck->adam_v)
        return rt_error_set(err, RT_ERR_NOMEM, "%s: out of memory", path);
    const char *file = rt_safetensors_metadata(f, PREFIX "adam_file");
    if (file && version >= 2) {
        const char *crc_text = rt_safetensors_metadata(f, PREFIX "adam_crc32");
        uint64_t crc;
        if (!crc_text || strlen(crc_text) != 8 || !parse_hex64(crc_text, 8, &crc))
            return rt_error_set(err, RT_ERR_FORMAT,
                                "%s: metadata " PREFIX "adam_crc32 (8 hex digits) is missing or "
                                "malformed",
                                path);
        if (!*file || strchr(file, '/') || !strcmp(file, ".") || !strcmp(file, ".."))
            return bad_value(path, PREFIX "adam_file", file, "is not a file name", err);
        if (rt_safetensors_metadata(f, PREFIX "adam_m") || rt_safetensors_metadata(f, PREFIX "adam_v"))
            return rt_error_set(err, RT_ERR_FORMAT,
                                "%s: holds both " PREFIX "adam_file and inline moments", path);
        st = ck_read_moments_file(path, file, (uint32_t)crc, net, ck->adam_m, ck->adam_v, err);
    } else {
        static const struct {
            const char *key, *what;
        } MOMENTS[2] = {{PREFIX "adam_m", PREFIX "adam_m (Adam first moment)"},
                        {PREFIX "adam_v", PREFIX "adam_v (Adam second moment)"}};
        for (int k = 0; k < 2 && st == RT_OK; k++) {
            v = rt_safetensors_metadata(f, MOMENTS[k].key);
            if (!v)
                return rt_error_set(err, RT_ERR_FORMAT, "%s: metadata %s is missing", path,
                                    MOMENTS[k].key);
            st = ck_decode_moment(path, net, MOMENTS[k].key, v, MOMENTS[k].what, k == 1,
                                  k ? ck->adam_v : ck->adam_m, err);
        }
    }
    if (st == RT_OK)
        ck->has_training_state = 1;
    return st;
}

/* Every resnet_train.* key must be one we know; returns the format
 * version (0 for a file without any). */
static rt_status read_version(const char *path, const rt_safetensors *f, int *version,
                              rt_error *err)
{
    *version = 0;
    int ours = 0;
    for (int i = 0; i < rt_safetensors_metadata_count(f); i++) {
        const char *key;
        rt_safetensors_metadata_at(f, i, &key, NULL);
        if (strncmp(key, PREFIX, strlen(PREFIX)) != 0)
            continue;
        ours = 1;
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
    if (!ours)
        return RT_OK;
    const char *v = rt_safetensors_metadata(f, PREFIX "format_version");
    if (!v)
        return rt_error_set(err, RT_ERR_FORMAT, "%s: metadata " PREFIX "format_version is missing",
                            path);
    int64_t version64;
    if (!parse_i64(v, &version64) || version64 < 1)
        return bad_value(path, PREFIX "format_version", v, "is not a positive integer", err);
    if (version64 > RT_CHECKPOINT_FORMAT_VERSION)
        return rt_error_set(err, RT_ERR_FORMAT,
                            "%s: checkpoint format version %" PRId64
                            " is not supported (this build reads versions 1 to %d)",
                            path, version64, RT_CHECKPOINT_FORMAT_VERSION);
    *version = (int)version64;
    return RT_OK;
}

/* The network of the file: its description (version 2), the seed's
 * (version 1), or fallback's (weights only). */
static rt_status file_network(const char *path, const rt_safetensors *f, int version,
                              const rt_network *fallback, int must_match, rt_network **out,
                              rt_error *err)
{
    const char *json = rt_safetensors_metadata(f, PREFIX "network");
    char source[4200];
    snprintf(source, sizeof source, "%s: metadata " PREFIX "network", path);
    rt_status st;
    if (version >= 2) {
        if (!json)
            return rt_error_set(err, RT_ERR_FORMAT, "%s: metadata " PREFIX "network is missing",
                                path);
        st = rt_network_parse(json, strlen(json), source, NULL, out, err);
    } else if (version == 1) {
        if (json)
            return rt_error_set(err, RT_ERR_FORMAT,
                                "%s: a version 1 checkpoint has no " PREFIX "network", path);
        /* before networks were data, every checkpoint was the seed's */
        const rt_network_input mnist = {1, 28, 28, 10};
        st = rt_network_load("seed", &mnist, out, err);
    } else {
        if (!fallback)
            return rt_error_set(err, RT_ERR_USAGE,
                                "%s: holds weights without a network description: say which "
                                "network they are with --model",
                                path);
        const char *fj = rt_network_json(fallback);
        st = rt_network_parse(fj, strlen(fj), "the network of --model", NULL, out, err);
    }
    if (st != RT_OK)
        return st;
    if (must_match && fallback && strcmp(rt_network_json(*out), rt_network_json(fallback)) != 0) {
        rt_network_input a = rt_network_input_of(*out), b = rt_network_input_of(fallback);
        if (strcmp(rt_network_name(*out), rt_network_name(fallback)) != 0)
            st = rt_error_set(err, RT_ERR_USAGE,
                              "%s holds a '%s' network, not the '%s' of --model (leave --model "
                              "out to use the checkpoint's)",
                              path, rt_network_name(*out), rt_network_name(fallback));
        else
            st = rt_error_set(err, RT_ERR_USAGE,
                              "%s holds a '%s' for %dx%dx%d inputs and %d classes that differs "
                              "from the one --model gives for %dx%dx%d and %d classes",
                              path, rt_network_name(*out), a.channels, a.height, a.width,
                              a.classes, b.channels, b.height, b.width, b.classes);
        rt_network_free(*out);
        *out = NULL;
    }
    return st;
}

rt_status rt_checkpoint_load(const char *path, const rt_network *fallback, int must_match,
                             rt_checkpoint *out, rt_error *err)
{
    memset(out, 0, sizeof *out);
    rt_safetensors *f;
    rt_status st = rt_safetensors_read(path, &f, err);
    if (st != RT_OK)
        return st;
    rt_checkpoint ck;
    memset(&ck, 0, sizeof ck);
    int version = 0;
    rt_network *net = NULL;
    st = read_version(path, f, &version, err);
    if (st == RT_OK)
        st = file_network(path, f, version, fallback, must_match, &net, err);
    if (st == RT_OK) {
        ck.network = net;
        ck.owns_network = 1;
        /* before anything is allocated: the file holds all of it */
        st = check_tensors(path, f, net, err);
    }
    if (st == RT_OK) {
        ck.params = calloc(rt_network_params_size(net) + 1, sizeof(float));
        ck.buffers = calloc(rt_network_buffers_size(net) + 1, sizeof(float));
        ck.counters = calloc(rt_network_counter_count(net) + 1, sizeof(int64_t));
        if (!ck.params || !ck.buffers || !ck.counters)
            st = rt_error_set(err, RT_ERR_NOMEM, "%s: out of memory", path);
    }
    if (st == RT_OK)
        st = load_state(path, f, &ck, err);
    if (st == RT_OK && version > 0)
        st = load_training_state(path, f, version, &ck, err);
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
    if (ck->owns_network)
        rt_network_free((rt_network *)ck->network);
    free(ck->params);
    free(ck->buffers);
    free(ck->counters);
    free(ck->adam_m);
    free(ck->adam_v);
    memset(ck, 0, sizeof *ck);
}
