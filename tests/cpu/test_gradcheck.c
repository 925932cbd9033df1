/* Central finite-difference checks of every backward op of the CPU backend,
 * and of the whole model's backward pass.
 *
 * For an op y = f(x) and a random upstream gradient g, L = sum g . y is
 * computed in double from the float outputs; its numeric derivative
 * (L(x + h) - L(x - h)) / 2h is compared with the analytic gradient from the
 * backward op, Caffe style: |analytic - numeric| <= tol * max(|a|, |n|, 1).
 * The float forward pass rounds each output by ~6e-8 relative, so with
 * |L| ~ 10 and h = 1e-2 the numeric derivative carries an error of about
 * 1e-6 * 10 / 2e-2 = 5e-4: tol = 5e-3 is ten times that, while a wrong
 * index or a missing term is off by O(1). Piecewise-linear ops get inputs
 * spaced well beyond h from their kinks (ties, zero). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "resnet/device.h"
#include "resnet/model.h"
#include "test_support.h"

#define TOL 5e-3
#define H 1e-2f

static rt_device *dev;
static rt_rng rng;

static float *falloc(size_t n) { return calloc(n ? n : 1, sizeof(float)); }

static double dot(const float *g, const float *y, size_t n)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++)
        s += (double)g[i] * y[i];
    return s;
}

static int close_enough(double a, double n) { return fabs(a - n) <= TOL * fmax(1.0, fmax(fabs(a), fabs(n))); }

/* A forward pass writing y from the variable under test. */
typedef void (*forward_fn)(void *ctx, float *y);

/* Compares analytic[i] with the numeric derivative of g . f for every
 * element of var (which f reads through ctx). */
static void check_all(const char *what, float *var, size_t nvar, const float *analytic,
                      forward_fn f, void *ctx, const float *g, float *y, size_t ny)
{
    int bad = 0;
    for (size_t i = 0; i < nvar; i++) {
        float saved = var[i];
        var[i] = saved + H;
        f(ctx, y);
        double up = dot(g, y, ny);
        var[i] = saved - H;
        f(ctx, y);
        double down = dot(g, y, ny);
        var[i] = saved;
        double numeric = (up - down) / (2.0 * (double)H);
        if (!close_enough(analytic[i], numeric)) {
            if (bad++ < 3)
                fprintf(stderr, "%s: element %zu analytic %.6g numeric %.6g\n", what, i,
                        (double)analytic[i], numeric);
        }
    }
    CHECKF(bad == 0, "%s: %d of %zu gradients disagree with finite differences", what, bad, nvar);
}

/* ---- convolution ------------------------------------------------------ */
typedef struct conv_ctx {
    rt_conv_shape s;
    float *x, *w, *b;
} conv_ctx;

static void conv_fwd(void *vctx, float *y)
{
    conv_ctx *c = vctx;
    CHECK(rt_op_conv_forward(dev, &c->s, c->x, c->w, c->b, y) == RT_OK);
}

static void test_conv(rt_conv_shape s)
{
    size_t nx = (size_t)s.n * s.c * s.h * s.w, nw = (size_t)s.k * s.c * s.r * s.s;
    size_t ny = (size_t)s.n * s.k * rt_conv_out_h(&s) * rt_conv_out_w(&s);
    conv_ctx c = {s, falloc(nx), falloc(nw), falloc(s.k)};
    float *y = falloc(ny), *g = falloc(ny), *dx = falloc(nx), *dw = falloc(nw), *db = falloc(s.k);
    rt_test_fill(&rng, c.x, nx, -1, 1);
    rt_test_fill(&rng, c.w, nw, -1, 1);
    rt_test_fill(&rng, c.b, s.k, -1, 1);
    rt_test_fill(&rng, g, ny, -1, 1);
    CHECK(rt_op_conv_backward_data(dev, &s, g, c.w, dx, 0.0f) == RT_OK);
    CHECK(rt_op_conv_backward_filter(dev, &s, c.x, g, dw) == RT_OK);
    CHECK(rt_op_conv_backward_bias(dev, &s, g, db) == RT_OK);
    check_all("conv d/dx", c.x, nx, dx, conv_fwd, &c, g, y, ny);
    check_all("conv d/dw", c.w, nw, dw, conv_fwd, &c, g, y, ny);
    check_all("conv d/db", c.b, s.k, db, conv_fwd, &c, g, y, ny);
    free(c.x), free(c.w), free(c.b), free(y), free(g), free(dx), free(dw), free(db);
}

/* ---- general max pooling, average pooling, BatchNorm ------------------- */
typedef struct gpool_ctx {
    rt_pool_shape s;
    float *x;
} gpool_ctx;

static void gpool_fwd(void *vctx, float *y)
{
    gpool_ctx *p = vctx;
    CHECK(rt_op_maxpool_forward(dev, &p->s, p->x, y) == RT_OK);
}

static void fill_spaced(float *x, size_t n);

static void test_general_pool(rt_pool_shape s)
{
    size_t nx = (size_t)s.n * s.c * s.h * s.w;
    size_t ny = (size_t)s.n * s.c * rt_pool_out_h(&s) * rt_pool_out_w(&s);
    gpool_ctx p = {s, falloc(nx)};
    float *y = falloc(ny), *g = falloc(ny), *dx = falloc(nx);
    fill_spaced(p.x, nx); /* no ties within 2h: the winners do not change */
    rt_test_fill(&rng, g, ny, -1, 1);
    CHECK(rt_op_maxpool_backward(dev, &s, p.x, g, dx) == RT_OK);
    check_all("maxpool (general) d/dx", p.x, nx, dx, gpool_fwd, &p, g, y, ny);
    free(p.x), free(y), free(g), free(dx);
}

typedef struct avg_ctx {
    int n, c, hw;
    float *x;
} avg_ctx;

static void avg_fwd(void *vctx, float *y)
{
    avg_ctx *a = vctx;
    CHECK(rt_op_avgpool_forward(dev, a->n, a->c, a->hw, a->x, y) == RT_OK);
}

static void test_avgpool(void)
{
    avg_ctx a = {3, 4, 9, falloc(3 * 4 * 9)};
    float y[12], g[12], *dx = falloc(3 * 4 * 9);
    rt_test_fill(&rng, a.x, 3 * 4 * 9, -1, 1);
    rt_test_fill(&rng, g, 12, -1, 1);
    CHECK(rt_op_avgpool_backward(dev, 3, 4, 9, g, dx) == RT_OK);
    check_all("avgpool d/dx", a.x, 3 * 4 * 9, dx, avg_fwd, &a, g, y, 12);
    free(a.x), free(dx);
}

typedef struct bn_ctx {
    rt_batchnorm bn;
    float *x, *weight, *bias;
} bn_ctx;

static void bn_fwd(void *vctx, float *y)
{
    bn_ctx *b = vctx;
    b->bn.weight = b->weight;
    b->bn.bias = b->bias;
    CHECK(rt_op_batchnorm_forward(dev, &b->bn, 1, b->x, y) == RT_OK);
}

/* Training mode: the batch statistics depend on x, so d/dx includes their
 * terms. Without relu (its kinks are covered by the naive-loop test). */
static void test_batchnorm(int n, int c, int hw)
{
    size_t nx = (size_t)n * c * hw;
    float *rm = falloc(c), *rv = falloc(c), *sm = falloc(c), *si = falloc(c);
    int64_t tracked = 0;
    bn_ctx b = {{n, c, hw, 1e-5f, 0.1f, 0, NULL, NULL, rm, rv, &tracked, sm, si, NULL},
                falloc(nx), falloc(c), falloc(c)};
    float *y = falloc(nx), *g = falloc(nx), *dx = falloc(nx), *dw = falloc(c), *db = falloc(c);
    rt_test_fill(&rng, b.x, nx, -2, 2);
    rt_test_fill(&rng, b.weight, c, 0.5f, 1.5f);
    rt_test_fill(&rng, b.bias, c, -1, 1);
    rt_test_fill(&rng, g, nx, -1, 1);
    bn_fwd(&b, y);
    CHECK(rt_op_batchnorm_backward(dev, &b.bn, b.x, y, g, dx, dw, db) == RT_OK);
    check_all("batchnorm d/dx", b.x, nx, dx, bn_fwd, &b, g, y, nx);
    check_all("batchnorm d/dweight", b.weight, c, dw, bn_fwd, &b, g, y, nx);
    check_all("batchnorm d/dbias", b.bias, c, db, bn_fwd, &b, g, y, nx);
    free(rm), free(rv), free(sm), free(si), free(b.x), free(b.weight), free(b.bias);
    free(y), free(g), free(dx), free(dw), free(db);
}

/* ---- pooling ------------------------------------------------------------ */
typedef struct pool_ctx {
    int n, c, h, w, relu;
    float *x;
} pool_ctx;

static void pool_fwd(void *vctx, float *y)
{
    pool_ctx *p = vctx;
    CHECK(rt_op_maxpool2_forward(dev, p->n, p->c, p->h, p->w, p->relu, p->x, y) == RT_OK);
}

/* Distinct values on a grid of step 0.1 (> 2h), shuffled, none near 0. */
static void fill_spaced(float *x, size_t n)
{
    int32_t *perm = malloc(n * sizeof *perm);
    for (size_t i = 0; i < n; i++)
        perm[i] = (int32_t)i;
    rt_rng_shuffle(&rng, perm, (int32_t)n);
    for (size_t i = 0; i < n; i++)
        x[i] = ((float)perm[i] - (float)n / 2.0f + 0.5f) * 0.1f;
    free(perm);
}

static void test_pool(int relu)
{
    pool_ctx p = {2, 3, 6, 5, relu, NULL};
    size_t nx = (size_t)p.n * p.c * p.h * p.w, ny = (size_t)p.n * p.c * (p.h / 2) * (p.w / 2);
    p.x = falloc(nx);
    float *y = falloc(ny), *g = falloc(ny), *dx = falloc(nx);
    fill_spaced(p.x, nx);
    rt_test_fill(&rng, g, ny, -1, 1);
    pool_fwd(&p, y);
    CHECK(rt_op_maxpool2_backward(dev, p.n, p.c, p.h, p.w, relu, p.x, y, g, dx) == RT_OK);
    check_all(relu ? "maxpool+relu d/dx" : "maxpool d/dx", p.x, nx, dx, pool_fwd, &p, g, y, ny);
    free(p.x), free(y), free(g), free(dx);
}

/* ---- relu and the residual join ----------------------------------------- */
typedef struct pointwise_ctx {
    size_t n;
    float *a, *b;
} pointwise_ctx;

static void relu_fwd(void *vctx, float *y)
{
    pointwise_ctx *p = vctx;
    CHECK(rt_op_relu_forward(dev, p->n, p->a, y) == RT_OK);
}

static void add_relu_fwd(void *vctx, float *y)
{
    pointwise_ctx *p = vctx;
    CHECK(rt_op_add_relu_forward(dev, p->n, p->a, p->b, y) == RT_OK);
}

static void test_pointwise(void)
{
    enum { N = 200 };
    pointwise_ctx p = {N, falloc(N), falloc(N)};
    float y[N], g[N], d[N];
    fill_spaced(p.a, N);
    for (int i = 0; i < N; i++)
        p.b[i] = 0.05f * (float)(i % 3) - 0.05f; /* a + b stays >= 0.05 from 0 */
    rt_test_fill(&rng, g, N, -1, 1);
    relu_fwd(&p, y);
    CHECK(rt_op_relu_backward(dev, N, y, g, d) == RT_OK);
    check_all("relu d/dx", p.a, N, d, relu_fwd, &p, g, y, N);
    for (int i = 0; i < N; i++)
        p.b[i] = 0.0f;
    add_relu_fwd(&p, y);
    CHECK(rt_op_add_relu_backward(dev, N, y, g, d) == RT_OK);
    check_all("add_relu d/da", p.a, N, d, add_relu_fwd, &p, g, y, N);
    check_all("add_relu d/db", p.b, N, d, add_relu_fwd, &p, g, y, N);
    free(p.a), free(p.b);
}

/* ---- linear ---------------------------------------------------------- */
typedef struct linear_ctx {
    int n, in, out;
    float *x, *w, *b;
} linear_ctx;

static void linear_fwd(void *vctx, float *y)
{
    linear_ctx *l = vctx;
    CHECK(rt_op_linear_forward(dev, l->n, l->in, l->out, l->x, l->w, l->b, y) == RT_OK);
}

static void test_linear(void)
{
    linear_ctx l = {3, 17, 5, NULL, NULL, NULL};
    size_t nx = (size_t)l.n * l.in, nw = (size_t)l.in * l.out, ny = (size_t)l.n * l.out;
    l.x = falloc(nx), l.w = falloc(nw), l.b = falloc(l.out);
    float *y = falloc(ny), *g = falloc(ny), *dx = falloc(nx), *dw = falloc(nw),
          *db = falloc(l.out);
    rt_test_fill(&rng, l.x, nx, -1, 1);
    rt_test_fill(&rng, l.w, nw, -1, 1);
    rt_test_fill(&rng, l.b, l.out, -1, 1);
    rt_test_fill(&rng, g, ny, -1, 1);
    CHECK(rt_op_linear_backward_data(dev, l.n, l.in, l.out, g, l.w, dx) == RT_OK);
    CHECK(rt_op_linear_backward_params(dev, l.n, l.in, l.out, l.x, g, dw, db) == RT_OK);
    check_all("linear d/dx", l.x, nx, dx, linear_fwd, &l, g, y, ny);
    check_all("linear d/dw", l.w, nw, dw, linear_fwd, &l, g, y, ny);
    check_all("linear d/db", l.b, l.out, db, linear_fwd, &l, g, y, ny);
    free(l.x), free(l.w), free(l.b), free(y), free(g), free(dx), free(dw), free(db);
}

/* ---- softmax cross-entropy ---------------------------------------------- */
typedef struct xent_ctx {
    int n;
    float *z;
    int32_t *labels;
} xent_ctx;

static void xent_fwd(void *vctx, float *y)
{
    xent_ctx *x = vctx;
    rt_step_state st = {0};
    st.nonfinite_step = -1;
    CHECK(rt_op_softmax_cross_entropy(dev, x->n, 10, x->z, x->labels, NULL, &st) == RT_OK);
    y[0] = st.loss;
}

static void test_softmax(void)
{
    int32_t labels[4] = {3, 0, 9, 3};
    xent_ctx x = {4, falloc(40), labels};
    float g[1] = {1.0f}, y[1], dz[40];
    rt_test_fill(&rng, x.z, 40, -3, 3);
    rt_step_state st = {0};
    st.nonfinite_step = -1;
    CHECK(rt_op_softmax_cross_entropy(dev, 4, 10, x.z, labels, dz, &st) == RT_OK);
    check_all("softmax cross-entropy d/dz", x.z, 40, dz, xent_fwd, &x, g, y, 1);
    free(x.z);
}

static double model_loss(rt_model *m, int n)
{
    rt_step_state st = {0};
    st.nonfinite_step = -1;
    CHECK(rt_model_forward(m, n, 1) == RT_OK);
    CHECK(rt_op_softmax_cross_entropy(dev, n, rt_model_classes(m), rt_model_logits(m),
                                      rt_model_labels(m), rt_model_dlogits(m), &st) == RT_OK);
    return st.loss;
}

/* Directional derivatives of the loss in each parameter tensor, along a
 * direction made of the analytic gradient (normalised so its entries have
 * the size of the tensor's typical values) plus as much random noise: a
 * gradient that is wrong in direction or scale (a dropped residual term, a
 * gradient routed to the wrong tensor) changes the projection by O(1).
 * Noise: the float loss (~2.3) rounds by ~2.4e-7, ~1e-4 over 2h = 2e-3;
 * but the network has thousands of relu and pooling kinks, and a step of h
 * along a whole tensor crosses some of them. Measured on the seed's
 * network: 0.1% to 2.5% for h from 1e-4 to 1e-3 (it does not shrink with
 * h, the signature of kinks, not of a wrong formula). The per-op checks
 * above are the precise ones; this one checks the wiring of a whole
 * graph (BatchNorm in training mode, blocks, joins, shared gradient
 * slots), with tol 5%. */
static void test_model(const rt_network *net, int n, uint64_t seed)
{
    rt_model *m;
    rt_error err;
    CHECK(rt_model_create(dev, net, n, 1, &m, &err) == RT_OK);
    CHECK(rt_model_init_params(m, seed, &err) == RT_OK);
    rt_test_fill(&rng, rt_model_input(m), (size_t)n * rt_model_input_size(m), 0, 1);
    int32_t *labels = rt_model_labels(m);
    for (int i = 0; i < n; i++)
        labels[i] = (int32_t)((i * 7 + 1) % rt_model_classes(m));
    /* running statistics move with every forward pass; they do not enter
     * a training-mode loss, so the passes below need not undo that */
    model_loss(m, n);
    CHECK(rt_model_backward(m, n) == RT_OK);
    size_t flat = rt_network_params_size(net);
    float *grads = falloc(flat), *params = rt_model_params(m);
    memcpy(grads, rt_model_grads(m), flat * sizeof *grads);
    for (int t = 0; t < rt_network_tensor_count(net); t++) {
        const rt_tensor_info *p = rt_network_tensor(net, t);
        if (p->role != RT_TENSOR_PARAMETER)
            continue;
        /* the entries' typical size: the init scale, or 1 for BatchNorm's */
        float bound = p->init == RT_INIT_UNIFORM ? p->init_scale
                      : p->init == RT_INIT_NORMAL ? 1.7f * p->init_scale
                                                  : 0.5f;
        float *dir = falloc(p->count), *base = falloc(p->count);
        rt_test_fill(&rng, dir, p->count, -bound, bound);
        double norm = sqrt(dot(grads + p->offset, grads + p->offset, p->count));
        double scale = norm > 0 ? bound * sqrt((double)p->count) / norm : 0.0;
        for (size_t i = 0; i < p->count; i++)
            dir[i] += (float)(scale * grads[p->offset + i]);
        memcpy(base, params + p->offset, p->count * sizeof *base);
        double analytic = dot(grads + p->offset, dir, p->count);
        const double h = 1e-3;
        for (size_t i = 0; i < p->count; i++)
            params[p->offset + i] = base[i] + (float)h * dir[i];
        double up = model_loss(m, n);
        for (size_t i = 0; i < p->count; i++)
            params[p->offset + i] = base[i] - (float)h * dir[i];
        double down = model_loss(m, n);
        memcpy(params + p->offset, base, p->count * sizeof *base);
        double numeric = (up - down) / (2 * h);
        CHECKF(fabs(analytic - numeric) <= 5e-2 * fmax(fabs(analytic), fabs(numeric)),
               "%s: gradient of %s along a random direction: analytic %.6g numeric %.6g",
               rt_network_name(net), p->name, analytic, numeric);
        if (getenv("RESNET_TEST_VERBOSE"))
            printf("  %s %s: analytic %.6g numeric %.6g (%.2g)\n", rt_network_name(net), p->name,
                   analytic, numeric, fabs(analytic - numeric) / fmax(fabs(analytic), 1e-30));
        free(dir), free(base);
    }
    free(grads);
    rt_model_destroy(m);
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
    rt_rng_seed(&rng, 99);
    test_conv((rt_conv_shape){2, 3, 6, 5, 4, 3, 3, 1, 1});
    test_conv((rt_conv_shape){2, 2, 5, 5, 3, 5, 5, 2, 1});
    test_conv((rt_conv_shape){9, 1, 7, 7, 2, 5, 5, 0, 1});
    test_pool(0);
    test_pool(1);
    test_pointwise();
    test_linear();
    test_softmax();
    rt_network *seed = rt_test_network("seed"), *small = rt_test_small_resnet();
    test_model(seed, 3, 7);
    test_model(small, 4, 11);
    /* a join writes its sum over a BatchNorm input that only it reads
     * (b2), never over one another op reads too (b1, the input of c2) */
    static const char shared_bn[] =
        "{\"name\": \"shared-bn\", \"layers\": ["
        "{\"name\": \"c1\", \"type\": \"conv2d\", \"out_channels\": 4, \"kernel_size\": 3, "
        "\"padding\": 1, \"bias\": false}, {\"name\": \"b1\", \"type\": \"batchnorm2d\"}, "
        "{\"name\": \"c2\", \"type\": \"conv2d\", \"out_channels\": 4, \"kernel_size\": 3, "
        "\"padding\": 1, \"bias\": false}, {\"name\": \"b2\", \"type\": \"batchnorm2d\"}, "
        "{\"name\": \"j\", \"type\": \"add\", \"from\": [\"b1\", \"b2\"]}, {\"type\": \"relu\"}, "
        "{\"type\": \"adaptive_avgpool2d\"}, {\"type\": \"flatten\"}, {\"name\": \"fc\", \"type\": \"linear\"}]}";
    rt_network_input tiny = {1, 6, 6, 3};
    rt_network *shared;
    if (rt_network_parse(shared_bn, strlen(shared_bn), "shared-bn", &tiny, &shared, &err) !=
        RT_OK) {
        fprintf(stderr, "shared-bn: %s\n", err.message);
        return 1;
    }
    test_model(shared, 3, 5);
    rt_network_free(seed);
    rt_network_free(small);
    rt_network_free(shared);
    test_conv((rt_conv_shape){2, 3, 9, 8, 4, 3, 3, 1, 2});  /* strided */
    test_conv((rt_conv_shape){2, 3, 11, 11, 2, 7, 7, 3, 2}); /* the ImageNet stem */
    test_conv((rt_conv_shape){3, 4, 5, 5, 3, 1, 1, 0, 2});  /* a 1x1/2 projection */
    test_general_pool((rt_pool_shape){2, 2, 7, 7, 3, 2, 1});
    test_general_pool((rt_pool_shape){1, 3, 6, 5, 3, 1, 1}); /* overlapping windows */
    test_avgpool();
    test_batchnorm(3, 2, 5);
    test_batchnorm(4, 3, 1);
    rt_device_close(dev);
    return rt_test_finish("test_gradcheck");
}
