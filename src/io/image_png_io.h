/* What the two libpng readers share (image_png.c for predict's gray,
 * image_png_rgb.c for PIL's RGB): reading from a FILE, errors turned into
 * a message (libpng reports them by longjmp), the first warning kept as
 * the likely reason, and the limits against decompression bombs. Private
 * to the library; only with RT_HAVE_PNG. */
#ifndef RT_IO_IMAGE_PNG_IO_H
#define RT_IO_IMAGE_PNG_IO_H

#ifdef RT_HAVE_PNG

#include <png.h>
#include <stdio.h>

typedef struct rt_png_io {
    FILE *fp;
    char message[256];
    char warning[160]; /* the first warning, often the reason for the error */
} rt_png_io;

/* libpng's error, warning and read callbacks; their pointer is an rt_png_io. */
void rt_png_on_error(png_structp png, png_const_charp msg);
void rt_png_on_warning(png_structp png, png_const_charp msg);
void rt_png_on_read(png_structp png, png_bytep data, png_size_t n);

/* Installs rt_png_on_read over io and caps the dimensions and ancillary
 * chunks (call before png_read_info). */
void rt_png_start(png_structp png, rt_png_io *io);

/* Formats the message and raises it as a libpng error (longjmps). */
void rt_png_fail(png_structp png, rt_png_io *io, const char *fmt, ...)
    __attribute__((format(printf, 3, 4), noreturn));

#endif
#endif
