/* The draws of training augmentation, shared by every backend so that a
 * step crops and flips alike on each: a counter-based hash (SplitMix64's
 * finaliser) of (seed, step, the sample's place in the batch). Nothing is
 * carried from step to step, so a resumed run draws what it would have. */
#ifndef RESNET_AUGMENT_H
#define RESNET_AUGMENT_H

#include <stdint.h>

#include "resnet/device.h"

#ifdef __CUDACC__
#define RT_HOST_DEVICE __host__ __device__
#else
#define RT_HOST_DEVICE
#endif

static inline RT_HOST_DEVICE uint64_t rt_augment_mix(uint64_t z)
{
    z += 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

typedef struct rt_augment_draw {
    int dy, dx; /* the crop's corner in the padded image, 0..2 * crop_pad */
    int flip;
} rt_augment_draw;

static inline RT_HOST_DEVICE rt_augment_draw rt_augment_sample(const rt_batch_transform *tf,
                                                               int64_t step, int sample)
{
    uint64_t h = rt_augment_mix(tf->seed ^ rt_augment_mix((uint64_t)step * 0x100000001b3ull +
                                                          (uint64_t)(uint32_t)sample));
    rt_augment_draw d;
    uint32_t span = (uint32_t)(2 * tf->crop_pad + 1);
    d.dy = tf->crop_pad > 0 ? (int)((uint32_t)(h >> 40) % span) : tf->crop_pad;
    d.dx = tf->crop_pad > 0 ? (int)((uint32_t)(h >> 16 & 0xffffffu) % span) : tf->crop_pad;
    d.flip = tf->flip ? (int)(h & 1u) : 0;
    return d;
}

/* The byte that lands at (row, col) of channel plane `plane` (height x
 * width bytes) under a draw: crop, then mirror, zero outside the image. */
static inline RT_HOST_DEVICE int rt_augment_pixel(const rt_batch_transform *tf,
                                                  const uint8_t *plane, rt_augment_draw d,
                                                  int row, int col)
{
    int c = d.flip ? tf->width - 1 - col : col;
    int sr = row + d.dy - tf->crop_pad, sc = c + d.dx - tf->crop_pad;
    if (sr < 0 || sr >= tf->height || sc < 0 || sc >= tf->width)
        return 0;
    return plane[sr * tf->width + sc];
}

#endif
