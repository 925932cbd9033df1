/* The residual join y = relu(a + b), fused into one pass. Its backward pass
 * is relu's (rtk_relu_backward): both branches receive the same gradient. */
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
