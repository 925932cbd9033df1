/* Max pooling with any window, stride and padding (the ImageNet stem's
 * 3x3/2/1), and adaptive average pooling to 1x1. The seed's 2x2 pooling
 * with relu has its own kernel in cpu_pool.c. */
#include <math.h>
#include <string.h>

#include "cpu_backend.h"

/* Input index of the first maximum of output (oy, ox)'s window in
 * row-major order (strict '>', a NaN wins), padding ignored. */
static size_t window_argmax(const rt_pool_shape *s, const float *plane, int oy, int ox)
{
    int y0 = oy * s->stride - s->pad, x0 = ox * s->stride - s->pad;
    size_t best = (size_t)-1;
    float bv = 0.0f;
    for (int i = 0; i < s->kernel; i++) {
        int iy = y0 + i;
        if (iy < 0 || iy >= s->h)
            continue;
        for (int j = 0; j < s->kernel; j++) {
            int ix = x0 + j;
            if (ix < 0 || ix >= s->w)
                continue;
            size_t at = (size_t)iy * s->w + ix;
            float v = plane[at];
            if (best == (size_t)-1 || v > bv || (isnan(v) && !isnan(bv))) {
                best = at;
                bv = v;
            }
        }
    }
    return best; /* never -1: pad <= kernel / 2 leaves a real pixel in every window */
}

rt_status cpu_maxpool_forward(void *vctx, const rt_pool_shape *s, const float *x, float *y)
{
    cpu_ctx *ctx = vctx;
    int oh = rt_pool_out_h(s), ow = rt_pool_out_w(s);
    long planes = (long)s->n * s->c;
    double work = (double)planes * oh * ow * s->kernel * s->kernel;
    #pragma omp parallel for num_threads(cpu_team(ctx, work)) schedule(static)
    for (long p = 0; p < planes; p++) {
        const float *in = x + (size_t)p * s->h * s->w;
        float *out = y + (size_t)p * oh * ow;
        for (int oy = 0; oy < oh; oy++)
            for (int ox = 0; ox < ow; ox++)
                out[oy * ow + ox] = in[window_argmax(s, in, oy, ox)];
    }
    return RT_OK;
}

rt_status cpu_maxpool_backward(void *vctx, const rt_pool_shape *s, const float *x,
                               const float *dy, float *dx)
{
    cpu_ctx *ctx = vctx;
    int oh = rt_pool_out_h(s), ow = rt_pool_out_w(s);
    long planes = (long)s->n * s->c;
    double work = (double)planes * oh * ow * s->kernel * s->kernel;
    #pragma omp parallel for num_threads(cpu_team(ctx, work)) schedule(static)
    for (long p = 0; p < planes; p++) {
        const float *in = x + (size_t)p * s->h * s->w;
        const float *g = dy + (size_t)p * oh * ow;
        float *gin = dx + (size_t)p * s->h * s->w;
        memset(gin, 0, (size_t)s->h * s->w * sizeof *gin);
        for (int oy = 0; oy < oh; oy++)
            for (int ox = 0; ox < ow; ox++)
                gin[window_argmax(s, in, oy, ox)] += g[oy * ow + ox];
    }
    return RT_OK;
}

rt_status cpu_avgpool_forward(void *vctx, int n, int c, int hw, const float *x, float *y)
{
    cpu_ctx *ctx = vctx;
    long planes = (long)n * c;
    #pragma omp parallel for num_threads(cpu_team(ctx, (double)planes * hw)) schedule(static)
    for (long p = 0; p < planes; p++) {
        const float *in = x + (size_t)p * hw;
        double sum = 0.0;
        for (int i = 0; i < hw; i++)
            sum += in[i];
        y[p] = (float)(sum / hw);
    }
    return RT_OK;
}

rt_status cpu_avgpool_backward(void *vctx, int n, int c, int hw, const float *dy, float *dx)
{
    cpu_ctx *ctx = vctx;
    long planes = (long)n * c;
    #pragma omp parallel for num_threads(cpu_team(ctx, (double)planes * hw)) schedule(static)
    for (long p = 0; p < planes; p++) {
        float g = dy[p] / (float)hw;
        float *out = dx + (size_t)p * hw;
        for (int i = 0; i < hw; i++)
            out[i] = g;
    }
    return RT_OK;
}
