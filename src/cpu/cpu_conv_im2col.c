/* Convolutions on the CPU as im2col + SGEMM: the general path, for any
 * shape (cpu_conv.c sends the common shapes to cpu_conv_lanes.c instead).
 *
 * Forward and backward-data work image by image, an image per thread at a
 * time. Backward-filter sums over the batch: images are grouped in fixed
 * chunks of CONV_CHUNK, each chunk's gradient is one GEMM, and the chunk
 * partials are added in chunk order, so the result does not depend on the
 * thread count. */
#include <omp.h>
#include <string.h>

#include "cpu_backend.h"
#include "cpu_conv.h"
#include "cpu_gemm.h"

#define CONV_CHUNK 8

typedef struct conv_dims {
    int oh, ow;     /* output height and width */
    int p;          /* output pixels per channel */
    int crs;        /* c * r * s, the GEMM reduction length */
    size_t in_img;  /* floats per input image */
    size_t out_img; /* floats per output image */
} conv_dims;

static conv_dims dims_of(const rt_conv_shape *s)
{
    conv_dims d;
    d.oh = rt_conv_out_h(s);
    d.ow = rt_conv_out_w(s);
    d.p = d.oh * d.ow;
    d.crs = s->c * s->r * s->s;
    d.in_img = (size_t)s->c * s->h * s->w;
    d.out_img = (size_t)s->k * d.p;
    return d;
}

/* col[(c*r + i)*s + j][oh*ow + x] = padded input at (c, oh + i, ow + j);
 * `ld` is col's row stride. */
static void im2col(const rt_conv_shape *s, const conv_dims *d, const float *x, float *col,
                   size_t ld)
{
    for (int c = 0; c < s->c; c++)
        for (int i = 0; i < s->r; i++)
            for (int j = 0; j < s->s; j++) {
                float *row = col + (size_t)((c * s->r + i) * s->s + j) * ld;
                for (int oy = 0; oy < d->oh; oy++) {
                    int iy = oy * s->stride + i - s->pad;
                    float *dst = row + (size_t)oy * d->ow;
                    if (iy < 0 || iy >= s->h) {
                        memset(dst, 0, (size_t)d->ow * sizeof *dst);
                        continue;
                    }
                    const float *src = x + ((size_t)c * s->h + iy) * s->w;
                    if (s->stride == 1 && j >= s->pad && d->ow + j - s->pad <= s->w) {
                        memcpy(dst, src + j - s->pad, (size_t)d->ow * sizeof *dst);
                        continue;
                    }
                    for (int ox = 0; ox < d->ow; ox++) {
                        int ix = ox * s->stride + j - s->pad;
                        dst[ox] = (ix >= 0 && ix < s->w) ? src[ix] : 0.0f;
                    }
                }
            }
}

/* The transpose of im2col: colt[oh*ow + x][(c*r + i)*s + j], row stride crs. */
static void im2col_transposed(const rt_conv_shape *s, const conv_dims *d, const float *x,
                              float *colt)
{
    for (int oy = 0; oy < d->oh; oy++)
        for (int ox = 0; ox < d->ow; ox++) {
            float *dst = colt + (size_t)(oy * d->ow + ox) * d->crs;
            for (int c = 0; c < s->c; c++)
                for (int i = 0; i < s->r; i++) {
                    int iy = oy * s->stride + i - s->pad;
                    const float *src = x + ((size_t)c * s->h + iy) * s->w;
                    for (int j = 0; j < s->s; j++) {
                        int ix = ox * s->stride + j - s->pad;
                        *dst++ = (iy >= 0 && iy < s->h && ix >= 0 && ix < s->w) ? src[ix] : 0.0f;
                    }
                }
        }
}

/* Adds col entries (row stride ld) back onto the image they were gathered
 * from. */
static void col2im_add(const rt_conv_shape *s, const conv_dims *d, const float *col, size_t ld,
                       float *x)
{
    for (int c = 0; c < s->c; c++)
        for (int i = 0; i < s->r; i++)
            for (int j = 0; j < s->s; j++) {
                const float *row = col + (size_t)((c * s->r + i) * s->s + j) * ld;
                for (int oy = 0; oy < d->oh; oy++) {
                    int iy = oy * s->stride + i - s->pad;
                    if (iy < 0 || iy >= s->h)
                        continue;
                    float *dst = x + ((size_t)c * s->h + iy) * s->w;
                    const float *src = row + (size_t)oy * d->ow;
                    for (int ox = 0; ox < d->ow; ox++) {
                        int ix = ox * s->stride + j - s->pad;
                        if (ix >= 0 && ix < s->w)
                            dst[ix] += src[ox];
                    }
                }
            }
}

static rt_status scratch_failed(cpu_ctx *ctx, const char *op)
{
    return rt_error_set(ctx->err, RT_ERR_NOMEM, "%s: out of host memory for scratch", op);
}

rt_status cpu_conv_im2col_forward(void *vctx, const rt_conv_shape *s, const float *x, const float *w,
                           const float *b, float *y)
{
    cpu_ctx *ctx = vctx;
    conv_dims d = dims_of(s);
    size_t need = (size_t)d.crs * d.p + rt_sgemm_scratch_floats(s->k, d.p, d.crs);
    int failed = 0;
    #pragma omp parallel num_threads(cpu_team(ctx, (double)s->n * s->k * d.p * d.crs))
    {
        float *col = cpu_scratch(ctx, omp_get_thread_num(), need);
        if (!col) {
            #pragma omp atomic write
            failed = 1;
        }
        #pragma omp for schedule(static)
        for (int n = 0; n < s->n; n++) {
            if (!col)
                continue;
            float *out = y + (size_t)n * d.out_img;
            im2col(s, &d, x + (size_t)n * d.in_img, col, (size_t)d.p);
            rt_matrix_view wa = {w, d.crs, 1}, cb = {col, d.p, 1};
            rt_sgemm(s->k, d.p, d.crs, wa, cb, out, d.p, 0, col + (size_t)d.crs * d.p);
            if (b)
                for (int k = 0; k < s->k; k++) {
                    float *row = out + (size_t)k * d.p;
                    for (int i = 0; i < d.p; i++)
                        row[i] += b[k];
                }
        }
    }
    return failed ? scratch_failed(ctx, "conv forward") : RT_OK;
}

/* Backward data: dcol = W^T . dy, then col2im. Images are taken a few at a
 * time (as many as keep dcol within ~1 MB, at most CONV_CHUNK), their dy
 * side by side as one GEMM operand: a strided convolution's small output
 * (16 pixels for ResNet-18's last stage on 32x32 images) would make a
 * GEMM of 16 columns per image, a third as fast. */
rt_status cpu_conv_im2col_backward_data(void *vctx, const rt_conv_shape *s, const float *dy,
                                 const float *w, float *dx, float beta)
{
    cpu_ctx *ctx = vctx;
    conv_dims d = dims_of(s);
    size_t per_image = (size_t)d.crs * d.p;
    size_t fit = ((size_t)1 << 18) / (per_image ? per_image : 1); /* dcol within ~1 MB */
    int chunk = fit < 1 ? 1 : fit > CONV_CHUNK ? CONV_CHUNK : (int)fit;
    int chunks = (s->n + chunk - 1) / chunk;
    size_t cols = (size_t)chunk * d.p;
    size_t need = (size_t)d.crs * cols + (size_t)s->k * cols + d.in_img +
                  rt_sgemm_scratch_floats(d.crs, (int)cols, s->k);
    int failed = 0;
    #pragma omp parallel num_threads(cpu_team(ctx, (double)s->n * s->k * d.p * d.crs))
    {
        float *dcol = cpu_scratch(ctx, omp_get_thread_num(), need);
        if (!dcol) {
            #pragma omp atomic write
            failed = 1;
        }
        #pragma omp for schedule(static)
        for (int ch = 0; ch < chunks; ch++) {
            if (!dcol)
                continue;
            int n0 = ch * chunk, nn = s->n - n0 < chunk ? s->n - n0 : chunk;
            size_t ld = (size_t)nn * d.p;
            float *g = dcol + (size_t)d.crs * cols, *img = g + (size_t)s->k * cols;
            const float *src = dy + (size_t)n0 * d.out_img;
            if (nn > 1) { /* dy of the chunk as [k][image][pixel] */
                for (int i = 0; i < nn; i++)
                    for (int k = 0; k < s->k; k++)
                        memcpy(g + (size_t)k * ld + (size_t)i * d.p,
                               dy + (size_t)(n0 + i) * d.out_img + (size_t)k * d.p,
                               (size_t)d.p * sizeof *g);
                src = g;
            }
            /* dcol = W^T . dy; W is [k][crs] so W^T(i, j) = w[j*crs + i] */
            rt_matrix_view wt = {w, 1, d.crs}, gv = {src, (ptrdiff_t)ld, 1};
            rt_sgemm(d.crs, (int)ld, s->k, wt, gv, dcol, (ptrdiff_t)ld, 0, img + d.in_img);
            for (int i = 0; i < nn; i++) {
                memset(img, 0, d.in_img * sizeof *img);
                col2im_add(s, &d, dcol + (size_t)i * d.p, ld, img);
                float *out = dx + (size_t)(n0 + i) * d.in_img;
                if (beta != 0.0f)
                    for (size_t e = 0; e < d.in_img; e++)
                        out[e] += img[e];
                else
                    memcpy(out, img, d.in_img * sizeof *out);
            }
        }
    }
    return failed ? scratch_failed(ctx, "conv backward data") : RT_OK;
}

rt_status cpu_conv_im2col_backward_filter(void *vctx, const rt_conv_shape *s, const float *x,
                                   const float *dy, float *dw)
{
    cpu_ctx *ctx = vctx;
    conv_dims d = dims_of(s);
    int chunks = (s->n + CONV_CHUNK - 1) / CONV_CHUNK;
    size_t wsize = (size_t)s->k * d.crs;
    float *partial = chunks > 1 ? cpu_scratch(ctx, CPU_SHARED_SLOT, (size_t)chunks * wsize) : dw;
    if (!partial)
        return scratch_failed(ctx, "conv backward filter");
    size_t cols = (size_t)CONV_CHUNK * d.p;
    size_t need = cols * d.crs + (size_t)s->k * cols +
                  rt_sgemm_scratch_floats(s->k, d.crs, (int)cols);
    int failed = 0;
    #pragma omp parallel num_threads(cpu_team(ctx, (double)s->n * s->k * d.p * d.crs))
    {
        float *colt = cpu_scratch(ctx, omp_get_thread_num(), need);
        if (!colt) {
            #pragma omp atomic write
            failed = 1;
        }
        #pragma omp for schedule(static)
        for (int ch = 0; ch < chunks; ch++) {
            if (!colt)
                continue;
            int n0 = ch * CONV_CHUNK;
            int nn = s->n - n0 < CONV_CHUNK ? s->n - n0 : CONV_CHUNK;
            int kk = nn * d.p; /* the GEMM reduction: every pixel of every image */
            float *g = colt + cols * d.crs;
            for (int i = 0; i < nn; i++) {
                im2col_transposed(s, &d, x + (size_t)(n0 + i) * d.in_img,
                                  colt + (size_t)i * d.p * d.crs);
                for (int k = 0; k < s->k; k++)
                    memcpy(g + (size_t)k * kk + (size_t)i * d.p,
                           dy + (size_t)(n0 + i) * d.out_img + (size_t)k * d.p,
                           (size_t)d.p * sizeof *g);
            }
            rt_matrix_view ga = {g, kk, 1}, cb = {colt, d.crs, 1};
            rt_sgemm(s->k, d.crs, kk, ga, cb, partial + (size_t)ch * wsize, d.crs, 0,
                     g + (size_t)s->k * cols);
        }
    }
    if (failed)
        return scratch_failed(ctx, "conv backward filter");
    if (chunks > 1) {
        #pragma omp parallel for num_threads(cpu_team(ctx, (double)wsize * chunks)) schedule(static)
        for (size_t i = 0; i < wsize; i++) {
            float sum = partial[i];
            for (int ch = 1; ch < chunks; ch++)
                sum += partial[(size_t)ch * wsize + i];
            dw[i] = sum;
        }
    }
    return RT_OK;
}
