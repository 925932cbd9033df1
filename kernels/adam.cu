/* Adam over the flat parameter buffer in one launch, in the order of
 * operations of PyTorch's single-tensor implementation and of the CPU
 * backend (src/cpu/cpu_adam.c):
 *   m = lerp(m, g, 1 - beta1)
 *   v = v * beta2 + (1 - beta2) * g * g
 *   p = p - (lr / (1 - beta1^t)) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
 * lr and t = steps + 1 come from the device rt_step_state, so a captured
 * step replays with the current values; the bias corrections are computed
 * in double. Every float operation is an explicitly rounded intrinsic, so
 * each rounds once as written (nvcc cannot fuse a multiply and an add). */
#include "kernels.h"
#include "launch.cuh"

__global__ void adam_kernel(float *params, const float *grads, float *m, float *v,
                            size_t count, rt_adam_config cfg, const rt_step_state *state)
{
    __shared__ float step_size_s, bias2_sqrt_s;
    if (threadIdx.x == 0) {
        double t = (double)(state->steps + 1);
        double bias1 = 1.0 - pow((double)cfg.beta1, t);
        double bias2 = 1.0 - pow((double)cfg.beta2, t);
        step_size_s = (float)((double)state->lr / bias1);
        bias2_sqrt_s = (float)sqrt(bias2);
    }
    __syncthreads();
    const float step_size = step_size_s, bias2_sqrt = bias2_sqrt_s;
    const float w1 = (float)(1.0 - (double)cfg.beta1);
    const float w2 = (float)(1.0 - (double)cfg.beta2);
    const float beta2 = cfg.beta2, eps = cfg.eps, decay = cfg.weight_decay;
    for (size_t i = RTK_FIRST; i < count; i += RTK_STRIDE) {
        float p = params[i];
        float g = grads[i];
        if (decay != 0.0f)
            g = __fadd_rn(g, __fmul_rn(decay, p));
        float mi = m[i];
        /* torch.lerp: weight < 0.5 uses start + w * (end - start) */
        mi = w1 < 0.5f ? __fadd_rn(mi, __fmul_rn(w1, __fsub_rn(g, mi)))
                       : __fsub_rn(g, __fmul_rn(__fsub_rn(g, mi), __fsub_rn(1.0f, w1)));
        float vi = __fadd_rn(__fmul_rn(v[i], beta2), __fmul_rn(__fmul_rn(w2, g), g));
        float denom = __fadd_rn(__fdiv_rn(__fsqrt_rn(vi), bias2_sqrt), eps);
        params[i] = __fsub_rn(p, __fmul_rn(step_size, __fdiv_rn(mi, denom)));
        m[i] = mi;
        v[i] = vi;
    }
}

extern "C" cudaError_t rtk_adam(float *params, const float *grads, float *m, float *v,
                                size_t count, rt_adam_config cfg, const rt_step_state *state,
                                cudaStream_t stream)
{
    adam_kernel<<<rtk_blocks(count), RTK_THREADS, 0, stream>>>(params, grads, m, v, count, cfg,
                                                               state);
    return cudaGetLastError();
}
