/* 2x2 max pooling, stride 2, floor mode, with an optional fused relu.
 * The window's winner is the first maximum in row-major order under a
 * strict '>', and a NaN wins (PyTorch's rule, and the CPU backend's). The
 * backward pass recomputes the winner from x instead of storing indices. */
#include "kernels.h"
#include "launch.cuh"

/* Index (0..3) of the winner of a window v[0..3] = top-left, top-right,
 * bottom-left, bottom-right. */
__device__ __forceinline__ int window_argmax(const float v[4])
{
    int best = 0;
    for (int i = 1; i < 4; i++)
        if (v[i] > v[best] || (isnan(v[i]) && !isnan(v[best])))
            best = i;
    return best;
}

__device__ __forceinline__ void load_window(const float *plane, int w, int oy, int ox, float v[4])
{
    const float *top = plane + (size_t)(2 * oy) * (size_t)w + (size_t)(2 * ox);
    v[0] = top[0];
    v[1] = top[1];
    v[2] = top[w];
    v[3] = top[w + 1];
}

__global__ void maxpool2_forward_kernel(const float *x, float *y, size_t planes, int h, int w,
                                        int relu)
{
    const int oh = h / 2, ow = w / 2;
    const size_t per_plane = (size_t)oh * (size_t)ow;
    const size_t total = planes * per_plane;
    for (size_t idx = RTK_FIRST; idx < total; idx += RTK_STRIDE) {
        size_t p = idx / per_plane;
        int o = (int)(idx % per_plane);
        float v[4];
        load_window(x + p * (size_t)h * (size_t)w, w, o / ow, o % ow, v);
        float m = v[window_argmax(v)];
        /* relu keeps NaN, as torch.relu does */
        y[idx] = (relu && m < 0.0f) ? 0.0f : m;
    }
}

/* One thread per input element: it receives dy of its window when it is
 * the window's winner (and, with relu, the pooled output is > 0); elements
 * outside every window (odd sizes) get 0. No two threads write one place. */
__global__ void maxpool2_backward_kernel(const float *x, const float *y, const float *dy,
                                         float *dx, size_t planes, int h, int w, int relu)
{
    const int oh = h / 2, ow = w / 2;
    const size_t in_plane = (size_t)h * (size_t)w;
    const size_t out_plane = (size_t)oh * (size_t)ow;
    const size_t total = planes * in_plane;
    for (size_t idx = RTK_FIRST; idx < total; idx += RTK_STRIDE) {
        size_t p = idx / in_plane;
        int r = (int)(idx % in_plane);
        int iy = r / w, ix = r % w;
        int oy = iy / 2, ox = ix / 2;
        float g = 0.0f;
        if (oy < oh && ox < ow) {
            size_t o = p * out_plane + (size_t)oy * (size_t)ow + (size_t)ox;
            /* relu passes the gradient only where its output is > 0 */
            if (!relu || y[o] > 0.0f) {
                float v[4];
                load_window(x + p * in_plane, w, oy, ox, v);
                if (window_argmax(v) == (iy - 2 * oy) * 2 + (ix - 2 * ox))
                    g = dy[o];
            }
        }
        dx[idx] = g;
    }
}

extern "C" cudaError_t rtk_maxpool2_forward(const float *x, float *y, size_t planes, int h,
                                            int w, int relu, cudaStream_t stream)
{
    size_t total = planes * (size_t)(h / 2) * (size_t)(w / 2);
    maxpool2_forward_kernel<<<rtk_blocks(total), RTK_THREADS, 0, stream>>>(x, y, planes, h, w,
                                                                           relu);
    return cudaGetLastError();
}

extern "C" cudaError_t rtk_maxpool2_backward(const float *x, const float *y, const float *dy,
                                             float *dx, size_t planes, int h, int w, int relu,
                                             cudaStream_t stream)
{
    size_t total = planes * (size_t)h * (size_t)w;
    maxpool2_backward_kernel<<<rtk_blocks(total), RTK_THREADS, 0, stream>>>(x, y, dy, dx,
                                                                            planes, h, w, relu);
    return cudaGetLastError();
}
