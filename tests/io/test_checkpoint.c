/* Checkpoints: a bit-exact round trip of weights, Adam moments, position
 * and config; the file layout PyTorch needs (the 14 state_dict tensors, F32,
 * in order); weights-only files; and one rejection per way a file can be
 * wrong, each with a message naming the culprit. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base64.h"
#include "io_test_util.h"
#include "io_util.h"
#include "resnet/checkpoint.h"
#include "resnet/model.h"
#include "resnet/network.h"
#include "resnet/safetensors.h"

static char dir[512];
static size_t flat;
static rt_network *net; /* the seed's network */

static void path_in(char *buf, size_t size, const char *name)
{
    snprintf(buf, size, "%s/%s", dir, name);
}

/* Random values in the tensors, zeros in the gaps. */
static float *random_flat(rt_rng *rng, float lo, float hi)
{
    float *x = calloc(flat, sizeof *x);
    for (int t = 0; t < rt_network_tensor_count(net); t++) {
        const rt_tensor_info *p = rt_network_tensor(net, t);
        rt_test_fill(rng, x + p->offset, p->count, lo, hi);
    }
    return x;
}

static void make_checkpoint(rt_checkpoint *ck)
{
    rt_rng rng;
    rt_rng_seed(&rng, 1234);
    memset(ck, 0, sizeof *ck);
    ck->network = net;
    ck->buffers = calloc(1, sizeof(float));   /* the seed has no BatchNorm */
    ck->counters = calloc(1, sizeof(int64_t));
    ck->params = random_flat(&rng, -1.0f, 1.0f);
    ck->adam_m = random_flat(&rng, -1e-3f, 1e-3f);
    ck->adam_v = random_flat(&rng, 0.0f, 1e-6f);
    ck->params[0] = -0.0f;
    ck->params[1] = 1e-45f; /* a denormal */
    ck->params[rt_network_tensor(net, 13)->offset] = 3.4028235e38f;
    ck->adam_v[5] = 0.0f;
    ck->has_training_state = 1;
    ck->position.epoch = 3;
    ck->position.cursor = 1234;
    ck->position.steps = 5678901234LL;
    ck->position.ranks = 3;
    rt_rng_seed(&ck->position.epoch_rng, 99);
    rt_train_config_default(&ck->config);
    ck->config.epochs = 26;
    ck->config.batch_size = 64;
    ck->config.lr = 0.00123456789f;
    ck->config.adam.beta1 = 0.9f;
    ck->config.adam.beta2 = 0.999f;
    ck->config.adam.eps = 1e-8f;
    ck->config.adam.weight_decay = 0.0f;
    ck->config.shuffle = 1;
    ck->config.seed = UINT64_MAX;
    ck->config.lr_step_size = 5;
    ck->config.lr_gamma = 0.1f;
    /* format 3's */
    ck->config.optimizer = RT_OPTIMIZER_SGD;
    ck->config.momentum = 0.9f;
    ck->config.nesterov = 1;
    ck->config.schedule = RT_SCHEDULE_MULTISTEP;
    ck->config.schedule_per_step = 1;
    ck->config.milestones[0] = 32000;
    ck->config.milestones[1] = 48000;
    ck->config.milestone_count = 2;
    ck->config.warmup = 3;
    ck->config.label_smoothing = 0.1f;
    ck->config.crop_pad = 4;
    ck->config.flip = 1;
    ck->config.resized_crop = 1; /* (a trainer would refuse it with crop_pad) */
    ck->config.crop_scale[0] = 0.35f;
    ck->config.crop_scale[1] = 0.9f;
    ck->config.normalize = 1;
    ck->config.mean[0] = 0.4914f;
    ck->config.std[2] = 0.2616f;
    /* fields that are not saved */
    ck->config.eval_every = 7;
    ck->config.log_every = 100;
    ck->config.progress_interval = 1.5;
}

static void free_made(rt_checkpoint *ck)
{
    free(ck->params);
    free(ck->buffers);
    free(ck->counters);
    free(ck->adam_m);
    free(ck->adam_v);
    memset(ck, 0, sizeof *ck);
}

static int same_bits(const void *a, const void *b, size_t n) { return memcmp(a, b, n) == 0; }

static int is_zeroed(const rt_checkpoint *ck)
{
    rt_checkpoint z;
    memset(&z, 0, sizeof z);
    return memcmp(ck, &z, sizeof z) == 0;
}

static void test_round_trip(void)
{
    rt_checkpoint ck, back;
    make_checkpoint(&ck);
    char path[600];
    path_in(path, sizeof path, "ck.safetensors");
    rt_error err = {0};
    CHECKF(rt_checkpoint_save(path, &ck, &err) == RT_OK, "save: %s", err.message);
    rt_status st = rt_checkpoint_load(path, net, 0, &back, &err);
    CHECKF(st == RT_OK, "load: %s", err.message);
    if (st == RT_OK) {
        CHECK(back.has_training_state == 1);
        CHECK(same_bits(back.params, ck.params, flat * sizeof(float)));
        CHECK(same_bits(back.adam_m, ck.adam_m, flat * sizeof(float)));
        CHECK(same_bits(back.adam_v, ck.adam_v, flat * sizeof(float)));
        CHECK(back.position.epoch == 3 && back.position.cursor == 1234 &&
              back.position.steps == 5678901234LL && back.position.ranks == 3);
        CHECK(same_bits(&back.position.epoch_rng, &ck.position.epoch_rng, sizeof(rt_rng)));
        const rt_train_config *a = &ck.config, *b = &back.config;
        CHECK(b->epochs == a->epochs && b->batch_size == a->batch_size && b->shuffle == a->shuffle &&
              b->seed == a->seed && b->lr_step_size == a->lr_step_size);
        CHECK(same_bits(&b->lr, &a->lr, 4) && same_bits(&b->lr_gamma, &a->lr_gamma, 4));
        CHECK(same_bits(&b->adam, &a->adam, sizeof a->adam));
        CHECK(b->optimizer == RT_OPTIMIZER_SGD && b->momentum == 0.9f && b->nesterov == 1 &&
              b->schedule == RT_SCHEDULE_MULTISTEP && b->schedule_per_step == 1 &&
              b->milestone_count == 2 && b->milestones[1] == 48000 && b->warmup == 3 &&
              b->label_smoothing == 0.1f && b->crop_pad == 4 && b->flip == 1 &&
              b->resized_crop == 1 && b->crop_scale[0] == 0.35f && b->crop_scale[1] == 0.9f &&
              b->normalize == 1 && same_bits(b->mean, a->mean, sizeof a->mean) &&
              same_bits(b->std, a->std, sizeof a->std) && b->pct_start == 0.3f);
        CHECK(rt_train_config_conflict(a, b) == NULL);
        CHECK(b->eval_every == 0 && b->log_every == 0 && b->progress_interval == 0.0 &&
              b->stop_flag == NULL);
        rt_checkpoint_free(&back);
        CHECK(is_zeroed(&back));
    }

    /* the file as PyTorch sees it */
    rt_safetensors *f;
    st = rt_safetensors_read(path, &f, &err);
    CHECKF(st == RT_OK, "read: %s", err.message);
    if (st == RT_OK) {
        CHECK(rt_safetensors_count(f) == 14);
        for (int i = 0; i < 14 && i < rt_safetensors_count(f); i++) {
            const rt_tensor_info *p = rt_network_tensor(net, i);
            const rt_tensor_view *t = rt_safetensors_tensor(f, i);
            CHECKF(strcmp(t->name, p->name) == 0, "tensor %d is %s, expected %s", i, t->name,
                   p->name);
            CHECK(t->dtype == RT_DTYPE_F32 && t->ndim == p->ndim && t->bytes == p->count * 4);
            for (int d = 0; d < p->ndim; d++)
                CHECK(t->shape[d] == p->shape[d]);
            CHECK(memcmp(t->data, ck.params + p->offset, t->bytes) == 0); /* little-endian host */
        }
        const char *fmt = rt_safetensors_metadata(f, "format");
        CHECK(fmt && strcmp(fmt, "pt") == 0);
        static const char *const keys[] = {
            "resnet_train.format_version", "resnet_train.epochs", "resnet_train.batch_size",
            "resnet_train.lr", "resnet_train.adam_beta1", "resnet_train.adam_beta2",
            "resnet_train.adam_eps", "resnet_train.adam_weight_decay", "resnet_train.shuffle",
            "resnet_train.seed", "resnet_train.lr_step_size", "resnet_train.lr_gamma",
            "resnet_train.epoch", "resnet_train.cursor", "resnet_train.steps",
            "resnet_train.epoch_rng", "resnet_train.adam_m", "resnet_train.adam_v",
            "resnet_train.network"};
        for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
            CHECKF(rt_safetensors_metadata(f, keys[i]) != NULL, "metadata %s", keys[i]);
        CHECK(rt_safetensors_metadata_count(f) == 50); /* 20 of format 2, 26 recipe keys of format 3, 3 of format 4, 1 of format 5 */
        const char *v = rt_safetensors_metadata(f, "resnet_train.format_version");
        CHECK(v && strcmp(v, "5") == 0);
        v = rt_safetensors_metadata(f, "resnet_train.network");
        CHECK(v && strcmp(v, rt_network_json(net)) == 0);
        v = rt_safetensors_metadata(f, "resnet_train.seed");
        CHECK(v && strcmp(v, "18446744073709551615") == 0);
        v = rt_safetensors_metadata(f, "resnet_train.lr");
        CHECKF(v && strcmp(v, "0.00123456784") == 0, "lr written as %s", v ? v : "(none)");
        v = rt_safetensors_metadata(f, "resnet_train.adam_m");
        CHECK(v && strlen(v) == rt_base64_encoded_size(42790 * 4));
        rt_safetensors_free(f);
    }

    /* saving again over it replaces it */
    ck.position.steps = 1;
    CHECK(rt_checkpoint_save(path, &ck, &err) == RT_OK);
    CHECK(rt_checkpoint_load(path, net, 0, &back, &err) == RT_OK && back.position.steps == 1);
    rt_checkpoint_free(&back);

    /* a weights-only checkpoint of our own */
    ck.has_training_state = 0;
    CHECK(rt_checkpoint_save(path, &ck, &err) == RT_OK);
    st = rt_checkpoint_load(path, net, 0, &back, &err);
    CHECKF(st == RT_OK, "weights only: %s", err.message);
    if (st == RT_OK) {
        CHECK(back.has_training_state == 0 && back.adam_m == NULL && back.adam_v == NULL);
        CHECK(same_bits(back.params, ck.params, flat * sizeof(float)));
        CHECK(back.position.steps == 0 && back.config.batch_size == 0);
        rt_checkpoint_free(&back);
    }
    unlink(path);
    free_made(&ck);
}

/* ---- files made tensor by tensor ------------------------------------------- */

typedef struct builder {
    rt_tensor_view t[16];
    int count;
    const char *keys[128], *values[128];
    char *owned[256];
    int meta;
    float *packed;
} builder;

/* The 14 tensors (little-endian host) of ck, in reverse order, plus the
 * metadata of a checkpoint of ck saved by rt_checkpoint_save. */
static void build(builder *b, const rt_checkpoint *ck, int with_state)
{
    memset(b, 0, sizeof *b);
    for (int i = 0; i < 14; i++) {
        const rt_tensor_info *p = rt_network_tensor(net, 13 - i);
        rt_tensor_view *v = &b->t[b->count++];
        v->name = p->name;
        v->dtype = RT_DTYPE_F32;
        v->ndim = p->ndim;
        for (int d = 0; d < p->ndim; d++)
            v->shape[d] = p->shape[d];
        v->data = ck->params + p->offset;
        v->bytes = p->count * 4;
    }
    if (!with_state)
        return;
    char path[600];
    path_in(path, sizeof path, "source.safetensors");
    rt_error err = {0};
    CHECK(rt_checkpoint_save(path, ck, &err) == RT_OK);
    rt_safetensors *f;
    if (rt_safetensors_read(path, &f, &err) != RT_OK) {
        CHECKF(0, "%s", err.message);
        return;
    }
    for (int i = 0; i < rt_safetensors_metadata_count(f); i++) {
        const char *k, *v;
        rt_safetensors_metadata_at(f, i, &k, &v);
        b->owned[2 * i] = strdup(k);
        b->owned[2 * i + 1] = strdup(v);
        b->keys[i] = b->owned[2 * i];
        b->values[i] = b->owned[2 * i + 1];
        b->meta++;
    }
    rt_safetensors_free(f);
    unlink(path);
}

static void unbuild(builder *b)
{
    for (int i = 0; i < 256; i++)
        free(b->owned[i]);
    free(b->packed);
    memset(b, 0, sizeof *b);
}

static void set_meta(builder *b, const char *key, const char *value)
{
    for (int i = 0; i < b->meta; i++)
        if (strcmp(b->keys[i], key) == 0) {
            if (value) {
                b->values[i] = value;
            } else { /* remove */
                b->keys[i] = b->keys[b->meta - 1];
                b->values[i] = b->values[b->meta - 1];
                b->meta--;
            }
            return;
        }
    if (value) {
        b->keys[b->meta] = key;
        b->values[b->meta++] = value;
    }
}

static rt_tensor_view *find(builder *b, const char *name)
{
    for (int i = 0; i < b->count; i++)
        if (strcmp(b->t[i].name, name) == 0)
            return &b->t[i];
    return NULL;
}

/* Writes b and loads it as a checkpoint. */
static rt_status load_built(builder *b, rt_checkpoint *out, rt_error *err)
{
    char path[600];
    path_in(path, sizeof path, "built.safetensors");
    rt_status st = rt_safetensors_write(path, b->t, b->count, b->keys, b->values, b->meta, err);
    CHECKF(st == RT_OK, "writing the test file: %s", err->message);
    memset(out, 0xa5, sizeof *out); /* load must reset it */
    st = rt_checkpoint_load(path, net, 0, out, err);
    unlink(path);
    if (st != RT_OK)
        CHECKF(is_zeroed(out), "*out zeroed after a failed load (%s)", err->message);
    return st;
}

static void test_weights_only(void)
{
    rt_checkpoint ck, back;
    make_checkpoint(&ck);
    builder b;
    build(&b, &ck, 0);
    rt_error err = {0};
    /* no metadata at all (safetensors.torch.save_file(model.state_dict())) */
    rt_status st = load_built(&b, &back, &err);
    CHECKF(st == RT_OK, "weights only: %s", err.message);
    if (st == RT_OK) {
        CHECK(back.has_training_state == 0 && !back.adam_m && !back.adam_v);
        CHECK(same_bits(back.params, ck.params, flat * sizeof(float)));
        rt_checkpoint_free(&back);
    }
    /* foreign metadata is ignored */
    set_meta(&b, "format", "pt");
    set_meta(&b, "trained_by", "pytorch");
    st = load_built(&b, &back, &err);
    CHECKF(st == RT_OK && back.has_training_state == 0, "foreign metadata: %s", err.message);
    rt_checkpoint_free(&back);
    unbuild(&b);
    free_made(&ck);
}

static char *encode(const float *values, size_t n)
{
    unsigned char *bytes = malloc(n * 4 + 1);
    for (size_t i = 0; i < n; i++)
        rt_io_store_le_f32(bytes + 4 * i, values[i]);
    char *text = malloc(rt_base64_encoded_size(n * 4) + 1);
    rt_base64_encode(bytes, n * 4, text);
    free(bytes);
    return text;
}

/* The moment in file order (no gaps), with element `index` of tensor
 * `tensor` set to value. */
static char *moment_with(const float *flat_moment, int tensor, size_t index, float value, size_t n)
{
    float *packed = malloc(42790 * sizeof *packed + 64);
    size_t o = 0;
    for (int t = 0; t < 14; t++) {
        const rt_tensor_info *p = rt_network_tensor(net, t);
        for (size_t i = 0; i < p->count; i++)
            packed[o++] = (t == tensor && i == index) ? value : flat_moment[p->offset + i];
    }
    packed[42790] = 0.5f;
    char *text = encode(packed, n);
    free(packed);
    return text;
}

typedef struct meta_case {
    const char *key, *value; /* value NULL: remove the key */
    rt_status status;
    const char *expect;
} meta_case;

static void test_rejections(void)
{
    rt_checkpoint ck, back;
    make_checkpoint(&ck);
    rt_error err = {0};
    builder b;

    /* a missing tensor */
    build(&b, &ck, 1);
    b.t[0] = b.t[--b.count]; /* drops full_c.bias (written first) */
    EXPECT_ERROR(load_built(&b, &back, &err), &err, RT_ERR_FORMAT, "tensor 'full_c.bias'",
                 "missing");
    unbuild(&b);

    /* an extra tensor */
    build(&b, &ck, 1);
    static float extra[3];
    b.t[b.count++] = (rt_tensor_view){"extra.weight", RT_DTYPE_F32, 1, {3}, extra, sizeof extra};
    EXPECT_ERROR(load_built(&b, &back, &err), &err, RT_ERR_FORMAT, "unexpected tensor 'extra.weight'");
    unbuild(&b);

    /* a wrong shape (same element count) */
    build(&b, &ck, 1);
    rt_tensor_view *w = find(&b, "conv1.weight");
    w->ndim = 3;
    w->shape[2] = 25;
    w->shape[3] = 0;
    EXPECT_ERROR(load_built(&b, &back, &err), &err, RT_ERR_FORMAT, "tensor 'conv1.weight'",
                 "shape [20, 1, 25], expected [20, 1, 5, 5]");
    w->ndim = 4;
    w->shape[2] = 5;
    w->shape[3] = 5;
    w = find(&b, "full_c.weight");
    w->shape[0] = 375;
    w->shape[1] = 10;
    EXPECT_ERROR(load_built(&b, &back, &err), &err, RT_ERR_FORMAT, "tensor 'full_c.weight'",
                 "shape [375, 10], expected [10, 375]");
    unbuild(&b);

    /* a wrong dtype */
    build(&b, &ck, 1);
    static double as_f64[15];
    w = find(&b, "conv2.bias");
    w->dtype = RT_DTYPE_F64;
    w->data = as_f64;
    w->bytes = sizeof as_f64;
    EXPECT_ERROR(load_built(&b, &back, &err), &err, RT_ERR_FORMAT, "tensor 'conv2.bias'",
                 "dtype F64, expected F32");
    unbuild(&b);

    /* NaN and Inf in weights */
    int rb = rt_network_tensor_find(net, "resblock1.conv2.weight");
    size_t at = rt_network_tensor(net, rb)->offset + 7;
    float saved = ck.params[at];
    ck.params[at] = NAN;
    build(&b, &ck, 0);
    EXPECT_ERROR(load_built(&b, &back, &err), &err, RT_ERR_NUMERIC,
                 "tensor 'resblock1.conv2.weight' element 7 is NaN");
    /* and saving refuses it */
    char path[600];
    path_in(path, sizeof path, "nan.safetensors");
    EXPECT_ERROR(rt_checkpoint_save(path, &ck, &err), &err, RT_ERR_NUMERIC, "cannot save",
                 "tensor 'resblock1.conv2.weight' element 7 is NaN");
    CHECK(access(path, F_OK) != 0);
    ck.params[at] = -INFINITY;
    EXPECT_ERROR(load_built(&b, &back, &err), &err, RT_ERR_NUMERIC,
                 "tensor 'resblock1.conv2.weight' element 7 is -Inf");
    ck.params[at] = saved;
    unbuild(&b);

    /* Inf in a moment, negative second moment, wrong lengths, bad base64 */
    int fc = rt_network_tensor_find(net, "full_c.weight");
    char *m_inf = moment_with(ck.adam_v, fc, 11, INFINITY, 42790);
    char *m_nan = moment_with(ck.adam_m, 0, 0, NAN, 42790);
    char *v_neg = moment_with(ck.adam_v, 1, 3, -1e-9f, 42790);
    char *short_m = moment_with(ck.adam_m, -1, 0, 0, 42790 - 1);
    char *long_v = moment_with(ck.adam_v, -1, 0, 0, 42790 + 1);
    char *bad_b64 = moment_with(ck.adam_m, -1, 0, 0, 42790);
    bad_b64[100] = '*';
    char *cut_b64 = moment_with(ck.adam_m, -1, 0, 0, 42790);
    cut_b64[strlen(cut_b64) - 1] = '\0';

    const meta_case cases[] = {
        {"resnet_train.adam_v", m_inf, RT_ERR_NUMERIC,
         "resnet_train.adam_v (Adam second moment) of tensor 'full_c.weight' element 11 is +Inf"},
        {"resnet_train.adam_m", m_nan, RT_ERR_NUMERIC,
         "resnet_train.adam_m (Adam first moment) of tensor 'conv1.weight' element 0 is NaN"},
        {"resnet_train.adam_v", v_neg, RT_ERR_FORMAT,
         "adam_v (Adam second moment) of tensor 'conv1.bias' element 3 is negative"},
        {"resnet_train.adam_m", short_m, RT_ERR_FORMAT, "resnet_train.adam_m holds 171156 bytes"},
        {"resnet_train.adam_v", long_v, RT_ERR_FORMAT, "expected 42790 floats (wrong length)"},
        {"resnet_train.adam_m", bad_b64, RT_ERR_FORMAT,
         "resnet_train.adam_m is not valid base64 (at character 100)"},
        {"resnet_train.adam_m", cut_b64, RT_ERR_FORMAT, "resnet_train.adam_m is not base64"},
        {"resnet_train.adam_m", "", RT_ERR_FORMAT, "wrong length"},
        {"resnet_train.adam_v", NULL, RT_ERR_FORMAT, "resnet_train.adam_v is missing"},
        {"resnet_train.batch_size", "0", RT_ERR_FORMAT,
         "resnet_train.batch_size = \"0\" is out of range (1..65536)"},
        {"resnet_train.batch_size", "65537", RT_ERR_FORMAT, "out of range (1..65536)"},
        {"resnet_train.batch_size", "64.0", RT_ERR_FORMAT, "batch_size = \"64.0\" is not an integer"},
        {"resnet_train.batch_size", " 64", RT_ERR_FORMAT, "is not an integer"},
        {"resnet_train.batch_size", "", RT_ERR_FORMAT, "is not an integer"},
        {"resnet_train.epochs", "-1", RT_ERR_FORMAT, "resnet_train.epochs = \"-1\" is out of range"},
        {"resnet_train.epochs", "2", RT_ERR_FORMAT, "resnet_train.epoch = 3 is past resnet_train.epochs = 2"},
        {"resnet_train.cursor", "12x", RT_ERR_FORMAT, "resnet_train.cursor = \"12x\" is not an integer"},
        {"resnet_train.cursor", "-5", RT_ERR_FORMAT, "resnet_train.cursor = \"-5\" is out of range"},
        {"resnet_train.cursor", "2147483648", RT_ERR_FORMAT, "out of range"},
        {"resnet_train.steps", "99999999999999999999", RT_ERR_FORMAT, "is not an integer"},
        {"resnet_train.steps", NULL, RT_ERR_FORMAT, "metadata resnet_train.steps is missing"},
        {"resnet_train.seed", "-5", RT_ERR_FORMAT, "resnet_train.seed = \"-5\" is not an unsigned"},
        {"resnet_train.seed", "18446744073709551616", RT_ERR_FORMAT, "not an unsigned 64-bit"},
        {"resnet_train.shuffle", "2", RT_ERR_FORMAT, "resnet_train.shuffle = \"2\" is out of range (0..1)"},
        {"resnet_train.lr", "abc", RT_ERR_FORMAT, "resnet_train.lr = \"abc\" is not a finite number"},
        {"resnet_train.lr", "nan", RT_ERR_FORMAT, "is not a finite number"},
        {"resnet_train.lr", "inf", RT_ERR_FORMAT, "is not a finite number"},
        {"resnet_train.lr", "1e39", RT_ERR_FORMAT, "is not a finite number"},
        {"resnet_train.lr", "0x1p-3", RT_ERR_FORMAT, "is not a finite number"},
        {"resnet_train.lr", "0", RT_ERR_FORMAT, "resnet_train.lr = \"0\" is out of range (must be > 0)"},
        {"resnet_train.lr", "-0.001", RT_ERR_FORMAT, "out of range (must be > 0)"},
        {"resnet_train.adam_beta2", "1", RT_ERR_FORMAT,
         "resnet_train.adam_beta2 = \"1\" is out of range (must be in [0, 1))"},
        {"resnet_train.adam_beta1", "-0.1", RT_ERR_FORMAT, "must be in [0, 1)"},
        {"resnet_train.adam_eps", "0", RT_ERR_FORMAT, "adam_eps = \"0\" is out of range (must be > 0)"},
        {"resnet_train.adam_weight_decay", "-1", RT_ERR_FORMAT, "must be >= 0"},
        {"resnet_train.lr_gamma", "0", RT_ERR_FORMAT, "lr_gamma = \"0\" is out of range"},
        {"resnet_train.lr_step_size", "-1", RT_ERR_FORMAT, "lr_step_size = \"-1\" is out of range"},
        {"resnet_train.epoch_rng", "1,2,3", RT_ERR_FORMAT,
         "resnet_train.epoch_rng = \"1,2,3\" is not 4 comma-separated hex words"},
        {"resnet_train.epoch_rng", "0,0,0,0", RT_ERR_FORMAT, "not all zero"},
        {"resnet_train.epoch_rng", "1,2,3,10000000000000000", RT_ERR_FORMAT, "epoch_rng"},
        {"resnet_train.epoch_rng", "1,2,3,4,5", RT_ERR_FORMAT, "epoch_rng"},
        {"resnet_train.epoch_rng", "1,2,,4", RT_ERR_FORMAT, "epoch_rng"},
        {"resnet_train.epoch_rng", "1,2,3,g", RT_ERR_FORMAT, "epoch_rng"},
        {"resnet_train.format_version", "6", RT_ERR_FORMAT,
         "checkpoint format version 6 is not supported (this build reads versions 1 to 5)"},
        {"resnet_train.format_version", "1", RT_ERR_FORMAT,
         "a version 1 checkpoint has no resnet_train.network"},
        {"resnet_train.network", NULL, RT_ERR_FORMAT, "metadata resnet_train.network is missing"},
        {"resnet_train.network", "{\"name\": \"seed\"", RT_ERR_FORMAT,
         "metadata resnet_train.network: not valid JSON"},
        {"resnet_train.network", "{\"name\": \"x\", \"layers\": [{\"type\": \"relu\"}]}",
         RT_ERR_USAGE, "the input's channels are not known"},
        {"resnet_train.adam_file", "ck.adam-1", RT_ERR_FORMAT, "adam_crc32"},
        {"resnet_train.format_version", "one", RT_ERR_FORMAT, "format_version = \"one\""},
        {"resnet_train.format_version", NULL, RT_ERR_FORMAT, "resnet_train.format_version is missing"},
        {"resnet_train.colour", "blue", RT_ERR_FORMAT, "unknown metadata key 'resnet_train.colour'"},
        {"resnet_train.ranks", "0", RT_ERR_FORMAT, "resnet_train.ranks = \"0\" is out of range"},
        {"resnet_train.ranks", NULL, RT_ERR_FORMAT, "metadata resnet_train.ranks is missing"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        build(&b, &ck, 1);
        set_meta(&b, cases[i].key, cases[i].value);
        rt_status st = load_built(&b, &back, &err);
        printf("%s=%.20s -> %s\n", cases[i].key, cases[i].value ? cases[i].value : "(removed)",
               err.message);
        CHECKF(st == cases[i].status, "case %zu (%s): status %s", i, cases[i].key,
               rt_status_name(st));
        CHECKF(strstr(err.message, cases[i].expect) != NULL, "case %zu: \"%s\" lacks \"%s\"", i,
               err.message, cases[i].expect);
        CHECKF(strstr(err.message, "built.safetensors") != NULL, "case %zu names the file", i);
        if (st == RT_OK)
            rt_checkpoint_free(&back);
        unbuild(&b);
    }
    /* the unmodified build loads (the cases above fail for their reason) */
    build(&b, &ck, 1);
    rt_status st = load_built(&b, &back, &err);
    CHECKF(st == RT_OK && back.has_training_state, "unmodified: %s", err.message);
    if (st == RT_OK) {
        CHECK(same_bits(back.adam_v, ck.adam_v, flat * sizeof(float)));
        rt_checkpoint_free(&back);
    }
    /* a format 4 file (no ranks key) was trained by one process */
    unbuild(&b);
    build(&b, &ck, 1);
    set_meta(&b, "resnet_train.ranks", NULL);
    set_meta(&b, "resnet_train.format_version", "4");
    st = load_built(&b, &back, &err);
    CHECKF(st == RT_OK && back.position.ranks == 1, "format 4: %s", err.message);
    if (st == RT_OK)
        rt_checkpoint_free(&back);
    /* values from the far ends of their ranges are accepted */
    set_meta(&b, "resnet_train.epoch", "0");
    set_meta(&b, "resnet_train.epochs", "0");
    set_meta(&b, "resnet_train.cursor", "2147483647");
    set_meta(&b, "resnet_train.steps", "9223372036854775807");
    set_meta(&b, "resnet_train.seed", "0");
    set_meta(&b, "resnet_train.adam_beta1", "0");
    set_meta(&b, "resnet_train.epoch_rng", "ffffffffffffffff,0,0,0");
    st = load_built(&b, &back, &err);
    CHECKF(st == RT_OK, "extremes: %s", err.message);
    if (st == RT_OK) {
        CHECK(back.position.cursor == INT32_MAX && back.position.steps == INT64_MAX &&
              back.config.seed == 0 && back.position.epoch_rng.s[0] == UINT64_MAX);
        rt_checkpoint_free(&back);
    }
    unbuild(&b);

    free(m_inf);
    free(m_nan);
    free(v_neg);
    free(short_m);
    free(long_v);
    free(bad_b64);
    free(cut_b64);

    /* saving checks the training state too */
    path_in(path, sizeof path, "bad-state.safetensors");
    ck.config.batch_size = 0;
    EXPECT_ERROR(rt_checkpoint_save(path, &ck, &err), &err, RT_ERR_FORMAT, "cannot save",
                 "resnet_train.batch_size = 0 is out of range");
    ck.config.batch_size = 64;
    ck.adam_v[rt_network_tensor(net, 2)->offset + 4] = -1.0f;
    EXPECT_ERROR(rt_checkpoint_save(path, &ck, &err), &err, RT_ERR_FORMAT, "cannot save",
                 "tensor 'conv2.weight' element 4 is negative");
    ck.adam_v[rt_network_tensor(net, 2)->offset + 4] = 0.0f;
    float *m = ck.adam_m;
    ck.adam_m = NULL;
    EXPECT_ERROR(rt_checkpoint_save(path, &ck, &err), &err, RT_ERR_USAGE, "without Adam moments");
    ck.adam_m = m;
    CHECK(access(path, F_OK) != 0);
    /* a folder that does not exist */
    path_in(path, sizeof path, "nowhere/ck.safetensors");
    EXPECT_ERROR(rt_checkpoint_save(path, &ck, &err), &err, RT_ERR_IO, path,
                 "cannot create a temporary file");
    /* not a safetensors file at all */
    path_in(path, sizeof path, "junk.safetensors");
    CHECK(io_write_bytes(path, "hello, world", 12) == 0);
    EXPECT_ERROR(rt_checkpoint_load(path, net, 0, &back, &err), &err, RT_ERR_FORMAT, path, "absurd");
    CHECK(is_zeroed(&back));
    unlink(path);
    free_made(&ck);
}

/* A network with BatchNorm: its running statistics and counters go in
 * as F32 and I64 tensors, in state_dict order, and come back bit for bit;
 * a checkpoint loads as its own network, and a --model that differs is
 * refused, naming both. */
static void test_networks(void)
{
    rt_network *small = rt_test_small_resnet();
    rt_checkpoint ck, back;
    make_checkpoint(&ck);
    free(ck.params), free(ck.adam_m), free(ck.adam_v), free(ck.buffers), free(ck.counters);
    ck.network = small;
    size_t f = rt_network_params_size(small), nb = rt_network_buffers_size(small);
    size_t nc = rt_network_counter_count(small);
    ck.params = calloc(f, sizeof(float));
    ck.adam_m = calloc(f, sizeof(float));
    ck.adam_v = calloc(f, sizeof(float));
    ck.buffers = calloc(nb, sizeof(float));
    ck.counters = calloc(nc, sizeof(int64_t));
    rt_rng rng;
    rt_rng_seed(&rng, 77);
    for (int t = 0; t < rt_network_tensor_count(small); t++) {
        const rt_tensor_info *p = rt_network_tensor(small, t);
        if (p->role == RT_TENSOR_COUNTER) {
            ck.counters[p->offset] = 1000 + t;
            continue;
        }
        float *dst = (p->role == RT_TENSOR_PARAMETER ? ck.params : ck.buffers) + p->offset;
        rt_test_fill(&rng, dst, p->count, 0.25f, 2.0f);
        if (p->role == RT_TENSOR_PARAMETER) {
            rt_test_fill(&rng, ck.adam_m + p->offset, p->count, -1e-3f, 1e-3f);
            rt_test_fill(&rng, ck.adam_v + p->offset, p->count, 0.0f, 1e-6f);
        }
    }
    char path[600];
    path_in(path, sizeof path, "small.safetensors");
    rt_error err = {0};
    CHECKF(rt_checkpoint_save(path, &ck, &err) == RT_OK, "save: %s", err.message);
    /* its own network, whatever the fallback, when nothing must match */
    rt_status st = rt_checkpoint_load(path, net, 0, &back, &err);
    CHECKF(st == RT_OK, "load: %s", err.message);
    if (st == RT_OK) {
        CHECK(strcmp(rt_network_json(back.network), rt_network_json(small)) == 0);
        CHECK(same_bits(back.params, ck.params, f * sizeof(float)));
        CHECK(same_bits(back.buffers, ck.buffers, nb * sizeof(float)));
        CHECK(same_bits(back.counters, ck.counters, nc * sizeof(int64_t)));
        CHECK(same_bits(back.adam_v, ck.adam_v, f * sizeof(float)));
        rt_checkpoint_free(&back);
    }
    EXPECT_ERROR(rt_checkpoint_load(path, net, 1, &back, &err), &err, RT_ERR_USAGE,
                 "holds a 'small-resnet' network, not the 'seed' of --model");
    /* the tensors as PyTorch reads them: the counters are I64 scalars */
    rt_safetensors *sf;
    if (rt_safetensors_read(path, &sf, &err) == RT_OK) {
        const rt_tensor_view *t = rt_safetensors_find(sf, "stem_bn.num_batches_tracked");
        CHECK(t && t->dtype == RT_DTYPE_I64 && t->ndim == 0 && t->bytes == 8);
        t = rt_safetensors_find(sf, "block3.downsample.1.running_var");
        CHECK(t && t->dtype == RT_DTYPE_F32 && t->ndim == 1 && t->shape[0] == 32);
        CHECK(rt_safetensors_count(sf) == rt_network_tensor_count(small));
        for (int i = 0; i < rt_safetensors_count(sf); i++)
            CHECKF(!strcmp(rt_safetensors_tensor(sf, i)->name, rt_network_tensor(small, i)->name),
                   "tensor %d in state_dict order", i);
        rt_safetensors_free(sf);
    }
    /* a negative running variance or counter is refused both ways */
    int rv = rt_network_tensor_find(small, "stem_bn.running_var");
    ck.buffers[rt_network_tensor(small, rv)->offset + 2] = -0.5f;
    EXPECT_ERROR(rt_checkpoint_save(path, &ck, &err), &err, RT_ERR_FORMAT,
                 "tensor 'stem_bn.running_var' element 2 is negative");
    ck.buffers[rt_network_tensor(small, rv)->offset + 2] = 0.5f;
    int nbt = rt_network_tensor_find(small, "block1.bn2.num_batches_tracked");
    ck.counters[rt_network_tensor(small, nbt)->offset] = -1;
    EXPECT_ERROR(rt_checkpoint_save(path, &ck, &err), &err, RT_ERR_FORMAT,
                 "tensor 'block1.bn2.num_batches_tracked' is negative");
    unlink(path);
    ck.network = NULL;
    free_made(&ck);
    rt_network_free(small);
}

/* Moments too large for the header go beside the checkpoint, named in its
 * metadata with their CRC-32: saved, loaded, a stale or missing file
 * refused, older ones removed. A network of 6.4M parameters (two linear
 * layers) is past the 64 MiB of base64 kept inline. */
static void test_moments_beside(void)
{
    char json_path[600], path[600], other[700];
    path_in(json_path, sizeof json_path, "wide.json");
    static const char WIDE[] =
        "{\"name\": \"wide\", \"layers\": [{\"type\": \"flatten\"},"
        " {\"name\": \"a\", \"type\": \"linear\", \"out_features\": 8200},"
        " {\"name\": \"b\", \"type\": \"linear\"}]}";
    CHECK(io_write_bytes(json_path, WIDE, strlen(WIDE)) == 0);
    rt_network *wide = rt_test_network(json_path);
    unlink(json_path);
    size_t f = rt_network_params_size(wide);
    rt_checkpoint ck, back;
    make_checkpoint(&ck);
    free(ck.params), free(ck.adam_m), free(ck.adam_v);
    ck.network = wide;
    ck.params = calloc(f, sizeof(float));
    ck.adam_m = calloc(f, sizeof(float));
    ck.adam_v = calloc(f, sizeof(float));
    for (int t = 0; t < rt_network_tensor_count(wide); t++) { /* the gaps stay 0 */
        const rt_tensor_info *p = rt_network_tensor(wide, t);
        for (size_t i = p->offset; i < p->offset + p->count; i++) {
            ck.params[i] = (float)(i % 97) * 1e-3f;
            ck.adam_m[i] = (float)(i % 13) * -1e-4f;
            ck.adam_v[i] = (float)(i % 7) * 1e-7f;
        }
    }
    path_in(path, sizeof path, "wide.safetensors");
    rt_error err = {0};
    CHECKF(rt_checkpoint_save(path, &ck, &err) == RT_OK, "save: %s", err.message);
    snprintf(other, sizeof other, "%s.adam-5678901234", path);
    CHECKF(access(other, F_OK) == 0, "the moments file %s is there", other);
    rt_status st = rt_checkpoint_load(path, NULL, 0, &back, &err);
    CHECKF(st == RT_OK, "load: %s", err.message);
    if (st == RT_OK) {
        CHECK(same_bits(back.adam_m, ck.adam_m, f * sizeof(float)));
        CHECK(same_bits(back.adam_v, ck.adam_v, f * sizeof(float)));
        rt_checkpoint_free(&back);
    }
    rt_safetensors *sf;
    if (rt_safetensors_read(path, &sf, &err) == RT_OK) {
        CHECK(rt_safetensors_metadata(sf, "resnet_train.adam_m") == NULL);
        const char *name = rt_safetensors_metadata(sf, "resnet_train.adam_file");
        CHECK(name && !strcmp(name, "wide.safetensors.adam-5678901234"));
        rt_safetensors_free(sf);
    }
    /* a later save writes its own file and removes the older one */
    char older[700];
    snprintf(older, sizeof older, "%s", other);
    ck.position.steps = 5678901300LL;
    ck.adam_m[3] = 0.25f;
    CHECKF(rt_checkpoint_save(path, &ck, &err) == RT_OK, "save again: %s", err.message);
    snprintf(other, sizeof other, "%s.adam-5678901300", path);
    CHECK(access(other, F_OK) == 0 && access(older, F_OK) != 0);
    /* the moments file of another save under this one's name: CRC refused */
    char copy[800];
    snprintf(copy, sizeof copy, "%s.keep", other);
    CHECK(rename(other, copy) == 0);
    EXPECT_ERROR(rt_checkpoint_load(path, NULL, 0, &back, &err), &err, RT_ERR_IO,
                 "its Adam moments", "cannot open");
    ck.adam_m[3] = 0.5f;
    ck.position.steps = 5678901400LL;
    CHECK(rt_checkpoint_save(path, &ck, &err) == RT_OK); /* writes .adam-5678901400 */
    char newest[800];
    snprintf(newest, sizeof newest, "%s.adam-5678901400", path);
    CHECK(rename(copy, newest) == 0); /* the 5678901300 moments under the new name */
    EXPECT_ERROR(rt_checkpoint_load(path, NULL, 0, &back, &err), &err, RT_ERR_FORMAT,
                 "CRC-32", "a moments file of another save");
    unlink(newest);
    unlink(path);
    ck.network = NULL;
    free_made(&ck);
    rt_network_free(wide);
}

int main(void)
{
    if (rt_test_tempdir(dir, sizeof dir) != 0) {
        fprintf(stderr, "cannot make a temporary folder\n");
        return 1;
    }
    net = rt_test_network("seed");
    flat = rt_network_params_size(net);
    test_round_trip();
    test_weights_only();
    test_rejections();
    test_networks();
    test_moments_beside();
    rt_network_free(net);
    rmdir(dir);
    return rt_test_finish("test_checkpoint");
}
