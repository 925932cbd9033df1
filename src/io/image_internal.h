/* The image readers behind rt_image_read, each given the opened file at
 * its start. Private to the library. */
#ifndef RT_IO_IMAGE_INTERNAL_H
#define RT_IO_IMAGE_INTERNAL_H

#include <stdio.h>

#include "resnet/image.h"

rt_status rt_image_read_pgm(const char *path, FILE *fp, rt_image *out, rt_error *err);
rt_status rt_image_read_png(const char *path, FILE *fp, rt_image *out, rt_error *err);

/* The readers behind rt_image_decode and rt_image_probe: RGB (3 channels)
 * as PIL's convert("RGB") (image_png_rgb.c, image_jpeg.c). */
rt_status rt_image_decode_png(const char *path, FILE *fp, rt_pixels *out, rt_error *err);
rt_status rt_image_decode_jpeg(const char *path, FILE *fp, rt_pixels *out, rt_error *err);
rt_status rt_image_probe_jpeg(const char *path, FILE *fp, int *width, int *height, rt_error *err);

#endif
