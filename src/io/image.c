/* rt_image_read: picks the reader by the file's first bytes, not its name. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "image_internal.h"

static const char *identify(const unsigned char *b, size_t n)
{
    if (n >= 2 && b[0] == 'P' && (b[1] == '1' || b[1] == '4'))
        return "a PBM (bitmap) image";
    if (n >= 2 && b[0] == 'P' && (b[1] == '3' || b[1] == '6'))
        return "a PPM (color) image";
    if (n >= 3 && b[0] == 0xff && b[1] == 0xd8 && b[2] == 0xff)
        return "a JPEG image";
    if (n >= 4 && memcmp(b, "GIF8", 4) == 0)
        return "a GIF image";
    if (n >= 2 && b[0] == 'B' && b[1] == 'M')
        return "a BMP image";
    if (n >= 4 && (memcmp(b, "II*", 4) == 0 || memcmp(b, "MM\0*", 4) == 0))
        return "a TIFF image";
    if (n >= 4 && memcmp(b, "RIFF", 4) == 0)
        return "a RIFF (WebP?) file";
    return "not a PNG or PGM image";
}

rt_status rt_image_read(const char *path, rt_image *out, rt_error *err)
{
    memset(out, 0, sizeof *out);
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return rt_error_set(err, RT_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    unsigned char sig[8];
    size_t n = fread(sig, 1, sizeof sig, fp);
    rt_status st;
    if (n == 0 && ferror(fp)) {
        st = rt_error_set(err, RT_ERR_IO, "%s: read failed: %s", path, strerror(errno));
    } else if (n == 0) {
        st = rt_error_set(err, RT_ERR_FORMAT, "%s: empty file, not an image", path);
    } else if (fseek(fp, 0, SEEK_SET) != 0) {
        st = rt_error_set(err, RT_ERR_IO, "%s: cannot seek: %s", path, strerror(errno));
    } else if (n == 8 && memcmp(sig, "\x89PNG\r\n\x1a\n", 8) == 0) {
        st = rt_image_read_png(path, fp, out, err);
    } else if (n >= 2 && sig[0] == 'P' && (sig[1] == '2' || sig[1] == '5')) {
        st = rt_image_read_pgm(path, fp, out, err);
    } else {
        const char *what = identify(sig, n);
        if (strncmp(what, "not", 3) == 0)
            st = rt_error_set(err, RT_ERR_FORMAT,
                              "%s: not a PNG or PGM (P2/P5) image (unrecognised first bytes)", path);
        else
            st = rt_error_set(err, RT_ERR_FORMAT,
                              "%s: %s; only PNG and PGM (P2/P5) images are supported", path, what);
    }
    fclose(fp);
    if (st != RT_OK)
        rt_image_free(out);
    return st;
}

void rt_image_free(rt_image *img)
{
    if (!img)
        return;
    free(img->pixels);
    img->pixels = NULL;
    img->width = img->height = 0;
}
