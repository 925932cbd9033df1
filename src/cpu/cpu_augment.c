/* Batch loading through a transform: training augmentation (random crop
 * after zero padding, horizontal flip; include/resnet/augment.h draws them)
 * and per-channel normalisation, as torchvision's RandomCrop(padding=p),
 * RandomHorizontalFlip, ToTensor and Normalize compute them on uint8
 * images: the padding is of zero bytes, so it normalises to -mean / std. */
#include "cpu_backend.h"
#include "resnet/augment.h"

rt_status cpu_load_batch_transformed(void *vctx, const uint8_t *images, const uint8_t *labels,
                                     const int32_t *order, int n, const rt_batch_transform *tf,
                                     const rt_step_state *state, float *x, int32_t *y)
{
    cpu_ctx *ctx = vctx;
    const int32_t start = state->cursor;
    const int plane = tf->height * tf->width, pixels = tf->channels * plane;
    const int augment = tf->crop_pad > 0 || tf->flip;
    #pragma omp parallel for num_threads(cpu_team(ctx, 4.0 * n * pixels)) schedule(static)
    for (int i = 0; i < n; i++) {
        int32_t index = order ? order[start + i] : start + i;
        const uint8_t *img = images + (size_t)index * (size_t)pixels;
        float *out = x + (size_t)i * (size_t)pixels;
        rt_augment_draw d = {tf->crop_pad, tf->crop_pad, 0};
        if (augment)
            d = rt_augment_sample(tf, state->steps, i);
        for (int c = 0; c < tf->channels; c++) {
            const uint8_t *src = img + (size_t)c * (size_t)plane;
            float *dst = out + (size_t)c * (size_t)plane;
            for (int r = 0; r < tf->height; r++)
                for (int col = 0; col < tf->width; col++) {
                    int b = augment ? rt_augment_pixel(tf, src, d, r, col)
                                    : src[r * tf->width + col];
                    float v = (float)b / 255.0f;
                    if (tf->normalize)
                        v = (v - tf->mean[c]) / tf->std[c];
                    dst[r * tf->width + col] = v;
                }
        }
        y[i] = labels[index];
    }
    return RT_OK;
}
