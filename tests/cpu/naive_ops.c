#include "naive_ops.h"

#include <math.h>
#include <stdlib.h>

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
                                                  s->w, c, oy * s->stride + i - s->pad,
                                                  ox * s->stride + j - s->pad) *
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
                                int ty = iy - i + s->pad, tx = ix - j + s->pad;
                                if (ty % s->stride || tx % s->stride)
                                    continue;
                                int oy = ty / s->stride, ox = tx / s->stride;
                                if (ty < 0 || oy >= oh || tx < 0 || ox >= ow)
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
                                          oy * s->stride + i - s->pad,
                                          ox * s->stride + j - s->pad);
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

void naive_maxpool_forward(const rt_pool_shape *s, const float *x, float *y, size_t *argmax)
{
    int oh = rt_pool_out_h(s), ow = rt_pool_out_w(s);
    for (size_t p = 0; p < (size_t)s->n * s->c; p++)
        for (int oy = 0; oy < oh; oy++)
            for (int ox = 0; ox < ow; ox++) {
                size_t best = (size_t)-1;
                for (int i = 0; i < s->kernel; i++)
                    for (int j = 0; j < s->kernel; j++) {
                        int iy = oy * s->stride - s->pad + i, ix = ox * s->stride - s->pad + j;
                        if (iy < 0 || iy >= s->h || ix < 0 || ix >= s->w)
                            continue;
                        size_t at = (p * s->h + iy) * s->w + ix;
                        /* the first maximum wins; a NaN beats any number */
                        if (best == (size_t)-1 || (isnan(x[at]) && !isnan(x[best])) ||
                            (!isnan(x[best]) && x[at] > x[best]))
                            best = at;
                    }
                size_t o = (p * oh + oy) * ow + ox;
                y[o] = x[best];
                if (argmax)
                    argmax[o] = best;
            }
}

void naive_maxpool_backward(const rt_pool_shape *s, const float *x, const float *dy, float *dx)
{
    size_t nin = (size_t)s->n * s->c * s->h * s->w;
    size_t nout = (size_t)s->n * s->c * rt_pool_out_h(s) * rt_pool_out_w(s);
    float *y = malloc(nout * sizeof *y);
    size_t *argmax = malloc(nout * sizeof *argmax);
    naive_maxpool_forward(s, x, y, argmax);
    for (size_t i = 0; i < nin; i++)
        dx[i] = 0.0f;
    for (size_t o = 0; o < nout; o++)
        dx[argmax[o]] += dy[o];
    free(y);
    free(argmax);
}

void naive_batchnorm_forward(const rt_batchnorm *bn, int training, const float *x, float *y,
                             double *mean_out, double *var_out)
{
    size_t m = (size_t)bn->n * bn->hw;
    for (int c = 0; c < bn->c; c++) {
        double mean = 0.0, var = 0.0;
        for (int n = 0; n < bn->n; n++)
            for (int i = 0; i < bn->hw; i++)
                mean += x[((size_t)n * bn->c + c) * bn->hw + i];
        mean /= (double)m;
        for (int n = 0; n < bn->n; n++)
            for (int i = 0; i < bn->hw; i++) {
                double d = x[((size_t)n * bn->c + c) * bn->hw + i] - mean;
                var += d * d;
            }
        var /= (double)m;
        if (mean_out)
            mean_out[c] = mean;
        if (var_out)
            var_out[c] = var;
        double use_mean = training ? mean : bn->running_mean[c];
        double use_var = training ? var : bn->running_var[c];
        double scale = bn->weight[c] / sqrt(use_var + bn->eps);
        for (int n = 0; n < bn->n; n++)
            for (int i = 0; i < bn->hw; i++) {
                size_t at = ((size_t)n * bn->c + c) * bn->hw + i;
                double v = (x[at] - use_mean) * scale + bn->bias[c];
                y[at] = (float)(bn->relu && v < 0.0 ? 0.0 : v);
            }
    }
}

void naive_batchnorm_backward(const rt_batchnorm *bn, const float *x, const float *y,
                              const float *dy, float *dx, float *dweight, float *dbias)
{
    double m = (double)bn->n * bn->hw;
    for (int c = 0; c < bn->c; c++) {
        double mean = 0.0, var = 0.0;
        for (int n = 0; n < bn->n; n++)
            for (int i = 0; i < bn->hw; i++)
                mean += x[((size_t)n * bn->c + c) * bn->hw + i];
        mean /= m;
        for (int n = 0; n < bn->n; n++)
            for (int i = 0; i < bn->hw; i++) {
                double d = x[((size_t)n * bn->c + c) * bn->hw + i] - mean;
                var += d * d;
            }
        var /= m;
        double invstd = 1.0 / sqrt(var + bn->eps);
        /* dL/dxhat = g * gamma; dx = invstd / m * (m g' - sum g' - xhat sum g' xhat) */
        double sg = 0.0, sgx = 0.0;
        for (int n = 0; n < bn->n; n++)
            for (int i = 0; i < bn->hw; i++) {
                size_t at = ((size_t)n * bn->c + c) * bn->hw + i;
                double g = (bn->relu && !(y[at] > 0.0f)) ? 0.0 : dy[at];
                sg += g;
                sgx += g * (x[at] - mean) * invstd;
            }
        dweight[c] = (float)sgx;
        dbias[c] = (float)sg;
        for (int n = 0; n < bn->n; n++)
            for (int i = 0; i < bn->hw; i++) {
                size_t at = ((size_t)n * bn->c + c) * bn->hw + i;
                double g = (bn->relu && !(y[at] > 0.0f)) ? 0.0 : dy[at];
                double xhat = (x[at] - mean) * invstd;
                dx[at] = (float)(bn->weight[c] * invstd / m * (m * g - sg - xhat * sgx));
            }
    }
}
