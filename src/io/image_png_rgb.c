/* PNG to 8-bit RGB the way PIL's Image.open(f).convert("RGB") does it
 * (PngImagePlugin's modes, then Convert.c): gray of 1, 2 and 4 bits scaled
 * to 8 bits; 16-bit gray opened as mode I;16 and clipped at 255; 16-bit
 * RGB, RGBA and gray+alpha reduced to their high byte (raw modes RGB;16B,
 * RGBA;16B, LA;16B); palette entries looked up; alpha and tRNS dropped,
 * never composited; no gamma, sBIT or colour-profile correction. */
#include "image_internal.h"

#ifdef RT_HAVE_PNG

#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include "image_png_io.h"

typedef struct rgb_job {
    rt_png_io io;
    png_bytep buf; /* the decoded rows */
    png_bytepp rows;
    uint8_t *rgb; /* the result */
    png_uint_32 width, height;
} rgb_job;

/* Everything after setjmp happens here, so no local of the caller changes
 * between setjmp and a longjmp. */
static void decode(png_structp png, png_infop info, rgb_job *j)
{
    rt_png_start(png, &j->io);
    png_read_info(png, info);
    png_uint_32 w = png_get_image_width(png, info), h = png_get_image_height(png, info);
    if ((unsigned long long)w * h > RT_IMAGE_MAX_PIXELS)
        rt_png_fail(png, &j->io, "image too large: %lux%lu pixels (at most %u)", (unsigned long)w,
                    (unsigned long)h, RT_IMAGE_MAX_PIXELS);
    int color = png_get_color_type(png, info), depth = png_get_bit_depth(png, info);
    int gray16 = color == PNG_COLOR_TYPE_GRAY && depth == 16; /* PIL's I;16: clipped below */
    if (color == PNG_COLOR_TYPE_PALETTE)
        png_set_palette_to_rgb(png); /* may add alpha from tRNS: dropped below */
    if (color == PNG_COLOR_TYPE_GRAY && depth < 8)
        png_set_expand_gray_1_2_4_to_8(png);
    if (depth == 16 && !gray16)
        png_set_strip_16(png); /* the high byte, as PIL's ;16B raw modes */
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
    unsigned channels = png_get_channels(png, info);
    unsigned bytes = gray16 ? 2u : 1u;
    size_t rowbytes = png_get_rowbytes(png, info);
    if (png_get_bit_depth(png, info) != 8 * bytes || channels < 1 || channels > 4 ||
        (gray16 && channels != 1) || rowbytes < (size_t)w * channels * bytes)
        rt_png_fail(png, &j->io, "unsupported PNG layout after conversion");
    j->buf = malloc(rowbytes * h);
    j->rows = malloc(h * sizeof *j->rows);
    j->rgb = malloc((size_t)w * h * 3);
    if (!j->buf || !j->rows || !j->rgb)
        rt_png_fail(png, &j->io, "out of memory for %lux%lu pixels", (unsigned long)w,
                    (unsigned long)h);
    for (png_uint_32 y = 0; y < h; y++)
        j->rows[y] = j->buf + (size_t)y * rowbytes;
    png_read_image(png, j->rows);
    png_read_end(png, NULL);
    for (png_uint_32 y = 0; y < h; y++) {
        const png_byte *s = j->rows[y];
        uint8_t *d = j->rgb + (size_t)y * w * 3;
        for (png_uint_32 x = 0; x < w; x++, d += 3) {
            if (gray16) {
                unsigned v = (unsigned)s[2 * x] << 8 | s[2 * x + 1];
                d[0] = d[1] = d[2] = (uint8_t)(v > 255 ? 255 : v);
            } else if (channels <= 2) { /* gray, gray + alpha */
                d[0] = d[1] = d[2] = s[x * channels];
            } else { /* RGB, RGBA */
                memcpy(d, s + x * channels, 3);
            }
        }
    }
    j->width = w;
    j->height = h;
}

rt_status rt_image_decode_png(const char *path, FILE *fp, rt_pixels *out, rt_error *err)
{
    rgb_job job;
    memset(&job, 0, sizeof job);
    job.io.fp = fp;
    rgb_job *const j = &job;
    png_structp png =
        png_create_read_struct(PNG_LIBPNG_VER_STRING, &j->io, rt_png_on_error, rt_png_on_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!png || !info) {
        png_destroy_read_struct(png ? &png : NULL, NULL, NULL);
        return rt_error_set(err, RT_ERR_NOMEM, "%s: cannot start libpng (out of memory)", path);
    }
    rt_status st = RT_OK;
    if (setjmp(png_jmpbuf(png)) == 0) {
        decode(png, info, j);
    } else {
        st = rt_error_set(err, RT_ERR_FORMAT, "%s: bad PNG: %s", path,
                          j->io.message[0] ? j->io.message : "libpng error");
        free(j->rgb);
        j->rgb = NULL;
    }
    png_destroy_read_struct(&png, &info, NULL);
    free(j->buf);
    free(j->rows);
    if (st == RT_OK) {
        out->width = (int)j->width;
        out->height = (int)j->height;
        out->channels = 3;
        out->data = j->rgb;
    }
    return st;
}

#else /* !RT_HAVE_PNG */

rt_status rt_image_decode_png(const char *path, FILE *fp, rt_pixels *out, rt_error *err)
{
    (void)fp;
    (void)out;
    return rt_error_set(err, RT_ERR_USAGE,
                        "%s: is a PNG image, but this build cannot read PNG (libpng was not found "
                        "when it was configured)",
                        path);
}

#endif
