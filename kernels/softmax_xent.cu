/* Softmax cross-entropy (PyTorch's CrossEntropyLoss, mean reduction) with
 * the count of correct predictions and the rt_step_state bookkeeping, in
 * one block: the batch is small (tens to a few thousand samples of 10
 * classes), and one block can finish the reduction and update the state
 * without atomics or a second launch. The per-sample arithmetic is the CPU
 * backend's; the batch sum is in double, in a fixed order. */
#include <limits.h>

#include "kernels.h"

#define XENT_THREADS 256 /* a power of two, for the tree reduction */

__global__ void __launch_bounds__(XENT_THREADS)
softmax_xent_kernel(const float *logits, const int32_t *labels, float *dlogits, int n,
                    int classes, float smoothing, rt_step_state *state, rtk_error_record *err)
{
    __shared__ double loss_part[XENT_THREADS];
    __shared__ int correct_part[XENT_THREADS];
    __shared__ int correct5_part[XENT_THREADS];
    __shared__ int first_bad;
    const int t = threadIdx.x;
    if (t == 0)
        first_bad = INT_MAX;
    __syncthreads();

    const float inv_n = __fdiv_rn(1.0f, (float)n);
    double loss = 0.0;
    int correct = 0, correct5 = 0;
    const float keep = __fsub_rn(1.0f, smoothing);
    const float spread = __fdiv_rn(smoothing, (float)classes);
    for (int i = t; i < n; i += blockDim.x) {
        const float *z = logits + (size_t)i * (size_t)classes;
        const int32_t label = labels[i];
        const bool ok = label >= 0 && label < classes;
        if (!ok)
            atomicMin(&first_bad, i);
        /* the first maximum wins; a NaN wins */
        int arg = 0;
        for (int j = 1; j < classes; j++)
            if (z[j] > z[arg] || (isnan(z[j]) && !isnan(z[arg])))
                arg = j;
        const float zmax = z[arg];
        float sum = 0.0f;
        for (int j = 0; j < classes; j++)
            sum = __fadd_rn(sum, expf(__fsub_rn(z[j], zmax)));
        const float lse = logf(sum);
        if (ok) {
            float nll = __fsub_rn(lse, __fsub_rn(z[label], zmax));
            if (smoothing != 0.0f) {
                float zsum = 0.0f;
                for (int j = 0; j < classes; j++)
                    zsum = __fadd_rn(zsum, __fsub_rn(z[j], zmax));
                nll = __fadd_rn(__fmul_rn(keep, nll),
                                __fmul_rn(smoothing,
                                          __fsub_rn(lse, __fdiv_rn(zsum, (float)classes))));
            }
            loss += (double)nll;
            correct += arg == label;
            /* the label's rank: logits above it, ties to the lower class */
            int rank = 0;
            for (int j = 0; j < classes; j++)
                rank += z[j] > z[label] || (j < label && z[j] == z[label]);
            correct5 += rank < 5;
        }
        if (dlogits) {
            float *g = dlogits + (size_t)i * (size_t)classes;
            for (int j = 0; j < classes; j++) {
                float p = expf(__fsub_rn(__fsub_rn(z[j], zmax), lse));
                float hot = j == label ? 1.0f : 0.0f;
                if (smoothing != 0.0f)
                    hot = __fadd_rn(__fmul_rn(keep, hot), spread);
                g[j] = ok ? __fmul_rn(__fsub_rn(p, hot), inv_n) : 0.0f;
            }
        }
    }
    loss_part[t] = loss;
    correct_part[t] = correct;
    correct5_part[t] = correct5;
    __syncthreads();
    for (int half = XENT_THREADS / 2; half > 0; half /= 2) {
        if (t < half) {
            loss_part[t] += loss_part[t + half];
            correct_part[t] += correct_part[t + half];
            correct5_part[t] += correct5_part[t + half];
        }
        __syncthreads();
    }
    if (t != 0)
        return;
    if (first_bad != INT_MAX) {
        /* the CPU backend rejects such a batch before touching the state;
         * here the host learns of it at its next synchronisation */
        if (err->code == RTK_ERROR_NONE) {
            err->sample = first_bad;
            err->value = labels[first_bad];
            err->limit = classes;
            __threadfence();
            err->code = RTK_ERROR_LABEL;
        }
        return;
    }
    const float mean = (float)(loss_part[0] / (double)n);
    state->loss = mean;
    state->loss_sum += (double)mean;
    state->correct += correct_part[0];
    state->correct5 += correct5_part[0];
    state->batches += 1;
    if (!isfinite(mean) && state->nonfinite_step < 0)
        state->nonfinite_step = state->steps;
}

extern "C" cudaError_t rtk_softmax_xent(const float *logits, const int32_t *labels,
                                        float *dlogits, int n, int classes, float smoothing,
                                        rt_step_state *state, rtk_error_record *err,
                                        cudaStream_t stream)
{
    softmax_xent_kernel<<<1, XENT_THREADS, 0, stream>>>(logits, labels, dlogits, n, classes,
                                                        smoothing, state, err);
    return cudaGetLastError();
}
