/* Reading a picture of a digit (PNG or PGM) and turning it into the 28x28
 * input the model was trained on, the way MNIST itself was made. */
#ifndef RESNET_IMAGE_H
#define RESNET_IMAGE_H

#include <stdint.h>

#include "resnet/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Images larger than this many pixels are refused (decompression bombs). */
#define RT_IMAGE_MAX_PIXELS (64u * 1024u * 1024u)

typedef struct rt_image {
    int width, height;
    uint8_t *pixels; /* 8-bit gray, row-major, width * height; malloc'd */
} rt_image;

/* Reads a PNG (recognised by its signature; needs a build with libpng) or a
 * PGM, plain (P2) or raw (P5), maxval 1..65535, into 8-bit gray:
 *  - PNG: gray, gray+alpha, RGB, RGBA, palette, 1/2/4/8/16 bits; color
 *    becomes luminance (0.299 R + 0.587 G + 0.114 B, as PIL's convert("L"))
 *    and alpha is composited over white (a transparent background is paper).
 *  - PGM: samples are scaled to 0..255 (rounded).
 * Anything else, a truncated file or one of more than RT_IMAGE_MAX_PIXELS
 * pixels is a one-line error naming the file. On failure *out is zeroed. */
rt_status rt_image_read(const char *path, rt_image *out, rt_error *err);
void rt_image_free(rt_image *img);

/* MNIST-style preprocessing of a picture of one digit of any size:
 *  1. the background level is the median of the border pixels; if it is
 *     light (> 127) the picture is dark ink on light paper: it is inverted
 *     (255 - v) and *inverted set to 1, else 0 (inverted may be NULL);
 *  2. levels are stretched so the background is 0 and the brightest ink
 *     255; what stays below the noise floor becomes 0 (the floor is twice
 *     the border's spread around the background level, at least 2% and at
 *     most 50% of the ink's contrast); an image whose ink is not at least
 *     24 levels above the background has no ink: an error;
 *  3. cropped to the bounding box of the ink;
 *  4. scaled with area averaging, keeping the aspect ratio, so the longer
 *     side is 20 pixels;
 *  5. placed in a 28x28 frame so its centre of mass (intensity-weighted)
 *     lands as close as a whole-pixel shift allows to (14, 14) in pixel
 *     indices, where MNIST's digits have theirs (the shift is limited so
 *     no ink falls out);
 *  6. quantised to 8 bits like the MNIST files and written as value / 255,
 *     row-major, into out. */
rt_status rt_image_to_mnist(const rt_image *img, float out[784], int *inverted, rt_error *err);

/* A 28x28 input (rt_image_to_mnist's) for a network taking channels x
 * height x width: resized bilinearly (pixel centres aligned, as PyTorch's
 * interpolate with align_corners=False; 28x28 is an exact copy) and the
 * same plane in every channel. */
void rt_image_fit_input(const float in[784], int channels, int height, int width, float *out);

#ifdef __cplusplus
}
#endif
#endif
