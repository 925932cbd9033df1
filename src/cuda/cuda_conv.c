/* Convolutions through cuDNN (NCHW float tensors, any stride, dilation 1,
 * cross-correlation, zero padding), with our own kernels for the bias.
 *
 * A plan per shape (n, c, h, w, k, r, s, pad, stride) holds the descriptors and,
 * per direction (forward, backward data, backward filter), the algorithm
 * chosen the first time that direction runs: by default the first of
 * cudnnGet*Algorithm_v7's ranking, which does not depend on timings, so
 * every run picks the same algorithms and repeats bit for bit (PyTorch's
 * default too); with rt_device_config.cudnn_benchmark (--cudnn-benchmark)
 * cudnnFind*AlgorithmEx times every algorithm on the real inputs, writing
 * into scratch outputs (so a backward-data call that adds into dx keeps
 * dx), and we take the fastest (as PyTorch's cudnn.benchmark). Either way
 * the algorithm taken is
 *   - strict FP32 (math type CUDNN_FMA_MATH: no TF32 tensor cores, and no
 *     FFT or Winograd transform) unless the device was opened with
 *     RT_PRECISION_TF32, and
 *   - deterministic, when cuDNN has one (it always has for these shapes),
 * so that runs repeat bit for bit. The choice is made outside any capture:
 * run_step runs a step eagerly before capturing it, and a shape first seen
 * during a capture is refused. The one workspace grows to the largest need
 * of the chosen algorithms (cuda_reserve_workspace). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cuda_check.h"

/* The search workspace: enough for any algorithm, within reason. */
#define SEARCH_WORKSPACE_MAX ((size_t)256 << 20)

static void destroy_plan(cuda_conv_plan *p)
{
    if (!p)
        return;
    if (p->x)
        cudnnDestroyTensorDescriptor(p->x);
    if (p->y)
        cudnnDestroyTensorDescriptor(p->y);
    if (p->w)
        cudnnDestroyFilterDescriptor(p->w);
    for (int d = 0; d < CONV_DIRECTIONS; d++)
        if (p->conv[d])
            cudnnDestroyConvolutionDescriptor(p->conv[d]);
    free(p);
}

void cuda_conv_destroy_plans(cuda_ctx *ctx)
{
    for (size_t i = 0; i < ctx->plan_count; i++)
        destroy_plan(ctx->plans[i]);
    ctx->plan_count = 0;
}

static int same_shape(const rt_conv_shape *a, const rt_conv_shape *b)
{
    return a->n == b->n && a->c == b->c && a->h == b->h && a->w == b->w && a->k == b->k &&
           a->r == b->r && a->s == b->s && a->pad == b->pad && a->stride == b->stride;
}

static rt_status describe(cuda_ctx *ctx, cuda_conv_plan *p)
{
    const rt_conv_shape *s = &p->shape;
    int oh = rt_conv_out_h(s), ow = rt_conv_out_w(s);
    /* FMA math: strict FP32; default math lets cuDNN use TF32 tensor cores */
    cudnnMathType_t math =
        ctx->cfg.precision == RT_PRECISION_TF32 ? CUDNN_DEFAULT_MATH : CUDNN_FMA_MATH;
    CUDNN_TRY(ctx, cudnnCreateTensorDescriptor(&p->x));
    CUDNN_TRY(ctx, cudnnSetTensor4dDescriptor(p->x, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, s->n,
                                              s->c, s->h, s->w));
    CUDNN_TRY(ctx, cudnnCreateTensorDescriptor(&p->y));
    CUDNN_TRY(ctx, cudnnSetTensor4dDescriptor(p->y, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, s->n,
                                              s->k, oh, ow));
    CUDNN_TRY(ctx, cudnnCreateFilterDescriptor(&p->w));
    CUDNN_TRY(ctx, cudnnSetFilter4dDescriptor(p->w, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, s->k,
                                              s->c, s->r, s->s));
    for (int d = 0; d < CONV_DIRECTIONS; d++) {
        CUDNN_TRY(ctx, cudnnCreateConvolutionDescriptor(&p->conv[d]));
        CUDNN_TRY(ctx, cudnnSetConvolution2dDescriptor(p->conv[d], s->pad, s->pad, s->stride,
                                                       s->stride, 1, 1,
                                                       CUDNN_CROSS_CORRELATION,
                                                       CUDNN_DATA_FLOAT));
        CUDNN_TRY(ctx, cudnnSetConvolutionMathType(p->conv[d], math));
    }
    int dn = 0, dc = 0, dh = 0, dw = 0;
    CUDNN_TRY(ctx, cudnnGetConvolution2dForwardOutputDim(p->conv[CONV_FWD], p->x, p->w, &dn,
                                                         &dc, &dh, &dw));
    if (dn != s->n || dc != s->k || dh != oh || dw != ow)
        return rt_error_set(ctx->err, RT_ERR_DEVICE,
                            "cuDNN computes an output of %dx%dx%dx%d where %dx%dx%dx%d was "
                            "expected",
                            dn, dc, dh, dw, s->n, s->k, oh, ow);
    return RT_OK;
}

static rt_status get_plan(cuda_ctx *ctx, const rt_conv_shape *s, cuda_conv_plan **out)
{
    for (size_t i = 0; i < ctx->plan_count; i++)
        if (same_shape(&ctx->plans[i]->shape, s)) {
            *out = ctx->plans[i];
            return RT_OK;
        }
    if (ctx->capturing)
        return cuda_refuse_in_capture(ctx, "a convolution shape not seen before the capture");
    if (ctx->plan_count == ctx->plan_cap) {
        size_t cap = ctx->plan_cap ? 2 * ctx->plan_cap : 16;
        cuda_conv_plan **grown = realloc(ctx->plans, cap * sizeof *grown);
        if (!grown)
            return rt_error_set(ctx->err, RT_ERR_NOMEM, "out of host memory for a conv plan");
        ctx->plans = grown;
        ctx->plan_cap = cap;
    }
    cuda_conv_plan *p = calloc(1, sizeof *p);
    if (!p)
        return rt_error_set(ctx->err, RT_ERR_NOMEM, "out of host memory for a conv plan");
    p->shape = *s;
    rt_status st = describe(ctx, p);
    if (st != RT_OK) {
        destroy_plan(p);
        return st;
    }
    ctx->plans[ctx->plan_count++] = p;
    *out = p;
    return RT_OK;
}

/* ---- algorithm choice ----------------------------------------------------- */

/* The fields the three cudnnConvolution*AlgoPerf_t structs share. */
typedef struct conv_candidate {
    int algo;
    cudnnStatus_t status;
    size_t memory;
    cudnnDeterminism_t determinism;
    cudnnMathType_t math;
} conv_candidate;

static const char *const DIRECTION_NAME[CONV_DIRECTIONS] = {"forward", "backward-data",
                                                            "backward-filter"};

/* The workspace an algorithm needs, asked again rather than trusting the
 * perf record (the heuristic query may leave it 0). */
static rt_status workspace_of(cuda_ctx *ctx, const cuda_conv_plan *p, int dir, int algo,
                              size_t *bytes)
{
    *bytes = 0;
    if (dir == CONV_FWD)
        CUDNN_TRY(ctx, cudnnGetConvolutionForwardWorkspaceSize(
                           ctx->cudnn, p->x, p->w, p->conv[dir], p->y,
                           (cudnnConvolutionFwdAlgo_t)algo, bytes));
    else if (dir == CONV_BWD_DATA)
        CUDNN_TRY(ctx, cudnnGetConvolutionBackwardDataWorkspaceSize(
                           ctx->cudnn, p->w, p->y, p->conv[dir], p->x,
                           (cudnnConvolutionBwdDataAlgo_t)algo, bytes));
    else
        CUDNN_TRY(ctx, cudnnGetConvolutionBackwardFilterWorkspaceSize(
                           ctx->cudnn, p->x, p->y, p->conv[dir], p->w,
                           (cudnnConvolutionBwdFilterAlgo_t)algo, bytes));
    return RT_OK;
}

/* FFT and Winograd algorithms compute a different sum: transforms whose
 * rounding errors reach ~1e-7 of the result's norm squared (measured on an
 * H100 for conv1's 5x5 shape: NMSE 3e-7 against the CPU, where direct
 * summation differs by ~1e-12). Strict FP32 takes the direct (GEMM-like)
 * algorithms only. */
static int transform_algorithm(int dir, int algo)
{
    if (dir == CONV_FWD)
        return algo == CUDNN_CONVOLUTION_FWD_ALGO_FFT ||
               algo == CUDNN_CONVOLUTION_FWD_ALGO_FFT_TILING ||
               algo == CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD ||
               algo == CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD_NONFUSED;
    if (dir == CONV_BWD_DATA)
        return algo == CUDNN_CONVOLUTION_BWD_DATA_ALGO_FFT ||
               algo == CUDNN_CONVOLUTION_BWD_DATA_ALGO_FFT_TILING ||
               algo == CUDNN_CONVOLUTION_BWD_DATA_ALGO_WINOGRAD ||
               algo == CUDNN_CONVOLUTION_BWD_DATA_ALGO_WINOGRAD_NONFUSED;
    return algo == CUDNN_CONVOLUTION_BWD_FILTER_ALGO_FFT ||
           algo == CUDNN_CONVOLUTION_BWD_FILTER_ALGO_FFT_TILING ||
           algo == CUDNN_CONVOLUTION_BWD_FILTER_ALGO_WINOGRAD_NONFUSED;
}

/* candidates come sorted best first (by time, or by cuDNN's heuristic) */
static rt_status pick_algorithm(cuda_ctx *ctx, cuda_conv_plan *p, int dir,
                                const conv_candidate *c, int count)
{
    int strict = ctx->cfg.precision != RT_PRECISION_TF32;
    int best = -1;
    for (int pass = 0; pass < 2 && best < 0; pass++)
        for (int i = 0; i < count && best < 0; i++) {
            if (c[i].status != CUDNN_STATUS_SUCCESS)
                continue;
            if (strict && (c[i].math != CUDNN_FMA_MATH || transform_algorithm(dir, c[i].algo)))
                continue;
            if (pass == 0 && c[i].determinism != CUDNN_DETERMINISTIC)
                continue;
            best = i;
        }
    if (best < 0)
        return rt_error_set(ctx->err, RT_ERR_DEVICE,
                            "cuDNN offers no usable %s algorithm%s (%d tried)",
                            DIRECTION_NAME[dir],
                            strict ? " in strict FP32 (CUDNN_FMA_MATH) math" : "", count);
    /* the math type first: the workspace may depend on it */
    CUDNN_TRY(ctx, cudnnSetConvolutionMathType(p->conv[dir], c[best].math));
    size_t need = 0;
    RT_TRY(workspace_of(ctx, p, dir, c[best].algo, &need));
    if (need < c[best].memory)
        need = c[best].memory;
    RT_TRY(cuda_reserve_workspace(ctx, need));
    p->algo[dir] = c[best].algo;
    p->workspace[dir] = need;
    p->chosen[dir] = 1;
    return RT_OK;
}

/* The three perf structs have the same fields under different types; cuDNN
 * returns at most as many results as asked for (the algorithm count). */
static rt_status pick_forward(cuda_ctx *ctx, cuda_conv_plan *p,
                              const cudnnConvolutionFwdAlgoPerf_t *perf, int count)
{
    conv_candidate c[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
    int n = count < CUDNN_CONVOLUTION_FWD_ALGO_COUNT ? count : CUDNN_CONVOLUTION_FWD_ALGO_COUNT;
    for (int i = 0; i < n; i++)
        c[i] = (conv_candidate){(int)perf[i].algo, perf[i].status, perf[i].memory,
                                perf[i].determinism, perf[i].mathType};
    return pick_algorithm(ctx, p, CONV_FWD, c, n);
}

static rt_status pick_backward_data(cuda_ctx *ctx, cuda_conv_plan *p,
                                    const cudnnConvolutionBwdDataAlgoPerf_t *perf, int count)
{
    conv_candidate c[CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT];
    int n = count < CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT ? count
                                                          : CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT;
    for (int i = 0; i < n; i++)
        c[i] = (conv_candidate){(int)perf[i].algo, perf[i].status, perf[i].memory,
                                perf[i].determinism, perf[i].mathType};
    return pick_algorithm(ctx, p, CONV_BWD_DATA, c, n);
}

static rt_status pick_backward_filter(cuda_ctx *ctx, cuda_conv_plan *p,
                                      const cudnnConvolutionBwdFilterAlgoPerf_t *perf,
                                      int count)
{
    conv_candidate c[CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT];
    int n = count < CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT
                ? count
                : CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT;
    for (int i = 0; i < n; i++)
        c[i] = (conv_candidate){(int)perf[i].algo, perf[i].status, perf[i].memory,
                                perf[i].determinism, perf[i].mathType};
    return pick_algorithm(ctx, p, CONV_BWD_FILTER, c, n);
}

/* What the search may use: the largest workspace any algorithm asks for,
 * capped by SEARCH_WORKSPACE_MAX and a quarter of the free memory. */
static size_t search_limit(void)
{
    size_t free_b = 0, total_b = 0;
    if (cudaMemGetInfo(&free_b, &total_b) != cudaSuccess) {
        (void)cudaGetLastError();
        return 0;
    }
    return free_b / 4 < SEARCH_WORKSPACE_MAX ? free_b / 4 : SEARCH_WORKSPACE_MAX;
}

/* Scratch for a search: its workspace and a stand-in for the output. */
typedef struct search_scratch {
    void *ws;
    size_t ws_bytes;
    void *out;
} search_scratch;

static rt_status scratch_get(cuda_ctx *ctx, search_scratch *sc, size_t ws_bytes,
                             size_t out_bytes)
{
    memset(sc, 0, sizeof *sc);
    if (ws_bytes) {
        sc->ws = cuda_malloc(ctx, ws_bytes, "a cuDNN algorithm search workspace");
        if (!sc->ws)
            return ctx->err->status;
        sc->ws_bytes = ws_bytes;
    }
    sc->out = cuda_malloc(ctx, out_bytes, "a cuDNN algorithm search output");
    if (!sc->out) {
        cuda_release(ctx, sc->ws);
        sc->ws = NULL;
        return ctx->err->status;
    }
    return RT_OK;
}

static void scratch_put(cuda_ctx *ctx, search_scratch *sc)
{
    cuda_release(ctx, sc->out);
    cuda_release(ctx, sc->ws);
    memset(sc, 0, sizeof *sc);
}

static size_t x_bytes(const rt_conv_shape *s)
{
    return (size_t)s->n * s->c * s->h * s->w * sizeof(float);
}

static size_t y_bytes(const rt_conv_shape *s)
{
    return (size_t)s->n * s->k * rt_conv_out_h(s) * rt_conv_out_w(s) * sizeof(float);
}

static size_t w_bytes(const rt_conv_shape *s)
{
    return (size_t)s->k * s->c * s->r * s->s * sizeof(float);
}

static rt_status find_forward(cuda_ctx *ctx, cuda_conv_plan *p, const float *x, const float *w)
{
    if (ctx->capturing)
        return cuda_refuse_in_capture(ctx, "choosing a cuDNN algorithm (a convolution "
                                           "not run before the capture)");
    cudnnConvolutionDescriptor_t conv = p->conv[CONV_FWD];
    cudnnConvolutionFwdAlgoPerf_t perf[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
    int returned = 0;
    if (ctx->cudnn_heuristic) {
        CUDNN_TRY(ctx, cudnnGetConvolutionForwardAlgorithm_v7(
                           ctx->cudnn, p->x, p->w, conv, p->y,
                           CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &returned, perf));
        return pick_forward(ctx, p, perf, returned);
    }
    size_t limit = search_limit(), ws = 0;
    for (int a = 0; a < CUDNN_CONVOLUTION_FWD_ALGO_COUNT; a++) {
        size_t need = 0; /* unsupported algorithms just fail here */
        if (cudnnGetConvolutionForwardWorkspaceSize(ctx->cudnn, p->x, p->w, conv, p->y,
                                                    (cudnnConvolutionFwdAlgo_t)a,
                                                    &need) == CUDNN_STATUS_SUCCESS &&
            need <= limit && need > ws)
            ws = need;
    }
    search_scratch sc;
    RT_TRY(scratch_get(ctx, &sc, ws, y_bytes(&p->shape)));
    cudnnStatus_t s = cudnnFindConvolutionForwardAlgorithmEx(
        ctx->cudnn, p->x, x, p->w, w, conv, p->y, sc.out, CUDNN_CONVOLUTION_FWD_ALGO_COUNT,
        &returned, perf, sc.ws, sc.ws_bytes);
    scratch_put(ctx, &sc);
    CUDNN_TRY(ctx, s);
    return pick_forward(ctx, p, perf, returned);
}

static rt_status find_backward_data(cuda_ctx *ctx, cuda_conv_plan *p, const float *dy,
                                    const float *w)
{
    if (ctx->capturing)
        return cuda_refuse_in_capture(ctx, "choosing a cuDNN algorithm (a convolution "
                                           "not run before the capture)");
    cudnnConvolutionDescriptor_t conv = p->conv[CONV_BWD_DATA];
    cudnnConvolutionBwdDataAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT];
    int returned = 0;
    if (ctx->cudnn_heuristic) {
        CUDNN_TRY(ctx, cudnnGetConvolutionBackwardDataAlgorithm_v7(
                           ctx->cudnn, p->w, p->y, conv, p->x,
                           CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT, &returned, perf));
        return pick_backward_data(ctx, p, perf, returned);
    }
    size_t limit = search_limit(), ws = 0;
    for (int a = 0; a < CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT; a++) {
        size_t need = 0;
        if (cudnnGetConvolutionBackwardDataWorkspaceSize(ctx->cudnn, p->w, p->y, conv, p->x,
                                                         (cudnnConvolutionBwdDataAlgo_t)a,
                                                         &need) == CUDNN_STATUS_SUCCESS &&
            need <= limit && need > ws)
            ws = need;
    }
    search_scratch sc;
    RT_TRY(scratch_get(ctx, &sc, ws, x_bytes(&p->shape)));
    cudnnStatus_t s = cudnnFindConvolutionBackwardDataAlgorithmEx(
        ctx->cudnn, p->w, w, p->y, dy, conv, p->x, sc.out,
        CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT, &returned, perf, sc.ws, sc.ws_bytes);
    scratch_put(ctx, &sc);
    CUDNN_TRY(ctx, s);
    return pick_backward_data(ctx, p, perf, returned);
}

static rt_status find_backward_filter(cuda_ctx *ctx, cuda_conv_plan *p, const float *x,
                                      const float *dy)
{
    if (ctx->capturing)
        return cuda_refuse_in_capture(ctx, "choosing a cuDNN algorithm (a convolution "
                                           "not run before the capture)");
    cudnnConvolutionDescriptor_t conv = p->conv[CONV_BWD_FILTER];
    cudnnConvolutionBwdFilterAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT];
    int returned = 0;
    if (ctx->cudnn_heuristic) {
        CUDNN_TRY(ctx, cudnnGetConvolutionBackwardFilterAlgorithm_v7(
                           ctx->cudnn, p->x, p->y, conv, p->w,
                           CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT, &returned, perf));
        return pick_backward_filter(ctx, p, perf, returned);
    }
    size_t limit = search_limit(), ws = 0;
    for (int a = 0; a < CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT; a++) {
        size_t need = 0;
        if (cudnnGetConvolutionBackwardFilterWorkspaceSize(
                ctx->cudnn, p->x, p->y, conv, p->w, (cudnnConvolutionBwdFilterAlgo_t)a,
                &need) == CUDNN_STATUS_SUCCESS &&
            need <= limit && need > ws)
            ws = need;
    }
    search_scratch sc;
    RT_TRY(scratch_get(ctx, &sc, ws, w_bytes(&p->shape)));
    cudnnStatus_t s = cudnnFindConvolutionBackwardFilterAlgorithmEx(
        ctx->cudnn, p->x, x, p->y, dy, conv, p->w, sc.out,
        CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT, &returned, perf, sc.ws, sc.ws_bytes);
    scratch_put(ctx, &sc);
    CUDNN_TRY(ctx, s);
    return pick_backward_filter(ctx, p, perf, returned);
}

/* ---- the ops --------------------------------------------------------------- */

/* Adds the op and the shape to a failure message. */
static rt_status with_shape(cuda_ctx *ctx, rt_status st, const char *op, const rt_conv_shape *s)
{
    if (st == RT_OK)
        return st;
    rt_error_prefix(ctx->err, "%s (n=%d c=%d h=%d w=%d k=%d r=%d s=%d pad=%d)", op, s->n,
                    s->c, s->h, s->w, s->k, s->r, s->s, s->pad);
    return st;
}

static const float ONE = 1.0f, ZERO = 0.0f;

static rt_status forward(cuda_ctx *ctx, const rt_conv_shape *s, const float *x, const float *w,
                         const float *b, float *y)
{
    cuda_conv_plan *p;
    RT_TRY(get_plan(ctx, s, &p));
    if (!p->chosen[CONV_FWD])
        RT_TRY(find_forward(ctx, p, x, w));
    CUDNN_TRY(ctx, cudnnConvolutionForward(ctx->cudnn, &ONE, p->x, x, p->w, w,
                                           p->conv[CONV_FWD],
                                           (cudnnConvolutionFwdAlgo_t)p->algo[CONV_FWD],
                                           ctx->conv_ws, p->workspace[CONV_FWD], &ZERO, p->y,
                                           y));
    if (b)
        CUDA_TRY(ctx, rtk_bias_add(y, b, s->n, s->k, rt_conv_out_h(s) * rt_conv_out_w(s),
                                   ctx->stream));
    return RT_OK;
}

rt_status cuda_conv_forward(void *vctx, const rt_conv_shape *s, const float *x, const float *w,
                            const float *b, float *y)
{
    cuda_ctx *ctx = vctx;
    return with_shape(ctx, forward(ctx, s, x, w, b, y), "conv forward", s);
}

static rt_status backward_data(cuda_ctx *ctx, const rt_conv_shape *s, const float *dy,
                               const float *w, float *dx, float beta)
{
    cuda_conv_plan *p;
    RT_TRY(get_plan(ctx, s, &p));
    if (!p->chosen[CONV_BWD_DATA])
        RT_TRY(find_backward_data(ctx, p, dy, w));
    CUDNN_TRY(ctx, cudnnConvolutionBackwardData(
                       ctx->cudnn, &ONE, p->w, w, p->y, dy, p->conv[CONV_BWD_DATA],
                       (cudnnConvolutionBwdDataAlgo_t)p->algo[CONV_BWD_DATA], ctx->conv_ws,
                       p->workspace[CONV_BWD_DATA], &beta, p->x, dx));
    return RT_OK;
}

rt_status cuda_conv_backward_data(void *vctx, const rt_conv_shape *s, const float *dy,
                                  const float *w, float *dx, float beta)
{
    cuda_ctx *ctx = vctx;
    return with_shape(ctx, backward_data(ctx, s, dy, w, dx, beta), "conv backward data", s);
}

static rt_status backward_filter(cuda_ctx *ctx, const rt_conv_shape *s, const float *x,
                                 const float *dy, float *dw)
{
    cuda_conv_plan *p;
    RT_TRY(get_plan(ctx, s, &p));
    if (!p->chosen[CONV_BWD_FILTER])
        RT_TRY(find_backward_filter(ctx, p, x, dy));
    CUDNN_TRY(ctx, cudnnConvolutionBackwardFilter(
                       ctx->cudnn, &ONE, p->x, x, p->y, dy, p->conv[CONV_BWD_FILTER],
                       (cudnnConvolutionBwdFilterAlgo_t)p->algo[CONV_BWD_FILTER],
                       ctx->conv_ws, p->workspace[CONV_BWD_FILTER], &ZERO, p->w, dw));
    return RT_OK;
}

rt_status cuda_conv_backward_filter(void *vctx, const rt_conv_shape *s, const float *x,
                                    const float *dy, float *dw)
{
    cuda_ctx *ctx = vctx;
    return with_shape(ctx, backward_filter(ctx, s, x, dy, dw), "conv backward filter", s);
}

rt_status cuda_conv_backward_bias(void *vctx, const rt_conv_shape *s, const float *dy,
                                  float *db)
{
    cuda_ctx *ctx = vctx;
    /* our reduction: double accumulation like the CPU backend, deterministic */
    CUDA_TRY(ctx, rtk_channel_sum(dy, db, s->n, s->k, rt_conv_out_h(s) * rt_conv_out_w(s),
                                  ctx->stream));
    return RT_OK;
}
