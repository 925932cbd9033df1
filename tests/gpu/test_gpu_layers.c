/* The CUDA backend's ops of the ResNet family against the CPU backend:
 * BatchNorm (training and evaluation, with and without the fused relu,
 * running statistics and the counter), max pooling with any window, stride
 * and padding, adaptive average pooling and the plain sum. The pattern of
 * test_gpu_ops.c: the same inputs to both devices, results compared bit
 * for bit where the arithmetic is the same and by nmse where only the
 * order of sums differs. Exit 77 without a usable GPU.
 *
 * Limits (u = 2^-24): BatchNorm's statistics are sums of M = n * hw terms
 * in double on both devices, so the mean and invstd agree to a float
 * rounding and the outputs to a few u (nmse ~1e-13); the backward pass
 * subtracts nearly equal terms (cancelling ~3 digits on random data), so
 * 1e-9 for dx, and 1e-10 for dweight and dbias (double sums, one rounding).
 * Pooling copies and compares values and adds window gradients in the same
 * order on both sides: bit for bit. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "resnet/device.h"
#include "resnet/rng.h"
#include "test_support.h"

static rt_device *cpu, *gpu;
static rt_rng rng;

#define CHECK_OK(dev, call)                                                          \
    do {                                                                             \
        rt_status check_ok_s_ = (call);                                              \
        CHECKF(check_ok_s_ == RT_OK, "%s on %s: %s", #call, rt_device_kind(dev),     \
               rt_device_error(dev));                                                \
    } while (0)

static float *frandom(size_t count, float lo, float hi)
{
    float *p = malloc((count ? count : 1) * sizeof *p);
    rt_test_fill(&rng, p, count, lo, hi);
    return p;
}

static void *put(rt_device *d, const void *host, size_t bytes)
{
    void *p = rt_device_alloc(d, bytes);
    CHECKF(p != NULL, "allocating %zu bytes on %s", bytes, rt_device_kind(d));
    if (p && host)
        CHECK_OK(d, rt_device_upload(d, p, host, bytes));
    return p;
}

static void get(rt_device *d, void *host, const void *p, size_t bytes)
{
    memset(host, 0xff, bytes);
    CHECK_OK(d, rt_device_download(d, host, p, bytes));
}

static void expect_nmse(const char *what, const float *ref, const float *got, size_t n,
                        double limit)
{
    double e = rt_test_nmse(ref, got, n);
    CHECKF(e <= limit, "%s: nmse %.3g exceeds %.1g", what, e, limit);
    if (getenv("RESNET_GPU_TEST_VERBOSE"))
        printf("  %-60s nmse %.3g (limit %.0e)\n", what, e, limit);
}

static void expect_same(const char *what, const float *ref, const float *got, size_t n)
{
    size_t i = 0;
    while (i < n && memcmp(ref + i, got + i, 4) == 0)
        i++;
    CHECKF(i == n, "%s: differs first at element %zu (cpu %.9g, gpu %.9g)", what, i,
           i < n ? (double)ref[i] : 0.0, i < n ? (double)got[i] : 0.0);
}

/* ---- BatchNorm ------------------------------------------------------------ */

typedef struct bn_out {
    float *y_train, *y_eval, *dx, *dw, *db, *rm, *rv, *smean, *sinv;
    int64_t tracked;
} bn_out;

static void bn_run(rt_device *d, int n, int c, int hw, int relu, const float *x,
                   const float *dy, const float *gamma, const float *beta, const float *rm0,
                   const float *rv0, bn_out *o)
{
    size_t nx = (size_t)n * c * hw, xb = nx * 4, cb = (size_t)c * 4;
    float *dxx = put(d, x, xb), *ddy = put(d, dy, xb), *dy1 = put(d, NULL, xb),
          *dy2 = put(d, NULL, xb), *ddx = put(d, NULL, xb);
    float *dg = put(d, gamma, cb), *dbe = put(d, beta, cb), *drm = put(d, rm0, cb),
          *drv = put(d, rv0, cb), *dsm = put(d, NULL, cb), *dsi = put(d, NULL, cb),
          *ddw = put(d, NULL, cb), *ddb = put(d, NULL, cb);
    int64_t start = 41;
    int64_t *dt = put(d, &start, sizeof start);
    rt_batchnorm bn = {n, c, hw, 1e-5f, 0.1f, relu, dg, dbe, drm, drv, dt, dsm, dsi, NULL};
    CHECK_OK(d, rt_op_batchnorm_forward(d, &bn, 1, dxx, dy1));
    CHECK_OK(d, rt_op_batchnorm_backward(d, &bn, dxx, dy1, ddy, ddx, ddw, ddb));
    CHECK_OK(d, rt_op_batchnorm_forward(d, &bn, 0, dxx, dy2));
    get(d, o->y_train, dy1, xb);
    get(d, o->y_eval, dy2, xb);
    get(d, o->dx, ddx, xb);
    get(d, o->dw, ddw, cb);
    get(d, o->db, ddb, cb);
    get(d, o->rm, drm, cb);
    get(d, o->rv, drv, cb);
    get(d, o->smean, dsm, cb);
    get(d, o->sinv, dsi, cb);
    CHECK_OK(d, rt_device_download(d, &o->tracked, dt, sizeof o->tracked));
    void *bufs[] = {dxx, ddy, dy1, dy2, ddx, dg, dbe, drm, drv, dsm, dsi, ddw, ddb, dt};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        rt_device_free(d, bufs[i]);
}

static void bn_alloc(bn_out *o, size_t nx, size_t c)
{
    float **f[] = {&o->y_train, &o->y_eval, &o->dx};
    for (int i = 0; i < 3; i++)
        *f[i] = malloc(nx * 4);
    float **g[] = {&o->dw, &o->db, &o->rm, &o->rv, &o->smean, &o->sinv};
    for (int i = 0; i < 6; i++)
        *g[i] = malloc(c * 4);
}

static void bn_free(bn_out *o)
{
    float *all[] = {o->y_train, o->y_eval, o->dx, o->dw, o->db, o->rm, o->rv, o->smean, o->sinv};
    for (int i = 0; i < 9; i++)
        free(all[i]);
}

static void test_batchnorm(void)
{
    static const int SHAPES[][3] = {
        {2, 3, 25}, {64, 16, 1024}, {64, 64, 784}, {32, 512, 1}, {8, 2048, 49}, {1, 4, 2},
    };
    for (size_t si = 0; si < sizeof SHAPES / sizeof SHAPES[0]; si++)
        for (int relu = 0; relu < 2; relu++) {
            int n = SHAPES[si][0], c = SHAPES[si][1], hw = SHAPES[si][2];
            size_t nx = (size_t)n * c * hw;
            float *x = frandom(nx, -2.0f, 3.0f), *dy = frandom(nx, -1.0f, 1.0f);
            float *gamma = frandom((size_t)c, 0.5f, 1.5f), *beta = frandom((size_t)c, -0.5f, 0.5f);
            float *rm = frandom((size_t)c, -0.2f, 0.2f), *rv = frandom((size_t)c, 0.5f, 2.0f);
            bn_out a, b;
            bn_alloc(&a, nx, (size_t)c);
            bn_alloc(&b, nx, (size_t)c);
            bn_run(cpu, n, c, hw, relu, x, dy, gamma, beta, rm, rv, &a);
            bn_run(gpu, n, c, hw, relu, x, dy, gamma, beta, rm, rv, &b);
            char what[160];
#define BN_CMP(field, count, limit)                                                      \
    snprintf(what, sizeof what, "batchnorm %dx%dx%d relu=%d " #field, n, c, hw, relu);  \
    expect_nmse(what, a.field, b.field, count, limit)
            BN_CMP(y_train, nx, 1e-12);
            BN_CMP(y_eval, nx, 1e-12);
            BN_CMP(smean, (size_t)c, 1e-12);
            BN_CMP(sinv, (size_t)c, 1e-12);
            BN_CMP(rm, (size_t)c, 1e-12);
            BN_CMP(rv, (size_t)c, 1e-12);
            if ((size_t)n * hw > 2) { /* two values per channel leave only rounding noise */
                BN_CMP(dx, nx, 1e-9);
            }
            BN_CMP(dw, (size_t)c, 1e-10);
            BN_CMP(db, (size_t)c, 1e-10);
#undef BN_CMP
            CHECKF(a.tracked == 42 && b.tracked == 42,
                   "num_batches_tracked: cpu %lld gpu %lld, expected 42 (one training batch)",
                   (long long)a.tracked, (long long)b.tracked);
            bn_free(&a);
            bn_free(&b);
            free(x), free(dy), free(gamma), free(beta), free(rm), free(rv);
        }
}

/* ---- pooling and the sum ---------------------------------------------------- */

static void pool_run(rt_device *d, const rt_pool_shape *s, const float *x, const float *dy,
                     float *y, float *dx)
{
    size_t xb = (size_t)s->n * s->c * s->h * s->w * 4;
    size_t yb = (size_t)s->n * s->c * rt_pool_out_h(s) * rt_pool_out_w(s) * 4;
    float *dxx = put(d, x, xb), *dyy = put(d, NULL, yb), *ddy = put(d, dy, yb),
          *ddx = put(d, NULL, xb);
    CHECK_OK(d, rt_op_maxpool_forward(d, s, dxx, dyy));
    CHECK_OK(d, rt_op_maxpool_backward(d, s, dxx, ddy, ddx));
    get(d, y, dyy, yb);
    get(d, dx, ddx, xb);
    rt_device_free(d, dxx), rt_device_free(d, dyy), rt_device_free(d, ddy), rt_device_free(d, ddx);
}

static void test_maxpool(void)
{
    static const rt_pool_shape SHAPES[] = {
        {64, 64, 112, 112, 3, 2, 1}, {2, 3, 15, 13, 3, 2, 1}, {3, 2, 9, 9, 2, 2, 0},
        {2, 3, 5, 6, 3, 1, 1},       {1, 1, 1, 1, 3, 2, 1},   {2, 2, 8, 8, 5, 3, 2},
    };
    static const float SET[] = {-1.0f, -0.0f, 0.0f, 0.5f, 1.0f};
    for (size_t si = 0; si < sizeof SHAPES / sizeof SHAPES[0]; si++)
        for (int nan = 0; nan < 2; nan++) {
            const rt_pool_shape *s = &SHAPES[si];
            size_t nx = (size_t)s->n * s->c * s->h * s->w;
            size_t ny = (size_t)s->n * s->c * rt_pool_out_h(s) * rt_pool_out_w(s);
            float *x = malloc(nx * 4), *dy = frandom(ny, -1.0f, 1.0f);
            for (size_t i = 0; i < nx; i++) {
                x[i] = SET[rt_rng_below(&rng, 5)]; /* ties everywhere */
                if (nan && rt_rng_below(&rng, 40) == 0)
                    x[i] = NAN;
            }
            float *yc = malloc(ny * 4), *yg = malloc(ny * 4), *dxc = malloc(nx * 4),
                  *dxg = malloc(nx * 4);
            pool_run(cpu, s, x, dy, yc, dxc);
            pool_run(gpu, s, x, dy, yg, dxg);
            char what[160];
            snprintf(what, sizeof what, "maxpool %dx%dx%dx%d k%d s%d p%d nan=%d forward", s->n,
                     s->c, s->h, s->w, s->kernel, s->stride, s->pad, nan);
            expect_same(what, yc, yg, ny);
            snprintf(what, sizeof what, "maxpool %dx%dx%dx%d k%d s%d p%d nan=%d backward", s->n,
                     s->c, s->h, s->w, s->kernel, s->stride, s->pad, nan);
            expect_same(what, dxc, dxg, nx);
            free(x), free(dy), free(yc), free(yg), free(dxc), free(dxg);
        }
}

static void test_avgpool_and_add(void)
{
    static const int SHAPES[][3] = {{64, 512, 49}, {3, 5, 1}, {128, 64, 64}};
    for (size_t si = 0; si < 3; si++) {
        int n = SHAPES[si][0], c = SHAPES[si][1], hw = SHAPES[si][2];
        size_t nx = (size_t)n * c * hw, ny = (size_t)n * c;
        float *x = frandom(nx, -1.0f, 1.0f), *dy = frandom(ny, -1.0f, 1.0f);
        float *r[4] = {malloc(ny * 4), malloc(ny * 4), malloc(nx * 4), malloc(nx * 4)};
        rt_device *devs[2] = {cpu, gpu};
        for (int k = 0; k < 2; k++) {
            rt_device *d = devs[k];
            float *dxx = put(d, x, nx * 4), *dyy = put(d, NULL, ny * 4), *ddy = put(d, dy, ny * 4),
                  *ddx = put(d, NULL, nx * 4);
            CHECK_OK(d, rt_op_avgpool_forward(d, n, c, hw, dxx, dyy));
            CHECK_OK(d, rt_op_avgpool_backward(d, n, c, hw, ddy, ddx));
            get(d, r[k], dyy, ny * 4);
            get(d, r[2 + k], ddx, nx * 4);
            rt_device_free(d, dxx), rt_device_free(d, dyy), rt_device_free(d, ddy);
            rt_device_free(d, ddx);
        }
        char what[96];
        /* a double sum of the same terms in the same order, one rounding */
        snprintf(what, sizeof what, "avgpool %dx%dx%d forward", n, c, hw);
        expect_same(what, r[0], r[1], ny);
        snprintf(what, sizeof what, "avgpool %dx%dx%d backward", n, c, hw);
        expect_same(what, r[2], r[3], nx);
        for (int k = 0; k < 4; k++)
            free(r[k]);
        free(x), free(dy);
    }
    size_t n = 100003;
    float *a = frandom(n, -2.0f, 2.0f), *b = frandom(n, -2.0f, 2.0f);
    float *yc = malloc(n * 4), *yg = malloc(n * 4);
    rt_device *devs[2] = {cpu, gpu};
    float *outs[2] = {yc, yg};
    for (int k = 0; k < 2; k++) {
        rt_device *d = devs[k];
        float *da = put(d, a, n * 4), *db = put(d, b, n * 4);
        CHECK_OK(d, rt_op_add(d, n, da, db, da)); /* in place, as gradient sums use it */
        get(d, outs[k], da, n * 4);
        rt_device_free(d, da), rt_device_free(d, db);
    }
    expect_same("add, in place", yc, yg, n);
    free(a), free(b), free(yc), free(yg);
}

/* Strided convolutions of the family's shapes at training batch sizes
 * (the odd strided shapes are in test_gpu_ops.c) are covered by
 * test_gpu_step's whole-network steps. */

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
    printf("GPU: %s\n", rt_device_description(gpu));
    if (rt_device_open("cpu", &cfg, &cpu, &err) != RT_OK) {
        fprintf(stderr, "opening the CPU device: %s\n", err.message);
        return 1;
    }
    rt_rng_seed(&rng, 20261201);
    test_batchnorm();
    test_maxpool();
    test_avgpool_and_add();
    CHECKF(rt_device_synchronize(gpu) == RT_OK, "final synchronize: %s", rt_device_error(gpu));
    rt_device_close(gpu);
    rt_device_close(cpu);
    return rt_test_finish("test_gpu_layers");
}
