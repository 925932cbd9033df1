/* Plain relu, forward and backward. The comparisons are the CPU backend's:
 * forward x < 0 ? 0 : x (NaN and -0.0 pass through unchanged), backward
 * passes dy only where y > 0 (so nothing at exactly 0). */
#include "kernels.h"
#include "launch.cuh"

__global__ void relu_forward_kernel(const float *x, float *y, size_t count)
{
    for (size_t i = RTK_FIRST; i < count; i += RTK_STRIDE) {
        float v = x[i];
        y[i] = v < 0.0f ? 0.0f : v;
    }
}

__global__ void relu_backward_kernel(const float *y, const float *dy, float *dx, size_t count)
{
    for (size_t i = RTK_FIRST; i < count; i += RTK_STRIDE)
        dx[i] = y[i] > 0.0f ? dy[i] : 0.0f;
}

extern "C" cudaError_t rtk_relu_forward(const float *x, float *y, size_t count,
                                        cudaStream_t stream)
{
    relu_forward_kernel<<<rtk_blocks(count), RTK_THREADS, 0, stream>>>(x, y, count);
    return cudaGetLastError();
}

extern "C" cudaError_t rtk_relu_backward(const float *y, const float *dy, float *dx,
                                         size_t count, cudaStream_t stream)
{
    relu_backward_kernel<<<rtk_blocks(count), RTK_THREADS, 0, stream>>>(y, dy, dx, count);
    return cudaGetLastError();
}
