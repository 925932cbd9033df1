/* The recipe's ops on the CUDA backend against the CPU backend: SGD
 * (momentum, dampening, Nesterov, decay), AdamW, the schedule's table
 * lookup, batch loading through a transform (crop, flip, normalisation)
 * and the label-smoothed loss with its top-5 count. Skipped (77) without
 * a GPU. Limits: SGD and the lookups are the same roundings in the same
 * order on both sides (explicitly rounded intrinsics on the GPU), so the
 * parameters agree to an nmse of 1e-14 (the CPU build may fuse a
 * multiply-add the GPU rounds twice); loading is exact (one correctly
 * rounded division, subtraction and division per value); the loss as
 * test_gpu_ops argues (expf/logf within 2 ulp): 1e-6 relative. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "resnet/augment.h"
#include "resnet/device.h"
#include "test_support.h"

static rt_device *cpu, *gpu;
static rt_rng rng;

static void *put(rt_device *d, const void *host, size_t bytes)
{
    void *p = rt_device_alloc(d, bytes);
    CHECK(p != NULL);
    if (p && host)
        CHECK(rt_device_upload(d, p, host, bytes) == RT_OK);
    else if (p)
        CHECK(rt_device_zero(d, p, bytes) == RT_OK);
    return p;
}

static void get(rt_device *d, void *host, const void *p, size_t bytes)
{
    CHECKF(rt_device_download(d, host, p, bytes) == RT_OK, "download: %s", rt_device_error(d));
}

static rt_step_state fresh(void)
{
    rt_step_state s;
    memset(&s, 0, sizeof s);
    s.nonfinite_step = -1;
    s.lr = 0.05f;
    return s;
}

static void test_optimisers(void)
{
    const size_t n = 10007;
    float *p0 = malloc(n * 4), *g[8];
    rt_test_fill(&rng, p0, n, -0.1f, 0.1f);
    for (int t = 0; t < 8; t++) {
        g[t] = malloc(n * 4);
        rt_test_fill(&rng, g[t], n, -1e-2f, 1e-2f);
    }
    float lrs[8] = {0.1f, 0.05f, 0.2f, 0.0123f, 0.1f, 0.07f, 0.01f, 0.3f};
    static const rt_sgd_config SGD[3] = {
        {0.9f, 0.0f, 1e-4f, 0}, {0.8f, 0.3f, 0.0f, 0}, {0.9f, 0.0f, 5e-4f, 1}};
    for (int ci = 0; ci < 4; ci++) {
        float *out[2], *buf[2];
        for (int k = 0; k < 2; k++) {
            rt_device *d = k ? gpu : cpu;
            float *dp = put(d, p0, n * 4), *dm = put(d, NULL, n * 4), *dv = put(d, NULL, n * 4);
            float *dg = put(d, NULL, n * 4), *table = put(d, lrs, sizeof lrs);
            rt_step_state s = fresh();
            rt_step_state *ds = put(d, &s, sizeof s);
            for (int t = 0; t < 8; t++) {
                CHECK(rt_device_upload(d, dg, g[t], n * 4) == RT_OK);
                CHECK(rt_op_lr_from_table(d, table, 8, ds) == RT_OK);
                if (ci < 3) {
                    CHECK(rt_op_sgd(d, n, dp, dg, dm, &SGD[ci], ds) == RT_OK);
                } else {
                    rt_adam_config adamw = {0.9f, 0.999f, 1e-8f, 0.05f, 1};
                    CHECK(rt_op_adam(d, n, dp, dg, dm, dv, &adamw, ds) == RT_OK);
                }
                CHECK(rt_op_step_advance(d, ds, 64, 1) == RT_OK);
            }
            out[k] = malloc(n * 4), buf[k] = malloc(n * 4);
            get(d, out[k], dp, n * 4);
            get(d, buf[k], dm, n * 4);
            get(d, &s, ds, sizeof s);
            CHECK(s.steps == 8 && s.lr == lrs[7] && s.nonfinite_step == -1);
            void *bufs[] = {dp, dm, dv, dg, table, ds};
            for (int i = 0; i < 6; i++)
                rt_device_free(d, bufs[i]);
        }
        double e = rt_test_nmse(out[0], out[1], n), eb = rt_test_nmse(buf[0], buf[1], n);
        CHECKF(e <= 1e-14 && eb <= 1e-12, "optimiser case %d: params nmse %.3g, buffer %.3g", ci,
               e, eb);
        printf("optimiser case %d: params nmse %.3g, momentum/moment nmse %.3g\n", ci, e, eb);
        for (int k = 0; k < 2; k++)
            free(out[k]), free(buf[k]);
    }
    for (int t = 0; t < 8; t++)
        free(g[t]);
    free(p0);
}

/* resized: RandomResizedCrop from 40x36 stored images to 32x32 (integer
 * arithmetic: the bytes must agree exactly too), else crop_pad 4. */
static void test_transformed_load(int resized)
{
    const int count = 100, c = 3, h = 32, w = 32, pixels = c * h * w, nb = 64;
    const int sh = resized ? 40 : h, sw = resized ? 36 : w, stored = c * sh * sw;
    uint8_t *images = malloc((size_t)count * stored), labels[100];
    for (int i = 0; i < count * stored; i++)
        images[i] = (uint8_t)rt_rng_below(&rng, 256);
    for (int i = 0; i < count; i++)
        labels[i] = (uint8_t)(i % 10);
    int32_t order[100];
    for (int i = 0; i < count; i++)
        order[i] = i;
    rt_rng_shuffle(&rng, order, count);
    rt_batch_transform tf;
    memset(&tf, 0, sizeof tf);
    tf.channels = c, tf.height = h, tf.width = w, tf.crop_pad = 4, tf.flip = 1;
    tf.normalize = 1, tf.seed = 123;
    const float mean[3] = {0.4914f, 0.4822f, 0.4465f}, sd[3] = {0.247f, 0.2435f, 0.2616f};
    for (int k = 0; k < 3; k++)
        tf.mean[k] = mean[k], tf.std[k] = sd[k];
    rt_error e;
    if (resized)
        CHECK(rt_batch_transform_resized_crop(&tf, sh, sw, 0.08f, 1.0f, &e) == RT_OK);
    float *x[2];
    int32_t y[2][64];
    for (int k = 0; k < 2; k++) {
        rt_device *d = k ? gpu : cpu;
        uint8_t *di = put(d, images, (size_t)count * stored), *dl = put(d, labels, count);
        int32_t *dord = put(d, order, sizeof order), *dy = put(d, NULL, sizeof y[0]);
        rt_step_state s = fresh();
        s.cursor = 20, s.steps = 1234;
        rt_step_state *ds = put(d, &s, sizeof s);
        float *dx = put(d, NULL, (size_t)nb * pixels * 4);
        CHECK(rt_op_load_batch_transformed(d, di, dl, dord, nb, &tf, ds, dx, dy) == RT_OK);
        x[k] = malloc((size_t)nb * pixels * 4);
        get(d, x[k], dx, (size_t)nb * pixels * 4);
        get(d, y[k], dy, sizeof y[k]);
        void *bufs[] = {di, dl, dord, dy, ds, dx};
        for (int i = 0; i < 6; i++)
            rt_device_free(d, bufs[i]);
    }
    CHECKF(memcmp(x[0], x[1], (size_t)nb * pixels * 4) == 0,
           "load_batch_transformed: the GPU's %s differ", resized ? "resized crops" :
           "crops, flips or normalisation");
    CHECK(memcmp(y[0], y[1], sizeof y[0]) == 0);
    free(x[0]), free(x[1]), free(images);
}

static void test_smoothed_loss(void)
{
    const int n = 200, classes = 100;
    float *z = malloc((size_t)n * classes * 4), *gr[2];
    rt_test_fill(&rng, z, (size_t)n * classes, -4.0f, 4.0f);
    int32_t labels[200];
    for (int i = 0; i < n; i++)
        labels[i] = (int32_t)rt_rng_below(&rng, classes);
    rt_step_state st[2];
    for (int k = 0; k < 2; k++) {
        rt_device *d = k ? gpu : cpu;
        float *dz = put(d, z, (size_t)n * classes * 4), *dg = put(d, NULL, (size_t)n * classes * 4);
        int32_t *dl = put(d, labels, sizeof labels);
        rt_step_state s = fresh();
        rt_step_state *ds = put(d, &s, sizeof s);
        CHECK(rt_op_softmax_cross_entropy_smoothed(d, n, classes, 0.1f, dz, dl, dg, ds) == RT_OK);
        gr[k] = malloc((size_t)n * classes * 4);
        get(d, gr[k], dg, (size_t)n * classes * 4);
        get(d, &st[k], ds, sizeof st[k]);
        void *bufs[] = {dz, dg, dl, ds};
        for (int i = 0; i < 4; i++)
            rt_device_free(d, bufs[i]);
    }
    CHECKF(fabs(st[0].loss - st[1].loss) <= 1e-6 * fabs(st[0].loss), "smoothed loss %.9g vs %.9g",
           (double)st[0].loss, (double)st[1].loss);
    CHECKF(st[0].correct == st[1].correct && st[0].correct5 == st[1].correct5,
           "top-1 %d/%d, top-5 %d/%d", st[0].correct, st[1].correct, st[0].correct5,
           st[1].correct5);
    double e = rt_test_nmse(gr[0], gr[1], (size_t)n * classes);
    CHECKF(e <= 1e-12, "smoothed loss gradient nmse %.3g", e);
    free(gr[0]), free(gr[1]), free(z);
}

int main(void)
{
    rt_error err;
    rt_device_config cfg;
    rt_device_config_default(&cfg);
    rt_status st = rt_device_open("cuda", &cfg, &gpu, &err);
    if (st == RT_ERR_NODEVICE)
        return rt_test_skip(err.message);
    if (st != RT_OK) {
        fprintf(stderr, "opening the CUDA device: %s\n", err.message);
        return 1;
    }
    if (rt_device_open("cpu", &cfg, &cpu, &err) != RT_OK)
        return 1;
    rt_rng_seed(&rng, 77);
    test_optimisers();
    test_transformed_load(0);
    test_transformed_load(1);
    test_smoothed_loss();
    CHECKF(rt_device_synchronize(gpu) == RT_OK, "final synchronize: %s", rt_device_error(gpu));
    rt_device_close(gpu);
    rt_device_close(cpu);
    return rt_test_finish("GPU recipe ops");
}
