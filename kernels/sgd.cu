/* SGD over the flat parameter buffer in one launch, rounding as the CPU
 * backend (src/cpu/cpu_sgd.c) and torch.optim.SGD's single-tensor CPU
 * implementation: every float operation an explicitly rounded intrinsic.
 * lr and the first-step test (steps == 0) come from the device
 * rt_step_state, so a captured step replays with the current values. Also
 * the schedule's table lookup of the learning rate. */
#include "kernels.h"
#include "launch.cuh"

__global__ void sgd_kernel(float *params, const float *grads, float *buf, size_t count,
                           rt_sgd_config cfg, rt_step_state *state)
{
    const float mu = cfg.momentum, decay = cfg.weight_decay;
    const float keep = (float)(1.0 - (double)cfg.dampening);
    const float neg_lr = -state->lr;
    const bool first = state->steps == 0;
    bool nonfinite = false;
    for (size_t i = RTK_FIRST; i < count; i += RTK_STRIDE) {
        float p = params[i];
        float g = grads[i];
        nonfinite |= !isfinite(g);
        if (decay != 0.0f)
            g = __fmaf_rn(decay, p, g);
        if (mu != 0.0f) {
            float b = first ? g : __fmaf_rn(g, keep, __fmul_rn(buf[i], mu));
            buf[i] = b;
            g = cfg.nesterov ? __fmaf_rn(b, mu, g) : b;
        }
        p = __fmaf_rn(g, neg_lr, p);
        params[i] = p;
        nonfinite |= !isfinite(p);
    }
    if (nonfinite)
        atomicCAS((unsigned long long *)&state->nonfinite_step, (unsigned long long)-1LL,
                  (unsigned long long)state->steps);
}

extern "C" cudaError_t rtk_sgd(float *params, const float *grads, float *buf, size_t count,
                               rt_sgd_config cfg, rt_step_state *state, cudaStream_t stream)
{
    sgd_kernel<<<rtk_blocks(count), RTK_THREADS, 0, stream>>>(params, grads, buf, count, cfg,
                                                              state);
    return cudaGetLastError();
}

__global__ void lr_from_table_kernel(const float *table, int64_t length, rt_step_state *state)
{
    int64_t i = state->steps < length ? state->steps : length - 1;
    state->lr = table[i < 0 ? 0 : i];
}

extern "C" cudaError_t rtk_lr_from_table(const float *table, int64_t length,
                                         rt_step_state *state, cudaStream_t stream)
{
    lr_from_table_kernel<<<1, 1, 0, stream>>>(table, length, state);
    return cudaGetLastError();
}
