/* Batch loading through a transform: training augmentation (random crop
 * after zero padding, horizontal flip; include/resnet/augment.h draws them)
 * and per-channel normalisation, as torchvision's RandomCrop(padding=p),
 * RandomHorizontalFlip, ToTensor and Normalize compute them on uint8
 * images: the padding is of zero bytes, so it normalises to -mean / std;
 * and RandomResizedCrop from images stored larger than the input. */
#include "cpu_backend.h"
#include "resnet/augment.h"

static float to_input(const rt_batch_transform *tf, int c, int byte)
{
    float v = (float)byte / 255.0f;
    return tf->normalize ? (v - tf->mean[c]) / tf->std[c] : v;
}

/* RandomResizedCrop: one box per sample, then each output byte. */
static rt_status load_resized(cpu_ctx *ctx, const uint8_t *images, const uint8_t *labels,
                              const int32_t *order, int n, const rt_batch_transform *tf,
                              const rt_step_state *state, float *x, int32_t *y)
{
    const int32_t start = state->cursor;
    const int plane = tf->height * tf->width, pixels = tf->channels * plane;
    const size_t src_plane = (size_t)tf->src_height * (size_t)tf->src_width;
    #pragma omp parallel for num_threads(cpu_team(ctx, 16.0 * n * pixels)) schedule(static)
    for (int i = 0; i < n; i++) {
        int32_t index = order ? order[start + i] : start + i;
        const uint8_t *img = images + (size_t)index * (size_t)tf->channels * src_plane;
        rt_augment_box b = rt_augment_resized_box(tf, state->steps, i);
        for (int c = 0; c < tf->channels; c++) {
            float *dst = x + (size_t)i * (size_t)pixels + (size_t)c * (size_t)plane;
            for (int r = 0; r < tf->height; r++)
                for (int col = 0; col < tf->width; col++)
                    dst[r * tf->width + col] = to_input(
                        tf, c, rt_augment_resized_pixel(tf, img + (size_t)c * src_plane, b, r, col));
        }
        y[i] = labels[index];
    }
    return RT_OK;
}

rt_status cpu_load_batch_transformed(void *vctx, const uint8_t *images, const uint8_t *labels,
                                     const int32_t *order, int n, const rt_batch_transform *tf,
                                     const rt_step_state *state, float *x, int32_t *y)
{
    cpu_ctx *ctx = vctx;
    const int32_t start = state->cursor;
    const int plane = tf->height * tf->width, pixels = tf->channels * plane;
    const int augment = tf->crop_pad > 0 || tf->flip;
    if (tf->resized_crop)
        return load_resized(ctx, images, labels, order, n, tf, state, x, y);
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
                    dst[r * tf->width + col] = to_input(tf, c, b);
                }
        }
        y[i] = labels[index];
    }
    return RT_OK;
}
