/* The end of a step: advance the pass position and the optimiser step
 * count in the device rt_step_state (one thread), and the probe that tells
 * whether this build has code for the current GPU. */
#include "kernels.h"

__global__ void step_advance_kernel(rt_step_state *state, int n, int optimizer_step)
{
    state->cursor += n;
    if (optimizer_step)
        state->steps += 1;
}

extern "C" cudaError_t rtk_step_advance(rt_step_state *state, int n, int optimizer_step,
                                        cudaStream_t stream)
{
    step_advance_kernel<<<1, 1, 0, stream>>>(state, n, optimizer_step);
    return cudaGetLastError();
}

extern "C" cudaError_t rtk_probe(void)
{
    struct cudaFuncAttributes attr;
    return cudaFuncGetAttributes(&attr, step_advance_kernel);
}
