/* BatchNorm2d on the CPU, following PyTorch's CPU kernels operation by
 * operation: per-channel sums in double, the mean rounded to float before
 * the (two-pass) variance, invstd = 1 / sqrt(var + eps), the output as
 * x * alpha + shift with alpha = invstd * weight and shift = bias - mean *
 * alpha, and the backward pass's projection formula. Channels are
 * independent, so the work is split over channels and every sum runs in
 * one fixed order whatever the thread count. */
#include <math.h>
#include <stddef.h>
#include <string.h>

#include "cpu_backend.h"

/* Sums in double over the n slices of hw floats of channel c, eight running
 * sums each over a fixed subset, so the loop vectorises without changing
 * the order. f(i) gives the term of element i of a slice. */
#define CHANNEL_SUM(result, bn, c, term)                                       \
    do {                                                                       \
        double part_[8] = {0};                                                 \
        for (int n_ = 0; n_ < (bn)->n; n_++) {                                 \
            size_t base_ = ((size_t)n_ * (bn)->c + (size_t)(c)) * (bn)->hw;   \
            int i = 0;                                                         \
            for (; i + 8 <= (bn)->hw; i += 8)                                  \
                for (int j_ = 0; j_ < 8; j_++) {                               \
                    size_t at = base_ + (size_t)i + (size_t)j_;                \
                    part_[j_] += (term);                                       \
                }                                                              \
            for (; i < (bn)->hw; i++) {                                        \
                size_t at = base_ + (size_t)i;                                 \
                part_[i % 8] += (term);                                        \
            }                                                                  \
        }                                                                      \
        double s_ = 0.0;                                                       \
        for (int j_ = 0; j_ < 8; j_++)                                         \
            s_ += part_[j_];                                                   \
        (result) = s_;                                                         \
    } while (0)

rt_status cpu_batchnorm_forward(void *vctx, const rt_batchnorm *bn, int training,
                                const float *x, float *y)
{
    cpu_ctx *ctx = vctx;
    double count = (double)bn->n * bn->hw;
    #pragma omp parallel for num_threads(cpu_team(ctx, 3.0 * count * bn->c)) schedule(static)
    for (int c = 0; c < bn->c; c++) {
        float mean, invstd;
        if (training) {
            double sum, var_sum;
            CHANNEL_SUM(sum, bn, c, (double)x[at]);
            mean = (float)(sum / count);
            CHANNEL_SUM(var_sum, bn, c, ((double)x[at] - mean) * ((double)x[at] - mean));
            invstd = (float)(1.0 / sqrt(var_sum / count + (double)bn->eps));
            bn->save_mean[c] = mean;
            bn->save_invstd[c] = invstd;
            double m = bn->momentum;
            bn->running_mean[c] = (float)(m * mean + (1.0 - m) * bn->running_mean[c]);
            bn->running_var[c] =
                (float)(m * (var_sum / (count - 1.0)) + (1.0 - m) * bn->running_var[c]);
        } else {
            mean = bn->running_mean[c];
            invstd = (float)(1.0 / sqrt((double)bn->running_var[c] + (double)bn->eps));
        }
        float alpha = invstd * bn->weight[c];
        float shift = bn->bias[c] - mean * alpha;
        for (int n = 0; n < bn->n; n++) {
            size_t base = ((size_t)n * bn->c + (size_t)c) * bn->hw;
            const float *xs = x + base;
            float *ys = y + base;
            if (bn->relu)
                for (int i = 0; i < bn->hw; i++) {
                    float v = xs[i] * alpha + shift;
                    ys[i] = v < 0.0f ? 0.0f : v;
                }
            else
                for (int i = 0; i < bn->hw; i++)
                    ys[i] = xs[i] * alpha + shift;
        }
    }
    if (training)
        *bn->num_batches_tracked += 1;
    return RT_OK;
}

/* Eight floats, and eight doubles, for the sums below (the GCC/Clang
 * vector extension, as cpu_simd.h): one lane per running sum. */
typedef float vf8 __attribute__((vector_size(32)));
typedef int vi8 __attribute__((vector_size(32)));
typedef double vd8 __attribute__((vector_size(64)));

static inline vf8 load8(const float *p)
{
    vf8 v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* Both sums of the backward pass over channel c in one sweep: of g and of
 * (x - mean) * g, where g is dy (masked by y > 0 with the relu fused), in
 * double, eight running sums each over a fixed subset of the elements
 * (index mod 8), added in a fixed order at the end. */
static void backward_sums(const rt_batchnorm *bn, int c, float mean, const float *x,
                          const float *y, const float *dy, double *sum_out, double *dot_out)
{
    vd8 s = {0}, d = {0};
    double st[8] = {0}, dt[8] = {0};
    const vd8 m = (vd8){0} + (double)mean;
    for (int n = 0; n < bn->n; n++) {
        size_t base = ((size_t)n * bn->c + (size_t)c) * bn->hw;
        const float *xs = x + base, *gs = dy + base, *ys = y + base;
        int i = 0;
        for (; i + 8 <= bn->hw; i += 8) {
            vf8 g = load8(gs + i);
            if (bn->relu)
                g = (vf8)((vi8)g & (load8(ys + i) > 0.0f));
            vd8 gd = __builtin_convertvector(g, vd8);
            s += gd;
            d += (__builtin_convertvector(load8(xs + i), vd8) - m) * gd;
        }
        for (; i < bn->hw; i++) {
            float g = bn->relu && !(ys[i] > 0.0f) ? 0.0f : gs[i];
            st[i % 8] += (double)g;
            dt[i % 8] += ((double)xs[i] - mean) * (double)g;
        }
    }
    double sum = 0.0, dot = 0.0;
    for (int j = 0; j < 8; j++) {
        sum += s[j] + st[j];
        dot += d[j] + dt[j];
    }
    *sum_out = sum;
    *dot_out = dot;
}

rt_status cpu_batchnorm_backward(void *vctx, const rt_batchnorm *bn, const float *x,
                                 const float *y, const float *dy, float *dx, float *dweight,
                                 float *dbias)
{
    cpu_ctx *ctx = vctx;
    double count = (double)bn->n * bn->hw;
    int relu = bn->relu;
    #pragma omp parallel for num_threads(cpu_team(ctx, 3.0 * count * bn->c)) schedule(static)
    for (int c = 0; c < bn->c; c++) {
        float mean = bn->save_mean[c], invstd = bn->save_invstd[c];
        double sum, dotp;
        backward_sums(bn, c, mean, x, y, dy, &sum, &dotp);
        float k = (float)dotp * invstd * invstd / (float)count;
        float grad_mean = (float)(sum / count);
        float scale = invstd * bn->weight[c];
        for (int n = 0; n < bn->n && dx; n++) {
            size_t base = ((size_t)n * bn->c + (size_t)c) * bn->hw;
            const float *xs = x + base, *gs = dy + base, *ys = relu ? y + base : NULL;
            float *out = dx + base;
            for (int i = 0; i < bn->hw; i++) {
                float g = ys && !(ys[i] > 0.0f) ? 0.0f : gs[i];
                out[i] = (g - grad_mean - (xs[i] - mean) * k) * scale;
            }
        }
        dweight[c] = (float)(dotp * invstd);
        dbias[c] = (float)sum;
    }
    return RT_OK;
}
