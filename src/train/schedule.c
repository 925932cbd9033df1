/* Learning-rate schedules, each computed as torch.optim.lr_scheduler's
 * closed form in double (what the schedulers' recursive forms approach to
 * within rounding), and the names of schedules and optimisers.
 *
 * A run of T units (epochs, or steps when schedule_per_step) with a warm-up
 * of W units is SequentialLR([LinearLR(warmup_start, 1, W), main],
 * milestones=[W]): unit t < W has lr * (warmup_start + (1 - warmup_start)
 * t / W), and unit t >= W the main schedule's rate at u = t - W. */
#include <math.h>
#include <string.h>

#include "resnet/train.h"

static const char *const SCHEDULE_NAMES[] = {"constant", "step", "multistep", "cosine",
                                             "onecycle"};
static const char *const OPTIMIZER_NAMES[] = {"adam", "adamw", "sgd"};

const char *rt_schedule_name(rt_schedule s)
{
    return (unsigned)s < 5 ? SCHEDULE_NAMES[s] : "?";
}

const char *rt_optimizer_name(rt_optimizer o)
{
    return (unsigned)o < 3 ? OPTIMIZER_NAMES[o] : "?";
}

int rt_schedule_parse(const char *name, rt_schedule *out)
{
    for (int i = 0; i < 5; i++)
        if (!strcmp(name, SCHEDULE_NAMES[i])) {
            *out = (rt_schedule)i;
            return 1;
        }
    return 0;
}

int rt_optimizer_parse(const char *name, rt_optimizer *out)
{
    for (int i = 0; i < 3; i++)
        if (!strcmp(name, OPTIMIZER_NAMES[i])) {
            *out = (rt_optimizer)i;
            return 1;
        }
    return 0;
}

rt_schedule rt_schedule_effective(const rt_train_config *cfg)
{
    if (cfg->schedule == RT_SCHEDULE_CONSTANT && cfg->lr_step_size > 0)
        return RT_SCHEDULE_STEP;
    return cfg->schedule;
}

int rt_schedule_is_constant(const rt_train_config *cfg)
{
    return rt_schedule_effective(cfg) == RT_SCHEDULE_CONSTANT && cfg->warmup == 0;
}

static int64_t total_units(const rt_train_config *cfg, int steps_per_epoch)
{
    return cfg->schedule_per_step ? (int64_t)cfg->epochs * steps_per_epoch : cfg->epochs;
}

/* OneCycleLR's two phases with cosine annealing (three_phase off). */
static double one_cycle(const rt_train_config *cfg, double max_lr, int64_t step, int64_t total)
{
    double initial = max_lr / (double)cfg->div_factor;
    double min_lr = initial / (double)cfg->final_div_factor;
    double end1 = (double)cfg->pct_start * (double)total - 1.0, end2 = (double)total - 1.0;
    double start, end, from, to;
    if ((double)step <= end1) {
        start = 0.0, end = end1, from = initial, to = max_lr;
    } else {
        start = end1, end = end2, from = max_lr, to = min_lr;
    }
    double pct = ((double)step - start) / (end - start);
    return to + (from - to) / 2.0 * (cos(M_PI * pct) + 1.0);
}

double rt_schedule_lr(const rt_train_config *cfg, int64_t step, int steps_per_epoch)
{
    double base = (double)cfg->lr;
    if (rt_schedule_is_constant(cfg) || steps_per_epoch < 1)
        return base; /* also a trainer without a training set */
    int64_t t = cfg->schedule_per_step ? step : step / steps_per_epoch;
    int64_t total = total_units(cfg, steps_per_epoch);
    rt_schedule s = rt_schedule_effective(cfg);
    if (s == RT_SCHEDULE_ONECYCLE)
        return one_cycle(cfg, base, t, total);
    if (t < cfg->warmup) {
        double f0 = (double)cfg->warmup_start;
        return base * (f0 + (1.0 - f0) * (double)t / (double)cfg->warmup);
    }
    int64_t u = t - cfg->warmup;
    switch (s) {
    case RT_SCHEDULE_STEP:
        return base * pow((double)cfg->lr_gamma, (double)(u / cfg->lr_step_size));
    case RT_SCHEDULE_MULTISTEP: {
        int passed = 0;
        while (passed < cfg->milestone_count && cfg->milestones[passed] <= u)
            passed++;
        return base * pow((double)cfg->lr_gamma, passed);
    }
    case RT_SCHEDULE_COSINE: {
        double tmax = (double)(total - cfg->warmup), lo = (double)cfg->eta_min;
        return lo + (base - lo) * (1.0 + cos(M_PI * (double)u / tmax)) / 2.0;
    }
    default:
        return base;
    }
}

rt_status rt_schedule_check(const rt_train_config *cfg, int steps_per_epoch, rt_error *err)
{
    /* steps_per_epoch 0: the run's length in steps is not known yet */
    int64_t total = total_units(cfg, steps_per_epoch);
    const char *unit = cfg->schedule_per_step ? "steps" : "epochs";
    rt_schedule s = rt_schedule_effective(cfg);
    if (cfg->warmup > 0 && s == RT_SCHEDULE_ONECYCLE)
        return rt_error_set(err, RT_ERR_USAGE,
                            "--warmup: the onecycle schedule warms up by itself (--pct-start)");
    if (cfg->warmup > 0 && cfg->warmup >= total && total > 0)
        return rt_error_set(err, RT_ERR_USAGE,
                            "--warmup %d is not shorter than the run (%lld %s)", cfg->warmup,
                            (long long)total, unit);
    if (s == RT_SCHEDULE_STEP && cfg->lr_step_size < 1)
        return rt_error_set(err, RT_ERR_USAGE, "the step schedule needs --lr-step-size N >= 1");
    if (s == RT_SCHEDULE_MULTISTEP && cfg->milestone_count < 1)
        return rt_error_set(err, RT_ERR_USAGE,
                            "the multistep schedule needs --milestones N,N,... (in %s)", unit);
    if (s == RT_SCHEDULE_ONECYCLE && total > 0) {
        double end1 = (double)cfg->pct_start * (double)total - 1.0;
        if (!(end1 > 0.0) || !(end1 < (double)total - 1.0))
            return rt_error_set(err, RT_ERR_USAGE,
                                "--pct-start %g leaves a phase of onecycle empty over %lld %s",
                                (double)cfg->pct_start, (long long)total, unit);
    }
    return RT_OK;
}
