/* Biases: the broadcast add after a convolution or the linear layer, and
 * the bias gradient, a per-channel sum accumulated in double as the CPU
 * backend does, with a fixed reduction order (no atomics), so repeated runs
 * give identical bits. */
#include "kernels.h"
#include "launch.cuh"

__global__ void bias_add_kernel(float *y, const float *bias, size_t total, int channels,
                                int inner)
{
    for (size_t idx = RTK_FIRST; idx < total; idx += RTK_STRIDE) {
        int c = (int)((idx / (size_t)inner) % (size_t)channels);
        y[idx] = __fadd_rn(y[idx], bias[c]);
    }
}

extern "C" cudaError_t rtk_bias_add(float *y, const float *bias, int n, int channels, int inner,
                                    cudaStream_t stream)
{
    size_t total = (size_t)n * (size_t)channels * (size_t)inner;
    bias_add_kernel<<<rtk_blocks(total), RTK_THREADS, 0, stream>>>(y, bias, total, channels,
                                                                   inner);
    return cudaGetLastError();
}

/* One block per channel; each thread sums a strided share in double, then a
 * fixed tree adds the shares. */
__global__ void channel_sum_kernel(const float *x, float *sum, int n, int channels, int inner)
{
    __shared__ double partial[RTK_THREADS];
    const int c = blockIdx.x;
    const size_t per_channel = (size_t)n * (size_t)inner;
    double acc = 0.0;
    for (size_t j = threadIdx.x; j < per_channel; j += blockDim.x) {
        size_t i = j / (size_t)inner, k = j % (size_t)inner;
        acc += (double)x[(i * (size_t)channels + (size_t)c) * (size_t)inner + k];
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
