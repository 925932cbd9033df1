/* The image readers behind rt_image_read, each given the opened file at
 * its start. Private to the library. */
#ifndef RT_IO_IMAGE_INTERNAL_H
#define RT_IO_IMAGE_INTERNAL_H

#include <stdio.h>

#include "resnet/image.h"

rt_status rt_image_read_pgm(const char *path, FILE *fp, rt_image *out, rt_error *err);
rt_status rt_image_read_png(const char *path, FILE *fp, rt_image *out, rt_error *err);

#endif
