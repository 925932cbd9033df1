/* The recipe's options (optimiser, schedule, loss, augmentation, --recipe)
 * and how the ones given on the command line override a preset or a
 * resumed checkpoint's recipe. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "options.h"

#define TRY_PARSE(call)                  \
    do {                                 \
        rt_status st_ = (call);          \
        if (st_ != RT_OK)                \
            return st_;                  \
    } while (0)

#define F(member) offsetof(rt_train_config, member), sizeof(((rt_train_config *)0)->member)

/* Which fields each given bit carries over. */
static const struct given_field {
    unsigned bit;
    size_t offset, size;
} GIVEN_FIELDS[] = {
    {CLI_GIVEN_EPOCHS, F(epochs)},
    {CLI_GIVEN_BATCH_SIZE, F(batch_size)},
    {CLI_GIVEN_LR, F(lr)},
    {CLI_GIVEN_SHUFFLE, F(shuffle)},
    {CLI_GIVEN_SEED, F(seed)},
    {CLI_GIVEN_LR_STEP_SIZE, F(lr_step_size)},
    {CLI_GIVEN_LR_GAMMA, F(lr_gamma)},
    {CLI_GIVEN_OPTIMIZER, F(optimizer)},
    {CLI_GIVEN_MOMENTUM, F(momentum)},
    {CLI_GIVEN_DAMPENING, F(dampening)},
    {CLI_GIVEN_NESTEROV, F(nesterov)},
    {CLI_GIVEN_WEIGHT_DECAY, F(adam.weight_decay)},
    {CLI_GIVEN_NO_DECAY_NORM_BIAS, F(no_decay_norm_bias)},
    {CLI_GIVEN_SCHEDULE, F(schedule)},
    {CLI_GIVEN_SCHEDULE_PER, F(schedule_per_step)},
    {CLI_GIVEN_MILESTONES, F(milestones)},
    {CLI_GIVEN_MILESTONES, F(milestone_count)},
    {CLI_GIVEN_ETA_MIN, F(eta_min)},
    {CLI_GIVEN_PCT_START, F(pct_start)},
    {CLI_GIVEN_DIV_FACTOR, F(div_factor)},
    {CLI_GIVEN_FINAL_DIV_FACTOR, F(final_div_factor)},
    {CLI_GIVEN_WARMUP, F(warmup)},
    {CLI_GIVEN_WARMUP_START, F(warmup_start)},
    {CLI_GIVEN_LABEL_SMOOTHING, F(label_smoothing)},
    {CLI_GIVEN_CROP_PAD, F(crop_pad)},
    {CLI_GIVEN_FLIP, F(flip)},
    {CLI_GIVEN_RESIZED_CROP, F(resized_crop)},
    {CLI_GIVEN_CROP_SCALE, F(crop_scale)},
    {CLI_GIVEN_NORMALIZE, F(normalize)},
    {CLI_GIVEN_NORMALIZE, F(mean)},
    {CLI_GIVEN_NORMALIZE, F(std)},
};

void cli_apply_given(const cli_options *o, rt_train_config *cfg)
{
    for (size_t i = 0; i < sizeof GIVEN_FIELDS / sizeof GIVEN_FIELDS[0]; i++) {
        const struct given_field *g = &GIVEN_FIELDS[i];
        if (o->given & g->bit)
            memcpy((char *)cfg + g->offset, (const char *)&o->train + g->offset, g->size);
    }
}

/* "32000,48000" */
static rt_status parse_milestones(const char *v, rt_train_config *cfg, rt_error *err)
{
    int n = 0;
    const char *p = v;
    while (*p) {
        char item[32];
        size_t len = strcspn(p, ",");
        if (len == 0 || len >= sizeof item || n == RT_MAX_MILESTONES)
            return rt_error_set(err, RT_ERR_USAGE,
                                "--milestones: '%s' is not up to %d comma-separated counts", v,
                                RT_MAX_MILESTONES);
        memcpy(item, p, len);
        item[len] = '\0';
        TRY_PARSE(rt_parse_int("--milestones", item, 1, 1 << 30, &cfg->milestones[n], err));
        n++;
        p += len;
        if (*p == ',' && *++p == '\0')
            return rt_error_set(err, RT_ERR_USAGE, "--milestones: '%s' ends with a comma", v);
    }
    if (n == 0)
        return rt_error_set(err, RT_ERR_USAGE, "--milestones: no value");
    cfg->milestone_count = n;
    return RT_OK;
}

/* "M,S" for every channel, or "M1,..,Mc,S1,..,Sc" (c up to RT_MAX_CHANNELS). */
/* "0.08,1" */
static rt_status parse_crop_scale(const char *v, rt_train_config *cfg, rt_error *err)
{
    char lo[32], hi[32];
    size_t len = strcspn(v, ",");
    if (len == 0 || len >= sizeof lo || v[len] != ',' || strlen(v + len + 1) >= sizeof hi ||
        strchr(v + len + 1, ','))
        return rt_error_set(err, RT_ERR_USAGE, "--crop-scale: '%s' is not LOW,HIGH", v);
    memcpy(lo, v, len);
    lo[len] = '\0';
    strcpy(hi, v + len + 1);
    TRY_PARSE(rt_parse_float("--crop-scale", lo, 1e-6, 1.0, &cfg->crop_scale[0], err));
    TRY_PARSE(rt_parse_float("--crop-scale", hi, 1e-6, 1.0, &cfg->crop_scale[1], err));
    if (cfg->crop_scale[0] > cfg->crop_scale[1])
        return rt_error_set(err, RT_ERR_USAGE, "--crop-scale: LOW %s is above HIGH %s", lo, hi);
    return RT_OK;
}

static rt_status parse_normalize(const char *v, rt_train_config *cfg, cli_options *o,
                                 rt_error *err)
{
    if (!strcmp(v, "default")) {
        o->normalize_default = 1;
        cfg->normalize = 1;
        return RT_OK;
    }
    float values[2 * RT_MAX_CHANNELS];
    int n = 0;
    const char *p = v;
    while (*p) {
        char item[32];
        size_t len = strcspn(p, ",");
        if (len == 0 || len >= sizeof item || n == 2 * RT_MAX_CHANNELS)
            return rt_error_set(err, RT_ERR_USAGE,
                                "--normalize: '%s' is not MEAN,STD or one mean per channel then "
                                "one deviation per channel", v);
        memcpy(item, p, len);
        item[len] = '\0';
        TRY_PARSE(rt_parse_float("--normalize", item, -1e6, 1e6, &values[n], err));
        n++;
        p += len;
        if (*p == ',')
            p++;
    }
    if (n < 2 || n % 2)
        return rt_error_set(err, RT_ERR_USAGE,
                            "--normalize: '%s' needs as many deviations as means", v);
    int c = n / 2;
    for (int k = 0; k < RT_MAX_CHANNELS; k++) {
        cfg->mean[k] = values[c == 1 ? 0 : (k < c ? k : c - 1)];
        cfg->std[k] = values[c == 1 ? 1 : c + (k < c ? k : c - 1)];
        if (!(cfg->std[k] > 0.0f))
            return rt_error_set(err, RT_ERR_USAGE, "--normalize: a deviation is not positive in '%s'",
                                v);
    }
    o->normalize_channels = c;
    o->normalize_default = 0;
    cfg->normalize = 1;
    return RT_OK;
}

static const char *const RECIPE_OPTIONS[] = {
    "--recipe", "--print-recipe", "--optimizer", "--momentum", "--dampening", "--nesterov",
    "--weight-decay", "--no-decay-norm-bias", "--schedule", "--schedule-per", "--milestones",
    "--eta-min", "--pct-start", "--div-factor", "--final-div-factor", "--warmup",
    "--warmup-start", "--label-smoothing", "--crop-pad", "--flip", "--no-flip", "--normalize",
    "--no-normalize", "--no-shuffle", "--random-resized-crop", "--no-random-resized-crop",
    "--crop-scale", NULL};

int cli_is_recipe_option(const char *a)
{
    for (int i = 0; RECIPE_OPTIONS[i]; i++)
        if (!strcmp(a, RECIPE_OPTIONS[i]))
            return 1;
    return 0;
}

int cli_parse_recipe_option(int argc, char **argv, int *i, cli_options *o, rt_error *err,
                            rt_status *st)
{
    const char *a = argv[*i];
    const char *v = NULL;
    rt_train_config *cfg = &o->train;
    *st = RT_OK;
#define VALUE()                                                                          \
    do {                                                                                 \
        if (*i + 1 >= argc) {                                                            \
            *st = rt_error_set(err, RT_ERR_USAGE, "%s needs a value", a);                \
            return 1;                                                                    \
        }                                                                                \
        v = argv[++*i];                                                                  \
    } while (0)
    if (!strcmp(a, "--recipe")) {
        VALUE();
        o->recipe = v;
    } else if (!strcmp(a, "--print-recipe")) {
        o->print_recipe = 1;
    } else if (!strcmp(a, "--optimizer")) {
        VALUE();
        if (!rt_optimizer_parse(v, &cfg->optimizer))
            *st = rt_error_set(err, RT_ERR_USAGE,
                               "--optimizer: unknown optimiser '%s' (expected adam, adamw or sgd)",
                               v);
        o->given |= CLI_GIVEN_OPTIMIZER;
    } else if (!strcmp(a, "--momentum")) {
        VALUE();
        *st = rt_parse_float(a, v, 0.0, 0.999999, &cfg->momentum, err);
        o->given |= CLI_GIVEN_MOMENTUM;
    } else if (!strcmp(a, "--dampening")) {
        VALUE();
        *st = rt_parse_float(a, v, 0.0, 1.0, &cfg->dampening, err);
        o->given |= CLI_GIVEN_DAMPENING;
    } else if (!strcmp(a, "--nesterov")) {
        cfg->nesterov = 1;
        o->given |= CLI_GIVEN_NESTEROV;
    } else if (!strcmp(a, "--weight-decay")) {
        VALUE();
        *st = rt_parse_float(a, v, 0.0, 1.0, &cfg->adam.weight_decay, err);
        o->given |= CLI_GIVEN_WEIGHT_DECAY;
    } else if (!strcmp(a, "--no-decay-norm-bias")) {
        cfg->no_decay_norm_bias = 1;
        o->given |= CLI_GIVEN_NO_DECAY_NORM_BIAS;
    } else if (!strcmp(a, "--schedule")) {
        VALUE();
        if (!rt_schedule_parse(v, &cfg->schedule))
            *st = rt_error_set(err, RT_ERR_USAGE,
                               "--schedule: unknown schedule '%s' (expected constant, step, "
                               "multistep, cosine or onecycle)", v);
        o->given |= CLI_GIVEN_SCHEDULE;
    } else if (!strcmp(a, "--schedule-per")) {
        VALUE();
        if (!strcmp(v, "step") || !strcmp(v, "epoch"))
            cfg->schedule_per_step = !strcmp(v, "step");
        else
            *st = rt_error_set(err, RT_ERR_USAGE, "--schedule-per: '%s' is not step or epoch", v);
        o->given |= CLI_GIVEN_SCHEDULE_PER;
    } else if (!strcmp(a, "--milestones")) {
        VALUE();
        *st = parse_milestones(v, cfg, err);
        o->given |= CLI_GIVEN_MILESTONES;
    } else if (!strcmp(a, "--eta-min")) {
        VALUE();
        *st = rt_parse_float(a, v, 0.0, 1e3, &cfg->eta_min, err);
        o->given |= CLI_GIVEN_ETA_MIN;
    } else if (!strcmp(a, "--pct-start")) {
        VALUE();
        *st = rt_parse_float(a, v, 1e-6, 0.999999, &cfg->pct_start, err);
        o->given |= CLI_GIVEN_PCT_START;
    } else if (!strcmp(a, "--div-factor")) {
        VALUE();
        *st = rt_parse_float(a, v, 1.0, 1e9, &cfg->div_factor, err);
        o->given |= CLI_GIVEN_DIV_FACTOR;
    } else if (!strcmp(a, "--final-div-factor")) {
        VALUE();
        *st = rt_parse_float(a, v, 1.0, 1e12, &cfg->final_div_factor, err);
        o->given |= CLI_GIVEN_FINAL_DIV_FACTOR;
    } else if (!strcmp(a, "--warmup")) {
        VALUE();
        *st = rt_parse_int(a, v, 0, 1 << 30, &cfg->warmup, err);
        o->given |= CLI_GIVEN_WARMUP;
    } else if (!strcmp(a, "--warmup-start")) {
        VALUE();
        *st = rt_parse_float(a, v, 1e-9, 1.0, &cfg->warmup_start, err);
        o->given |= CLI_GIVEN_WARMUP_START;
    } else if (!strcmp(a, "--label-smoothing")) {
        VALUE();
        *st = rt_parse_float(a, v, 0.0, 0.999999, &cfg->label_smoothing, err);
        o->given |= CLI_GIVEN_LABEL_SMOOTHING;
    } else if (!strcmp(a, "--crop-pad")) {
        VALUE();
        *st = rt_parse_int(a, v, 0, 64, &cfg->crop_pad, err);
        o->given |= CLI_GIVEN_CROP_PAD;
    } else if (!strcmp(a, "--flip") || !strcmp(a, "--no-flip")) {
        cfg->flip = !strcmp(a, "--flip");
        o->given |= CLI_GIVEN_FLIP;
    } else if (!strcmp(a, "--random-resized-crop") || !strcmp(a, "--no-random-resized-crop")) {
        cfg->resized_crop = !strcmp(a, "--random-resized-crop");
        o->given |= CLI_GIVEN_RESIZED_CROP;
    } else if (!strcmp(a, "--crop-scale")) {
        VALUE();
        *st = parse_crop_scale(v, cfg, err);
        o->given |= CLI_GIVEN_CROP_SCALE;
    } else if (!strcmp(a, "--normalize")) {
        VALUE();
        *st = parse_normalize(v, cfg, o, err);
        o->given |= CLI_GIVEN_NORMALIZE;
    } else if (!strcmp(a, "--no-normalize")) {
        cfg->normalize = 0;
        o->normalize_default = 0;
        o->given |= CLI_GIVEN_NORMALIZE;
    } else if (!strcmp(a, "--no-shuffle")) {
        cfg->shuffle = 0;
        o->given |= CLI_GIVEN_SHUFFLE;
    } else {
        return 0;
    }
#undef VALUE
    return 1;
}

rt_status cli_finish_recipe(cli_options *o, rt_error *err)
{
    if (!o->recipe)
        return RT_OK;
    rt_train_config cfg = o->train;
    if (rt_recipe_apply(o->recipe, &cfg, err) != RT_OK)
        return RT_ERR_USAGE;
    /* a preset that normalises takes the data set's values, unless given */
    if (cfg.normalize && !(o->given & CLI_GIVEN_NORMALIZE))
        o->normalize_default = 1;
    cli_apply_given(o, &cfg);
    o->train = cfg;
    return RT_OK;
}

/* A float as the shortest decimal that reads back to it (0.1, not 0.100000001). */
static const char *sf(char buf[32], float x)
{
    for (int digits = 1; digits <= 9; digits++) {
        snprintf(buf, 32, "%.*g", digits, (double)x);
        if (strtof(buf, NULL) == x)
            break;
    }
    return buf;
}

void cli_print_recipe(FILE *out, const rt_train_config *c, const char *name)
{
    char b1[32], b2[32], b3[32];
    fprintf(out, "Recipe %s:\n", name ? name : "(options)");
    fprintf(out, "  epochs %d, batch %d, %s, seed %llu\n", c->epochs, c->batch_size,
            c->shuffle ? "shuffled" : "file order", (unsigned long long)c->seed);
    fprintf(out, "  optimizer %s, lr %s", rt_optimizer_name(c->optimizer), sf(b1, c->lr));
    if (c->optimizer == RT_OPTIMIZER_SGD)
        fprintf(out, ", momentum %s, dampening %s%s", sf(b1, c->momentum), sf(b2, c->dampening),
                c->nesterov ? ", nesterov" : "");
    else
        fprintf(out, ", betas (%s, %s), eps %s", sf(b1, c->adam.beta1), sf(b2, c->adam.beta2),
                sf(b3, c->adam.eps));
    fprintf(out, ", weight decay %s (%s%s)\n", sf(b1, c->adam.weight_decay),
            c->optimizer == RT_OPTIMIZER_ADAMW ? "decoupled" : "coupled",
            c->no_decay_norm_bias ? "; none on BatchNorm parameters and biases" : "");
    rt_schedule s = rt_schedule_effective(c);
    fprintf(out, "  schedule %s per %s", rt_schedule_name(s), c->schedule_per_step ? "step" : "epoch");
    if (s == RT_SCHEDULE_STEP)
        fprintf(out, ", step size %d, gamma %s", c->lr_step_size, sf(b1, c->lr_gamma));
    if (s == RT_SCHEDULE_MULTISTEP) {
        fprintf(out, ", milestones ");
        for (int i = 0; i < c->milestone_count; i++)
            fprintf(out, "%s%d", i ? "," : "", c->milestones[i]);
        fprintf(out, ", gamma %s", sf(b1, c->lr_gamma));
    }
    if (s == RT_SCHEDULE_COSINE)
        fprintf(out, ", eta_min %s", sf(b1, c->eta_min));
    if (s == RT_SCHEDULE_ONECYCLE)
        fprintf(out, ", pct_start %s, div_factor %s, final_div_factor %s", sf(b1, c->pct_start),
                sf(b2, c->div_factor), sf(b3, c->final_div_factor));
    if (c->warmup)
        fprintf(out, ", linear warm-up over %d from %s", c->warmup, sf(b1, c->warmup_start));
    fprintf(out, "\n  loss: cross entropy, label smoothing %s\n", sf(b1, c->label_smoothing));
    fprintf(out, "  augmentation:");
    if (c->crop_pad)
        fprintf(out, " random crop after zero padding by %d%s", c->crop_pad, c->flip ? "," : "");
    if (c->resized_crop)
        fprintf(out, " random resized crop (area %s..%s, ratio 3/4..4/3)%s",
                sf(b1, c->crop_scale[0]), sf(b2, c->crop_scale[1]), c->flip ? "," : "");
    if (c->flip)
        fprintf(out, " horizontal flip");
    if (!c->crop_pad && !c->flip && !c->resized_crop)
        fprintf(out, " none");
    fprintf(out, "\n  input: bytes / 255");
    if (c->normalize) {
        fprintf(out, ", normalised by mean (");
        for (int k = 0; k < 3; k++)
            fprintf(out, "%s%s", k ? ", " : "", sf(b1, c->mean[k]));
        fprintf(out, "), std (");
        for (int k = 0; k < 3; k++)
            fprintf(out, "%s%s", k ? ", " : "", sf(b1, c->std[k]));
        fprintf(out, ")");
    }
    fprintf(out, "\n");
}
