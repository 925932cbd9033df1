/* BatchNorm2d on the CPU, following PyTorch's CPU kernels operation by
 * operation: per-channel sums in double, the mean rounded to float before
 * the (two-pass) variance, invstd = 1 / sqrt(var + eps), the output as
 * x * alpha + shift with alpha = invstd * weight and shift = bias - mean *
 * alpha, and the backward pass's projection formula. Channels are
 * independent, so the work is split over channels and every sum runs in
 * one fixed order whatever the thread count. */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
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

/* y = x * alpha + shift over channel c (relu fused when asked). */
static void normalize_channel(const rt_batchnorm *bn, int c, float mean, float invstd,
                              const float *x, float *y)
{
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

/* Synchronised over the ranks (bn->sync): the same two passes, each
 * channel's sums (and the element count) added over the ranks between
 * them, so the statistics are those of the whole batch. */
static rt_status forward_synced(cpu_ctx *ctx, const rt_batchnorm *bn, const float *x, float *y)
{
    const int C = bn->c;
    double *sums = malloc(((size_t)C + 1) * sizeof *sums);
    if (!sums)
        return rt_error_set(ctx->err, RT_ERR_NOMEM, "out of host memory for BatchNorm's sums");
    double local = (double)bn->n * bn->hw;
    #pragma omp parallel for num_threads(cpu_team(ctx, local * C)) schedule(static)
    for (int c = 0; c < C; c++)
        CHANNEL_SUM(sums[c], bn, c, (double)x[at]);
    sums[C] = local;
    rt_status st = bn->sync->sum(bn->sync->ctx, sums, C + 1, ctx->err);
    if (st != RT_OK) {
        free(sums);
        return st;
    }
    double count = sums[C];
    #pragma omp parallel for num_threads(cpu_team(ctx, 2.0 * local * C)) schedule(static)
    for (int c = 0; c < C; c++) {
        float mean = (float)(sums[c] / count);
        bn->save_mean[c] = mean;
        CHANNEL_SUM(sums[c], bn, c, ((double)x[at] - mean) * ((double)x[at] - mean));
    }
    st = bn->sync->sum(bn->sync->ctx, sums, C, ctx->err);
    if (st == RT_OK) {
        double m = bn->momentum;
        #pragma omp parallel for num_threads(cpu_team(ctx, local * C)) schedule(static)
        for (int c = 0; c < C; c++) {
            float mean = bn->save_mean[c];
            float invstd = (float)(1.0 / sqrt(sums[c] / count + (double)bn->eps));
            bn->save_invstd[c] = invstd;
            bn->running_mean[c] = (float)(m * mean + (1.0 - m) * bn->running_mean[c]);
            bn->running_var[c] =
                (float)(m * (sums[c] / (count - 1.0)) + (1.0 - m) * bn->running_var[c]);
            normalize_channel(bn, c, mean, invstd, x, y);
        }
        *bn->num_batches_tracked += 1;
    }
    free(sums);
    return st;
}

rt_status cpu_batchnorm_forward(void *vctx, const rt_batchnorm *bn, int training,
                                const float *x, float *y)
{
    cpu_ctx *ctx = vctx;
    if (training && bn->sync)
        return forward_synced(ctx, bn, x, y);
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
        normalize_channel(bn, c, mean, invstd, x, y);
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

/* dx of channel c from the sums (in this rank's gradient scale). */
static void backward_channel(const rt_batchnorm *bn, int c, double sum, double dotp,
                             double count, const float *x, const float *y, const float *dy,
                             float *dx)
{
    float mean = bn->save_mean[c], invstd = bn->save_invstd[c];
    float k = (float)dotp * invstd * invstd / (float)count;
    float grad_mean = (float)(sum / count);
    float scale = invstd * bn->weight[c];
    for (int n = 0; n < bn->n && dx; n++) {
        size_t base = ((size_t)n * bn->c + (size_t)c) * bn->hw;
        const float *xs = x + base, *gs = dy + base, *ys = bn->relu ? y + base : NULL;
        float *out = dx + base;
        for (int i = 0; i < bn->hw; i++) {
            float g = ys && !(ys[i] > 0.0f) ? 0.0f : gs[i];
            out[i] = (g - grad_mean - (xs[i] - mean) * k) * scale;
        }
    }
}

/* Synchronised: the sums of the whole batch's gradient. This rank's dy is
 * its share's loss gradient, 1/share times its part of the whole batch's:
 * the ranks add share * their sums, and dx takes them back in this rank's
 * scale; the parameters' gradients stay this rank's own (the ranks' sum of
 * the gradients weights them by share). */
static rt_status backward_synced(cpu_ctx *ctx, const rt_batchnorm *bn, const float *x,
                                 const float *y, const float *dy, float *dx, float *dweight,
                                 float *dbias)
{
    const int C = bn->c;
    double *sums = malloc((2 * (size_t)C + 1) * sizeof *sums);
    if (!sums)
        return rt_error_set(ctx->err, RT_ERR_NOMEM, "out of host memory for BatchNorm's sums");
    double local = (double)bn->n * bn->hw, share = bn->sync->share;
    #pragma omp parallel for num_threads(cpu_team(ctx, 2.0 * local * C)) schedule(static)
    for (int c = 0; c < C; c++) {
        double sum, dotp;
        backward_sums(bn, c, bn->save_mean[c], x, y, dy, &sum, &dotp);
        dweight[c] = (float)(dotp * bn->save_invstd[c]);
        dbias[c] = (float)sum;
        sums[c] = sum * share;
        sums[C + c] = dotp * share;
    }
    sums[2 * C] = local;
    rt_status st = bn->sync->sum(bn->sync->ctx, sums, 2 * C + 1, ctx->err);
    if (st == RT_OK) {
        double count = sums[2 * C];
        #pragma omp parallel for num_threads(cpu_team(ctx, local * C)) schedule(static)
        for (int c = 0; c < C; c++)
            backward_channel(bn, c, sums[c] / share, sums[C + c] / share, count, x, y, dy, dx);
    }
    free(sums);
    return st;
}

rt_status cpu_batchnorm_backward(void *vctx, const rt_batchnorm *bn, const float *x,
                                 const float *y, const float *dy, float *dx, float *dweight,
                                 float *dbias)
{
    cpu_ctx *ctx = vctx;
    if (bn->sync)
        return backward_synced(ctx, bn, x, y, dy, dx, dweight, dbias);
    double count = (double)bn->n * bn->hw;
    #pragma omp parallel for num_threads(cpu_team(ctx, 3.0 * count * bn->c)) schedule(static)
    for (int c = 0; c < bn->c; c++) {
        float mean = bn->save_mean[c], invstd = bn->save_invstd[c];
        double sum, dotp;
        backward_sums(bn, c, mean, x, y, dy, &sum, &dotp);
        backward_channel(bn, c, sum, dotp, count, x, y, dy, dx);
        dweight[c] = (float)(dotp * invstd);
        dbias[c] = (float)sum;
    }
    return RT_OK;
}
