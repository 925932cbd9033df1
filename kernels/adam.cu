/* Adam over the flat parameter buffer in one launch, rounding exactly as
 * the CPU backend (src/cpu/cpu_adam.c) and PyTorch's single-tensor CPU
 * implementation: with w = 1 - beta1, c = 1 - beta2, s = -lr / (1 -
 * beta1^t), k = sqrt(1 - beta2^t) (computed in double, rounded once)
 *   m = fma(w, g - m, m)
 *   v = fma(c * g, g, v * beta2)
 *   p = p + (s * m) / (sqrt(v) / k + eps)
 * lr and t = steps + 1 come from the device rt_step_state, so a captured
 * step replays with the current values. Every float operation is an
 * explicitly rounded intrinsic, so each rounds once as written. A NaN or
 * Inf gradient, second moment or new weight records the step in
 * state->nonfinite_step. AdamW (cfg.decoupled) first multiplies the weight
 * by 1 - lr * wd (double, rounded once) and leaves the gradient alone. */
#include "kernels.h"
#include "launch.cuh"

__global__ void adam_kernel(float *params, const float *grads, float *m, float *v,
                            size_t count, rt_adam_config cfg, rt_step_state *state)
{
    __shared__ float neg_step_s, bias2_sqrt_s, shrink_s;
    if (threadIdx.x == 0) {
        double t = (double)(state->steps + 1);
        double bias1 = 1.0 - pow((double)cfg.beta1, t);
        double bias2 = 1.0 - pow((double)cfg.beta2, t);
        neg_step_s = (float)(-(double)state->lr / bias1);
        bias2_sqrt_s = (float)sqrt(bias2);
        shrink_s = cfg.decoupled ? (float)(1.0 - (double)state->lr * (double)cfg.weight_decay)
                                 : 1.0f;
    }
    __syncthreads();
    const float neg_step = neg_step_s, bias2_sqrt = bias2_sqrt_s, shrink = shrink_s;
    bool nonfinite = false;
    const float w1 = (float)(1.0 - (double)cfg.beta1);
    const float w2 = (float)(1.0 - (double)cfg.beta2);
    const float beta2 = cfg.beta2, eps = cfg.eps;
    const float decay = cfg.decoupled ? 0.0f : cfg.weight_decay;
    for (size_t i = RTK_FIRST; i < count; i += RTK_STRIDE) {
        float p = params[i];
        float g = grads[i];
        nonfinite |= !isfinite(g);
        if (decay != 0.0f)
            g = __fmaf_rn(decay, p, g);
        float mi = m[i];
        /* torch.lerp: start + w * (end - start) for w < 0.5, else end - (end - start) * (1 - w) */
        mi = w1 < 0.5f ? __fmaf_rn(w1, __fsub_rn(g, mi), mi)
                       : __fsub_rn(g, __fmul_rn(__fsub_rn(g, mi), __fsub_rn(1.0f, w1)));
        float vi = __fmaf_rn(__fmul_rn(w2, g), g, __fmul_rn(v[i], beta2));
        if (shrink != 1.0f)
            p = __fmul_rn(p, shrink);
        float denom = __fadd_rn(__fdiv_rn(__fsqrt_rn(vi), bias2_sqrt), eps);
        p = __fadd_rn(p, __fdiv_rn(__fmul_rn(neg_step, mi), denom));
        params[i] = p;
        m[i] = mi;
        v[i] = vi;
        /* finite gradients can still overflow v (their squares) or the weights */
        nonfinite |= !isfinite(vi) || !isfinite(p);
    }
    if (nonfinite)
        atomicCAS((unsigned long long *)&state->nonfinite_step, (unsigned long long)-1LL,
                  (unsigned long long)state->steps);
}

extern "C" cudaError_t rtk_adam(float *params, const float *grads, float *m, float *v,
                                size_t count, rt_adam_config cfg, rt_step_state *state,
                                cudaStream_t stream)
{
    adam_kernel<<<rtk_blocks(count), RTK_THREADS, 0, stream>>>(params, grads, m, v, count, cfg,
                                                               state);
    return cudaGetLastError();
}
