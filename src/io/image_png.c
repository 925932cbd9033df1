/* PNG through libpng (when the build found it): every color type and bit
 * depth, converted to 8-bit luminance with alpha composited over white.
 * libpng reports errors by longjmp; they become one-line errors naming the
 * file. Decompression bombs are refused from the header: at most
 * RT_IMAGE_MAX_PIXELS pixels, and ancillary chunks are capped. */
#include "image_internal.h"
#include "image_png_io.h"

#ifdef RT_HAVE_PNG

#include <errno.h>
#include <png.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

typedef struct png_job {
    rt_png_io io; /* the FILE, the error message and the first warning */
    const char *path;
    png_bytep buf;   /* the decoded rows */
    png_bytepp rows;
    uint8_t *pixels; /* the result */
} png_job;

/* 0.299 R + 0.587 G + 0.114 B in 16-bit fixed point, rounded (as PIL). */
static unsigned luminance(unsigned r, unsigned g, unsigned b)
{
    return (r * 19595u + g * 38470u + b * 7471u + 0x8000u) >> 16;
}

/* v over white with alpha a. */
static unsigned over_white(unsigned v, unsigned a) { return (v * a + 255u * (255u - a) + 127u) / 255u; }

/* Everything after setjmp happens here, so no local of the function that
 * called setjmp changes between setjmp and a longjmp. */
static void decode(png_structp png, png_infop info, png_job *j, rt_image *out)
{
    rt_png_start(png, &j->io);
    png_read_info(png, info);
    png_uint_32 w = png_get_image_width(png, info), h = png_get_image_height(png, info);
    if ((unsigned long long)w * h > RT_IMAGE_MAX_PIXELS) {
        snprintf(j->io.message, sizeof j->io.message,
                 "image too large: %lux%lu pixels (at most %u)",
                 (unsigned long)w, (unsigned long)h, RT_IMAGE_MAX_PIXELS);
        png_error(png, j->io.message);
    }
    png_set_expand(png); /* palette -> RGB, gray < 8 bits -> 8 bits, tRNS -> alpha */
#ifdef PNG_READ_SCALE_16_TO_8_SUPPORTED
    png_set_scale_16(png);
#else
    png_set_strip_16(png);
#endif
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
    unsigned channels = png_get_channels(png, info);
    size_t rowbytes = png_get_rowbytes(png, info);
    if (png_get_bit_depth(png, info) != 8 || channels < 1 || channels > 4 ||
        rowbytes < (size_t)w * channels) {
        snprintf(j->io.message, sizeof j->io.message, "unsupported PNG layout after conversion");
        png_error(png, j->io.message);
    }
    j->buf = malloc(rowbytes * h);
    j->rows = malloc(h * sizeof *j->rows);
    j->pixels = malloc((size_t)w * h);
    if (!j->buf || !j->rows || !j->pixels) {
        snprintf(j->io.message, sizeof j->io.message, "out of memory for %lux%lu pixels",
                 (unsigned long)w, (unsigned long)h);
        png_error(png, j->io.message);
    }
    for (png_uint_32 y = 0; y < h; y++)
        j->rows[y] = j->buf + (size_t)y * rowbytes;
    png_read_image(png, j->rows);
    png_read_end(png, NULL);
    for (png_uint_32 y = 0; y < h; y++) {
        const png_byte *s = j->rows[y];
        uint8_t *d = j->pixels + (size_t)y * w;
        for (png_uint_32 x = 0; x < w; x++, s += channels) {
            unsigned v;
            switch (channels) {
            case 1: v = s[0]; break;
            case 2: v = over_white(s[0], s[1]); break;
            case 3: v = luminance(s[0], s[1], s[2]); break;
            default: v = over_white(luminance(s[0], s[1], s[2]), s[3]); break;
            }
            d[x] = (uint8_t)v;
        }
    }
    out->width = (int)w;
    out->height = (int)h;
}

rt_status rt_image_read_png(const char *path, FILE *fp, rt_image *out, rt_error *err)
{
    png_job job;
    memset(&job, 0, sizeof job);
    job.path = path;
    job.io.fp = fp;
    png_job *const j = &job;
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &j->io, rt_png_on_error,
                                             rt_png_on_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!png || !info) {
        png_destroy_read_struct(png ? &png : NULL, NULL, NULL);
        return rt_error_set(err, RT_ERR_NOMEM, "%s: cannot start libpng (out of memory)", path);
    }
    rt_status st = RT_OK;
    if (setjmp(png_jmpbuf(png)) == 0) {
        decode(png, info, j, out);
    } else {
        st = rt_error_set(err, RT_ERR_FORMAT, "%s: bad PNG: %s", path,
                          j->io.message[0] ? j->io.message : "libpng error");
        free(j->pixels);
        j->pixels = NULL;
        out->width = out->height = 0;
    }
    png_destroy_read_struct(&png, &info, NULL);
    free(j->buf);
    free(j->rows);
    out->pixels = j->pixels;
    return st;
}

#else /* !RT_HAVE_PNG */

rt_status rt_image_read_png(const char *path, FILE *fp, rt_image *out, rt_error *err)
{
    (void)fp;
    (void)out;
    return rt_error_set(err, RT_ERR_USAGE,
                        "%s: is a PNG image, but this build cannot read PNG (libpng was not found "
                        "when it was configured); convert it to PGM",
                        path);
}

#endif
