/* Biases: the broadcast add after a convolution or the linear layer, and
 * the bias gradient, a per-channel sum accumulated in double as the CPU
 * backend does, with a fixed reduction order (no atomics), so repeated runs
 * give identical bits. */
#include "kernels.h"
#include "launch.cuh"

__global__ void bias_add_kernel(float *y, const float *bias, unsigned total, unsigned channels,
                                unsigned inner)
{
    for (unsigned idx = blockIdx.x * blockDim.x + threadIdx.x; idx < total;
         idx += gridDim.x * blockDim.x) {
        unsigned c = (idx / inner) % channels;
        y[idx] = __fadd_rn(y[idx], bias[c]);
    }
}

extern "C" cudaError_t rtk_bias_add(float *y, const float *bias, int n, int channels, int inner,
                                    cudaStream_t stream)
{
    /* 32-bit indices: a batch of at most 65536 of the model's largest
     * activation (11520 floats) is under 2^30 */
    size_t total = (size_t)n * (size_t)channels * (size_t)inner;
    if (total >= (1u << 31))
        return cudaErrorInvalidValue;
    bias_add_kernel<<<rtk_blocks(total), RTK_THREADS, 0, stream>>>(
        y, bias, (unsigned)total, (unsigned)channels, (unsigned)inner);
    return cudaGetLastError();
}

/* One block per channel. Thread t sums in double the elements t, t + B,
 * t + 2B, ... of each image's plane of that channel, image after image (no
 * division in the loop); then a fixed tree adds the B partial sums. The
 * order never changes, so repeated runs give identical bits. */
__global__ void channel_sum_kernel(const float *x, float *sum, int n, int channels, int inner)
{
    __shared__ double partial[RTK_THREADS];
    const int c = blockIdx.x;
    double acc = 0.0;
    for (int i = 0; i < n; i++) {
        const float *plane = x + ((size_t)i * (size_t)channels + (size_t)c) * (size_t)inner;
        for (int k = threadIdx.x; k < inner; k += blockDim.x)
            acc += (double)plane[k];
    }
    partial[threadIdx.x] = acc;
    __syncthreads();
    for (unsigned half = blockDim.x / 2; half > 0; half /= 2) {
        if (threadIdx.x < half)
            partial[threadIdx.x] += partial[threadIdx.x + half];
        __syncthreads();
    }
    if (threadIdx.x == 0)
        sum[c] = (float)partial[0];
}

extern "C" cudaError_t rtk_channel_sum(const float *x, float *sum, int n, int channels,
                                       int inner, cudaStream_t stream)
{
    /* RTK_THREADS is a power of two, as the tree above needs */
    channel_sum_kernel<<<(unsigned)channels, RTK_THREADS, 0, stream>>>(x, sum, n, channels,
                                                                       inner);
    return cudaGetLastError();
}
