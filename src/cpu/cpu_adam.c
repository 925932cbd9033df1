/* Adam over the flat parameter buffer, in the order of operations of
 * PyTorch's single-tensor implementation:
 *   m = lerp(m, g, 1 - beta1)
 *   v = v * beta2 + (1 - beta2) * g * g
 *   p = p - (lr / (1 - beta1^t)) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
 * Bias corrections are computed in double, as PyTorch does in Python. */
#include <math.h>

#include "cpu_backend.h"

rt_status cpu_adam(void *vctx, size_t count, float *params, const float *grads, float *m,
                   float *v, const rt_adam_config *cfg, const rt_step_state *state)
{
    cpu_ctx *ctx = vctx;
    double t = (double)(state->steps + 1);
    double bias1 = 1.0 - pow((double)cfg->beta1, t);
    double bias2 = 1.0 - pow((double)cfg->beta2, t);
    float step_size = (float)((double)state->lr / bias1);
    float bias2_sqrt = (float)sqrt(bias2);
    float w1 = (float)(1.0 - (double)cfg->beta1);
    float w2 = (float)(1.0 - (double)cfg->beta2);
    float beta2 = cfg->beta2, eps = cfg->eps, decay = cfg->weight_decay;
    #pragma omp parallel for num_threads(ctx->threads) schedule(static)
    for (size_t i = 0; i < count; i++) {
        float g = grads[i];
        if (decay != 0.0f)
            g += decay * params[i];
        /* torch.lerp: weight < 0.5 uses start + w * (end - start) */
        m[i] = w1 < 0.5f ? m[i] + w1 * (g - m[i]) : g - (g - m[i]) * (1.0f - w1);
        v[i] = v[i] * beta2 + w2 * g * g;
        float denom = sqrtf(v[i]) / bias2_sqrt + eps;
        params[i] -= step_size * (m[i] / denom);
    }
    return RT_OK;
}
