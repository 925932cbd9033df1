/* Element-wise ops: batch loading, relu, sums and the residual join relu(a + b). */
#include "cpu_backend.h"

rt_status cpu_load_batch(void *vctx, const uint8_t *images, const uint8_t *labels,
                         const int32_t *order, int pixels, int n, const rt_step_state *state,
                         float *x, int32_t *y)
{
    cpu_ctx *ctx = vctx;
    int32_t start = state->cursor;
    #pragma omp parallel for num_threads(cpu_team(ctx, (double)n * pixels)) schedule(static)
    for (int i = 0; i < n; i++) {
        int32_t index = order ? order[start + i] : start + i;
        const uint8_t *src = images + (size_t)index * pixels;
        float *dst = x + (size_t)i * pixels;
        /* a division, as torchvision's ToTensor: x * (1/255) differs in the last bit */
        for (int j = 0; j < pixels; j++)
            dst[j] = (float)src[j] / 255.0f;
        y[i] = labels[index];
    }
    return RT_OK;
}

rt_status cpu_relu_forward(void *vctx, size_t count, const float *x, float *y)
{
    cpu_ctx *ctx = vctx;
    #pragma omp parallel for num_threads(cpu_team(ctx, (double)count)) schedule(static)
    for (size_t i = 0; i < count; i++)
        y[i] = x[i] < 0.0f ? 0.0f : x[i];
    return RT_OK;
}

rt_status cpu_relu_backward(void *vctx, size_t count, const float *y, const float *dy, float *dx)
{
    cpu_ctx *ctx = vctx;
    #pragma omp parallel for num_threads(cpu_team(ctx, (double)count)) schedule(static)
    for (size_t i = 0; i < count; i++)
        dx[i] = y[i] > 0.0f ? dy[i] : 0.0f;
    return RT_OK;
}

rt_status cpu_add(void *vctx, size_t count, const float *a, const float *b, float *y)
{
    cpu_ctx *ctx = vctx;
    #pragma omp parallel for num_threads(cpu_team(ctx, (double)count)) schedule(static)
    for (size_t i = 0; i < count; i++)
        y[i] = a[i] + b[i];
    return RT_OK;
}

rt_status cpu_add_relu_forward(void *vctx, size_t count, const float *a, const float *b,
                               float *y)
{
    cpu_ctx *ctx = vctx;
    #pragma omp parallel for num_threads(cpu_team(ctx, (double)count)) schedule(static)
    for (size_t i = 0; i < count; i++) {
        float s = a[i] + b[i];
        y[i] = s < 0.0f ? 0.0f : s;
    }
    return RT_OK;
}

rt_status cpu_add_relu_backward(void *vctx, size_t count, const float *y, const float *dy,
                                float *d)
{
    return cpu_relu_backward(vctx, count, y, dy, d);
}
