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
                                                          (uint64_t)(uint32_t)(sample + tf->sample0)));
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

/* ---- RandomResizedCrop ------------------------------------------------
 * torchvision's algorithm (ten tries of a box of a uniform share of the
 * area, scale_q, and a log-uniform aspect ratio, ratio_q; else the whole
 * image clamped to the ratio range, centred), then the box resized to
 * height x width bilinearly with pixel centres aligned (F.interpolate's
 * align_corners=False, no antialiasing: the box is never much larger than
 * the output). Everything is integer arithmetic, so every device and
 * compiler draws the same boxes and yields the same bytes. */
typedef struct rt_augment_box {
    int top, left, h, w; /* in the stored src_height x src_width image */
    int flip;
} rt_augment_box;

static inline RT_HOST_DEVICE uint64_t rt_augment_isqrt(uint64_t x)
{
    uint64_t r = 0, bit = (uint64_t)1 << 62;
    while (bit > x)
        bit >>= 2;
    while (bit != 0) {
        if (x >= r + bit) {
            x -= r + bit;
            r = (r >> 1) + bit;
        } else {
            r >>= 1;
        }
        bit >>= 2;
    }
    return r;
}

static inline RT_HOST_DEVICE rt_augment_box rt_augment_resized_box(const rt_batch_transform *tf,
                                                                   int64_t step, int sample)
{
    uint64_t base = rt_augment_mix(tf->seed ^ rt_augment_mix((uint64_t)step * 0x100000001b3ull +
                                                             (uint64_t)(uint32_t)(sample + tf->sample0)));
    const uint64_t H = (uint64_t)tf->src_height, W = (uint64_t)tf->src_width;
    const uint32_t rlo = tf->ratio_q[0], rhi = tf->ratio_q[RT_RESIZED_CROP_KNOTS - 1];
    rt_augment_box b;
    b.flip = tf->flip ? (int)(base & 1u) : 0;
    for (uint64_t attempt = 1; attempt <= 10; attempt++) {
        uint64_t ha = rt_augment_mix(base + attempt * 0x632be59bd9b4e019ull);
        uint64_t hb = rt_augment_mix(ha);
        uint64_t u_area = ha >> 40, u_ratio = (ha >> 16) & 0xffffffu;
        uint64_t share = tf->scale_q[0] + (((uint64_t)(tf->scale_q[1] - tf->scale_q[0]) * u_area) >> 24);
        uint64_t area = (H * W * share) >> 24;
        uint64_t t = u_ratio * (RT_RESIZED_CROP_KNOTS - 1);
        uint64_t k = t >> 24, frac = t & 0xffffffu;
        uint64_t ratio = tf->ratio_q[k] + (((uint64_t)(tf->ratio_q[k + 1] - tf->ratio_q[k]) * frac) >> 24);
        uint64_t w = (rt_augment_isqrt(area * ratio) + 128) >> 8;
        uint64_t h = (rt_augment_isqrt((area << 32) / ratio) + 128) >> 8;
        if (w > 0 && w <= W && h > 0 && h <= H) {
            b.h = (int)h, b.w = (int)w;
            b.top = (int)((hb >> 32) % (H - h + 1));
            b.left = (int)((hb & 0xffffffffu) % (W - w + 1));
            return b;
        }
    }
    uint64_t w = W, h = H;
    if ((W << 16) < (uint64_t)rlo * H) /* narrower than 3/4: full width */
        h = ((W << 17) + rlo) / (2u * (uint64_t)rlo);
    else if ((W << 16) > (uint64_t)rhi * H) /* wider than 4/3: full height */
        w = ((H * rhi) + 32768u) >> 16;
    h = h < 1 ? 1 : h > H ? H : h;
    w = w < 1 ? 1 : w > W ? W : w;
    b.h = (int)h, b.w = (int)w;
    b.top = (int)((H - h) / 2), b.left = (int)((W - w) / 2);
    return b;
}

/* The byte that lands at (row, col) of the height x width output from the
 * stored plane (src_height x src_width bytes) under box b. */
static inline RT_HOST_DEVICE int rt_augment_resized_pixel(const rt_batch_transform *tf,
                                                          const uint8_t *plane, rt_augment_box b,
                                                          int row, int col)
{
    int c = b.flip ? tf->width - 1 - col : col;
    /* source coordinate (i + 0.5) * box / out - 0.5 in units of 2^-16, >= 0 */
    int64_t sy = ((int64_t)(2 * row + 1) * b.h << 16) / (2 * tf->height) - 32768;
    int64_t sx = ((int64_t)(2 * c + 1) * b.w << 16) / (2 * tf->width) - 32768;
    sy = sy < 0 ? 0 : sy;
    sx = sx < 0 ? 0 : sx;
    int y0 = (int)(sy >> 16), x0 = (int)(sx >> 16);
    uint64_t fy = (uint64_t)(sy & 0xffff), fx = (uint64_t)(sx & 0xffff);
    if (y0 >= b.h - 1)
        y0 = b.h - 1, fy = 0;
    if (x0 >= b.w - 1)
        x0 = b.w - 1, fx = 0;
    int y1 = y0 + (fy != 0), x1 = x0 + (fx != 0);
    const uint8_t *r0 = plane + (size_t)(b.top + y0) * (size_t)tf->src_width + (size_t)b.left;
    const uint8_t *r1 = plane + (size_t)(b.top + y1) * (size_t)tf->src_width + (size_t)b.left;
    uint64_t top = r0[x0] * (65536u - fx) + r0[x1] * fx;
    uint64_t bottom = r1[x0] * (65536u - fx) + r1[x1] * fx;
    uint64_t v = top * (65536u - fy) + bottom * fy;
    return (int)((v + ((uint64_t)1 << 31)) >> 32);
}

#ifndef __CUDACC__
/* Turns on resized_crop for images stored src_height x src_width, the box
 * taking a share scale_lo..scale_hi of their area (0 < lo <= hi <= 1) and
 * an aspect ratio 3/4..4/3 (torchvision's defaults). RT_ERR_USAGE for bad
 * bounds or sizes. */
rt_status rt_batch_transform_resized_crop(rt_batch_transform *tf, int src_height, int src_width,
                                          float scale_lo, float scale_hi, rt_error *err);
#endif

#endif
