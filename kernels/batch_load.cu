/* Batch loading: dataset bytes (already on the device) to float images and
 * int32 labels, optionally through a shuffled index list. The position in
 * the pass is read from the device rt_step_state, so a captured step loads
 * the right batch on every replay. */
#include "kernels.h"
#include "launch.cuh"

__global__ void load_batch_kernel(const uint8_t *images, const uint8_t *labels,
                                  const int32_t *order, int pixels, int n,
                                  const rt_step_state *state, float *x, int32_t *y)
{
    const int32_t start = state->cursor;
    const size_t total = (size_t)n * (size_t)pixels;
    for (size_t idx = RTK_FIRST; idx < total; idx += RTK_STRIDE) {
        int i = (int)(idx / (size_t)pixels);
        int j = (int)(idx % (size_t)pixels);
        int32_t index = order ? order[start + i] : start + i;
        /* a correctly rounded division, as torchvision's ToTensor and the
         * CPU backend: x * (1/255) differs in the last bit for some bytes */
        x[idx] = __fdiv_rn((float)images[(size_t)index * (size_t)pixels + (size_t)j], 255.0f);
        if (j == 0)
            y[i] = labels[index];
    }
}

extern "C" cudaError_t rtk_load_batch(const uint8_t *images, const uint8_t *labels,
                                      const int32_t *order, int pixels, int n,
                                      const rt_step_state *state, float *x, int32_t *y,
                                      cudaStream_t stream)
{
    size_t total = (size_t)n * (size_t)pixels;
    load_batch_kernel<<<rtk_blocks(total), RTK_THREADS, 0, stream>>>(images, labels, order,
                                                                     pixels, n, state, x, y);
    return cudaGetLastError();
}
