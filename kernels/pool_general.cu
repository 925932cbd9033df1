/* Max pooling with any window, stride and padding, and adaptive average
 * pooling to 1x1, as the CPU backend computes them (src/cpu/
 * cpu_pool_general.c): the first maximum in row-major order wins (NaN
 * wins), and the backward pass gathers, for each input, the gradients of
 * the windows it won in row-major window order: the CPU's order of adds. */
#include "kernels.h"
#include "launch.cuh"

/* Index within the plane of the winner of output (oy, ox). */
__device__ __forceinline__ int pool_argmax(const float *plane, rtk_pool_dims d, int oy, int ox)
{
    int y0 = oy * d.stride - d.pad, x0 = ox * d.stride - d.pad;
    int best = -1;
    float bv = 0.0f;
    for (int i = 0; i < d.kernel; i++) {
        int iy = y0 + i;
        if (iy < 0 || iy >= d.h)
            continue;
        for (int j = 0; j < d.kernel; j++) {
            int ix = x0 + j;
            if (ix < 0 || ix >= d.w)
                continue;
            float v = plane[iy * d.w + ix];
            if (best < 0 || v > bv || (isnan(v) && !isnan(bv))) {
                best = iy * d.w + ix;
                bv = v;
            }
        }
    }
    return best;
}

__global__ void maxpool_forward_kernel(const float *x, float *y, size_t planes, rtk_pool_dims d)
{
    const size_t per_plane = (size_t)d.oh * (size_t)d.ow;
    const size_t total = planes * per_plane;
    for (size_t idx = RTK_FIRST; idx < total; idx += RTK_STRIDE) {
        size_t p = idx / per_plane;
        int o = (int)(idx % per_plane);
        const float *plane = x + p * (size_t)d.h * (size_t)d.w;
        y[idx] = plane[pool_argmax(plane, d, o / d.ow, o % d.ow)];
    }
}

__global__ void maxpool_backward_kernel(const float *x, const float *dy, float *dx,
                                        size_t planes, rtk_pool_dims d)
{
    const size_t in_plane = (size_t)d.h * (size_t)d.w;
    const size_t out_plane = (size_t)d.oh * (size_t)d.ow;
    const size_t total = planes * in_plane;
    for (size_t idx = RTK_FIRST; idx < total; idx += RTK_STRIDE) {
        size_t p = idx / in_plane;
        int r = (int)(idx % in_plane);
        int iy = r / d.w, ix = r % d.w;
        /* the windows covering (iy, ix): oy * stride - pad <= iy < that + kernel */
        int oy0 = iy + d.pad - d.kernel + 1, ox0 = ix + d.pad - d.kernel + 1;
        oy0 = oy0 <= 0 ? 0 : (oy0 + d.stride - 1) / d.stride;
        ox0 = ox0 <= 0 ? 0 : (ox0 + d.stride - 1) / d.stride;
        int oy1 = (iy + d.pad) / d.stride, ox1 = (ix + d.pad) / d.stride;
        if (oy1 >= d.oh)
            oy1 = d.oh - 1;
        if (ox1 >= d.ow)
            ox1 = d.ow - 1;
        const float *plane = x + p * in_plane;
        float g = 0.0f;
        for (int oy = oy0; oy <= oy1; oy++)
            for (int ox = ox0; ox <= ox1; ox++)
                if (pool_argmax(plane, d, oy, ox) == r)
                    g = __fadd_rn(g, dy[p * out_plane + (size_t)oy * d.ow + ox]);
        dx[idx] = g;
    }
}

extern "C" cudaError_t rtk_maxpool_forward(const float *x, float *y, size_t planes,
                                           rtk_pool_dims d, cudaStream_t stream)
{
    size_t total = planes * (size_t)d.oh * (size_t)d.ow;
    maxpool_forward_kernel<<<rtk_blocks(total), RTK_THREADS, 0, stream>>>(x, y, planes, d);
    return cudaGetLastError();
}

extern "C" cudaError_t rtk_maxpool_backward(const float *x, const float *dy, float *dx,
                                            size_t planes, rtk_pool_dims d, cudaStream_t stream)
{
    size_t total = planes * (size_t)d.h * (size_t)d.w;
    maxpool_backward_kernel<<<rtk_blocks(total), RTK_THREADS, 0, stream>>>(x, dy, dx, planes, d);
    return cudaGetLastError();
}

__global__ void avgpool_forward_kernel(const float *x, float *y, size_t planes, int hw)
{
    for (size_t p = RTK_FIRST; p < planes; p += RTK_STRIDE) {
        const float *in = x + p * (size_t)hw;
        double sum = 0.0;
        for (int i = 0; i < hw; i++)
            sum += (double)in[i];
        y[p] = (float)(sum / (double)hw);
    }
}

__global__ void avgpool_backward_kernel(const float *dy, float *dx, size_t planes, int hw)
{
    const size_t total = planes * (size_t)hw;
    for (size_t idx = RTK_FIRST; idx < total; idx += RTK_STRIDE)
        dx[idx] = __fdiv_rn(dy[idx / (size_t)hw], (float)hw);
}

extern "C" cudaError_t rtk_avgpool_forward(const float *x, float *y, size_t planes, int hw,
                                           cudaStream_t stream)
{
    avgpool_forward_kernel<<<rtk_blocks(planes), RTK_THREADS, 0, stream>>>(x, y, planes, hw);
    return cudaGetLastError();
}

extern "C" cudaError_t rtk_avgpool_backward(const float *dy, float *dx, size_t planes, int hw,
                                            cudaStream_t stream)
{
    size_t total = planes * (size_t)hw;
    avgpool_backward_kernel<<<rtk_blocks(total), RTK_THREADS, 0, stream>>>(dy, dx, planes, hw);
    return cudaGetLastError();
}
