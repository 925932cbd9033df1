/* BatchNorm2d, following the CPU backend (src/cpu/cpu_batchnorm.c) step by
 * step: per-channel sums in double, the mean rounded to float before the
 * two-pass variance, invstd = 1 / sqrt(var + eps) in double, the output as
 * x * alpha + shift, PyTorch's backward projection. One block per channel
 * does the statistics and the element pass together; its partial sums are
 * combined by a fixed tree (no atomics), so repeated runs give identical
 * bits. The sums are in another order than the CPU's, so the two agree to
 * rounding, not bit for bit. */
#include "kernels.h"
#include "launch.cuh"

/* The block's sum of v (RTK_THREADS threads, a power of two), in a fixed
 * order; every thread gets the result. */
__device__ double block_sum(double v, double *shared)
{
    shared[threadIdx.x] = v;
    __syncthreads();
    for (unsigned half = blockDim.x / 2; half > 0; half /= 2) {
        if (threadIdx.x < half)
            shared[threadIdx.x] += shared[threadIdx.x + half];
        __syncthreads();
    }
    double r = shared[0];
    __syncthreads();
    return r;
}

#define FOR_CHANNEL(i, at)                                                          \
    for (int i = 0; i < n; i++)                                                     \
        for (size_t at = ((size_t)i * (size_t)channels + c) * (size_t)hw + threadIdx.x, \
                    end_ = ((size_t)i * (size_t)channels + c) * (size_t)hw + (size_t)hw; \
             at < end_; at += blockDim.x)

__global__ void bn_train_kernel(const float *x, float *y, int n, int channels, int hw,
                                rtk_bn_params p)
{
    __shared__ double shared[RTK_THREADS];
    const size_t c = blockIdx.x;
    const double count = (double)n * (double)hw;
    double acc = 0.0;
    FOR_CHANNEL(i, at) acc += (double)x[at];
    const float mean = (float)(block_sum(acc, shared) / count);
    acc = 0.0;
    FOR_CHANNEL(i, at)
    {
        double d = (double)x[at] - (double)mean;
        acc += d * d;
    }
    const double var_sum = block_sum(acc, shared);
    const float invstd = (float)(1.0 / sqrt(var_sum / count + (double)p.eps));
    if (threadIdx.x == 0) {
        p.save_mean[c] = mean;
        p.save_invstd[c] = invstd;
        const double m = p.momentum;
        p.running_mean[c] = (float)(m * (double)mean + (1.0 - m) * (double)p.running_mean[c]);
        p.running_var[c] =
            (float)(m * (var_sum / (count - 1.0)) + (1.0 - m) * (double)p.running_var[c]);
        if (c == 0)
            *p.num_batches_tracked += 1;
    }
    const float alpha = __fmul_rn(invstd, p.weight[c]);
    const float shift = __fsub_rn(p.bias[c], __fmul_rn(mean, alpha));
    FOR_CHANNEL(i, at)
    {
        float v = __fmaf_rn(x[at], alpha, shift);
        y[at] = (p.relu && v < 0.0f) ? 0.0f : v;
    }
}

__global__ void bn_eval_kernel(const float *x, float *y, size_t total, int channels, int hw,
                               rtk_bn_params p)
{
    for (size_t idx = RTK_FIRST; idx < total; idx += RTK_STRIDE) {
        int c = (int)((idx / (size_t)hw) % (size_t)channels);
        float invstd = (float)(1.0 / sqrt((double)p.running_var[c] + (double)p.eps));
        float alpha = __fmul_rn(invstd, p.weight[c]);
        float shift = __fsub_rn(p.bias[c], __fmul_rn(p.running_mean[c], alpha));
        float v = __fmaf_rn(x[idx], alpha, shift);
        y[idx] = (p.relu && v < 0.0f) ? 0.0f : v;
    }
}

__global__ void bn_backward_kernel(const float *x, const float *y, const float *dy, float *dx,
                                   float *dweight, float *dbias, int n, int channels, int hw,
                                   rtk_bn_params p)
{
    __shared__ double shared[RTK_THREADS];
    const size_t c = blockIdx.x;
    const double count = (double)n * (double)hw;
    const float mean = p.save_mean[c], invstd = p.save_invstd[c];
    double acc_sum = 0.0, acc_dot = 0.0;
    FOR_CHANNEL(i, at)
    {
        if (p.relu && !(y[at] > 0.0f))
            continue;
        acc_sum += (double)dy[at];
        acc_dot += ((double)x[at] - (double)mean) * (double)dy[at];
    }
    const double sum = block_sum(acc_sum, shared);
    const double dotp = block_sum(acc_dot, shared);
    const float k = __fdiv_rn(__fmul_rn(__fmul_rn((float)dotp, invstd), invstd), (float)count);
    const float grad_mean = (float)(sum / count);
    const float scale = __fmul_rn(invstd, p.weight[c]);
    if (dx)
    FOR_CHANNEL(i, at)
    {
        float g = (p.relu && !(y[at] > 0.0f)) ? 0.0f : dy[at];
        float centred = __fmul_rn(__fsub_rn(x[at], mean), k);
        dx[at] = __fmul_rn(__fsub_rn(__fsub_rn(g, grad_mean), centred), scale);
    }
    if (threadIdx.x == 0) {
        dweight[c] = (float)(dotp * (double)invstd);
        dbias[c] = (float)sum;
    }
}

extern "C" cudaError_t rtk_batchnorm_forward(const float *x, float *y, int n, int channels,
                                             int hw, int training, rtk_bn_params p,
                                             cudaStream_t stream)
{
    if (training)
        bn_train_kernel<<<(unsigned)channels, RTK_THREADS, 0, stream>>>(x, y, n, channels, hw, p);
    else {
        size_t total = (size_t)n * (size_t)channels * (size_t)hw;
        bn_eval_kernel<<<rtk_blocks(total), RTK_THREADS, 0, stream>>>(x, y, total, channels, hw,
                                                                      p);
    }
    return cudaGetLastError();
}

extern "C" cudaError_t rtk_batchnorm_backward(const float *x, const float *y, const float *dy,
                                              float *dx, float *dweight, float *dbias, int n,
                                              int channels, int hw, rtk_bn_params p,
                                              cudaStream_t stream)
{
    bn_backward_kernel<<<(unsigned)channels, RTK_THREADS, 0, stream>>>(x, y, dy, dx, dweight,
                                                                       dbias, n, channels, hw, p);
    return cudaGetLastError();
}
