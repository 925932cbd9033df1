/* The residual join y = relu(a + b), fused into one pass, and the plain sum
 * y = a + b. The join's backward pass is relu's (rtk_relu_backward): both
 * branches receive the same gradient. */
#include "kernels.h"
#include "launch.cuh"

__global__ void add_relu_forward_kernel(const float *a, const float *b, float *y, size_t count)
{
    for (size_t i = RTK_FIRST; i < count; i += RTK_STRIDE) {
        float s = __fadd_rn(a[i], b[i]);
        y[i] = s < 0.0f ? 0.0f : s;
    }
}

extern "C" cudaError_t rtk_add_relu_forward(const float *a, const float *b, float *y,
                                            size_t count, cudaStream_t stream)
{
    add_relu_forward_kernel<<<rtk_blocks(count), RTK_THREADS, 0, stream>>>(a, b, y, count);
    return cudaGetLastError();
}

__global__ void add_kernel(const float *a, const float *b, float *y, size_t count)
{
    for (size_t i = RTK_FIRST; i < count; i += RTK_STRIDE)
        y[i] = __fadd_rn(a[i], b[i]);
}

extern "C" cudaError_t rtk_add(const float *a, const float *b, float *y, size_t count,
                               cudaStream_t stream)
{
    add_kernel<<<rtk_blocks(count), RTK_THREADS, 0, stream>>>(a, b, y, count);
    return cudaGetLastError();
}
