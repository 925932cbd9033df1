/* Softmax cross-entropy (PyTorch's CrossEntropyLoss, mean reduction, with
 * optional label smoothing) with the counts of top-1 and top-5 correct
 * predictions, and the end-of-step bookkeeping. */
#include <math.h>

#include "cpu_backend.h"

/* The label's rank among the logits: how many beat it, a tie going to the
 * lower class (the first maximum wins, as the top-1 count has it). */
static int label_rank(const float *z, int classes, int label)
{
    int rank = 0;
    for (int j = 0; j < classes; j++)
        rank += z[j] > z[label] || (j < label && z[j] == z[label]);
    return rank;
}

rt_status cpu_softmax_cross_entropy(void *vctx, int n, int classes, float smoothing,
                                    const float *logits, const int32_t *labels, float *dlogits,
                                    rt_step_state *state)
{
    cpu_ctx *ctx = vctx;
    for (int i = 0; i < n; i++)
        if (labels[i] < 0 || labels[i] >= classes)
            return rt_error_set(ctx->err, RT_ERR_USAGE,
                                "cross entropy: label %d of sample %d is outside 0..%d",
                                labels[i], i, classes - 1);
    double total = 0.0;
    int correct = 0, correct5 = 0;
    const float keep = 1.0f - smoothing, spread = smoothing / (float)classes;
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
        float nll = lse - (z[labels[i]] - zmax);
        if (smoothing != 0.0f) {
            /* the smoothing term: lse - the mean of the shifted logits */
            float zsum = 0.0f;
            for (int j = 0; j < classes; j++)
                zsum += z[j] - zmax;
            nll = keep * nll + smoothing * (lse - zsum / (float)classes);
        }
        total += (double)nll;
        correct += arg == labels[i];
        correct5 += label_rank(z, classes, labels[i]) < 5;
        if (dlogits) {
            float *g = dlogits + (size_t)i * classes;
            float inv_n = 1.0f / (float)n;
            for (int j = 0; j < classes; j++) {
                float p = expf(z[j] - zmax - lse);
                float target = j == labels[i] ? 1.0f : 0.0f;
                if (smoothing != 0.0f)
                    target = keep * target + spread;
                g[j] = (p - target) * inv_n;
            }
        }
    }
    float loss = (float)(total / n);
    state->loss = loss;
    state->loss_sum += loss;
    state->correct += correct;
    state->correct5 += correct5;
    state->batches += 1;
    if (!isfinite(loss) && state->nonfinite_step < 0)
        state->nonfinite_step = state->steps;
    return RT_OK;
}
