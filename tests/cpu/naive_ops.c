#include "naive_ops.h"

#include <math.h>

static float at(const float *x, int h, int w, int ci, int yi, int xi)
{
    if (yi < 0 || yi >= h || xi < 0 || xi >= w)
        return 0.0f;
    return x[((size_t)ci * h + yi) * w + xi];
}

void naive_conv_forward(const rt_conv_shape *s, const float *x, const float *w, const float *b,
                        float *y)
{
    int oh = rt_conv_out_h(s), ow = rt_conv_out_w(s);
    for (int n = 0; n < s->n; n++)
        for (int k = 0; k < s->k; k++)
            for (int oy = 0; oy < oh; oy++)
                for (int ox = 0; ox < ow; ox++) {
                    double sum = b ? b[k] : 0.0;
                    for (int c = 0; c < s->c; c++)
                        for (int i = 0; i < s->r; i++)
                            for (int j = 0; j < s->s; j++)
                                sum += (double)at(x + (size_t)n * s->c * s->h * s->w, s->h,
                                                  s->w, c, oy + i - s->pad, ox + j - s->pad) *
                                       w[(((size_t)k * s->c + c) * s->r + i) * s->s + j];
                    y[(((size_t)n * s->k + k) * oh + oy) * ow + ox] = (float)sum;
                }
}

void naive_conv_backward_data(const rt_conv_shape *s, const float *dy, const float *w, float *dx)
{
    int oh = rt_conv_out_h(s), ow = rt_conv_out_w(s);
    for (int n = 0; n < s->n; n++)
        for (int c = 0; c < s->c; c++)
            for (int iy = 0; iy < s->h; iy++)
                for (int ix = 0; ix < s->w; ix++) {
                    double sum = 0.0;
                    for (int k = 0; k < s->k; k++)
                        for (int i = 0; i < s->r; i++)
                            for (int j = 0; j < s->s; j++) {
                                int oy = iy - i + s->pad, ox = ix - j + s->pad;
                                if (oy < 0 || oy >= oh || ox < 0 || ox >= ow)
                                    continue;
                                sum += (double)dy[(((size_t)n * s->k + k) * oh + oy) * ow + ox] *
                                       w[(((size_t)k * s->c + c) * s->r + i) * s->s + j];
                            }
                    dx[(((size_t)n * s->c + c) * s->h + iy) * s->w + ix] = (float)sum;
                }
}

void naive_conv_backward_filter(const rt_conv_shape *s, const float *x, const float *dy,
                                float *dw)
{
    int oh = rt_conv_out_h(s), ow = rt_conv_out_w(s);
    for (int k = 0; k < s->k; k++)
        for (int c = 0; c < s->c; c++)
            for (int i = 0; i < s->r; i++)
                for (int j = 0; j < s->s; j++) {
                    double sum = 0.0;
                    for (int n = 0; n < s->n; n++)
                        for (int oy = 0; oy < oh; oy++)
                            for (int ox = 0; ox < ow; ox++)
                                sum += (double)dy[(((size_t)n * s->k + k) * oh + oy) * ow + ox] *
                                       at(x + (size_t)n * s->c * s->h * s->w, s->h, s->w, c,
                                          oy + i - s->pad, ox + j - s->pad);
                    dw[(((size_t)k * s->c + c) * s->r + i) * s->s + j] = (float)sum;
                }
}

void naive_conv_backward_bias(const rt_conv_shape *s, const float *dy, float *db)
{
    int p = rt_conv_out_h(s) * rt_conv_out_w(s);
    for (int k = 0; k < s->k; k++) {
        double sum = 0.0;
        for (int n = 0; n < s->n; n++)
            for (int i = 0; i < p; i++)
                sum += dy[((size_t)n * s->k + k) * p + i];
        db[k] = (float)sum;
    }
}

/* The window's first maximum in row-major order; a NaN beats any number. */
static void window_max(const float *plane, int w, int oy, int ox, int *arg_y, int *arg_x)
{
    int by = 2 * oy, bx = 2 * ox;
    for (int dy = 0; dy < 2; dy++)
        for (int dx = 0; dx < 2; dx++) {
            float v = plane[(2 * oy + dy) * w + 2 * ox + dx];
            float best = plane[by * w + bx];
            if (isnan(best))
                continue;
            if (isnan(v) || v > best) {
                by = 2 * oy + dy;
                bx = 2 * ox + dx;
            }
        }
    *arg_y = by;
    *arg_x = bx;
}

void naive_maxpool2_forward(int n, int c, int h, int w, int relu, const float *x, float *y)
{
    int oh = h / 2, ow = w / 2;
    for (int p = 0; p < n * c; p++)
        for (int oy = 0; oy < oh; oy++)
            for (int ox = 0; ox < ow; ox++) {
                const float *plane = x + (size_t)p * h * w;
                int ay, ax;
                window_max(plane, w, oy, ox, &ay, &ax);
                float m = plane[ay * w + ax];
                if (relu && m < 0.0f)
                    m = 0.0f;
                y[((size_t)p * oh + oy) * ow + ox] = m;
            }
}

void naive_maxpool2_backward(int n, int c, int h, int w, int relu, const float *x,
                             const float *dy, float *dx)
{
    int oh = h / 2, ow = w / 2;
    for (size_t i = 0; i < (size_t)n * c * h * w; i++)
        dx[i] = 0.0f;
    for (int p = 0; p < n * c; p++)
        for (int oy = 0; oy < oh; oy++)
            for (int ox = 0; ox < ow; ox++) {
                const float *plane = x + (size_t)p * h * w;
                int ay, ax;
                window_max(plane, w, oy, ox, &ay, &ax);
                float m = plane[ay * w + ax];
                if (relu && !(m > 0.0f))
                    continue;
                dx[(size_t)p * h * w + (size_t)ay * w + ax] = dy[((size_t)p * oh + oy) * ow + ox];
            }
}

void naive_linear_forward(int n, int in, int out, const float *x, const float *w,
                          const float *b, float *y)
{
    for (int i = 0; i < n; i++)
        for (int o = 0; o < out; o++) {
            double sum = b ? b[o] : 0.0;
            for (int j = 0; j < in; j++)
                sum += (double)x[(size_t)i * in + j] * w[(size_t)o * in + j];
            y[(size_t)i * out + o] = (float)sum;
        }
}

void naive_linear_backward(int n, int in, int out, const float *x, const float *w,
                           const float *dy, float *dx, float *dw, float *db)
{
    for (int i = 0; i < n; i++)
        for (int j = 0; j < in; j++) {
            double sum = 0.0;
            for (int o = 0; o < out; o++)
                sum += (double)dy[(size_t)i * out + o] * w[(size_t)o * in + j];
            dx[(size_t)i * in + j] = (float)sum;
        }
    for (int o = 0; o < out; o++) {
        double bsum = 0.0;
        for (int i = 0; i < n; i++)
            bsum += dy[(size_t)i * out + o];
        db[o] = (float)bsum;
        for (int j = 0; j < in; j++) {
            double sum = 0.0;
            for (int i = 0; i < n; i++)
                sum += (double)dy[(size_t)i * out + o] * x[(size_t)i * in + j];
            dw[(size_t)o * in + j] = (float)sum;
        }
    }
}

double naive_softmax_cross_entropy(int n, int classes, const float *logits,
                                   const int32_t *labels, float *dlogits, int *correct)
{
    double total = 0.0;
    *correct = 0;
    for (int i = 0; i < n; i++) {
        const float *z = logits + (size_t)i * classes;
        int arg = 0;
        for (int j = 1; j < classes; j++)
            if (z[j] > z[arg])
                arg = j;
        double m = z[arg], sum = 0.0;
        for (int j = 0; j < classes; j++)
            sum += exp((double)z[j] - m);
        double lse = m + log(sum);
        total += lse - z[labels[i]];
        *correct += arg == labels[i];
        if (dlogits)
            for (int j = 0; j < classes; j++)
                dlogits[(size_t)i * classes + j] =
                    (float)((exp((double)z[j] - lse) - (j == labels[i])) / n);
    }
    return total / n;
}
