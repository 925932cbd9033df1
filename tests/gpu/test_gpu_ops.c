/* Every op of the CUDA backend against the CPU backend (the numerical
 * reference): the same random inputs go to both devices, each runs the op,
 * the results come back and are compared, exactly where the arithmetic is
 * the same on both sides and by a normalised mean squared error
 *   nmse = sum (cpu - gpu)^2 / sum cpu^2        (rt_test_nmse)
 * where only the order of floating-point sums differs. Every limit is argued
 * next to it; any NaN or Inf in a result fails unless the case feeds NaN on
 * purpose (then the results must match bit for bit).
 *
 * u = 2^-24 ~ 6e-8 is the float unit roundoff. A sum of L terms computed in
 * two different orders differs by a relative RMS of about u*sqrt(L) (random
 * rounding errors), so its nmse is about L*u^2 = L * 3.6e-15.
 *
 * Exit 77 (skipped) when no usable GPU is present. RESNET_GPU_TEST_QUICK=1
 * leaves out the batch-64 and TF32 convolutions (for slow runs under
 * compute-sanitizer; test_gpu_step covers the batch-64 shapes).
 * RESNET_GPU_TEST_VERBOSE=1 prints every nmse. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "resnet/device.h"
#include "resnet/rng.h"
#include "test_support.h"

static rt_device *cpu, *gpu, *gpu_tf32;
static rt_rng rng;

#define CHECK_OK(dev, call)                                                          \
    do {                                                                             \
        rt_status check_ok_s_ = (call);                                              \
        CHECKF(check_ok_s_ == RT_OK, "%s on %s: %s", #call, rt_device_kind(dev),     \
               rt_device_error(dev));                                                \
    } while (0)

/* ---- helpers -------------------------------------------------------------- */

static void *xmalloc(size_t bytes)
{
    void *p = malloc(bytes ? bytes : 1);
    if (!p) {
        fprintf(stderr, "out of host memory (%zu bytes)\n", bytes);
        exit(1);
    }
    return p;
}

static float *fmalloc(size_t count) { return xmalloc(count * sizeof(float)); }

static float *frandom(size_t count, float lo, float hi)
{
    float *p = fmalloc(count);
    rt_test_fill(&rng, p, count, lo, hi);
    return p;
}

/* device copy of host data (NULL host: left as allocated, zero) */
static void *put(rt_device *d, const void *host, size_t bytes)
{
    void *p = rt_device_alloc(d, bytes);
    CHECKF(p != NULL, "allocating %zu bytes on %s: %s", bytes, rt_device_kind(d),
           rt_device_error(d));
    if (p && host)
        CHECK_OK(d, rt_device_upload(d, p, host, bytes));
    return p;
}

static void get(rt_device *d, void *host, const void *dev_ptr, size_t bytes)
{
    memset(host, 0xff, bytes); /* NaN if the download does not happen */
    if (dev_ptr)
        CHECK_OK(d, rt_device_download(d, host, dev_ptr, bytes));
}

/* nmse with a limit; a NaN or Inf anywhere gives +inf and fails */
static void expect_nmse(const char *what, const float *ref, const float *got, size_t n,
                        double limit)
{
    double e = rt_test_nmse(ref, got, n);
    CHECKF(e <= limit, "%s: nmse %.3g exceeds %.1g (max |diff| %.3g)", what, e, limit,
           rt_test_max_abs_diff(ref, got, n));
    if (getenv("RESNET_GPU_TEST_VERBOSE"))
        printf("  %-60s nmse %.3g (limit %.0e)\n", what, e, limit);
}

/* bit-for-bit equality (NaN payloads included) */
static void expect_same(const char *what, const void *ref, const void *got, size_t bytes)
{
    if (memcmp(ref, got, bytes) == 0) {
        CHECK(1);
        return;
    }
    size_t i = 0;
    while (((const unsigned char *)ref)[i] == ((const unsigned char *)got)[i])
        i++;
    size_t f = i / 4;
    CHECKF(0, "%s: differs first at element %zu (cpu %.9g, gpu %.9g)", what, f,
           (double)((const float *)ref)[f], (double)((const float *)got)[f]);
}

/* ---- memory ---------------------------------------------------------------- */

static void test_memory(void)
{
    size_t n = (size_t)1 << 18;
    float *host = fmalloc(n);
    float *p = put(gpu, NULL, n * sizeof(float));
    get(gpu, host, p, n * sizeof(float));
    size_t nonzero = 0;
    for (size_t i = 0; i < n; i++)
        nonzero += host[i] != 0.0f;
    CHECKF(nonzero == 0, "fresh GPU memory has %zu non-zero floats", nonzero);
    CHECK(rt_device_peak_bytes(gpu) >= n * sizeof(float));

    /* upload, copy, zero */
    float *src = frandom(n, -1.0f, 1.0f);
    float *q = put(gpu, src, n * sizeof(float));
    CHECK_OK(gpu, rt_device_copy(gpu, p, q, n * sizeof(float)));
    get(gpu, host, p, n * sizeof(float));
    expect_same("copy", src, host, n * sizeof(float));
    CHECK_OK(gpu, rt_device_zero(gpu, p, n * sizeof(float) / 2));
    get(gpu, host, p, n * sizeof(float));
    CHECK(host[0] == 0.0f && host[n / 2 - 1] == 0.0f && host[n / 2] == src[n / 2]);

    /* an impossible allocation fails with the sizes in the message and
     * leaves the device usable */
    void *huge = rt_device_alloc(gpu, (size_t)1 << 52);
    CHECK(huge == NULL);
    CHECKF(strstr(rt_device_error(gpu), "asked for") != NULL, "OOM message: %s",
           rt_device_error(gpu));
    rt_error oom;
    CHECK(rt_device_take_error(gpu, &oom) == RT_ERR_NOMEM);
    CHECK_OK(gpu, rt_op_relu_forward(gpu, n, q, p));
    CHECK_OK(gpu, rt_device_synchronize(gpu));

    rt_device_free(gpu, p);
    rt_device_free(gpu, q);
    free(src);
    free(host);
}

/* ---- convolutions ---------------------------------------------------------- */

typedef struct conv_result {
    float *y, *y_nobias, *y_again, *dx, *dx_acc, *dw, *db;
} conv_result;

static size_t x_count(const rt_conv_shape *s) { return (size_t)s->n * s->c * s->h * s->w; }
static size_t y_count(const rt_conv_shape *s)
{
    return (size_t)s->n * s->k * rt_conv_out_h(s) * rt_conv_out_w(s);
}
static size_t w_count(const rt_conv_shape *s) { return (size_t)s->k * s->c * s->r * s->s; }

static void conv_run(rt_device *d, const rt_conv_shape *s, const float *x, const float *w,
                     const float *b, const float *dy, const float *dx0, const float *junk,
                     conv_result *r)
{
    size_t xb = x_count(s) * 4, yb = y_count(s) * 4, wb = w_count(s) * 4, bb = (size_t)s->k * 4;
    float *dx_ = put(d, x, xb), *dw_ = put(d, w, wb), *db_ = put(d, b, bb);
    float *ddy = put(d, dy, yb), *dy_ = put(d, junk, yb);
    float *dgx = put(d, junk, xb), *dgxa = put(d, dx0, xb);
    float *dgw = put(d, junk, wb), *dgb = put(d, junk, bb);
    r->y = fmalloc(y_count(s));
    r->y_nobias = fmalloc(y_count(s));
    r->y_again = fmalloc(y_count(s));
    r->dx = fmalloc(x_count(s));
    r->dx_acc = fmalloc(x_count(s));
    r->dw = fmalloc(w_count(s));
    r->db = fmalloc((size_t)s->k);

    CHECK_OK(d, rt_op_conv_forward(d, s, dx_, dw_, NULL, dy_));
    get(d, r->y_nobias, dy_, yb);
    CHECK_OK(d, rt_op_conv_forward(d, s, dx_, dw_, db_, dy_));
    get(d, r->y, dy_, yb);
    CHECK_OK(d, rt_op_conv_forward(d, s, dx_, dw_, NULL, dy_));
    get(d, r->y_again, dy_, yb);
    CHECK_OK(d, rt_op_conv_backward_data(d, s, ddy, dw_, dgx, 0.0f));
    get(d, r->dx, dgx, xb);
    CHECK_OK(d, rt_op_conv_backward_data(d, s, ddy, dw_, dgxa, 1.0f));
    get(d, r->dx_acc, dgxa, xb);
    CHECK_OK(d, rt_op_conv_backward_filter(d, s, dx_, ddy, dgw));
    get(d, r->dw, dgw, wb);
    CHECK_OK(d, rt_op_conv_backward_bias(d, s, ddy, dgb));
    get(d, r->db, dgb, bb);

    float *bufs[] = {dx_, dw_, db_, ddy, dy_, dgx, dgxa, dgw, dgb};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        rt_device_free(d, bufs[i]);
}

static void conv_free(conv_result *r)
{
    free(r->y);
    free(r->y_nobias);
    free(r->y_again);
    free(r->dx);
    free(r->dx_acc);
    free(r->dw);
    free(r->db);
}

static void test_conv_shape(const rt_conv_shape *s, int tf32)
{
    char name[160];
    snprintf(name, sizeof name, "conv n=%d c=%d %dx%d k=%d %dx%d pad=%d%s", s->n, s->c, s->h,
             s->w, s->k, s->r, s->s, s->pad, tf32 ? " TF32" : "");
    float bound = 1.0f / sqrtf((float)(s->c * s->r * s->s));
    float *x = frandom(x_count(s), -1.0f, 1.0f);
    float *w = frandom(w_count(s), -bound, bound);
    float *b = frandom((size_t)s->k, -bound, bound);
    float *dy = frandom(y_count(s), -1.0f, 1.0f);
    float *dx0 = frandom(x_count(s), -1.0f, 1.0f);
    size_t most = x_count(s) > y_count(s) ? x_count(s) : y_count(s);
    if (w_count(s) > most)
        most = w_count(s);
    float *junk = frandom(most, 1e3f, 2e3f); /* outputs must overwrite it */

    conv_result rc, rg;
    conv_run(cpu, s, x, w, b, dy, dx0, junk, &rc);
    conv_run(tf32 ? gpu_tf32 : gpu, s, x, w, b, dy, dx0, junk, &rg);

    char what[240];
    if (!tf32) {
        /* Forward and backward-data are sums of c*r*s <= 750 products (k*r*s
         * for backward data, <= 750 too): nmse ~ 750 * 3.6e-15 ~ 3e-12 per
         * side. cuDNN may use Winograd or FFT algorithms, whose transforms
         * add errors of a few u more. 1e-10 leaves a margin of ~30 while TF32
         * (nmse ~1e-7) or any indexing error (nmse ~1) fails. */
        const double sum_limit = 1e-10;
        /* Backward-filter sums n*oh*ow <= 64*576 = 36864 products per weight:
         * nmse up to ~36864 * 3.6e-15 ~ 1.3e-10 if both sides summed
         * sequentially (both block their sums, so less in practice). */
        const double filter_limit = 1e-9;
        /* The bias gradient is accumulated in double on both sides and
         * rounded once: equal up to the last bit (nmse ~u^2 ~ 1e-15). */
        const double bias_limit = 1e-12;
        snprintf(what, sizeof what, "%s forward", name);
        expect_nmse(what, rc.y, rg.y, y_count(s), sum_limit);
        snprintf(what, sizeof what, "%s forward without bias", name);
        expect_nmse(what, rc.y_nobias, rg.y_nobias, y_count(s), sum_limit);
        snprintf(what, sizeof what, "%s backward data", name);
        expect_nmse(what, rc.dx, rg.dx, x_count(s), sum_limit);
        snprintf(what, sizeof what, "%s backward data, beta 1", name);
        expect_nmse(what, rc.dx_acc, rg.dx_acc, x_count(s), sum_limit);
        snprintf(what, sizeof what, "%s backward filter", name);
        expect_nmse(what, rc.dw, rg.dw, w_count(s), filter_limit);
        snprintf(what, sizeof what, "%s backward bias", name);
        expect_nmse(what, rc.db, rg.db, (size_t)s->k, bias_limit);
    } else {
        /* TF32 rounds both operands of every product to 11 significant bits
         * (u' = 2^-11): each product is off by a relative RMS of about
         * u' * sqrt(2/3), so nmse ~ (2/3) * 2^-22 ~ 1.6e-7 (x4 if cuDNN
         * truncates instead of rounding). 1e-5 leaves a margin of ~15;
         * the bias (our kernels, FP32) is unchanged but rides on y. */
        const double tf32_limit = 1e-5;
        snprintf(what, sizeof what, "%s forward", name);
        expect_nmse(what, rc.y, rg.y, y_count(s), tf32_limit);
        snprintf(what, sizeof what, "%s backward data, beta 1", name);
        expect_nmse(what, rc.dx_acc, rg.dx_acc, x_count(s), tf32_limit);
        snprintf(what, sizeof what, "%s backward filter", name);
        expect_nmse(what, rc.dw, rg.dw, w_count(s), tf32_limit);
    }
    /* the algorithm is chosen on the first call (cudnnFind, which writes
     * into scratch buffers) and reused: a later call gives the same bits */
    snprintf(what, sizeof what, "%s forward, first and third call (gpu)", name);
    expect_same(what, rg.y_nobias, rg.y_again, y_count(s) * 4);

    conv_free(&rc);
    conv_free(&rg);
    free(x);
    free(w);
    free(b);
    free(dy);
    free(dx0);
    free(junk);
}

static void test_conv(void)
{
    /* the model's six convolutions (per image: c, h, w, k, r, s, pad) */
    static const int MODEL[6][7] = {
        {1, 28, 28, 20, 5, 5, 0},  {20, 12, 12, 30, 5, 5, 2}, {30, 12, 12, 20, 3, 3, 1},
        {20, 12, 12, 15, 3, 3, 0}, {15, 5, 5, 30, 5, 5, 2},   {30, 5, 5, 15, 3, 3, 1},
    };
    const char *q = getenv("RESNET_GPU_TEST_QUICK");
    int quick = q && *q && strcmp(q, "0") != 0;
    int batches[3] = {64, 1, 32}; /* a full batch, one image, the last partial batch */
    for (int bi = 0; bi < 3; bi++) {
        if (batches[bi] == 64 && quick)
            continue;
        for (int l = 0; l < 6; l++) {
            rt_conv_shape s = {batches[bi], MODEL[l][0], MODEL[l][1], MODEL[l][2],
                               MODEL[l][3], MODEL[l][4], MODEL[l][5], MODEL[l][6], 1};
            test_conv_shape(&s, 0);
        }
    }
    /* odd shapes: pads 0/1/2, kernels 1/3/5 and non-square, small images,
     * a kernel as large as the padded image */
    static const rt_conv_shape ODD[] = {
        {3, 2, 7, 9, 4, 3, 3, 0, 1}, {2, 3, 5, 5, 2, 5, 5, 2, 1}, {1, 1, 3, 3, 1, 3, 3, 2, 1},
        {4, 5, 6, 4, 3, 1, 1, 0, 1}, {2, 3, 8, 7, 4, 3, 5, 1, 1}, {5, 4, 2, 2, 3, 5, 5, 2, 1},
        /* strided: the ImageNet stem, 3x3/2 and 1x1/2 projections, odd sizes */
        {2, 3, 23, 21, 8, 7, 7, 3, 2}, {3, 8, 9, 9, 16, 3, 3, 1, 2}, {3, 8, 9, 8, 16, 1, 1, 0, 2},
        {2, 4, 7, 7, 4, 3, 3, 1, 3},
    };
    for (size_t i = 0; i < sizeof ODD / sizeof ODD[0]; i++)
        test_conv_shape(&ODD[i], 0);
    /* TF32, once, on the model's shapes at batch 64 */
    if (gpu_tf32 && !quick)
        for (int l = 0; l < 6; l++) {
            rt_conv_shape s = {64,          MODEL[l][0], MODEL[l][1], MODEL[l][2],
                               MODEL[l][3], MODEL[l][4], MODEL[l][5], MODEL[l][6], 1};
            test_conv_shape(&s, 1);
        }
}

/* ---- pooling, relu, the residual join ---------------------------------------- */

/* Values from a small set so windows have ties, with -0.0, +0.0 and, when
 * with_nan, a few NaNs. */
static float *tie_values(size_t count, int with_nan)
{
    static const float SET[] = {-1.0f, -0.5f, -0.0f, 0.0f, 0.5f, 1.0f, 1.5f};
    float *p = fmalloc(count);
    for (size_t i = 0; i < count; i++) {
        p[i] = SET[rt_rng_below(&rng, sizeof SET / sizeof SET[0])];
        if (with_nan && rt_rng_below(&rng, 50) == 0)
            p[i] = NAN;
    }
    return p;
}

static void pool_run(rt_device *d, int n, int c, int h, int w, int relu, const float *x,
                     const float *dy, const float *junk, float *y, float *dx)
{
    size_t xb = (size_t)n * c * h * w * 4, yb = (size_t)n * c * (h / 2) * (w / 2) * 4;
    float *dx_ = put(d, x, xb), *dy_ = put(d, junk, yb), *ddy = put(d, dy, yb);
    float *dgx = put(d, junk, xb);
    CHECK_OK(d, rt_op_maxpool2_forward(d, n, c, h, w, relu, dx_, dy_));
    get(d, y, dy_, yb);
    CHECK_OK(d, rt_op_maxpool2_backward(d, n, c, h, w, relu, dx_, dy_, ddy, dgx));
    get(d, dx, dgx, xb);
    rt_device_free(d, dx_);
    rt_device_free(d, dy_);
    rt_device_free(d, ddy);
    rt_device_free(d, dgx);
}

static void test_pool(void)
{
    /* The GPU computes the same comparisons and copies the same values:
     * outputs and gradients must match bit for bit, NaN included. */
    static const int SHAPES[][4] = {
        {2, 3, 6, 6}, {1, 2, 5, 7}, {3, 1, 2, 2}, {64, 20, 24, 24}, {64, 15, 10, 10}, {1, 1, 9, 3},
    };
    for (size_t si = 0; si < sizeof SHAPES / sizeof SHAPES[0]; si++)
        for (int with_nan = 0; with_nan < 2; with_nan++)
            for (int relu = 0; relu < 2; relu++) {
                int n = SHAPES[si][0], c = SHAPES[si][1], h = SHAPES[si][2], w = SHAPES[si][3];
                size_t xc = (size_t)n * c * h * w, yc = (size_t)n * c * (h / 2) * (w / 2);
                float *x = tie_values(xc, with_nan);
                float *dy = frandom(yc, -1.0f, 1.0f);
                float *junk = frandom(xc, 7.0f, 8.0f);
                float *yc_ = fmalloc(yc), *yg = fmalloc(yc), *dxc = fmalloc(xc),
                      *dxg = fmalloc(xc);
                pool_run(cpu, n, c, h, w, relu, x, dy, junk, yc_, dxc);
                pool_run(gpu, n, c, h, w, relu, x, dy, junk, yg, dxg);
                char what[128];
                snprintf(what, sizeof what, "maxpool %dx%dx%dx%d relu=%d nan=%d forward", n, c,
                         h, w, relu, with_nan);
                expect_same(what, yc_, yg, yc * 4);
                snprintf(what, sizeof what, "maxpool %dx%dx%dx%d relu=%d nan=%d backward", n, c,
                         h, w, relu, with_nan);
                expect_same(what, dxc, dxg, xc * 4);
                if (!with_nan)
                    CHECK(rt_test_all_finite(yg, yc) && rt_test_all_finite(dxg, xc));
                free(x);
                free(dy);
                free(junk);
                free(yc_);
                free(yg);
                free(dxc);
                free(dxg);
            }
}

static void pointwise_run(rt_device *d, size_t n, const float *a, const float *b,
                          const float *dy, float *relu_y, float *relu_dx, float *join_y,
                          float *join_d)
{
    size_t bytes = n * 4;
    float *da = put(d, a, bytes), *db = put(d, b, bytes), *ddy = put(d, dy, bytes);
    float *y1 = put(d, NULL, bytes), *g1 = put(d, NULL, bytes);
    float *y2 = put(d, NULL, bytes), *g2 = put(d, NULL, bytes);
    CHECK_OK(d, rt_op_relu_forward(d, n, da, y1));
    CHECK_OK(d, rt_op_relu_backward(d, n, y1, ddy, g1));
    CHECK_OK(d, rt_op_add_relu_forward(d, n, da, db, y2));
    CHECK_OK(d, rt_op_add_relu_backward(d, n, y2, ddy, g2));
    get(d, relu_y, y1, bytes);
    get(d, relu_dx, g1, bytes);
    get(d, join_y, y2, bytes);
    get(d, join_d, g2, bytes);
    float *bufs[] = {da, db, ddy, y1, g1, y2, g2};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        rt_device_free(d, bufs[i]);
}

static void test_pointwise(void)
{
    /* Element-wise ops with one IEEE operation (or none): bit for bit. The
     * inputs hold exact zeros of both signs, subnormals, a + b == 0
     * exactly, and ordinary values; an odd count exercises the tail. */
    size_t n = 100003;
    float *a = frandom(n, -2.0f, 2.0f), *b = frandom(n, -2.0f, 2.0f);
    float *dy = frandom(n, -1.0f, 1.0f);
    for (size_t i = 0; i < n; i += 7) {
        switch ((i / 7) % 5) {
        case 0: a[i] = 0.0f; break;
        case 1: a[i] = -0.0f; break;
        case 2: a[i] = 1e-40f; break; /* subnormal: no flush to zero */
        case 3: a[i] = -1e-40f; break;
        default: b[i] = -a[i]; break; /* the join sums to exactly 0 */
        }
    }
    float *r[8];
    for (int i = 0; i < 8; i++)
        r[i] = fmalloc(n);
    pointwise_run(cpu, n, a, b, dy, r[0], r[1], r[2], r[3]);
    pointwise_run(gpu, n, a, b, dy, r[4], r[5], r[6], r[7]);
    expect_same("relu forward", r[0], r[4], n * 4);
    expect_same("relu backward", r[1], r[5], n * 4);
    expect_same("add_relu forward", r[2], r[6], n * 4);
    expect_same("add_relu backward", r[3], r[7], n * 4);
    for (int i = 4; i < 8; i++)
        CHECK(rt_test_all_finite(r[i], n));
    for (int i = 0; i < 8; i++)
        free(r[i]);
    free(a);
    free(b);
    free(dy);
}

/* ---- the linear layer ---------------------------------------------------------- */

static void linear_run(rt_device *d, int n, int in, int out, const float *x, const float *w,
                       const float *b, const float *dy, const float *junk, float *y,
                       float *y_nobias, float *dx, float *dw, float *db)
{
    size_t xb = (size_t)n * in * 4, wb = (size_t)out * in * 4, yb = (size_t)n * out * 4,
           bb = (size_t)out * 4;
    float *dx_ = put(d, x, xb), *dw_ = put(d, w, wb), *db_ = put(d, b, bb);
    float *ddy = put(d, dy, yb), *dy_ = put(d, junk, yb);
    float *dgx = put(d, junk, xb), *dgw = put(d, junk, wb), *dgb = put(d, junk, bb);
    CHECK_OK(d, rt_op_linear_forward(d, n, in, out, dx_, dw_, NULL, dy_));
    get(d, y_nobias, dy_, yb);
    CHECK_OK(d, rt_op_linear_forward(d, n, in, out, dx_, dw_, db_, dy_));
    get(d, y, dy_, yb);
    CHECK_OK(d, rt_op_linear_backward_data(d, n, in, out, ddy, dw_, dgx));
    get(d, dx, dgx, xb);
    CHECK_OK(d, rt_op_linear_backward_params(d, n, in, out, dx_, ddy, dgw, dgb));
    get(d, dw, dgw, wb);
    get(d, db, dgb, bb);
    float *bufs[] = {dx_, dw_, db_, ddy, dy_, dgx, dgw, dgb};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        rt_device_free(d, bufs[i]);
}

static void test_linear(void)
{
    static const int SHAPES[][3] = {{64, 375, 10}, {1, 375, 10}, {32, 375, 10}, {5, 7, 3}};
    for (size_t si = 0; si < sizeof SHAPES / sizeof SHAPES[0]; si++) {
        int n = SHAPES[si][0], in = SHAPES[si][1], out = SHAPES[si][2];
        size_t xc = (size_t)n * in, wc = (size_t)out * in, yc = (size_t)n * out;
        float bound = 1.0f / sqrtf((float)in);
        float *x = frandom(xc, 0.0f, 2.0f); /* post-relu activations */
        float *w = frandom(wc, -bound, bound), *b = frandom((size_t)out, -bound, bound);
        float *dy = frandom(yc, -0.1f, 0.1f);
        float *junk = frandom(xc > wc ? xc : wc, 5.0f, 6.0f);
        float *res[2][5];
        for (int k = 0; k < 2; k++) {
            res[k][0] = fmalloc(yc);
            res[k][1] = fmalloc(yc);
            res[k][2] = fmalloc(xc);
            res[k][3] = fmalloc(wc);
            res[k][4] = fmalloc((size_t)out);
            linear_run(k ? gpu : cpu, n, in, out, x, w, b, dy, junk, res[k][0], res[k][1],
                       res[k][2], res[k][3], res[k][4]);
        }
        /* Forward sums in <= 375 products, backward data <= 10, the weight
         * gradient <= 64: nmse <= 375 * 3.6e-15 ~ 1.4e-12; 1e-10 as for the
         * convolutions. The bias gradient is a double sum on both sides. */
        char what[96];
        snprintf(what, sizeof what, "linear %dx%d->%d forward", n, in, out);
        expect_nmse(what, res[0][0], res[1][0], yc, 1e-10);
        snprintf(what, sizeof what, "linear %dx%d->%d forward without bias", n, in, out);
        expect_nmse(what, res[0][1], res[1][1], yc, 1e-10);
        snprintf(what, sizeof what, "linear %dx%d->%d backward data", n, in, out);
        expect_nmse(what, res[0][2], res[1][2], xc, 1e-10);
        snprintf(what, sizeof what, "linear %dx%d->%d weight gradient", n, in, out);
        expect_nmse(what, res[0][3], res[1][3], wc, 1e-10);
        snprintf(what, sizeof what, "linear %dx%d->%d bias gradient", n, in, out);
        expect_nmse(what, res[0][4], res[1][4], (size_t)out, 1e-12);
        for (int k = 0; k < 2; k++)
            for (int j = 0; j < 5; j++)
                free(res[k][j]);
        free(x);
        free(w);
        free(b);
        free(dy);
        free(junk);
    }
}

/* ---- softmax cross-entropy ----------------------------------------------------- */

static rt_step_state initial_state(void)
{
    rt_step_state s;
    memset(&s, 0, sizeof s);
    s.steps = 5;
    s.nonfinite_step = -1;
    s.loss_sum = 1.5;
    s.loss = 0.25f;
    s.lr = 1e-3f;
    s.cursor = 128;
    s.correct = 3;
    s.batches = 2;
    return s;
}

/* Runs two batches through the loss (the second from logits2) on d,
 * returning the final state and the first batch's dlogits. */
static rt_status xent_run(rt_device *d, int n, int classes, const float *logits,
                          const float *logits2, const int32_t *labels, int with_grad,
                          float *dlogits, rt_step_state *state)
{
    size_t lb = (size_t)n * classes * 4;
    float *dl = put(d, logits, lb), *dl2 = put(d, logits2, lb);
    int32_t *dlab = put(d, labels, (size_t)n * 4);
    float *dg = with_grad ? put(d, NULL, lb) : NULL;
    rt_step_state *ds = put(d, state, sizeof *state);
    rt_status st = rt_op_softmax_cross_entropy(d, n, classes, dl, dlab, dg, ds);
    if (st == RT_OK)
        st = rt_op_softmax_cross_entropy(d, n, classes, dl2, dlab, NULL, ds);
    if (st == RT_OK)
        st = rt_device_synchronize(d);
    if (st == RT_OK && with_grad)
        st = rt_device_download(d, dlogits, dg, lb);
    rt_status st2 = rt_device_download(d, state, ds, sizeof *state);
    rt_device_free(d, dl);
    rt_device_free(d, dl2);
    rt_device_free(d, dlab);
    rt_device_free(d, dg);
    rt_device_free(d, ds);
    return st != RT_OK ? st : st2;
}

/* The loss is a mean of per-sample logsumexp(z) - z_y, each computed with
 * expf/logf, whose GPU versions are within 2 ulp of the CPU's: a relative
 * difference of a few u, 1e-6 with margin. */
static int close_loss(double a, double b)
{
    return fabs(a - b) <= 1e-6 * fmax(1.0, fabs(a));
}

static void test_softmax_xent(void)
{
    const int classes = 10;
    static const int NS[] = {64, 1, 32, 1000};
    for (size_t ni = 0; ni < sizeof NS / sizeof NS[0]; ni++)
        for (int variant = 0; variant < 3; variant++) {
            int n = NS[ni];
            size_t count = (size_t)n * classes;
            float *z = frandom(count, -8.0f, 8.0f), *z2 = frandom(count, -8.0f, 8.0f);
            if (variant == 2) /* large logits: only correct with the max subtracted */
                for (size_t i = 0; i < count; i++)
                    z[i] += 1000.0f;
            int32_t *labels = xmalloc((size_t)n * 4);
            for (int i = 0; i < n; i++)
                labels[i] = (int32_t)rt_rng_below(&rng, (uint32_t)classes);
            int with_grad = variant != 1;
            float *gc = fmalloc(count), *gg = fmalloc(count);
            rt_step_state sc = initial_state(), sg = initial_state();
            CHECK_OK(cpu, xent_run(cpu, n, classes, z, z2, labels, with_grad, gc, &sc));
            CHECK_OK(gpu, xent_run(gpu, n, classes, z, z2, labels, with_grad, gg, &sg));
            char what[96];
            snprintf(what, sizeof what, "softmax xent n=%d variant %d dlogits", n, variant);
            /* dlogits = (softmax - onehot) / n from expf of the same
             * arguments: relative differences of a few u, nmse ~1e-14 */
            if (with_grad)
                expect_nmse(what, gc, gg, count, 1e-10);
            CHECKF(close_loss(sc.loss, sg.loss), "n=%d variant %d: loss cpu %.9g gpu %.9g", n,
                   variant, (double)sc.loss, (double)sg.loss);
            CHECKF(close_loss(sc.loss_sum, sg.loss_sum),
                   "n=%d variant %d: loss_sum cpu %.12g gpu %.12g", n, variant, sc.loss_sum,
                   sg.loss_sum);
            /* the argmax compares the same floats the same way: exact */
            CHECKF(sc.correct == sg.correct, "n=%d variant %d: correct cpu %d gpu %d", n,
                   variant, sc.correct, sg.correct);
            CHECK(sc.batches == 4 && sg.batches == 4);
            CHECK(sg.nonfinite_step == -1 && sc.nonfinite_step == -1);
            CHECK(sg.steps == sc.steps && sg.cursor == sc.cursor && sg.lr == sc.lr);
            free(z);
            free(z2);
            free(labels);
            free(gc);
            free(gg);
        }

    /* A non-finite loss: the first step it happens is recorded, later ones
     * are not (step_advance moves the step count in between). */
    {
        int n = 4;
        float z[40];
        for (int i = 0; i < 40; i++)
            z[i] = (float)(i % 7) - 3.0f;
        z[13] = INFINITY;
        int32_t labels[4] = {1, 2, 3, 4};
        rt_step_state s[2];
        for (int k = 0; k < 2; k++) {
            rt_device *d = k ? gpu : cpu;
            s[k] = initial_state();
            float *dz = put(d, z, sizeof z);
            int32_t *dlab = put(d, labels, sizeof labels);
            rt_step_state *ds = put(d, &s[k], sizeof s[k]);
            CHECK_OK(d, rt_op_softmax_cross_entropy(d, n, 10, dz, dlab, NULL, ds));
            CHECK_OK(d, rt_op_step_advance(d, ds, n, 1));
            CHECK_OK(d, rt_op_softmax_cross_entropy(d, n, 10, dz, dlab, NULL, ds));
            get(d, &s[k], ds, sizeof s[k]);
            rt_device_free(d, dz);
            rt_device_free(d, dlab);
            rt_device_free(d, ds);
        }
        CHECKF(s[0].nonfinite_step == 5 && s[1].nonfinite_step == 5,
               "nonfinite_step cpu %lld gpu %lld (expected 5)", (long long)s[0].nonfinite_step,
               (long long)s[1].nonfinite_step);
        CHECK(!isfinite(s[1].loss) && !isfinite(s[1].loss_sum));
        CHECK(s[1].steps == 6 && s[1].cursor == 132 && s[1].batches == 4);
    }

    /* Labels outside 0..classes-1: the CPU fails at once; the GPU records
     * it in the kernel and the next synchronisation reports the same
     * message, leaving the state untouched, after which the device works. */
    {
        int n = 6;
        float *z = frandom(60, -1.0f, 1.0f);
        int32_t labels[6] = {0, 1, 2, 10, -1, 9};
        rt_step_state before = initial_state(), after;
        float *dz = put(cpu, z, 240);
        int32_t *dlab = put(cpu, labels, sizeof labels);
        rt_step_state *ds = put(cpu, &before, sizeof before);
        rt_status st = rt_op_softmax_cross_entropy(cpu, n, 10, dz, dlab, NULL, ds);
        CHECK(st == RT_ERR_USAGE);
        char cpu_msg[RT_ERROR_MESSAGE_MAX];
        snprintf(cpu_msg, sizeof cpu_msg, "%s", rt_device_error(cpu));
        rt_device_free(cpu, dz);
        rt_device_free(cpu, dlab);
        rt_device_free(cpu, ds);

        dz = put(gpu, z, 240);
        dlab = put(gpu, labels, sizeof labels);
        ds = put(gpu, &before, sizeof before);
        float *dg = put(gpu, NULL, 240);
        CHECK_OK(gpu, rt_op_softmax_cross_entropy(gpu, n, 10, dz, dlab, dg, ds));
        st = rt_device_synchronize(gpu);
        CHECKF(st == RT_ERR_USAGE, "bad label on the GPU: synchronize gave %d (%s)", (int)st,
               rt_device_error(gpu));
        CHECKF(strncmp(rt_device_error(gpu), cpu_msg, strlen(cpu_msg)) == 0,
               "GPU message '%s' does not start with the CPU's '%s'", rt_device_error(gpu),
               cpu_msg);
        CHECK_OK(gpu, rt_device_download(gpu, &after, ds, sizeof after));
        CHECK(memcmp(&before, &after, sizeof before) == 0);
        float g[60];
        get(gpu, g, dg, sizeof g);
        CHECK(g[30] == 0.0f && g[39] == 0.0f && g[40] == 0.0f && rt_test_all_finite(g, 60));
        CHECK_OK(gpu, rt_op_softmax_cross_entropy(gpu, 3, 10, dz, dlab, NULL, ds));
        CHECK_OK(gpu, rt_device_synchronize(gpu));
        rt_device_free(gpu, dz);
        rt_device_free(gpu, dlab);
        rt_device_free(gpu, ds);
        rt_device_free(gpu, dg);
        free(z);
    }
}

/* ---- batch loading ------------------------------------------------------------------ */

static void test_load_batch(void)
{
    const int count = 300, pixels = 784;
    uint8_t *images = xmalloc((size_t)count * pixels);
    uint8_t *labels = xmalloc((size_t)count);
    for (size_t i = 0; i < (size_t)count * pixels; i++) /* every byte value, shuffled */
        images[i] = (uint8_t)((i * 7919u + rt_rng_below(&rng, 3)) & 0xff);
    for (int i = 0; i < count; i++)
        labels[i] = (uint8_t)rt_rng_below(&rng, 10);
    int32_t *order = xmalloc((size_t)count * 4);
    for (int i = 0; i < count; i++)
        order[i] = i;
    rt_rng_shuffle(&rng, order, count);

    static const int CASES[][3] = {{0, 64, 0}, {236, 64, 0}, {100, 64, 1}, {299, 1, 1}};
    for (size_t ci = 0; ci < sizeof CASES / sizeof CASES[0]; ci++) {
        int cursor = CASES[ci][0], n = CASES[ci][1], shuffled = CASES[ci][2];
        float *x[2];
        int32_t *y[2];
        for (int k = 0; k < 2; k++) {
            rt_device *d = k ? gpu : cpu;
            x[k] = fmalloc((size_t)n * pixels);
            y[k] = xmalloc((size_t)n * 4);
            uint8_t *di = put(d, images, (size_t)count * pixels);
            uint8_t *dl = put(d, labels, (size_t)count);
            int32_t *dord = put(d, order, (size_t)count * 4);
            rt_step_state s = initial_state();
            s.cursor = cursor;
            rt_step_state *ds = put(d, &s, sizeof s);
            float *dx = put(d, NULL, (size_t)n * pixels * 4);
            int32_t *dy = put(d, NULL, (size_t)n * 4);
            CHECK_OK(d, rt_op_load_batch(d, di, dl, shuffled ? dord : NULL, pixels, n, ds, dx,
                                         dy));
            get(d, x[k], dx, (size_t)n * pixels * 4);
            get(d, y[k], dy, (size_t)n * 4);
            void *bufs[] = {di, dl, dord, ds, dx, dy};
            for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
                rt_device_free(d, bufs[i]);
        }
        /* one correctly rounded division per pixel on both sides: exact */
        char what[80];
        snprintf(what, sizeof what, "load_batch cursor=%d n=%d shuffled=%d images", cursor, n,
                 shuffled);
        expect_same(what, x[0], x[1], (size_t)n * pixels * 4);
        snprintf(what, sizeof what, "load_batch cursor=%d n=%d shuffled=%d labels", cursor, n,
                 shuffled);
        expect_same(what, y[0], y[1], (size_t)n * 4);
        for (int k = 0; k < 2; k++) {
            free(x[k]);
            free(y[k]);
        }
    }
    free(images);
    free(labels);
    free(order);
}

/* ---- Adam and the end of a step --------------------------------------------------------- */

static void test_adam(void)
{
    const size_t count = 10007;
    static const rt_adam_config CFGS[2] = {
        {0.9f, 0.999f, 1e-8f, 0.0f, 0},  /* the seed's: lerp weight 0.1 */
        {0.3f, 0.99f, 1e-6f, 0.01f, 0}, /* lerp weight 0.7 (the other branch), weight decay */
    };
    for (int ci = 0; ci < 2; ci++) {
        float *p0 = frandom(count, -0.1f, 0.1f);
        float *grads[10];
        for (int t = 0; t < 10; t++)
            grads[t] = frandom(count, -1e-2f, 1e-2f);
        float *out[2][3];
        rt_step_state st[2];
        for (int k = 0; k < 2; k++) {
            rt_device *d = k ? gpu : cpu;
            float *dp = put(d, p0, count * 4), *dm = put(d, NULL, count * 4),
                  *dv = put(d, NULL, count * 4), *dg = put(d, NULL, count * 4);
            rt_step_state s = initial_state();
            s.steps = 0;
            rt_step_state *ds = put(d, &s, sizeof s);
            for (int t = 0; t < 10; t++) {
                CHECK_OK(d, rt_device_upload(d, dg, grads[t], count * 4));
                CHECK_OK(d, rt_op_adam(d, count, dp, dg, dm, dv, &CFGS[ci], ds));
                CHECK_OK(d, rt_op_step_advance(d, ds, 64, 1));
            }
            for (int j = 0; j < 3; j++)
                out[k][j] = fmalloc(count);
            get(d, out[k][0], dp, count * 4);
            get(d, out[k][1], dm, count * 4);
            get(d, out[k][2], dv, count * 4);
            get(d, &st[k], ds, sizeof st[k]);
            rt_device_free(d, dp);
            rt_device_free(d, dm);
            rt_device_free(d, dv);
            rt_device_free(d, dg);
            rt_device_free(d, ds);
        }
        /* The same float operations in the same order on both sides; the
         * GPU rounds each one separately (__fmul_rn & co.), the CPU build
         * may fuse some multiply-adds (-ffp-contract=fast), and pow() in
         * double may differ by an ulp. So m and v differ by about one
         * rounding per step: relative ~u, nmse ~u^2 ~ 4e-15 even after 10
         * steps of carrying it; the parameters far less (the update is ~lr
         * against parameters ~0.05). 1e-12 leaves a margin of 100, while a
         * wrong bias correction or lerp branch gives nmse > 1e-6 and a
         * misplaced eps (the second configuration: 1e-6 against gradients
         * ~1e-2) ~1e-10. */
        const char *names[3] = {"params", "m", "v"};
        for (int j = 0; j < 3; j++) {
            char what[64];
            snprintf(what, sizeof what, "adam config %d, 10 steps: %s", ci, names[j]);
            expect_nmse(what, out[0][j], out[1][j], count, 1e-12);
        }
        CHECK(st[0].steps == 10 && st[1].steps == 10);
        CHECK(st[0].cursor == 128 + 640 && st[1].cursor == 128 + 640);
        for (int k = 0; k < 2; k++)
            for (int j = 0; j < 3; j++)
                free(out[k][j]);
        for (int t = 0; t < 10; t++)
            free(grads[t]);
        free(p0);
    }

    /* step_advance without an optimiser step moves only the cursor */
    for (int k = 0; k < 2; k++) {
        rt_device *d = k ? gpu : cpu;
        rt_step_state s = initial_state();
        rt_step_state *ds = put(d, &s, sizeof s);
        CHECK_OK(d, rt_op_step_advance(d, ds, 16, 0));
        get(d, &s, ds, sizeof s);
        CHECK(s.steps == 5 && s.cursor == 144);
        rt_device_free(d, ds);
    }
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
    printf("GPU: %s\n", rt_device_description(gpu));
    if (rt_device_open("cpu", &cfg, &cpu, &err) != RT_OK) {
        fprintf(stderr, "opening the CPU device: %s\n", err.message);
        return 1;
    }
    rt_device_config tf32 = cfg;
    tf32.precision = RT_PRECISION_TF32;
    if (rt_device_open("cuda", &tf32, &gpu_tf32, &err) != RT_OK) {
        CHECKF(0, "opening a second CUDA device in TF32 mode: %s", err.message);
        gpu_tf32 = NULL;
    }
    rt_rng_seed(&rng, 20240611);

    test_memory();
    test_load_batch();
    test_pointwise();
    test_pool();
    test_linear();
    test_softmax_xent();
    test_adam();
    test_conv();

    CHECKF(rt_device_synchronize(gpu) == RT_OK, "final synchronize: %s", rt_device_error(gpu));
    printf("GPU peak memory: %zu bytes\n", rt_device_peak_bytes(gpu));
    rt_device_close(gpu_tf32);
    rt_device_close(gpu);
    rt_device_close(cpu);
    return rt_test_finish("test_gpu_ops");
}
