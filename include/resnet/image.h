/* Reading a picture of a digit (PNG or PGM) and turning it into the 28x28
 * input the model was trained on, the way MNIST itself was made; and
 * decoding PNG and JPEG to RGB or L as PIL does, with PIL's bilinear
 * resize, for image-folder data sets. */
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

/* ---- General decoding (image-folder data sets) --------------------------
 * PNG (libpng) and JPEG (libjpeg) decoded to 8-bit RGB or L exactly as
 * torchvision's loader sees them: PIL's Image.open(path).convert("RGB"),
 * and for one channel .convert("RGB").convert("L"). */

/* A decoded picture: height rows of width pixels of channels bytes each
 * (3: R, G, B; 1: L), interleaved, row-major. */
typedef struct rt_pixels {
    int width, height, channels;
    uint8_t *data; /* malloc'd, width * height * channels bytes */
} rt_pixels;

void rt_pixels_free(rt_pixels *p);

/* PIL's L of an RGB pixel: (19595 R + 38470 G + 7471 B + 32768) >> 16,
 * which is 0.299 R + 0.587 G + 0.114 B rounded (ITU-R 601-2). */
static inline uint8_t rt_rgb_to_l(unsigned r, unsigned g, unsigned b)
{
    return (uint8_t)((r * 19595u + g * 38470u + b * 7471u + 0x8000u) >> 16);
}

/* The width and height of a PNG or JPEG file from its header alone (the
 * PNG IHDR; the JPEG frame header), without decoding it. Fails as
 * rt_image_decode does for a file that is not PNG or JPEG, is not a
 * regular file, or claims more than RT_IMAGE_MAX_PIXELS pixels. */
rt_status rt_image_probe(const char *path, int *width, int *height, rt_error *err);

/* Decodes a PNG or JPEG file (recognised by its first bytes, not its name)
 * into out with channels 3 (RGB) or 1 (L), as PIL does:
 *  - PNG: gray of 1/2/4 bits scaled to 8 (x255, x85, x17); 16-bit gray
 *    clipped at 255 (PIL opens it as mode I;16, whose RGB is min(v, 255));
 *    16-bit RGB, RGBA and gray+alpha reduced to their high byte; palette
 *    through the palette; alpha and tRNS dropped (no compositing); gamma,
 *    sBIT and colour profiles ignored.
 *  - JPEG: gray, YCbCr or RGB through libjpeg (accurate integer IDCT, fancy
 *    upsampling: libjpeg's defaults, PIL's too); CMYK and YCCK converted
 *    as PIL does: the stored c, k taken as Adobe's inverted CMYK (C = 255 -
 *    c, K = 255 - k), R = (255 - K) - C (255 - K) / 255 rounded, likewise G
 *    and B (PIL's cmyk2rgb); corrupt-data warnings tolerated as PIL does,
 *    but a file that ends before its last row is an error (PIL: "image
 *    file is truncated").
 *  - L from RGB by rt_rgb_to_l.
 * Other formats (BMP, TIFF, WebP, GIF, PNM, ...) are refused with one line
 * naming the file and the format; so are files that are not regular files,
 * truncated or corrupt files and files of more than RT_IMAGE_MAX_PIXELS
 * pixels. On failure *out is zeroed. */
rt_status rt_image_decode(const char *path, int channels, rt_pixels *out, rt_error *err);

/* PIL's Image.resize((rw, rh), Image.BILINEAR) of in (antialiased: the
 * triangle filter's support widened by the scale when shrinking,
 * coefficients in 22-bit fixed point, rounded to 8 bits between the two
 * passes; the vertical pass first when the height loses more than twice
 * as many pixels as the width, as Pillow 13.0), of which only the window
 * of out_w x out_h pixels at (left, top) is computed and stored in out
 * (the same bytes as resizing whole and cropping). rw x rh equal to in's size copies. The
 * window must lie inside rw x rh; rw and rh at most 2^31 - 1. */
rt_status rt_pixels_resize_crop(const rt_pixels *in, int64_t rw, int64_t rh, int left, int top,
                                int out_w, int out_h, rt_pixels *out, rt_error *err);

#ifdef __cplusplus
}
#endif
#endif
