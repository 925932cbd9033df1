/* Parity of the ResNet family with PyTorch: replays a fixture of
 * tools/make_family_fixtures.py (resnet18, resnet50 or resnet20 on 8 real
 * MNIST images) on one backend.
 *
 *   test_family_parity FIXTURE DEVICE     (DEVICE: cpu or cuda; cuda skips
 *                                          with 77 where there is no GPU)
 *
 * Both sides use the same weights, from a formula each computes exactly
 * (below, and hashed_state in the script). The fixture holds PyTorch's
 * results in FP64, the reference, and its FP32 results' distance from them.
 * Checked, in training mode: the logits and the loss, every parameter's
 * gradient (512 sampled elements of large tensors, plus the norm and one
 * random projection of every whole tensor), the BatchNorm running
 * statistics after the step; then the logits in evaluation mode.
 *
 * Limits: no FP32 implementation is exact; PyTorch's own FP32 result is
 * off the FP64 one by what the fixture records (for resnet50, whose
 * deepest BatchNorms normalise 8 values per channel, up to nmse 3e-4 on a
 * gradient). Ours, computing the same sums in other orders, should be off
 * by as much, so every limit is 10 x PyTorch's own distance, with a floor
 * at a few float roundings (where PyTorch happens to land very close). A
 * wrong layer, a lost residual term or a misrouted gradient is off by O(1). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "resnet/device.h"
#include "resnet/model.h"
#include "resnet/safetensors.h"
#include "test_support.h"

#define FACTOR 10.0

static const rt_safetensors *fx;

static const rt_tensor_view *need(const char *name)
{
    const rt_tensor_view *t = rt_safetensors_find(fx, name);
    if (!t) {
        fprintf(stderr, "fixture has no tensor %s\n", name);
        exit(1);
    }
    return t;
}

static uint64_t splitmix(uint64_t x)
{
    uint64_t z = x + 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint64_t fixture_seed; /* the file's "seed" */

/* The fixture's u for state_dict entry t (-1: the test direction). */
static float hashed(int t, size_t i)
{
    uint64_t base = fixture_seed + ((uint64_t)(uint32_t)t << 32);
    float u = (float)(splitmix(base + i) >> 40) * 0x1.0p-24f;
    return u * 2.0f - 1.0f;
}

/* The formula's state: parameters, running statistics, counters. */
static void hashed_state(const rt_network *net, float *params, float *buffers, int64_t *counters)
{
    for (int t = 0; t < rt_network_tensor_count(net); t++) {
        const rt_tensor_info *p = rt_network_tensor(net, t);
        const char *leaf = strrchr(p->name, '.') + 1;
        if (p->role == RT_TENSOR_COUNTER) {
            counters[p->offset] = 7;
            continue;
        }
        float *dst = (p->role == RT_TENSOR_PARAMETER ? params : buffers) + p->offset;
        /* BatchNorm's tensors are 1-D with a running_mean beside them */
        char sibling[512], weight[512];
        snprintf(sibling, sizeof sibling, "%.*srunning_mean", (int)(leaf - p->name), p->name);
        snprintf(weight, sizeof weight, "%.*sweight", (int)(leaf - p->name), p->name);
        int bn = rt_network_tensor_find(net, sibling) >= 0;
        /* conv and linear weights, the linear bias: u / sqrt(fan_in) */
        const rt_tensor_info *w = rt_network_tensor(net, rt_network_tensor_find(net, weight));
        float bound = (float)(1.0 / sqrt((double)(w->count / (size_t)w->shape[0])));
        for (size_t i = 0; i < p->count; i++) {
            float u = hashed(t, i);
            if (bn && !strcmp(leaf, "weight"))
                dst[i] = 1.0f + u / 4.0f;
            else if (bn && !strcmp(leaf, "bias"))
                dst[i] = u / 10.0f;
            else if (!strcmp(leaf, "running_mean"))
                dst[i] = u / 10.0f;
            else if (!strcmp(leaf, "running_var"))
                dst[i] = 1.0f + (u + 1.0f) / 4.0f;
            else
                dst[i] = u * bound;
        }
    }
}

static const double *f64(const char *name) { return (const double *)need(name)->data; }

/* max |a - ref| / max |ref| of float results against a double reference */
static double rel_max(const float *a, const double *ref, size_t n)
{
    double scale = 0.0, diff = 0.0;
    for (size_t i = 0; i < n; i++) {
        scale = fmax(scale, fabs(ref[i]));
        diff = fmax(diff, fabs(a[i] - ref[i]));
    }
    return isfinite(diff) ? diff / scale : INFINITY;
}

/* Returns the limit used, relative to the largest logit. */
static double compare_logits(const char *what, const float *got, const char *ref_name,
                             const char *fp32_name, size_t n)
{
    const double *ref = f64(ref_name);
    const float *torch32 = need(fp32_name)->data;
    double theirs = rel_max(torch32, ref, n), ours = rel_max(got, ref, n);
    double limit = fmax(FACTOR * theirs, 1e-6);
    CHECKF(ours <= limit, "%s: off the FP64 reference by %.3g of the largest logit (limit %.3g; "
                          "PyTorch FP32 %.3g)", what, ours, limit, theirs);
    printf("%-14s off by %.3g of max (PyTorch FP32 %.3g, limit %.3g)\n", what, ours, theirs,
           limit);
    return limit;
}

static double max_abs(const double *x, size_t n)
{
    double m = 0.0;
    for (size_t i = 0; i < n; i++)
        m = fmax(m, fabs(x[i]));
    return m;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: test_family_parity FIXTURE DEVICE\n");
        return 2;
    }
    rt_error err;
    rt_safetensors *file;
    if (rt_safetensors_read(argv[1], &file, &err) != RT_OK) {
        fprintf(stderr, "%s\n", err.message);
        return 1;
    }
    fx = file;
    rt_device_config cfg;
    rt_device_config_default(&cfg);
    rt_device *dev;
    if (rt_device_open(argv[2], &cfg, &dev, &err) != RT_OK) {
        rt_safetensors_free(file);
        if (err.status == RT_ERR_NODEVICE)
            return rt_test_skip(err.message);
        fprintf(stderr, "%s\n", err.message);
        return 1;
    }
    const char *name = rt_safetensors_metadata(fx, "network");
    const char *seed_text = rt_safetensors_metadata(fx, "seed");
    if (!name || !seed_text) {
        fprintf(stderr, "%s: no network or seed in the metadata\n", argv[1]);
        return 1;
    }
    fixture_seed = strtoull(seed_text, NULL, 10);
    rt_network *net = rt_test_network(name ? name : "?");
    printf("%s on %s; %s images, weights from seed %#llx, nearest relu/pool decision %s from a "
           "tie\n", name, rt_device_description(dev), rt_safetensors_metadata(fx, "images"),
           (unsigned long long)fixture_seed, rt_safetensors_metadata(fx, "margin"));
    const rt_tensor_view *img = need("images"), *lab = need("labels");
    int n = (int)img->shape[0];
    size_t pixels = rt_network_input_size(net), flat = rt_network_params_size(net);
    size_t nbuf = rt_network_buffers_size(net), ncount = rt_network_counter_count(net);
    int classes = rt_network_input_of(net).classes;

    rt_model *m;
    if (rt_model_create(dev, net, n, 1, &m, &err) != RT_OK) {
        fprintf(stderr, "%s\n", err.message);
        return 1;
    }
    float *params = calloc(flat + 1, 4), *buffers = calloc(nbuf + 1, 4);
    int64_t *counters = calloc(ncount + 1, 8);
    hashed_state(net, params, buffers, counters);
    float *x = malloc((size_t)n * pixels * 4);
    int32_t *labels = malloc((size_t)n * 4);
    for (size_t i = 0; i < (size_t)n * pixels; i++)
        x[i] = (float)((const uint8_t *)img->data)[i] / 255.0f;
    for (int i = 0; i < n; i++)
        labels[i] = (int32_t)((const int64_t *)lab->data)[i];
    rt_step_state st = {0};
    st.nonfinite_step = -1;
    rt_step_state *dstate = rt_device_alloc(dev, sizeof st);
    CHECK(rt_model_upload_params(m, params, &err) == RT_OK);
    CHECK(rt_model_upload_buffers(m, buffers, counters, &err) == RT_OK);
    CHECK(rt_device_upload(dev, rt_model_input(m), x, (size_t)n * pixels * 4) == RT_OK);
    CHECK(rt_device_upload(dev, rt_model_labels(m), labels, (size_t)n * 4) == RT_OK);
    CHECK(rt_device_upload(dev, dstate, &st, sizeof st) == RT_OK);
    CHECK(rt_model_forward(m, n, 1) == RT_OK);
    CHECK(rt_op_softmax_cross_entropy(dev, n, classes, rt_model_logits(m), rt_model_labels(m),
                                      rt_model_dlogits(m), dstate) == RT_OK);
    CHECK(rt_model_backward(m, n) == RT_OK);
    float *logits = malloc((size_t)n * classes * 4), *grads = malloc(flat * 4 + 4);
    CHECK(rt_device_download(dev, logits, rt_model_logits(m), (size_t)n * classes * 4) == RT_OK);
    CHECK(rt_device_download(dev, grads, rt_model_grads(m), flat * 4) == RT_OK);
    CHECK(rt_device_download(dev, &st, dstate, sizeof st) == RT_OK);
    CHECK(rt_model_download_buffers(m, buffers, counters, &err) == RT_OK);
    double logit_limit =
        compare_logits("logits", logits, "logits", "fp32.logits", (size_t)n * classes);

    /* the mean cross-entropy moves by at most 2 x the largest change of a
     * logit (its gradient is (softmax - onehot) / n per sample), so the
     * logits' limit bounds the loss's; PyTorch's own loss error may happen
     * to be far smaller */
    double ref_loss = f64("loss")[0], torch_loss = *(const float *)need("fp32.loss")->data;
    double loss_limit = fmax(FACTOR * fabs(torch_loss - ref_loss),
                             2.0 * logit_limit * max_abs(f64("logits"), (size_t)n * classes));
    CHECKF(fabs(st.loss - ref_loss) <= loss_limit, "loss %.9g, reference %.9g (limit %.3g)",
           (double)st.loss, ref_loss, loss_limit);
    printf("loss %.9g, reference %.9g, PyTorch FP32 %.9g\n", (double)st.loss, ref_loss, torch_loss);

    /* every parameter's gradient */
    double worst = 0.0;
    int checked = 0;
    for (int t = 0; t < rt_network_tensor_count(net); t++) {
        const rt_tensor_info *p = rt_network_tensor(net, t);
        if (p->role != RT_TENSOR_PARAMETER)
            continue;
        char key[600];
        snprintf(key, sizeof key, "grad.%s", p->name);
        const double *ref = f64(key);
        snprintf(key, sizeof key, "grad.%s.index", p->name);
        const rt_tensor_view *iv = need(key);
        const int32_t *index = iv->data;
        size_t samples = (size_t)iv->shape[0];
        snprintf(key, sizeof key, "grad.%s.stats", p->name);
        const double *stats = f64(key); /* norm, projection, PyTorch FP32's nmse */
        const float *g = grads + p->offset;
        double num = 0.0, den = 0.0, norm = 0.0, proj = 0.0, unorm = 0.0;
        for (size_t k = 0; k < samples; k++) {
            double d = g[index[k]] - ref[k];
            num += d * d;
            den += ref[k] * ref[k];
        }
        for (size_t i = 0; i < p->count; i++) {
            double u = hashed(-1, i);
            norm += (double)g[i] * g[i];
            proj += (double)g[i] * u;
            unorm += u * u;
        }
        double nmse = den > 0 ? num / den : (num > 0 ? INFINITY : 0.0);
        double limit = fmax(FACTOR * stats[2], 1e-10);
        /* the norm and the projection carry an error of about the
         * gradient's rms relative error, sqrt(nmse) */
        double rel = fmax(FACTOR * sqrt(stats[2]), 1e-5);
        CHECKF(nmse <= limit, "gradient of %s: sampled nmse %.3g > %.3g (PyTorch FP32 %.3g)",
               p->name, nmse, limit, stats[2]);
        CHECKF(fabs(sqrt(norm) - stats[0]) <= rel * stats[0] + 1e-30,
               "gradient of %s: norm %.9g, reference %.9g", p->name, sqrt(norm), stats[0]);
        CHECKF(fabs(proj - stats[1]) <= rel * stats[0] * sqrt(unorm) + 1e-30,
               "gradient of %s: projection %.9g, reference %.9g", p->name, proj, stats[1]);
        worst = fmax(worst, nmse / limit);
        checked++;
    }
    printf("%d gradients: worst sampled nmse at %.2g of its limit\n", checked, worst);

    /* BatchNorm's running statistics after the training step */
    double worst_stat = 0.0;
    for (int t = 0; t < rt_network_tensor_count(net); t++) {
        const rt_tensor_info *p = rt_network_tensor(net, t);
        if (p->role != RT_TENSOR_BUFFER)
            continue;
        char key[600];
        snprintf(key, sizeof key, "stats.%s", p->name);
        const double *ref = f64(key);
        snprintf(key, sizeof key, "stats.%s.fp32_nmse", p->name);
        double theirs = f64(key)[0];
        double num = 0.0, den = 0.0;
        for (size_t i = 0; i < p->count; i++) {
            double d = buffers[p->offset + i] - ref[i];
            num += d * d;
            den += ref[i] * ref[i];
        }
        double nmse = num / den, limit = fmax(FACTOR * theirs, 1e-12);
        CHECKF(nmse <= limit, "%s after the step: nmse %.3g > %.3g", p->name, nmse, limit);
        worst_stat = fmax(worst_stat, nmse / limit);
    }
    for (size_t i = 0; i < ncount; i++)
        CHECKF(counters[i] == 8, "num_batches_tracked %zu is %lld after one step from 7", i,
               (long long)counters[i]);
    printf("running statistics: worst nmse at %.2g of its limit\n", worst_stat);

    /* evaluation mode, with the statistics the step left */
    CHECK(rt_model_forward(m, n, 0) == RT_OK);
    CHECK(rt_device_download(dev, logits, rt_model_logits(m), (size_t)n * classes * 4) == RT_OK);
    compare_logits("eval logits", logits, "eval_logits", "fp32.eval_logits", (size_t)n * classes);

    rt_device_free(dev, dstate);
    free(params), free(buffers), free(counters), free(x), free(labels), free(logits), free(grads);
    rt_model_destroy(m);
    rt_network_free(net);
    rt_device_close(dev);
    rt_safetensors_free(file);
    return rt_test_finish("test_family_parity");
}
