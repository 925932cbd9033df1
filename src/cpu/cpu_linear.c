/* The fully connected layer: y = x . w^T + b. Small (375 -> 10), so plain
 * loops; every sum runs in a fixed order. */
#include "cpu_backend.h"

rt_status cpu_linear_forward(void *vctx, int n, int in, int out, const float *x, const float *w,
                             const float *b, float *y)
{
    cpu_ctx *ctx = vctx;
    #pragma omp parallel for num_threads(cpu_team(ctx, (double)n * in * out)) schedule(static)
    for (int i = 0; i < n; i++) {
        const float *xi = x + (size_t)i * in;
        for (int o = 0; o < out; o++) {
            const float *wo = w + (size_t)o * in;
            /* 16 running sums over fixed subsets (j mod 16) so the loop
             * vectorises; added up in a fixed order */
            float part[16] = {0};
            int j = 0;
            for (; j + 16 <= in; j += 16)
                for (int l = 0; l < 16; l++)
                    part[l] += xi[j + l] * wo[j + l];
            for (; j < in; j++)
                part[j % 16] += xi[j] * wo[j];
            float sum = 0.0f;
            for (int l = 0; l < 16; l++)
                sum += part[l];
            y[(size_t)i * out + o] = sum + (b ? b[o] : 0.0f);
        }
    }
    return RT_OK;
}

rt_status cpu_linear_backward_data(void *vctx, int n, int in, int out, const float *dy,
                                   const float *w, float *dx)
{
    cpu_ctx *ctx = vctx;
    #pragma omp parallel for num_threads(cpu_team(ctx, (double)n * in * out)) schedule(static)
    for (int i = 0; i < n; i++) {
        float *dxi = dx + (size_t)i * in;
        for (int j = 0; j < in; j++)
            dxi[j] = 0.0f;
        for (int o = 0; o < out; o++) {
            float g = dy[(size_t)i * out + o];
            const float *wo = w + (size_t)o * in;
            for (int j = 0; j < in; j++)
                dxi[j] += g * wo[j];
        }
    }
    return RT_OK;
}

rt_status cpu_linear_backward_params(void *vctx, int n, int in, int out, const float *x,
                                     const float *dy, float *dw, float *db)
{
    cpu_ctx *ctx = vctx;
    #pragma omp parallel for num_threads(cpu_team(ctx, (double)n * in * out)) schedule(static)
    for (int o = 0; o < out; o++) {
        float *dwo = dw + (size_t)o * in;
        for (int j = 0; j < in; j++)
            dwo[j] = 0.0f;
        double bias = 0.0;
        for (int i = 0; i < n; i++) {
            float g = dy[(size_t)i * out + o];
            const float *xi = x + (size_t)i * in;
            for (int j = 0; j < in; j++)
                dwo[j] += g * xi[j];
            bias += g;
        }
        if (db)
            db[o] = (float)bias;
    }
    return RT_OK;
}
