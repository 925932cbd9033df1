/* Recipe presets: every recipe field of rt_train_config at once, so that
 * `--recipe NAME` reproduces a known way of training and the options given
 * beside it override single fields. */
#include <string.h>

#include "resnet/train.h"

/* He et al. 2016, section 4.2: SGD 0.1, momentum 0.9, weight decay 1e-4,
 * batch 128, the rate / 10 at 32k and 48k iterations, stop at 64k (164
 * epochs of CIFAR-10's 391 steps: 64,124), 4-pixel crops and flips. The
 * paper subtracts the per-pixel mean; this normalises per channel (the
 * data set's values, set by the front end with normalize). */
static void cifar_resnet(rt_train_config *c)
{
    c->optimizer = RT_OPTIMIZER_SGD;
    c->lr = 0.1f;
    c->momentum = 0.9f;
    c->adam.weight_decay = 1e-4f;
    c->batch_size = 128;
    c->epochs = 164;
    c->schedule = RT_SCHEDULE_MULTISTEP;
    c->schedule_per_step = 1;
    c->milestones[0] = 32000;
    c->milestones[1] = 48000;
    c->milestone_count = 2;
    c->lr_gamma = 0.1f;
    c->shuffle = 1;
    c->crop_pad = 4;
    c->flip = 1;
    c->normalize = 1;
}

/* A short modern recipe for small images: one-cycle SGD with Nesterov
 * momentum, label smoothing 0.1, no decay on BatchNorm and biases, crops
 * and flips, 15 epochs. */
static void small_onecycle(rt_train_config *c)
{
    c->optimizer = RT_OPTIMIZER_SGD;
    c->lr = 0.2f;
    c->momentum = 0.9f;
    c->nesterov = 1;
    c->adam.weight_decay = 5e-4f;
    c->no_decay_norm_bias = 1;
    c->batch_size = 128;
    c->epochs = 15;
    c->schedule = RT_SCHEDULE_ONECYCLE;
    c->schedule_per_step = 1;
    c->pct_start = 0.25f;
    c->label_smoothing = 0.1f;
    c->shuffle = 1;
    c->crop_pad = 4;
    c->flip = 1;
    c->normalize = 1;
}

static const struct recipe {
    const char *name;
    void (*apply)(rt_train_config *c);
} RECIPES[] = {
    {"seed", NULL},
    {"cifar-resnet", cifar_resnet},
    {"small-onecycle", small_onecycle},
};
#define NRECIPES ((int)(sizeof RECIPES / sizeof RECIPES[0]))

const char *rt_recipe_names(void)
{
    return "seed, cifar-resnet, small-onecycle";
}

rt_status rt_recipe_apply(const char *name, rt_train_config *cfg, rt_error *err)
{
    for (int i = 0; i < NRECIPES; i++) {
        if (strcmp(name, RECIPES[i].name))
            continue;
        /* the fields that are not the recipe's survive */
        rt_train_config keep = *cfg;
        rt_train_config_default(cfg);
        cfg->seed = keep.seed;
        cfg->eval_every = keep.eval_every;
        cfg->log_every = keep.log_every;
        cfg->progress_interval = keep.progress_interval;
        cfg->detect_anomaly = keep.detect_anomaly;
        cfg->stop_flag = keep.stop_flag;
        cfg->dist = keep.dist;
        cfg->sync_bn = keep.sync_bn;
        cfg->bucket_mb = keep.bucket_mb;
        if (RECIPES[i].apply)
            RECIPES[i].apply(cfg);
        return RT_OK;
    }
    return rt_error_set(err, RT_ERR_USAGE, "--recipe: no recipe named '%s' (known: %s)", name,
                        rt_recipe_names());
}
