/* The recipe's arithmetic against PyTorch (tests/fixtures/recipes.json,
 * written by tools/make_recipe_fixtures.py):
 *
 * - every step's learning rate of whole runs of each schedule (per step
 *   and per epoch, with and without warm-up) against the rate PyTorch's
 *   optimiser held at that step. PyTorch's schedulers mostly update the
 *   rate recursively (each step from the last) while rt_schedule_lr uses
 *   the closed forms, in double from the float options (lr 0.1 is
 *   0.100000001f): the options' rounding, up to 2^-24 relative each, sets
 *   the limit of 1.2e-7; double rounding adds ~1e-16 a step. A wrong
 *   formula or an off-by-one step changes some rate by 1.6e-5 relative or
 *   more (cosine's first steps are the flattest in these runs);
 * - SGD (momentum, dampening, Nesterov, decay) and Adam/AdamW with decay
 *   through the CPU backend's ops, fed PyTorch's gradients and rates for
 *   six steps. SGD's parameters must be PyTorch's bit for bit: both round
 *   every operation once in the same order (src/cpu/cpu_sgd.c). Adam's
 *   differ in the last bit here and there, and the cause is known: our
 *   betas are floats (0.9f), PyTorch's Python doubles, so the scalar
 *   weights 1 - beta1 and 1 - beta2^t round from slightly different values
 *   (1 - 0.9f is 3 float ulps from 0.1f). At the first step the weights
 *   cancel (m / (1 - beta1^t)); afterwards some parameters land one ulp
 *   apart. The limit is 2 ulps (2.4e-7 relative) for Adam; making it
 *   exact would change the seed's Adam arithmetic, which is a change of
 *   its own, for the seed's parity tests to decide;
 * - CrossEntropyLoss(label_smoothing=) and its gradient, with the top-1
 *   and top-5 counts (torch.topk): loss within 1e-6 relative and gradient
 *   within 1e-6 of its largest value (float sums over up to 100 classes in
 *   another order than PyTorch's), counts exact. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "resnet/device.h"
#include "resnet/train.h"
#include "test_support.h"

static double num(const rt_json *v)
{
    if (!v)
        return NAN;
    if (v->type == RT_JSON_INT)
        return (double)v->u.integer;
    if (v->type == RT_JSON_NUMBER)
        return strtod(v->u.str.text, NULL);
    return NAN;
}

static double field(const rt_json *o, const char *key)
{
    const rt_json *v = rt_json_get(o, key);
    if (!v) {
        fprintf(stderr, "fixture: no key %s\n", key);
        exit(1);
    }
    return num(v);
}

static void floats(const rt_json *arr, float *out, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = (float)num(&arr->u.array.items[i]);
}

static void check_schedule(const rt_json *c)
{
    const char *name = rt_json_get(c, "name")->u.str.text;
    rt_train_config cfg;
    rt_train_config_default(&cfg);
    cfg.lr = (float)field(c, "lr");
    cfg.epochs = (int)field(c, "epochs");
    int per_epoch = (int)field(c, "steps_per_epoch");
    cfg.schedule_per_step = (int)field(c, "per_step");
    CHECK(rt_schedule_parse(rt_json_get(c, "schedule")->u.str.text, &cfg.schedule));
    cfg.lr_step_size = (int)field(c, "lr_step_size");
    cfg.lr_gamma = (float)field(c, "lr_gamma");
    const rt_json *ms = rt_json_get(c, "milestones");
    cfg.milestone_count = (int)ms->u.array.count;
    for (size_t i = 0; i < ms->u.array.count; i++)
        cfg.milestones[i] = (int)num(&ms->u.array.items[i]);
    cfg.eta_min = (float)field(c, "eta_min");
    cfg.pct_start = (float)field(c, "pct_start");
    cfg.div_factor = (float)field(c, "div_factor");
    cfg.final_div_factor = (float)field(c, "final_div_factor");
    cfg.warmup = (int)field(c, "warmup");
    cfg.warmup_start = (float)field(c, "warmup_start");
    rt_error err = {0};
    CHECKF(rt_train_config_check(&cfg, &err) == RT_OK, "%s: %s", name, err.message);
    CHECKF(rt_schedule_check(&cfg, per_epoch, &err) == RT_OK, "%s: %s", name, err.message);
    /* PyTorch's factors are Python floats; ours are the floats the options
     * hold, so compare against the fixture's rates scaled alike */
    const rt_json *lrs = rt_json_get(c, "lrs");
    double worst = 0.0;
    int64_t worst_step = 0;
    for (size_t k = 0; k < lrs->u.array.count; k++) {
        double want = num(&lrs->u.array.items[k]);
        double got = rt_schedule_lr(&cfg, (int64_t)k, per_epoch);
        double rel = fabs(got - want) / fabs(want);
        if (rel > worst)
            worst = rel, worst_step = (int64_t)k;
    }
    /* the float options (lr 0.1, gamma, eta_min, pct_start) differ from
     * PyTorch's doubles by up to 2^-24 relative: that much is the options'
     * rounding, not the schedule's */
    CHECKF(worst <= 1.2e-7, "%s: step %lld off by %.3g relative", name, (long long)worst_step,
           worst);
    printf("  %-48s %4zu steps, worst relative difference %.2g\n", name, lrs->u.array.count,
           worst);
}

static void check_optimizer(rt_device *dev, const rt_json *c)
{
    const char *name = rt_json_get(c, "name")->u.str.text;
    const char *kind = rt_json_get(c, "optimizer")->u.str.text;
    size_t n = (size_t)field(c, "count");
    float *p = calloc(n, sizeof *p), *g = calloc(n, sizeof *g), *want = calloc(n, sizeof *want);
    float *m = calloc(n, sizeof *m), *v = calloc(n, sizeof *v);
    floats(rt_json_get(c, "params"), p, n);
    const rt_json *grads = rt_json_get(c, "grads"), *after = rt_json_get(c, "after");
    const rt_json *lrs = rt_json_get(c, "lrs");
    rt_step_state s;
    memset(&s, 0, sizeof s);
    s.nonfinite_step = -1;
    int exact = 1, differ = 0;
    const int adam = strcmp(kind, "sgd") != 0;
    double worst = 0.0;
    for (size_t k = 0; k < grads->u.array.count; k++) {
        floats(&grads->u.array.items[k], g, n);
        floats(&after->u.array.items[k], want, n);
        s.lr = (float)num(&lrs->u.array.items[k]);
        s.steps = (int64_t)k;
        rt_status st;
        if (!strcmp(kind, "sgd")) {
            rt_sgd_config cfg = {(float)field(c, "momentum"), (float)field(c, "dampening"),
                                 (float)field(c, "weight_decay"), (int)field(c, "nesterov")};
            st = rt_op_sgd(dev, n, p, g, m, &cfg, &s);
        } else {
            rt_adam_config cfg = {(float)field(c, "beta1"), (float)field(c, "beta2"),
                                  (float)field(c, "eps"), (float)field(c, "weight_decay"),
                                  !strcmp(kind, "adamw")};
            st = rt_op_adam(dev, n, p, g, m, v, &cfg, &s);
        }
        CHECK(st == RT_OK);
        for (size_t i = 0; i < n; i++) {
            if (p[i] == want[i])
                continue;
            double rel = fabs((double)p[i] - (double)want[i]) / fabs((double)want[i]);
            worst = rel > worst ? rel : worst;
            differ++;
            if (exact && (!adam || rel > 2.4e-7))
                CHECKF(0, "%s: step %zu, parameter %zu: %.9g, PyTorch %.9g", name, k + 1, i,
                       (double)p[i], (double)want[i]);
            exact = exact && adam && rel <= 2.4e-7;
        }
    }
    CHECK(s.nonfinite_step == -1);
    printf("  %-48s %zu steps, %d of %zu values not bit for bit (worst %.2g relative)\n", name,
           grads->u.array.count, differ, n * grads->u.array.count, worst);
    free(p), free(g), free(want), free(m), free(v);
}

static void check_loss(rt_device *dev, const rt_json *c)
{
    int n = (int)field(c, "n"), k = (int)field(c, "classes");
    float eps = (float)field(c, "smoothing");
    float *z = calloc((size_t)n * k, sizeof *z), *want = calloc((size_t)n * k, sizeof *want);
    float *g = calloc((size_t)n * k, sizeof *g);
    int32_t *y = calloc((size_t)n, sizeof *y);
    floats(rt_json_get(c, "logits"), z, (size_t)n * k);
    floats(rt_json_get(c, "grad"), want, (size_t)n * k);
    const rt_json *labels = rt_json_get(c, "labels");
    for (int i = 0; i < n; i++)
        y[i] = (int32_t)num(&labels->u.array.items[i]);
    rt_step_state s;
    memset(&s, 0, sizeof s);
    s.nonfinite_step = -1;
    CHECK(rt_op_softmax_cross_entropy_smoothed(dev, n, k, eps, z, y, g, &s) == RT_OK);
    double loss = field(c, "loss");
    double gmax = 0.0;
    for (int i = 0; i < n * k; i++)
        gmax = fabs(want[i]) > gmax ? fabs(want[i]) : gmax;
    CHECKF(fabs(s.loss - loss) <= 1e-6 * fabs(loss), "%d x %d, smoothing %g: loss %.9g, PyTorch %.9g",
           n, k, (double)eps, (double)s.loss, loss);
    CHECKF(rt_test_max_abs_diff(want, g, (size_t)n * k) <= 1e-6 * gmax,
           "%d x %d, smoothing %g: gradient off by %.3g", n, k, (double)eps,
           rt_test_max_abs_diff(want, g, (size_t)n * k));
    CHECKF(s.correct == (int)field(c, "correct") && s.correct5 == (int)field(c, "correct5"),
           "%d x %d: top-1 %d top-5 %d, PyTorch %d and %d", n, k, s.correct, s.correct5,
           (int)field(c, "correct"), (int)field(c, "correct5"));
    printf("  %3d x %3d, smoothing %-4g loss %.7g (PyTorch %.7g), top-1 %d, top-5 %d\n", n, k,
           (double)eps, (double)s.loss, loss, s.correct, s.correct5);
    free(z), free(want), free(g), free(y);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s recipes.json\n", argv[0]);
        return 2;
    }
    FILE *f = fopen(argv[1], "rb");
    if (!f) {
        perror(argv[1]);
        return 1;
    }
    static char text[1 << 20];
    size_t len = fread(text, 1, sizeof text, f);
    fclose(f);
    rt_json doc;
    rt_error err = {0};
    if (rt_json_parse(text, len, &doc, &err) != RT_OK) {
        fprintf(stderr, "%s: %s\n", argv[1], err.message);
        return 1;
    }
    const rt_json *sch = rt_json_get(&doc, "schedules"), *opt = rt_json_get(&doc, "optimizers");
    CHECK(sch && sch->u.array.count >= 9 && opt && opt->u.array.count >= 7);
    printf("schedules against torch.optim.lr_scheduler:\n");
    for (size_t i = 0; i < sch->u.array.count; i++)
        check_schedule(&sch->u.array.items[i]);
    rt_device *dev = NULL;
    rt_device_config dc;
    rt_device_config_default(&dc);
    dc.threads = 1;
    if (rt_device_open("cpu", &dc, &dev, &err) != RT_OK) {
        fprintf(stderr, "%s\n", err.message);
        return 1;
    }
    printf("optimisers against torch.optim (CPU backend):\n");
    for (size_t i = 0; i < opt->u.array.count; i++)
        check_optimizer(dev, &opt->u.array.items[i]);
    const rt_json *losses = rt_json_get(&doc, "losses");
    CHECK(losses && losses->u.array.count >= 4);
    printf("label-smoothed cross entropy and top-5 against PyTorch:\n");
    for (size_t i = 0; losses && i < losses->u.array.count; i++)
        check_loss(dev, &losses->u.array.items[i]);
    rt_device_close(dev);
    rt_json_free(&doc);
    return rt_test_finish("recipes against PyTorch");
}
