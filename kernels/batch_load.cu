/* Batch loading: dataset bytes (already on the device) to float images and
 * int32 labels, optionally through a shuffled index list. The position in
 * the pass is read from the device rt_step_state, so a captured step loads
 * the right batch on every replay. */
#include "kernels.h"
#include "launch.cuh"
#include "resnet/augment.h"

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

/* Through a transform (include/resnet/augment.h draws crops and flips
 * exactly as the CPU backend does, and resized crops in integers, so the
 * bytes agree too): one thread per output value. */
__global__ void load_batch_transformed_kernel(const uint8_t *images, const uint8_t *labels,
                                              const int32_t *order, int n,
                                              rt_batch_transform tf,
                                              const rt_step_state *state, float *x, int32_t *y)
{
    const int32_t start = state->cursor;
    const int plane = tf.height * tf.width, pixels = tf.channels * plane;
    const bool augment = tf.crop_pad > 0 || tf.flip;
    const size_t total = (size_t)n * (size_t)pixels;
    for (size_t idx = RTK_FIRST; idx < total; idx += RTK_STRIDE) {
        int i = (int)(idx / (size_t)pixels);
        int j = (int)(idx % (size_t)pixels);
        int c = j / plane, r = (j % plane) / tf.width, col = j % tf.width;
        int32_t index = order ? order[start + i] : start + i;
        const uint8_t *src = images + (size_t)index * (size_t)pixels + (size_t)c * (size_t)plane;
        int b;
        if (tf.resized_crop) {
            const size_t src_plane = (size_t)tf.src_height * (size_t)tf.src_width;
            rt_augment_box box = rt_augment_resized_box(&tf, state->steps, i);
            src = images + ((size_t)index * (size_t)tf.channels + (size_t)c) * src_plane;
            b = rt_augment_resized_pixel(&tf, src, box, r, col);
        } else if (augment) {
            rt_augment_draw d = rt_augment_sample(&tf, state->steps, i);
            b = rt_augment_pixel(&tf, src, d, r, col);
        } else {
            b = src[r * tf.width + col];
        }
        float v = __fdiv_rn((float)b, 255.0f);
        if (tf.normalize)
            v = __fdiv_rn(__fsub_rn(v, tf.mean[c]), tf.std[c]);
        x[idx] = v;
        if (j == 0)
            y[i] = labels[index];
    }
}

extern "C" cudaError_t rtk_load_batch_transformed(const uint8_t *images, const uint8_t *labels,
                                                  const int32_t *order, int n,
                                                  rt_batch_transform tf,
                                                  const rt_step_state *state, float *x,
                                                  int32_t *y, cudaStream_t stream)
{
    size_t total = (size_t)n * (size_t)tf.channels * (size_t)tf.height * (size_t)tf.width;
    load_batch_transformed_kernel<<<rtk_blocks(total), RTK_THREADS, 0, stream>>>(
        images, labels, order, n, tf, state, x, y);
    return cudaGetLastError();
}
