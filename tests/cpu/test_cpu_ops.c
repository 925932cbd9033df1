/* Every CPU op against the naive loops of naive_ops.c, on random shapes and
 * the edge cases: padding borders, pooling ties and NaN, relu at exactly 0,
 * batch 1, batches that do not fill the backend's internal chunks.
 *
 * Limits: the naive loops accumulate in double, the backend in float with
 * fused multiply-adds, so a reduction over K terms differs by about
 * sqrt(K) * 2^-24 relative per element: an NMSE near K * 4e-15, at most
 * ~2e-12 for our largest K (500 for the convolutions, 8000+ for filter
 * gradients over a batch sums of positive and negative terms). 1e-10 leaves
 * margin for that and still catches any indexing error (NMSE ~ 1).
 * Element-wise ops must match exactly. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "naive_ops.h"
#include "resnet/device.h"
#include "test_support.h"

#define NMSE_REDUCTION 1e-10

static rt_device *dev;
static rt_rng rng;

static float *falloc(size_t n) { return calloc(n ? n : 1, sizeof(float)); }

static void check_close(const char *what, const float *ref, const float *got, size_t n,
                        double limit)
{
    double e = rt_test_nmse(ref, got, n);
    CHECKF(e <= limit, "%s: NMSE %.3g > %.3g", what, e, limit);
}

static void check_equal(const char *what, const float *ref, const float *got, size_t n)
{
    size_t bad = n;
    for (size_t i = 0; i < n && bad == n; i++) {
        int same = (isnan(ref[i]) && isnan(got[i])) || memcmp(&ref[i], &got[i], 4) == 0;
        if (!same)
            bad = i;
    }
    CHECKF(bad == n, "%s: element %zu differs: %.9g vs %.9g", what, bad,
           bad < n ? (double)ref[bad] : 0.0, bad < n ? (double)got[bad] : 0.0);
}

static void test_conv(rt_conv_shape s)
{
    char name[160];
    snprintf(name, sizeof name, "conv n%d c%d %dx%d k%d %dx%d pad%d", s.n, s.c, s.h, s.w, s.k,
             s.r, s.s, s.pad);
    int oh = rt_conv_out_h(&s), ow = rt_conv_out_w(&s);
    size_t nx = (size_t)s.n * s.c * s.h * s.w, nw = (size_t)s.k * s.c * s.r * s.s;
    size_t ny = (size_t)s.n * s.k * oh * ow;
    float *x = falloc(nx), *w = falloc(nw), *b = falloc(s.k), *y = falloc(ny), *yr = falloc(ny);
    float *dy = falloc(ny), *dx = falloc(nx), *dxr = falloc(nx), *dw = falloc(nw),
          *dwr = falloc(nw), *db = falloc(s.k), *dbr = falloc(s.k), *old = falloc(nx);
    rt_test_fill(&rng, x, nx, -1, 1);
    rt_test_fill(&rng, w, nw, -0.5f, 0.5f);
    rt_test_fill(&rng, b, s.k, -0.5f, 0.5f);
    rt_test_fill(&rng, dy, ny, -1, 1);

    char what[256];
    CHECK(rt_op_conv_forward(dev, &s, x, w, b, y) == RT_OK);
    naive_conv_forward(&s, x, w, b, yr);
    snprintf(what, sizeof what, "%s forward", name);
    check_close(what, yr, y, ny, NMSE_REDUCTION);

    CHECK(rt_op_conv_forward(dev, &s, x, w, NULL, y) == RT_OK);
    naive_conv_forward(&s, x, w, NULL, yr);
    snprintf(what, sizeof what, "%s forward without bias", name);
    check_close(what, yr, y, ny, NMSE_REDUCTION);

    rt_test_fill(&rng, dx, nx, 5, 6); /* stale values must be overwritten */
    CHECK(rt_op_conv_backward_data(dev, &s, dy, w, dx, 0.0f) == RT_OK);
    naive_conv_backward_data(&s, dy, w, dxr);
    snprintf(what, sizeof what, "%s backward data", name);
    check_close(what, dxr, dx, nx, NMSE_REDUCTION);

    /* beta = 1 adds to what is there (the residual gradient) */
    rt_test_fill(&rng, old, nx, -1, 1);
    memcpy(dx, old, nx * sizeof *dx);
    CHECK(rt_op_conv_backward_data(dev, &s, dy, w, dx, 1.0f) == RT_OK);
    for (size_t i = 0; i < nx; i++)
        dxr[i] += old[i];
    snprintf(what, sizeof what, "%s backward data, accumulate", name);
    check_close(what, dxr, dx, nx, NMSE_REDUCTION);

    rt_test_fill(&rng, dw, nw, 5, 6);
    CHECK(rt_op_conv_backward_filter(dev, &s, x, dy, dw) == RT_OK);
    naive_conv_backward_filter(&s, x, dy, dwr);
    snprintf(what, sizeof what, "%s backward filter", name);
    check_close(what, dwr, dw, nw, NMSE_REDUCTION);

    CHECK(rt_op_conv_backward_bias(dev, &s, dy, db) == RT_OK);
    naive_conv_backward_bias(&s, dy, dbr);
    snprintf(what, sizeof what, "%s backward bias", name);
    check_close(what, dbr, db, s.k, NMSE_REDUCTION);

    free(x), free(w), free(b), free(y), free(yr), free(dy), free(dx), free(dxr), free(dw);
    free(dwr), free(db), free(dbr), free(old);
}

static void test_convolutions(void)
{
    /* the model's six convolutions, at batch 1, a batch that splits into
     * uneven chunks (17), the last partial batch of an epoch (32) and 64 */
    const rt_conv_shape model[] = {
        {1, 1, 28, 28, 20, 5, 5, 0}, {1, 20, 12, 12, 30, 5, 5, 2}, {1, 30, 12, 12, 20, 3, 3, 1},
        {1, 20, 12, 12, 15, 3, 3, 0}, {1, 15, 5, 5, 30, 5, 5, 2}, {1, 30, 5, 5, 15, 3, 3, 1},
    };
    const int batches[] = {1, 17, 32};
    for (size_t i = 0; i < sizeof model / sizeof model[0]; i++)
        for (size_t j = 0; j < sizeof batches / sizeof batches[0]; j++) {
            rt_conv_shape s = model[i];
            s.n = batches[j];
            test_conv(s);
        }
    rt_conv_shape big = model[1];
    big.n = 64;
    test_conv(big);
    /* odd shapes: non-square kernels and images, padding wider than the
     * image, 1x1 kernels, a single output pixel */
    const rt_conv_shape odd[] = {
        {2, 3, 2, 2, 4, 5, 5, 2}, {3, 2, 7, 5, 3, 3, 1, 1}, {2, 4, 6, 9, 5, 1, 1, 0},
        {1, 2, 5, 5, 3, 5, 5, 0}, {9, 1, 4, 4, 1, 3, 3, 2}, {2, 33, 3, 3, 7, 3, 3, 1},
    };
    for (size_t i = 0; i < sizeof odd / sizeof odd[0]; i++)
        test_conv(odd[i]);
    for (int i = 0; i < 12; i++) {
        rt_conv_shape s;
        s.n = 1 + (int)rt_rng_below(&rng, 11);
        s.c = 1 + (int)rt_rng_below(&rng, 6);
        s.k = 1 + (int)rt_rng_below(&rng, 8);
        s.r = 1 + (int)rt_rng_below(&rng, 5);
        s.s = 1 + (int)rt_rng_below(&rng, 5);
        s.pad = (int)rt_rng_below(&rng, 3);
        s.h = s.r + (int)rt_rng_below(&rng, 10);
        s.w = s.s + (int)rt_rng_below(&rng, 10);
        test_conv(s);
    }
}

static void test_pool_case(int n, int c, int h, int w, int relu, int ties, int with_nan)
{
    size_t nx = (size_t)n * c * h * w, ny = (size_t)n * c * (h / 2) * (w / 2);
    float *x = falloc(nx), *y = falloc(ny), *yr = falloc(ny), *dy = falloc(ny), *dx = falloc(nx),
          *dxr = falloc(nx);
    for (size_t i = 0; i < nx; i++)
        /* small integers make ties and exact zeros common */
        x[i] = ties ? (float)((int)rt_rng_below(&rng, 5) - 2) : rt_rng_uniform(&rng) * 2 - 1;
    if (with_nan)
        for (size_t i = 0; i < nx; i += 7)
            x[i] = NAN;
    rt_test_fill(&rng, dy, ny, -1, 1);
    char what[128];
    snprintf(what, sizeof what, "maxpool n%d c%d %dx%d relu%d ties%d nan%d", n, c, h, w, relu,
             ties, with_nan);
    CHECK(rt_op_maxpool2_forward(dev, n, c, h, w, relu, x, y) == RT_OK);
    naive_maxpool2_forward(n, c, h, w, relu, x, yr);
    check_equal(what, yr, y, ny);
    rt_test_fill(&rng, dx, nx, 5, 6);
    CHECK(rt_op_maxpool2_backward(dev, n, c, h, w, relu, x, y, dy, dx) == RT_OK);
    naive_maxpool2_backward(n, c, h, w, relu, x, dy, dxr);
    strcat(what, " backward");
    check_equal(what, dxr, dx, nx);
    free(x), free(y), free(yr), free(dy), free(dx), free(dxr);
}

static void test_pooling(void)
{
    for (int relu = 0; relu <= 1; relu++)
        for (int ties = 0; ties <= 1; ties++) {
            test_pool_case(3, 20, 24, 24, relu, ties, 0);
            test_pool_case(1, 15, 10, 10, relu, ties, 0);
            test_pool_case(2, 3, 5, 7, relu, ties, 0); /* odd sizes: floor drops a row/column */
            test_pool_case(2, 2, 6, 6, relu, ties, 1);
        }
    /* a hand-made window: ties go to the first maximum in row-major order */
    float x[4] = {1, 3, 3, 2}, y[1], dy[1] = {7}, dx[4];
    CHECK(rt_op_maxpool2_forward(dev, 1, 1, 2, 2, 0, x, y) == RT_OK);
    CHECK(rt_op_maxpool2_backward(dev, 1, 1, 2, 2, 0, x, y, dy, dx) == RT_OK);
    CHECK(y[0] == 3 && dx[0] == 0 && dx[1] == 7 && dx[2] == 0 && dx[3] == 0);
    /* relu after pooling: a maximum of exactly 0 passes no gradient */
    float z[4] = {-1, 0, -2, 0};
    CHECK(rt_op_maxpool2_forward(dev, 1, 1, 2, 2, 1, z, y) == RT_OK);
    CHECK(rt_op_maxpool2_backward(dev, 1, 1, 2, 2, 1, z, y, dy, dx) == RT_OK);
    CHECK(y[0] == 0 && dx[0] == 0 && dx[1] == 0 && dx[2] == 0 && dx[3] == 0);
}

static void test_pointwise(void)
{
    enum { N = 1000 };
    float a[N], b[N], y[N], dy[N], d[N];
    for (int i = 0; i < N; i++) {
        a[i] = (float)((int)rt_rng_below(&rng, 7) - 3) * 0.5f; /* exact zeros and sums of 0 */
        b[i] = (float)((int)rt_rng_below(&rng, 7) - 3) * 0.5f;
        dy[i] = rt_rng_uniform(&rng) - 0.5f;
    }
    a[0] = -0.0f;
    CHECK(rt_op_relu_forward(dev, N, a, y) == RT_OK);
    int ok = 1;
    for (int i = 0; i < N; i++)
        ok &= y[i] == (a[i] > 0 ? a[i] : 0.0f);
    CHECK(ok);
    CHECK(rt_op_relu_backward(dev, N, y, dy, d) == RT_OK);
    ok = 1;
    for (int i = 0; i < N; i++)
        ok &= d[i] == (a[i] > 0 ? dy[i] : 0.0f); /* the gradient at exactly 0 is 0 */
    CHECK(ok);
    CHECK(rt_op_add_relu_forward(dev, N, a, b, y) == RT_OK);
    ok = 1;
    for (int i = 0; i < N; i++)
        ok &= y[i] == (a[i] + b[i] > 0 ? a[i] + b[i] : 0.0f);
    CHECK(ok);
    CHECK(rt_op_add_relu_backward(dev, N, y, dy, d) == RT_OK);
    ok = 1;
    for (int i = 0; i < N; i++)
        ok &= d[i] == (a[i] + b[i] > 0 ? dy[i] : 0.0f);
    CHECK(ok);
}

static void test_load_batch(void)
{
    enum { COUNT = 50, PIX = 784 };
    uint8_t *images = malloc(COUNT * PIX), labels[COUNT];
    for (int i = 0; i < COUNT * PIX; i++)
        images[i] = (uint8_t)(i * 7 + i / 13);
    for (int i = 0; i < COUNT; i++)
        labels[i] = (uint8_t)(i % 10);
    int32_t order[COUNT];
    for (int i = 0; i < COUNT; i++)
        order[i] = COUNT - 1 - i;
    rt_step_state st = {0};
    st.cursor = 40;
    float *x = falloc(10 * PIX);
    int32_t y[10];
    for (int with_order = 0; with_order <= 1; with_order++) {
        CHECK(rt_op_load_batch(dev, images, labels, with_order ? order : NULL, PIX, 10, &st, x,
                               y) == RT_OK);
        int ok = 1;
        for (int i = 0; i < 10; i++) {
            int src = with_order ? order[40 + i] : 40 + i;
            ok &= y[i] == labels[src];
            for (int j = 0; j < PIX; j++) {
                float expect = (float)images[src * PIX + j] / 255.0f;
                ok &= memcmp(&expect, &x[i * PIX + j], 4) == 0;
            }
        }
        CHECKF(ok, "load_batch with order %d", with_order);
    }
    /* 255 -> exactly 1, and the division (not a multiply by 1/255) */
    uint8_t px[3] = {0, 255, 3};
    uint8_t lb[1] = {4};
    rt_step_state s0 = {0};
    float out[3];
    int32_t l;
    CHECK(rt_op_load_batch(dev, px, lb, NULL, 3, 1, &s0, out, &l) == RT_OK);
    CHECK(out[0] == 0.0f && out[1] == 1.0f && out[2] == 3.0f / 255.0f && l == 4);
    free(images);
    free(x);
}

static void test_linear(int n, int in, int out)
{
    size_t nx = (size_t)n * in, nw = (size_t)out * in, ny = (size_t)n * out;
    float *x = falloc(nx), *w = falloc(nw), *b = falloc(out), *y = falloc(ny), *yr = falloc(ny),
          *dy = falloc(ny), *dx = falloc(nx), *dxr = falloc(nx), *dw = falloc(nw),
          *dwr = falloc(nw), *db = falloc(out), *dbr = falloc(out);
    rt_test_fill(&rng, x, nx, -1, 1);
    rt_test_fill(&rng, w, nw, -1, 1);
    rt_test_fill(&rng, b, out, -1, 1);
    rt_test_fill(&rng, dy, ny, -1, 1);
    CHECK(rt_op_linear_forward(dev, n, in, out, x, w, b, y) == RT_OK);
    naive_linear_forward(n, in, out, x, w, b, yr);
    check_close("linear forward", yr, y, ny, NMSE_REDUCTION);
    CHECK(rt_op_linear_backward_data(dev, n, in, out, dy, w, dx) == RT_OK);
    CHECK(rt_op_linear_backward_params(dev, n, in, out, x, dy, dw, db) == RT_OK);
    naive_linear_backward(n, in, out, x, w, dy, dxr, dwr, dbr);
    check_close("linear backward data", dxr, dx, nx, NMSE_REDUCTION);
    check_close("linear backward weight", dwr, dw, nw, NMSE_REDUCTION);
    check_close("linear backward bias", dbr, db, out, NMSE_REDUCTION);
    free(x), free(w), free(b), free(y), free(yr), free(dy), free(dx), free(dxr), free(dw);
    free(dwr), free(db), free(dbr);
}

static void test_softmax(int n)
{
    enum { K = 10 };
    float *z = falloc((size_t)n * K), *g = falloc((size_t)n * K), *gr = falloc((size_t)n * K);
    int32_t *labels = malloc((size_t)n * sizeof *labels);
    rt_test_fill(&rng, z, (size_t)n * K, -8, 8);
    for (int i = 0; i < n; i++)
        labels[i] = (int32_t)rt_rng_below(&rng, K);
    z[3] = z[5] = 50.0f; /* a tie for the maximum: the first wins */
    labels[0] = 5;
    rt_step_state st = {0};
    st.nonfinite_step = -1;
    st.loss_sum = 1.5;
    st.correct = 3;
    CHECK(rt_op_softmax_cross_entropy(dev, n, K, z, labels, g, &st) == RT_OK);
    int correct;
    double loss = naive_softmax_cross_entropy(n, K, z, labels, gr, &correct);
    CHECKF(fabs(st.loss - loss) <= 1e-6 * fabs(loss), "softmax loss %.9g vs %.9g", st.loss, loss);
    CHECK(st.correct == 3 + correct && st.batches == 1);
    CHECK(fabs(st.loss_sum - (1.5 + st.loss)) < 1e-12);
    CHECK(st.nonfinite_step == -1);
    check_close("softmax cross-entropy gradient", gr, g, (size_t)n * K, NMSE_REDUCTION);
    /* a NaN logit is reported as the step where the loss stopped being finite */
    st.steps = 41;
    z[0] = NAN;
    CHECK(rt_op_softmax_cross_entropy(dev, n, K, z, labels, NULL, &st) == RT_OK);
    CHECK(st.nonfinite_step == 41 && isnan(st.loss));
    /* a label out of range is an error, not a wild read */
    labels[n - 1] = 10;
    CHECK(rt_op_softmax_cross_entropy(dev, n, K, z, labels, NULL, &st) != RT_OK);
    free(z), free(g), free(gr), free(labels);
}

static void test_adam(void)
{
    enum { N = 3000 };
    float p[N], g[N], m[N], v[N], pr[N];
    double md[N], vd[N], pd[N];
    rt_test_fill(&rng, p, N, -1, 1);
    for (int i = 0; i < N; i++) {
        pd[i] = pr[i] = p[i];
        m[i] = v[i] = 0.0f;
        md[i] = vd[i] = 0.0;
    }
    rt_adam_config cfg = {0.9f, 0.999f, 1e-8f, 0.0f};
    rt_step_state st = {0};
    st.lr = 1e-3f;
    for (int t = 1; t <= 10; t++) {
        rt_test_fill(&rng, g, N, -1, 1);
        g[0] = 0.0f;    /* a parameter with no gradient yet */
        g[1] = 1e-12f;  /* a gradient far below eps */
        CHECK(rt_op_adam(dev, N, p, g, m, v, &cfg, &st) == RT_OK);
        CHECK(rt_op_step_advance(dev, &st, 64, 1) == RT_OK);
        for (int i = 0; i < N; i++) {
            md[i] = 0.9 * md[i] + 0.1 * g[i];
            vd[i] = 0.999 * vd[i] + 0.001 * (double)g[i] * g[i];
            double mh = md[i] / (1 - pow(0.9, t)), vh = vd[i] / (1 - pow(0.999, t));
            pd[i] -= 1e-3 * mh / (sqrt(vh) + 1e-8);
        }
    }
    for (int i = 0; i < N; i++)
        pr[i] = (float)pd[i];
    CHECK(st.steps == 10 && st.cursor == 640);
    /* ten float steps against the formula in double: the parameters (|p| <= 1)
     * are stored in float, so each step rounds them by up to half an ulp of 1
     * (6e-8): at most 6e-7 after ten steps. A wrong formula is off by about
     * lr = 1e-3. */
    double diff = rt_test_max_abs_diff(pr, p, N);
    CHECKF(diff < 1e-6, "adam after 10 steps: max |diff| %.3g", diff);
}

int main(void)
{
    rt_error err;
    rt_device_config cfg;
    rt_device_config_default(&cfg);
    cfg.threads = 2;
    if (rt_device_open("cpu", &cfg, &dev, &err) != RT_OK) {
        fprintf(stderr, "%s\n", err.message);
        return 1;
    }
    rt_rng_seed(&rng, 12345);
    test_convolutions();
    test_pooling();
    test_pointwise();
    test_load_batch();
    test_linear(1, 375, 10);
    test_linear(64, 375, 10);
    test_linear(7, 33, 5);
    test_softmax(1);
    test_softmax(64);
    test_adam();
    rt_device_close(dev);
    return rt_test_finish("test_cpu_ops");
}
