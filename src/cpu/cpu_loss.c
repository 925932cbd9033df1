/* Softmax cross-entropy (PyTorch's CrossEntropyLoss, mean reduction) with
 * the count of correct predictions, and the end-of-step bookkeeping. */
#include <math.h>

#include "cpu_backend.h"

rt_status cpu_softmax_cross_entropy(void *vctx, int n, int classes, const float *logits,
                                    const int32_t *labels, float *dlogits, rt_step_state *state)
{
    cpu_ctx *ctx = vctx;
    for (int i = 0; i < n; i++)
        if (labels[i] < 0 || labels[i] >= classes)
            return rt_error_set(ctx->err, RT_ERR_USAGE,
                                "cross entropy: label %d of sample %d is outside 0..%d",
                                labels[i], i, classes - 1);
    double total = 0.0;
    int correct = 0;
    /* Per sample: logsumexp(z) - z[y] with the maximum subtracted. The sum
     * over the batch runs in sample order (no threads), so it is reproducible. */
    for (int i = 0; i < n; i++) {
        const float *z = logits + (size_t)i * classes;
        int arg = 0;
        for (int j = 1; j < classes; j++)
            if (z[j] > z[arg] || (isnan(z[j]) && !isnan(z[arg])))
                arg = j;
        float zmax = z[arg];
        float sum = 0.0f;
        for (int j = 0; j < classes; j++)
            sum += expf(z[j] - zmax);
        float lse = logf(sum);
        total += (double)(lse - (z[labels[i]] - zmax));
        correct += arg == labels[i];
        if (dlogits) {
            float *g = dlogits + (size_t)i * classes;
            float inv_n = 1.0f / (float)n;
            for (int j = 0; j < classes; j++) {
                float p = expf(z[j] - zmax - lse);
                g[j] = (p - (j == labels[i] ? 1.0f : 0.0f)) * inv_n;
            }
        }
    }
    float loss = (float)(total / n);
    state->loss = loss;
    state->loss_sum += loss;
    state->correct += correct;
    state->batches += 1;
    if (!isfinite(loss) && state->nonfinite_step < 0)
        state->nonfinite_step = state->steps;
    return RT_OK;
}
