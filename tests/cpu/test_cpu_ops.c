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
    snprintf(name, sizeof name, "conv n%d c%d %dx%d k%d %dx%d pad%d stride%d", s.n, s.c, s.h,
             s.w, s.k, s.r, s.s, s.pad, s.stride);
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
        {1, 1, 28, 28, 20, 5, 5, 0, 1}, {1, 20, 12, 12, 30, 5, 5, 2, 1},
        {1, 30, 12, 12, 20, 3, 3, 1, 1}, {1, 20, 12, 12, 15, 3, 3, 0, 1},
        {1, 15, 5, 5, 30, 5, 5, 2, 1},   {1, 30, 5, 5, 15, 3, 3, 1, 1},
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
        {2, 3, 2, 2, 4, 5, 5, 2, 1}, {3, 2, 7, 5, 3, 3, 1, 1, 1}, {2, 4, 6, 9, 5, 1, 1, 0, 1},
        {1, 2, 5, 5, 3, 5, 5, 0, 1}, {9, 1, 4, 4, 1, 3, 3, 2, 1}, {2, 33, 3, 3, 7, 3, 3, 1, 1},
        /* the ResNets' strided shapes: the 7x7/2 stem, 3x3/2 and 1x1/2
         * projections, on odd and even sizes (the last row/column unused) */
        {2, 3, 29, 27, 8, 7, 7, 3, 2}, {3, 8, 9, 9, 16, 3, 3, 1, 2}, {3, 8, 8, 7, 16, 3, 3, 1, 2},
        {17, 8, 9, 8, 16, 1, 1, 0, 2}, {2, 4, 7, 7, 4, 3, 3, 1, 3}, {1, 64, 4, 4, 32, 3, 3, 1, 2},
        /* 1x1 stride 1 with many channels: the bottlenecks' GEMM shape */
        {3, 64, 7, 7, 48, 1, 1, 0, 1},
        /* ResNet-18's last stage on MNIST: 2x2 and 1x1 images */
        {8, 256, 2, 2, 512, 3, 3, 1, 2}, {8, 256, 2, 2, 512, 1, 1, 0, 2},
        {8, 512, 1, 1, 512, 3, 3, 1, 1}, {8, 256, 2, 2, 256, 3, 3, 1, 1},
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
        s.stride = 1 + (int)rt_rng_below(&rng, 3);
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

static void test_general_pool_case(rt_pool_shape s, int ties, int with_nan)
{
    size_t nx = (size_t)s.n * s.c * s.h * s.w;
    size_t ny = (size_t)s.n * s.c * rt_pool_out_h(&s) * rt_pool_out_w(&s);
    float *x = falloc(nx), *y = falloc(ny), *yr = falloc(ny), *dy = falloc(ny), *dx = falloc(nx),
          *dxr = falloc(nx);
    for (size_t i = 0; i < nx; i++)
        x[i] = ties ? (float)((int)rt_rng_below(&rng, 3) - 1) : rt_rng_uniform(&rng) * 2 - 1;
    if (with_nan)
        for (size_t i = 3; i < nx; i += 11)
            x[i] = NAN;
    rt_test_fill(&rng, dy, ny, -1, 1);
    char what[160];
    snprintf(what, sizeof what, "maxpool n%d c%d %dx%d kernel%d stride%d pad%d ties%d nan%d", s.n,
             s.c, s.h, s.w, s.kernel, s.stride, s.pad, ties, with_nan);
    CHECK(rt_op_maxpool_forward(dev, &s, x, y) == RT_OK);
    naive_maxpool_forward(&s, x, yr, NULL);
    check_equal(what, yr, y, ny);
    rt_test_fill(&rng, dx, nx, 5, 6);
    CHECK(rt_op_maxpool_backward(dev, &s, x, dy, dx) == RT_OK);
    naive_maxpool_backward(&s, x, dy, dxr);
    strcat(what, " backward");
    /* overlapping windows add in the same (row-major) order on both sides */
    check_equal(what, dxr, dx, nx);
    free(x), free(y), free(yr), free(dy), free(dx), free(dxr);
}

static void test_general_pooling(void)
{
    static const rt_pool_shape shapes[] = {
        {2, 3, 16, 16, 3, 2, 1}, /* the ImageNet stem's pooling */
        {3, 2, 15, 13, 3, 2, 1}, {1, 4, 7, 7, 3, 2, 0}, {2, 2, 9, 9, 2, 2, 0},
        {2, 3, 5, 6, 3, 1, 1},   {1, 1, 1, 1, 3, 2, 1}, {2, 2, 8, 8, 5, 3, 2},
    };
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
        for (int ties = 0; ties <= 1; ties++)
            for (int nan = 0; nan <= 1; nan++)
                test_general_pool_case(shapes[i], ties, nan);
    /* two overlapping windows won by one input: its gradient is the sum */
    rt_pool_shape s = {1, 1, 1, 3, 3, 1, 1};
    float x[3] = {0, 5, 1}, y[3], dy[3] = {1, 2, 4}, dx[3];
    CHECK(rt_op_maxpool_forward(dev, &s, x, y) == RT_OK);
    CHECK(y[0] == 5 && y[1] == 5 && y[2] == 5);
    CHECK(rt_op_maxpool_backward(dev, &s, x, dy, dx) == RT_OK);
    CHECK(dx[0] == 0 && dx[1] == 7 && dx[2] == 0);
}

static void test_avgpool(int n, int c, int hw)
{
    size_t nx = (size_t)n * c * hw, ny = (size_t)n * c;
    float *x = falloc(nx), *y = falloc(ny), *dy = falloc(ny), *dx = falloc(nx);
    rt_test_fill(&rng, x, nx, -1, 1);
    rt_test_fill(&rng, dy, ny, -1, 1);
    CHECK(rt_op_avgpool_forward(dev, n, c, hw, x, y) == RT_OK);
    int ok = 1;
    for (size_t p = 0; p < ny; p++) {
        double sum = 0.0;
        for (int i = 0; i < hw; i++)
            sum += x[p * hw + i];
        /* one rounding of the exact mean (the double sum of <= 49 floats is exact enough) */
        ok &= fabs(y[p] - sum / hw) <= 1e-7 * (fabs(sum / hw) + 1e-30) + 1e-12;
    }
    CHECKF(ok, "avgpool forward n%d c%d hw%d", n, c, hw);
    rt_test_fill(&rng, dx, nx, 5, 6);
    CHECK(rt_op_avgpool_backward(dev, n, c, hw, dy, dx) == RT_OK);
    ok = 1;
    for (size_t i = 0; i < nx; i++)
        ok &= dx[i] == dy[i / hw] / (float)hw;
    CHECKF(ok, "avgpool backward n%d c%d hw%d", n, c, hw);
    free(x), free(y), free(dy), free(dx);
}

/* BatchNorm against the double-precision loops. The backend sums in double
 * too, so the forward output differs from the naive one by a few float
 * roundings (NMSE ~1e-14); the backward pass subtracts nearly equal terms
 * (dy - mean(dy) - xhat * mean(dy xhat)), cancelling up to ~3 digits on
 * random data, still far below 1e-10. */
static void test_batchnorm_case(int n, int c, int hw, int relu, float momentum)
{
    size_t nx = (size_t)n * c * hw;
    float *x = falloc(nx), *y = falloc(nx), *yr = falloc(nx), *dy = falloc(nx), *dx = falloc(nx),
          *dxr = falloc(nx);
    float *gamma = falloc(c), *beta = falloc(c), *rm = falloc(c), *rv = falloc(c),
          *rm0 = falloc(c), *rv0 = falloc(c), *smean = falloc(c), *sinv = falloc(c),
          *dg = falloc(c), *db = falloc(c), *dgr = falloc(c), *dbr = falloc(c);
    double *mean = calloc((size_t)c, sizeof *mean), *var = calloc((size_t)c, sizeof *var);
    int64_t tracked = 5;
    rt_test_fill(&rng, x, nx, -2, 3);
    for (size_t i = 0; i < nx; i += 3)
        x[i] += 1.5f; /* a channel mean far from 0 */
    rt_test_fill(&rng, dy, nx, -1, 1);
    rt_test_fill(&rng, gamma, c, 0.5f, 1.5f);
    rt_test_fill(&rng, beta, c, -0.5f, 0.5f);
    rt_test_fill(&rng, rm0, c, -0.2f, 0.2f);
    rt_test_fill(&rng, rv0, c, 0.5f, 2.0f);
    memcpy(rm, rm0, c * sizeof *rm);
    memcpy(rv, rv0, c * sizeof *rv);
    rt_batchnorm bn = {n, c, hw, 1e-5f, momentum, relu, gamma, beta, rm, rv, &tracked,
                       smean, sinv, NULL};
    char what[128];
    snprintf(what, sizeof what, "batchnorm n%d c%d hw%d relu%d", n, c, hw, relu);
    char msg[192];

    CHECK(rt_op_batchnorm_forward(dev, &bn, 1, x, y) == RT_OK);
    naive_batchnorm_forward(&bn, 1, x, yr, mean, var);
    snprintf(msg, sizeof msg, "%s training forward", what);
    check_close(msg, yr, y, nx, 1e-12);
    CHECKF(tracked == 6, "%s: num_batches_tracked %lld, expected 6", what, (long long)tracked);
    int ok = 1;
    double m = (double)n * hw;
    for (int i = 0; i < c; i++) {
        double erm = (1 - momentum) * rm0[i] + momentum * mean[i];
        double erv = (1 - momentum) * rv0[i] + momentum * var[i] * m / (m - 1);
        /* relative to the terms' size: the two may nearly cancel */
        ok &= fabs(rm[i] - erm) <= 1e-6 * ((1 - momentum) * fabs(rm0[i]) + momentum * fabs(mean[i]));
        ok &= fabs(rv[i] - erv) <= 1e-6 * fabs(erv);
        ok &= fabs(smean[i] - mean[i]) <= 1e-6 * (fabs(mean[i]) + 1e-3);
        ok &= fabs(sinv[i] - 1.0 / sqrt(var[i] + 1e-5)) <= 1e-6 / sqrt(var[i] + 1e-5);
    }
    CHECKF(ok, "%s: running statistics (unbiased variance, momentum %g) or saved statistics",
           what, (double)momentum);

    rt_test_fill(&rng, dx, nx, 5, 6);
    CHECK(rt_op_batchnorm_backward(dev, &bn, x, y, dy, dx, dg, db) == RT_OK);
    naive_batchnorm_backward(&bn, x, y, dy, dxr, dgr, dbr);
    snprintf(msg, sizeof msg, "%s backward data", what);
    if (m > 2) {
        check_close(msg, dxr, dx, nx, NMSE_REDUCTION);
    } else {
        /* two values per channel normalise to exactly -1 and +1 whatever
         * x is, so the true dx is ~eps-sized and every implementation
         * returns rounding noise of the size of the terms it cancels:
         * compare with that size, |dy| * gamma * invstd */
        double scale = 0.0, diff = 0.0;
        for (size_t i = 0; i < nx; i++) {
            int ch = (int)((i / (size_t)hw) % (size_t)c);
            double t = fabs(dy[i]) * gamma[ch] / sqrt(var[ch] + 1e-5);
            scale = t > scale ? t : scale;
            diff = fmax(diff, fabs((double)dx[i] - dxr[i]));
        }
        CHECKF(diff <= 1e-6 * scale, "%s: max |diff| %.3g > 1e-6 x %.3g", msg, diff, scale);
    }
    snprintf(msg, sizeof msg, "%s backward weight", what);
    check_close(msg, dgr, dg, c, NMSE_REDUCTION);
    snprintf(msg, sizeof msg, "%s backward bias", what);
    check_close(msg, dbr, db, c, NMSE_REDUCTION);

    /* evaluation: the running statistics, no update, no count */
    memcpy(rm, rm0, c * sizeof *rm);
    memcpy(rv, rv0, c * sizeof *rv);
    CHECK(rt_op_batchnorm_forward(dev, &bn, 0, x, y) == RT_OK);
    naive_batchnorm_forward(&bn, 0, x, yr, NULL, NULL);
    snprintf(msg, sizeof msg, "%s evaluation forward", what);
    check_close(msg, yr, y, nx, 1e-12);
    CHECK(tracked == 6 && memcmp(rm, rm0, c * sizeof *rm) == 0 &&
          memcmp(rv, rv0, c * sizeof *rv) == 0);
    free(x), free(y), free(yr), free(dy), free(dx), free(dxr), free(gamma), free(beta);
    free(rm), free(rv), free(rm0), free(rv0), free(smean), free(sinv), free(dg), free(db);
    free(dgr), free(dbr), free(mean), free(var);
}

/* Synchronised BatchNorm's sums over the ranks, played by one process:
 * `copies` identical ranks (the sum multiplies by their number). */
static rt_status sum_copies(void *ctx, double *values, int count, rt_error *err)
{
    (void)err;
    for (int i = 0; i < count; i++)
        values[i] *= *(const double *)ctx;
    return RT_OK;
}

/* --sync-bn's path against the plain one: a world of one (share 1), and
 * two ranks holding the same batch (share 1/2: the whole batch is that
 * batch twice, so its mean, variance and dx are the same), bit for bit
 * but for the running variance, whose unbiased count doubles. */
static void test_batchnorm_sync_case(int n, int c, int hw, int relu)
{
    size_t nx = (size_t)n * c * hw;
    float *x = falloc(nx), *dy = falloc(nx), *gamma = falloc(c), *beta = falloc(c);
    rt_test_fill(&rng, x, nx, -2, 3);
    rt_test_fill(&rng, dy, nx, -1, 1);
    rt_test_fill(&rng, gamma, c, 0.5f, 1.5f);
    rt_test_fill(&rng, beta, c, -0.5f, 0.5f);
    float *out[1][7]; /* the plain path's y, dx, dgamma, dbeta, running mean and var, saved invstd */
    for (int run = 0; run < 3; run++) {
        double copies = run == 2 ? 2.0 : 1.0;
        rt_batchnorm_sync sync = {sum_copies, &copies, 1.0 / copies};
        float *y = falloc(nx), *dx = falloc(nx), *dg = falloc(c), *db = falloc(c);
        float *rm = falloc(c), *rv = falloc(c), *sm = falloc(c), *si = falloc(c);
        for (int i = 0; i < c; i++)
            rm[i] = 0.0f, rv[i] = 1.0f;
        int64_t tracked = 0;
        rt_batchnorm bn = {n, c, hw, 1e-5f, 0.1f, relu, gamma, beta, rm, rv, &tracked, sm, si,
                           run ? &sync : NULL};
        CHECK(rt_op_batchnorm_forward(dev, &bn, 1, x, y) == RT_OK);
        CHECK(rt_op_batchnorm_backward(dev, &bn, x, y, dy, dx, dg, db) == RT_OK);
        CHECK(tracked == 1);
        float *got[7] = {y, dx, dg, db, rm, rv, si};
        size_t len[7] = {nx, nx, c, c, c, c, c};
        if (run == 0) {
            memcpy(out[0], got, sizeof got);
            free(sm); /* the saved mean is not compared: the output shows it */
            continue;
        }
        static const char *const names[7] = {"y", "dx", "dgamma", "dbeta", "running mean",
                                             "running var", "saved invstd"};
        for (int k = 0; k < 7; k++) {
            if (run == 2 && k == 5) {
                /* (m - 1) becomes (2m - 1): momentum 0.1 of var * m/(m-1) vs 2m/(2m-1) */
                int ok = 1;
                double m = (double)n * hw;
                for (int i = 0; i < c; i++) {
                    double var = ((double)out[0][5][i] - 0.9) / 0.1 * (m - 1) / m;
                    ok &= fabs(rv[i] - (0.9 + 0.1 * var * 2 * m / (2 * m - 1))) <= 1e-5;
                }
                CHECKF(ok, "sync-bn n%d c%d hw%d, two ranks: running var", n, c, hw);
                continue;
            }
            CHECKF(memcmp(got[k], out[0][k], len[k] * sizeof(float)) == 0,
                   "sync-bn n%d c%d hw%d relu%d, %s: %s differs from the plain path", n, c, hw,
                   relu, run == 1 ? "one rank" : "two identical ranks", names[k]);
        }
        free(y), free(dx), free(dg), free(db), free(rm), free(rv), free(sm), free(si);
    }
    for (int k = 0; k < 7; k++)
        free(out[0][k]);
    free(x), free(dy), free(gamma), free(beta);
}

static void test_batchnorm(void)
{
    test_batchnorm_case(4, 3, 25, 0, 0.1f);
    test_batchnorm_case(4, 3, 25, 1, 0.1f);
    test_batchnorm_case(7, 16, 1, 1, 0.1f);   /* 1x1 pixels: ResNet-18's last stage on MNIST */
    test_batchnorm_case(2, 5, 49, 0, 0.3f);
    test_batchnorm_case(1, 2, 2, 0, 1.0f);    /* two values per channel: the smallest batch */
    test_batchnorm_case(3, 64, 196, 1, 0.1f);
    /* one value per channel cannot be normalised in training (PyTorch refuses too) */
    float x1[2] = {1, 2}, y1[2], g[2] = {1, 1}, b[2] = {0, 0}, r[2] = {0, 0}, v[2] = {1, 1};
    float sm[2], si[2];
    int64_t t = 0;
    rt_batchnorm one = {1, 2, 1, 1e-5f, 0.1f, 0, g, b, r, v, &t, sm, si, NULL};
    CHECK(rt_op_batchnorm_forward(dev, &one, 1, x1, y1) == RT_ERR_USAGE);
    CHECK(rt_op_batchnorm_forward(dev, &one, 0, x1, y1) == RT_OK);
    /* after the cases above, whose random data stay as they were */
    test_batchnorm_sync_case(4, 3, 25, 0);
    test_batchnorm_sync_case(6, 5, 49, 1);
    test_batchnorm_sync_case(7, 16, 1, 1);
}

static void test_add(void)
{
    enum { N = 777 };
    float a[N], b[N], y[N];
    rt_test_fill(&rng, a, N, -1, 1);
    rt_test_fill(&rng, b, N, -1, 1);
    CHECK(rt_op_add(dev, N, a, b, y) == RT_OK);
    int ok = 1;
    for (int i = 0; i < N; i++)
        ok &= y[i] == a[i] + b[i];
    CHECK(rt_op_add(dev, N, y, b, y) == RT_OK); /* in place, as gradient sums use it */
    for (int i = 0; i < N; i++)
        ok &= y[i] == (a[i] + b[i]) + b[i];
    CHECKF(ok, "add");
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
    rt_adam_config cfg = {0.9f, 0.999f, 1e-8f, 0.0f, 0};
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
    test_general_pooling();
    test_avgpool(3, 5, 49);
    test_avgpool(2, 7, 1);
    test_avgpool(1, 2, 3);
    test_batchnorm();
    test_pointwise();
    test_add();
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
