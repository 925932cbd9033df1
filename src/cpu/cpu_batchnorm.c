/* BatchNorm2d on the CPU, following PyTorch's CPU kernels operation by
 * operation: per-channel sums in double, the mean rounded to float before
 * the (two-pass) variance, invstd = 1 / sqrt(var + eps), the output as
 * x * alpha + shift with alpha = invstd * weight and shift = bias - mean *
 * alpha, and the backward pass's projection formula. Channels are
 * independent, so the work is split over channels and every sum runs in
 * one fixed order whatever the thread count. */
#include <math.h>
#include <stddef.h>

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
        /* with relu fused, the gradient reaching the normalisation is dy
         * where the output is > 0 */
        double sum, dotp;
        CHANNEL_SUM(sum, bn, c, (relu && !(y[at] > 0.0f)) ? 0.0 : (double)dy[at]);
        CHANNEL_SUM(dotp, bn, c,
                    (relu && !(y[at] > 0.0f)) ? 0.0 : ((double)x[at] - mean) * (double)dy[at]);
        float k = (float)dotp * invstd * invstd / (float)count;
        float grad_mean = (float)(sum / count);
        float scale = invstd * bn->weight[c];
        for (int n = 0; n < bn->n && dx; n++) {
            size_t base = ((size_t)n * bn->c + (size_t)c) * bn->hw;
            for (int i = 0; i < bn->hw; i++) {
                size_t at = base + (size_t)i;
                float g = (relu && !(y[at] > 0.0f)) ? 0.0f : dy[at];
                float centred = (x[at] - mean) * k;
                dx[at] = (g - grad_mean - centred) * scale;
            }
        }
        dweight[c] = (float)(dotp * invstd);
        dbias[c] = (float)sum;
    }
    return RT_OK;
}
