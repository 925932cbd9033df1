/* Adam over the flat parameter buffer, rounding as PyTorch's single-tensor
 * implementation does on the CPU (tests/fixtures/README.md shows how that
 * was established): with w = 1 - beta1, c = 1 - beta2, s = -lr / (1 -
 * beta1^t) and k = sqrt(1 - beta2^t), the scalars computed in double as
 * Python does and rounded to float once,
 *   m = fma(w, g - m, m)                  torch.lerp, weight < 0.5
 *   v = fma(c * g, g, v * beta2)          mul_ then addcmul_
 *   p = p + (s * m) / (sqrt(v) / k + eps) addcdiv_
 * so that given the same gradients the parameters match bit for bit.
 * AdamW (cfg->decoupled) first shrinks the weight, p = p * (1 - lr * wd)
 * with the factor computed in double and rounded once (param.mul_), and
 * leaves the gradient alone.
 * A NaN or Inf gradient, second moment or new weight records the step in
 * state->nonfinite_step. */
#include <math.h>

#include "cpu_backend.h"

rt_status cpu_adam(void *vctx, size_t count, float *params, const float *grads, float *m,
                   float *v, const rt_adam_config *cfg, rt_step_state *state)
{
    cpu_ctx *ctx = vctx;
    double t = (double)(state->steps + 1);
    double bias1 = 1.0 - pow((double)cfg->beta1, t);
    double bias2 = 1.0 - pow((double)cfg->beta2, t);
    float neg_step = (float)(-(double)state->lr / bias1);
    float bias2_sqrt = (float)sqrt(bias2);
    float w1 = (float)(1.0 - (double)cfg->beta1);
    float w2 = (float)(1.0 - (double)cfg->beta2);
    float beta2 = cfg->beta2, eps = cfg->eps;
    float decay = cfg->decoupled ? 0.0f : cfg->weight_decay;
    float shrink = cfg->decoupled ? (float)(1.0 - (double)state->lr * (double)cfg->weight_decay)
                                  : 1.0f;
    int nonfinite = 0;
    #pragma omp parallel for num_threads(cpu_team(ctx, 16.0 * count)) schedule(static) reduction(| : nonfinite)
    for (size_t i = 0; i < count; i++) {
        float g = grads[i];
        nonfinite |= !isfinite(g);
        if (decay != 0.0f)
            g = fmaf(decay, params[i], g);
        /* torch.lerp: start + w * (end - start) for w < 0.5, else end - (end - start) * (1 - w) */
        m[i] = w1 < 0.5f ? fmaf(w1, g - m[i], m[i]) : g - (g - m[i]) * (1.0f - w1);
        v[i] = fmaf(w2 * g, g, v[i] * beta2);
        if (shrink != 1.0f)
            params[i] *= shrink;
        float denom = sqrtf(v[i]) / bias2_sqrt + eps;
        params[i] = params[i] + (neg_step * m[i]) / denom;
        /* finite gradients can still overflow v (their squares) or the weights */
        nonfinite |= !isfinite(v[i]) || !isfinite(params[i]);
    }
    if (nonfinite && state->nonfinite_step < 0)
        state->nonfinite_step = state->steps;
    return RT_OK;
}
