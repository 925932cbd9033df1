/* 2x2 max pooling, stride 2, floor mode, optionally followed by relu. */
#include <math.h>
#include <string.h>

#include "cpu_backend.h"

/* Index (0..3) of the window's first maximum in row-major order with a
 * strict '>', where a NaN wins: PyTorch's max_pool2d rule. */
static int window_argmax(const float v[4])
{
    int best = 0;
    for (int i = 1; i < 4; i++)
        if (v[i] > v[best] || (isnan(v[i]) && !isnan(v[best])))
            best = i;
    return best;
}

static void window(const float *plane, int w, int oy, int ox, float v[4])
{
    const float *top = plane + (size_t)(2 * oy) * w + 2 * ox;
    v[0] = top[0];
    v[1] = top[1];
    v[2] = top[w];
    v[3] = top[w + 1];
}

/* max(a, b) keeping the first on ties and letting a NaN win, without
 * branches so the row loops vectorise */
static inline float max_first(float a, float b) { return (b > a || b != b) && a == a ? b : a; }

rt_status cpu_maxpool2_forward(void *vctx, int n, int c, int h, int w, int relu, const float *x,
                               float *y)
{
    cpu_ctx *ctx = vctx;
    int oh = h / 2, ow = w / 2;
    long planes = (long)n * c;
    #pragma omp parallel for num_threads(cpu_team(ctx, (double)planes * h * w)) schedule(static)
    for (long p = 0; p < planes; p++) {
        const float *in = x + (size_t)p * h * w;
        float *out = y + (size_t)p * oh * ow;
        for (int oy = 0; oy < oh; oy++) {
            const float *top = in + (size_t)(2 * oy) * w, *bottom = top + w;
            float *o = out + (size_t)oy * ow;
            for (int ox = 0; ox < ow; ox++) {
                float m = max_first(max_first(max_first(top[2 * ox], top[2 * ox + 1]),
                                              bottom[2 * ox]),
                                    bottom[2 * ox + 1]);
                /* relu keeps NaN, as torch.relu does */
                o[ox] = (relu && m < 0.0f) ? 0.0f : m;
            }
        }
    }
    return RT_OK;
}

rt_status cpu_maxpool2_backward(void *vctx, int n, int c, int h, int w, int relu, const float *x,
                                const float *y, const float *dy, float *dx)
{
    cpu_ctx *ctx = vctx;
    int oh = h / 2, ow = w / 2;
    long planes = (long)n * c;
    #pragma omp parallel for num_threads(cpu_team(ctx, (double)planes * h * w)) schedule(static)
    for (long p = 0; p < planes; p++) {
        const float *in = x + (size_t)p * h * w;
        const float *out = y + (size_t)p * oh * ow;
        const float *g = dy + (size_t)p * oh * ow;
        float *gin = dx + (size_t)p * h * w;
        memset(gin, 0, (size_t)h * w * sizeof *gin);
        for (int oy = 0; oy < oh; oy++)
            for (int ox = 0; ox < ow; ox++) {
                int o = oy * ow + ox;
                /* relu passes the gradient only where its output is > 0 */
                if (relu && !(out[o] > 0.0f))
                    continue;
                float v[4];
                window(in, w, oy, ox, v);
                int a = window_argmax(v);
                gin[(size_t)(2 * oy + a / 2) * w + 2 * ox + a % 2] = g[o];
            }
    }
    return RT_OK;
}
