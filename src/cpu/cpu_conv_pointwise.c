/* 1x1 convolutions (the bottlenecks' and the projections') as plain GEMMs
 * per image, with no im2col: for stride 1 an image's NCHW plane block
 * [c][h*w] is already the GEMM operand. With a stride the input pixels are
 * gathered first (and the data gradient scattered back). Work is split by
 * image; the filter gradient sums images in fixed chunks, in chunk order,
 * so the result does not depend on the thread count. */
#include <omp.h>
#include <string.h>

#include "cpu_conv.h"
#include "cpu_gemm.h"

#define CHUNK 4 /* images per filter-gradient partial */

int cpu_conv_pointwise_supported(const rt_conv_shape *s)
{
    return s->r == 1 && s->s == 1 && s->pad == 0;
}

typedef struct pw_dims {
    int oh, ow;
    int p;          /* output pixels */
    size_t in_img;  /* floats per input image */
    size_t out_img; /* floats per output image */
} pw_dims;

static pw_dims dims_of(const rt_conv_shape *s)
{
    pw_dims d;
    d.oh = rt_conv_out_h(s);
    d.ow = rt_conv_out_w(s);
    d.p = d.oh * d.ow;
    d.in_img = (size_t)s->c * s->h * s->w;
    d.out_img = (size_t)s->k * d.p;
    return d;
}

/* The strided input pixels of one image as [c][p]. */
static void gather(const rt_conv_shape *s, const pw_dims *d, const float *x, float *out)
{
    for (int c = 0; c < s->c; c++)
        for (int oy = 0; oy < d->oh; oy++) {
            const float *row = x + ((size_t)c * s->h + (size_t)oy * s->stride) * s->w;
            float *dst = out + (size_t)c * d->p + (size_t)oy * d->ow;
            for (int ox = 0; ox < d->ow; ox++)
                dst[ox] = row[(size_t)ox * s->stride];
        }
}

static rt_status no_scratch(cpu_ctx *ctx, const char *op)
{
    return rt_error_set(ctx->err, RT_ERR_NOMEM, "%s: out of host memory for scratch", op);
}

rt_status cpu_conv_pointwise_forward(void *vctx, const rt_conv_shape *s, const float *x,
                                     const float *w, const float *b, float *y)
{
    cpu_ctx *ctx = vctx;
    pw_dims d = dims_of(s);
    int strided = s->stride != 1;
    size_t need = (strided ? (size_t)s->c * d.p : 0) + rt_sgemm_scratch_floats(s->k, d.p, s->c);
    int failed = 0;
    #pragma omp parallel num_threads(cpu_team(ctx, (double)s->n * s->k * d.p * s->c))
    {
        float *scratch = cpu_scratch(ctx, omp_get_thread_num(), need);
        if (!scratch) {
            #pragma omp atomic write
            failed = 1;
        }
        #pragma omp for schedule(static)
        for (int n = 0; n < s->n; n++) {
            if (!scratch)
                continue;
            const float *in = x + (size_t)n * d.in_img;
            float *gemm = scratch;
            if (strided) {
                gather(s, &d, in, scratch);
                in = scratch;
                gemm = scratch + (size_t)s->c * d.p;
            }
            float *out = y + (size_t)n * d.out_img;
            rt_matrix_view wa = {w, s->c, 1}, xb = {in, d.p, 1};
            rt_sgemm(s->k, d.p, s->c, wa, xb, out, d.p, 0, gemm);
            if (b)
                for (int k = 0; k < s->k; k++) {
                    float *row = out + (size_t)k * d.p;
                    for (int i = 0; i < d.p; i++)
                        row[i] += b[k];
                }
        }
    }
    return failed ? no_scratch(ctx, "conv forward") : RT_OK;
}

rt_status cpu_conv_pointwise_backward_data(void *vctx, const rt_conv_shape *s, const float *dy,
                                           const float *w, float *dx, float beta)
{
    cpu_ctx *ctx = vctx;
    pw_dims d = dims_of(s);
    int direct = s->stride == 1 && beta == 0.0f; /* the GEMM writes dx itself */
    size_t need = (direct ? 0 : (size_t)s->c * d.p) + rt_sgemm_scratch_floats(s->c, d.p, s->k);
    int failed = 0;
    #pragma omp parallel num_threads(cpu_team(ctx, (double)s->n * s->k * d.p * s->c))
    {
        float *scratch = cpu_scratch(ctx, omp_get_thread_num(), need);
        if (!scratch) {
            #pragma omp atomic write
            failed = 1;
        }
        #pragma omp for schedule(static)
        for (int n = 0; n < s->n; n++) {
            if (!scratch)
                continue;
            float *out = dx + (size_t)n * d.in_img;
            float *dcol = direct ? out : scratch;
            float *gemm = direct ? scratch : scratch + (size_t)s->c * d.p;
            /* dcol[c][p] = W^T . dy[n]; W is [k][c] so W^T(i, j) = w[j*c + i] */
            rt_matrix_view wt = {w, 1, s->c}, g = {dy + (size_t)n * d.out_img, d.p, 1};
            rt_sgemm(s->c, d.p, s->k, wt, g, dcol, d.p, 0, gemm);
            if (direct)
                continue;
            if (s->stride == 1) { /* beta 1: add to the residual gradient */
                for (size_t i = 0; i < d.in_img; i++)
                    out[i] += dcol[i];
                continue;
            }
            if (beta == 0.0f)
                memset(out, 0, d.in_img * sizeof *out);
            for (int c = 0; c < s->c; c++)
                for (int oy = 0; oy < d.oh; oy++) {
                    float *row = out + ((size_t)c * s->h + (size_t)oy * s->stride) * s->w;
                    const float *src = dcol + (size_t)c * d.p + (size_t)oy * d.ow;
                    for (int ox = 0; ox < d.ow; ox++)
                        row[(size_t)ox * s->stride] += src[ox];
                }
        }
    }
    return failed ? no_scratch(ctx, "conv backward data") : RT_OK;
}

rt_status cpu_conv_pointwise_backward_filter(void *vctx, const rt_conv_shape *s, const float *x,
                                             const float *dy, float *dw)
{
    cpu_ctx *ctx = vctx;
    pw_dims d = dims_of(s);
    int strided = s->stride != 1;
    int chunks = (s->n + CHUNK - 1) / CHUNK;
    size_t wsize = (size_t)s->k * s->c;
    float *partial = cpu_scratch(ctx, CPU_SHARED_SLOT, (size_t)chunks * wsize);
    if (!partial)
        return no_scratch(ctx, "conv backward filter");
    size_t need = (strided ? (size_t)s->c * d.p : 0) + rt_sgemm_scratch_floats(s->k, s->c, d.p);
    int failed = 0;
    #pragma omp parallel num_threads(cpu_team(ctx, (double)s->n * s->k * d.p * s->c))
    {
        float *scratch = cpu_scratch(ctx, omp_get_thread_num(), need);
        if (!scratch) {
            #pragma omp atomic write
            failed = 1;
        }
        #pragma omp for schedule(static)
        for (int ch = 0; ch < chunks; ch++) {
            if (!scratch)
                continue;
            float *part = partial + (size_t)ch * wsize;
            int n1 = (ch + 1) * CHUNK < s->n ? (ch + 1) * CHUNK : s->n;
            for (int n = ch * CHUNK; n < n1; n++) {
                const float *in = x + (size_t)n * d.in_img;
                float *gemm = scratch;
                if (strided) {
                    gather(s, &d, in, scratch);
                    in = scratch;
                    gemm = scratch + (size_t)s->c * d.p;
                }
                /* part[k][c] (+)= dy[n][k][.] . x[n][c][.]^T, a sum over pixels */
                rt_matrix_view g = {dy + (size_t)n * d.out_img, d.p, 1}, xt = {in, 1, d.p};
                rt_sgemm(s->k, s->c, d.p, g, xt, part, s->c, n > ch * CHUNK, gemm);
            }
        }
    }
    if (failed)
        return no_scratch(ctx, "conv backward filter");
    #pragma omp parallel for num_threads(cpu_team(ctx, (double)wsize * chunks)) schedule(static)
    for (size_t i = 0; i < wsize; i++) {
        float sum = partial[i];
        for (int ch = 1; ch < chunks; ch++)
            sum += partial[(size_t)ch * wsize + i];
        dw[i] = sum;
    }
    return RT_OK;
}
