/* SGD over the flat parameter buffer as torch.optim.SGD's single-tensor
 * implementation computes it on the CPU (maximize off), each tensor op
 * rounding once, its Python-scalar alpha rounded to float first:
 *   g = fma(wd, p, g)                         grad.add(param, alpha=wd)
 *   buf = g (first step) or fma(g, 1 - d, buf * mu)  mul_, add_(alpha=1-d)
 *   g = fma(buf, mu, g) (Nesterov) or buf     grad.add(buf, alpha=mu)
 *   p = fma(g, -lr, p)                        param.add_(grad, alpha=-lr)
 * The first step is the one with state->steps == 0, where PyTorch finds no
 * momentum buffer yet. Non-finite gradients or weights record the step in
 * state->nonfinite_step, as Adam does. */
#include <math.h>

#include "cpu_backend.h"

rt_status cpu_sgd(void *vctx, size_t count, float *params, const float *grads, float *buf,
                  const rt_sgd_config *cfg, rt_step_state *state)
{
    cpu_ctx *ctx = vctx;
    const float mu = cfg->momentum, decay = cfg->weight_decay;
    const float keep = (float)(1.0 - (double)cfg->dampening);
    const float neg_lr = -state->lr;
    const int first = state->steps == 0, nesterov = cfg->nesterov;
    int nonfinite = 0;
    #pragma omp parallel for num_threads(cpu_team(ctx, 6.0 * count)) schedule(static) reduction(| : nonfinite)
    for (size_t i = 0; i < count; i++) {
        float g = grads[i];
        nonfinite |= !isfinite(g);
        if (decay != 0.0f)
            g = fmaf(decay, params[i], g);
        if (mu != 0.0f) {
            float b = first ? g : fmaf(g, keep, buf[i] * mu);
            buf[i] = b;
            g = nesterov ? fmaf(b, mu, g) : b;
        }
        params[i] = fmaf(g, neg_lr, params[i]);
        nonfinite |= !isfinite(params[i]);
    }
    if (nonfinite && state->nonfinite_step < 0)
        state->nonfinite_step = state->steps;
    return RT_OK;
}

rt_status cpu_lr_from_table(void *ctx, const float *table, int64_t length, rt_step_state *state)
{
    (void)ctx;
    int64_t i = state->steps < length ? state->steps : length - 1;
    state->lr = table[i < 0 ? 0 : i];
    return RT_OK;
}
