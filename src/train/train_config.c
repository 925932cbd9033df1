/* The recipe's defaults (the tutorial's) and their checks, each error
 * naming the option. */
#include <math.h>
#include <string.h>

#include "resnet/train.h"

void rt_train_config_default(rt_train_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->epochs = 26;
    cfg->batch_size = 64;
    cfg->lr = 1e-3f;
    cfg->adam.beta1 = 0.9f;
    cfg->adam.beta2 = 0.999f;
    cfg->adam.eps = 1e-8f;
    cfg->adam.weight_decay = 0.0f;
    cfg->optimizer = RT_OPTIMIZER_ADAM;
    cfg->shuffle = 0;
    cfg->seed = 0;
    cfg->lr_step_size = 0;
    cfg->lr_gamma = 0.1f;
    cfg->schedule = RT_SCHEDULE_CONSTANT;
    cfg->pct_start = 0.3f;
    cfg->div_factor = 25.0f;
    cfg->crop_scale[0] = 0.08f;
    cfg->crop_scale[1] = 1.0f;
    cfg->final_div_factor = 1e4f;
    cfg->warmup_start = 0.01f;
    for (int c = 0; c < RT_MAX_CHANNELS; c++)
        cfg->std[c] = 1.0f;
    cfg->eval_every = 0;
    cfg->log_every = 100;
    cfg->progress_interval = 0.0;
    cfg->bucket_mb = 0.0; /* on a CPU the sums share the cores: nothing hides (docs/distributed.md) */
}

rt_status rt_train_config_check(const rt_train_config *cfg, rt_error *err)
{
    if (cfg->epochs < 0 || cfg->epochs > 1000000)
        return rt_error_set(err, RT_ERR_USAGE, "--epochs must be 0..1000000 (got %d)",
                            cfg->epochs);
    if (cfg->batch_size < 1 || cfg->batch_size > 65536)
        return rt_error_set(err, RT_ERR_USAGE, "--batch-size must be 1..65536 (got %d)",
                            cfg->batch_size);
    if (!isfinite(cfg->lr) || cfg->lr <= 0.0f)
        return rt_error_set(err, RT_ERR_USAGE, "--lr must be a positive finite number (got %g)",
                            (double)cfg->lr);
    if (cfg->lr_step_size < 0)
        return rt_error_set(err, RT_ERR_USAGE, "--lr-step-size must be 0 or more (got %d)",
                            cfg->lr_step_size);
    if (!isfinite(cfg->lr_gamma) || cfg->lr_gamma <= 0.0f)
        return rt_error_set(err, RT_ERR_USAGE,
                            "--lr-gamma must be a positive finite number (got %g)",
                            (double)cfg->lr_gamma);
    if (!(cfg->bucket_mb >= 0.0 && cfg->bucket_mb <= 4096.0))
        return rt_error_set(err, RT_ERR_USAGE, "--bucket-mb must be 0..4096 (got %g)",
                            cfg->bucket_mb);
    if (cfg->eval_every < 0)
        return rt_error_set(err, RT_ERR_USAGE, "--eval-every must be 0 or more (got %d)",
                            cfg->eval_every);
    if (cfg->log_every < 1)
        return rt_error_set(err, RT_ERR_USAGE, "the log interval must be at least 1 (got %d)",
                            cfg->log_every);
    const rt_adam_config *a = &cfg->adam;
    if (!(a->beta1 >= 0.0f && a->beta1 < 1.0f) || !(a->beta2 >= 0.0f && a->beta2 < 1.0f) ||
        !(a->eps > 0.0f) || !isfinite(a->eps))
        return rt_error_set(err, RT_ERR_USAGE, "Adam needs 0 <= beta < 1 and eps > 0");
    if (!(a->weight_decay >= 0.0f) || !isfinite(a->weight_decay) || a->weight_decay > 1.0f)
        return rt_error_set(err, RT_ERR_USAGE, "--weight-decay must be in 0..1 (got %g)",
                            (double)a->weight_decay);
    if ((unsigned)cfg->optimizer > RT_OPTIMIZER_SGD)
        return rt_error_set(err, RT_ERR_USAGE, "unknown optimiser %d", (int)cfg->optimizer);
    if (!(cfg->momentum >= 0.0f && cfg->momentum < 1.0f))
        return rt_error_set(err, RT_ERR_USAGE, "--momentum must be in [0, 1) (got %g)",
                            (double)cfg->momentum);
    if (!(cfg->dampening >= 0.0f && cfg->dampening <= 1.0f))
        return rt_error_set(err, RT_ERR_USAGE, "--dampening must be in [0, 1] (got %g)",
                            (double)cfg->dampening);
    if (cfg->optimizer != RT_OPTIMIZER_SGD &&
        (cfg->momentum != 0.0f || cfg->dampening != 0.0f || cfg->nesterov))
        return rt_error_set(err, RT_ERR_USAGE,
                            "--momentum, --dampening and --nesterov are SGD's (--optimizer sgd)");
    if (cfg->nesterov && (cfg->momentum <= 0.0f || cfg->dampening != 0.0f))
        return rt_error_set(err, RT_ERR_USAGE,
                            "--nesterov needs a momentum above 0 and no dampening (as PyTorch)");
    if ((unsigned)cfg->schedule > RT_SCHEDULE_ONECYCLE)
        return rt_error_set(err, RT_ERR_USAGE, "unknown schedule %d", (int)cfg->schedule);
    if (cfg->milestone_count < 0 || cfg->milestone_count > RT_MAX_MILESTONES)
        return rt_error_set(err, RT_ERR_USAGE, "--milestones: at most %d", RT_MAX_MILESTONES);
    for (int i = 0; i < cfg->milestone_count; i++)
        if (cfg->milestones[i] < 1 || (i > 0 && cfg->milestones[i] <= cfg->milestones[i - 1]))
            return rt_error_set(err, RT_ERR_USAGE,
                                "--milestones must be positive and increasing (item %d is %d)",
                                i + 1, cfg->milestones[i]);
    if (!(cfg->eta_min >= 0.0f) || !isfinite(cfg->eta_min) || cfg->eta_min > cfg->lr)
        return rt_error_set(err, RT_ERR_USAGE, "--eta-min must be in 0..--lr (got %g)",
                            (double)cfg->eta_min);
    if (!(cfg->pct_start > 0.0f && cfg->pct_start < 1.0f))
        return rt_error_set(err, RT_ERR_USAGE, "--pct-start must be in (0, 1) (got %g)",
                            (double)cfg->pct_start);
    if (!(cfg->div_factor >= 1.0f) || !isfinite(cfg->div_factor) ||
        !(cfg->final_div_factor >= 1.0f) || !isfinite(cfg->final_div_factor))
        return rt_error_set(err, RT_ERR_USAGE,
                            "--div-factor and --final-div-factor must be finite and >= 1");
    if (cfg->warmup < 0)
        return rt_error_set(err, RT_ERR_USAGE, "--warmup must be 0 or more (got %d)",
                            cfg->warmup);
    if (!(cfg->warmup_start > 0.0f && cfg->warmup_start <= 1.0f))
        return rt_error_set(err, RT_ERR_USAGE, "--warmup-start must be in (0, 1] (got %g)",
                            (double)cfg->warmup_start);
    if (!(cfg->label_smoothing >= 0.0f && cfg->label_smoothing < 1.0f))
        return rt_error_set(err, RT_ERR_USAGE, "--label-smoothing must be in [0, 1) (got %g)",
                            (double)cfg->label_smoothing);
    if (cfg->crop_pad < 0 || cfg->crop_pad > 64)
        return rt_error_set(err, RT_ERR_USAGE, "--crop-pad must be 0..64 (got %d)",
                            cfg->crop_pad);
    if (cfg->resized_crop && cfg->crop_pad)
        return rt_error_set(err, RT_ERR_USAGE,
                            "--random-resized-crop and --crop-pad are two crops: choose one");
    if (cfg->resized_crop && !(cfg->crop_scale[0] > 0.0f && cfg->crop_scale[0] <= cfg->crop_scale[1] &&
                               cfg->crop_scale[1] <= 1.0f))
        return rt_error_set(err, RT_ERR_USAGE,
                            "--crop-scale must be LOW,HIGH with 0 < LOW <= HIGH <= 1 (got %g,%g)",
                            (double)cfg->crop_scale[0], (double)cfg->crop_scale[1]);
    for (int c = 0; cfg->normalize && c < RT_MAX_CHANNELS; c++)
        if (!isfinite(cfg->mean[c]) || !(cfg->std[c] > 0.0f) || !isfinite(cfg->std[c]))
            return rt_error_set(err, RT_ERR_USAGE,
                                "--normalize needs finite means and positive deviations");
    /* what can be checked without the data set's size (a schedule counted
     * in steps is checked again when the trainer knows it) */
    return rt_schedule_check(cfg, cfg->schedule_per_step ? 0 : 1, err);
}
