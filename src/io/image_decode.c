/* rt_image_probe and rt_image_decode: open the file (a regular file only:
 * a FIFO named x.png must not block the loader), recognise its format by
 * its first bytes, and hand it to the PNG or JPEG reader; L from RGB. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image_internal.h"

#define PNG_MAX_SIDE (1u << 20) /* libpng's user limit in image_png_io.c */
#define SIG_BYTES 24            /* enough for the PNG signature and IHDR's size */

void rt_pixels_free(rt_pixels *p)
{
    if (!p)
        return;
    free(p->data);
    memset(p, 0, sizeof *p);
}

typedef enum kind { KIND_OTHER, KIND_PNG, KIND_JPEG } kind;

/* The format of a file by its first bytes; *what names one we do not read. */
static kind identify(const unsigned char *b, size_t n, const char **what)
{
    *what = NULL;
    if (n >= 8 && memcmp(b, "\x89PNG\r\n\x1a\n", 8) == 0)
        return KIND_PNG;
    if (n >= 3 && b[0] == 0xff && b[1] == 0xd8 && b[2] == 0xff)
        return KIND_JPEG;
    if (n >= 2 && b[0] == 'B' && b[1] == 'M')
        *what = "a BMP image";
    else if (n >= 4 && (memcmp(b, "II*\0", 4) == 0 || memcmp(b, "MM\0*", 4) == 0))
        *what = "a TIFF image";
    else if (n >= 12 && memcmp(b, "RIFF", 4) == 0 && memcmp(b + 8, "WEBP", 4) == 0)
        *what = "a WebP image";
    else if (n >= 4 && memcmp(b, "GIF8", 4) == 0)
        *what = "a GIF image";
    else if (n >= 2 && b[0] == 'P' && b[1] >= '1' && b[1] <= '7')
        *what = "a PNM (PBM/PGM/PPM/PAM) image";
    return KIND_OTHER;
}

/* Opens path, refusing anything but a regular file, and reads its first
 * bytes into sig (rewinding after). */
static rt_status open_image(const char *path, FILE **out, unsigned char sig[SIG_BYTES],
                            size_t *n, rt_error *err)
{
    *out = NULL;
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return rt_error_set(err, RT_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        int e = errno;
        close(fd);
        return rt_error_set(err, RT_ERR_IO, "%s: cannot stat: %s", path, strerror(e));
    }
    if (!S_ISREG(sb.st_mode)) {
        close(fd);
        return rt_error_set(err, RT_ERR_IO, "%s: %s", path,
                            S_ISDIR(sb.st_mode) ? "is a folder, not an image file"
                                                : "not a regular file (a FIFO, socket or device)");
    }
    FILE *fp = fdopen(fd, "rb");
    if (!fp) {
        int e = errno;
        close(fd);
        return rt_error_set(err, RT_ERR_NOMEM, "%s: cannot open: %s", path, strerror(e));
    }
    *n = fread(sig, 1, SIG_BYTES, fp);
    if (*n == 0 && ferror(fp)) {
        int e = errno;
        fclose(fp);
        return rt_error_set(err, RT_ERR_IO, "%s: read failed: %s", path, strerror(e));
    }
    if (*n == 0) {
        fclose(fp);
        return rt_error_set(err, RT_ERR_FORMAT, "%s: empty file, not an image", path);
    }
    if (fseek(fp, 0, SEEK_SET) != 0) {
        int e = errno;
        fclose(fp);
        return rt_error_set(err, RT_ERR_IO, "%s: cannot seek: %s", path, strerror(e));
    }
    *out = fp;
    return RT_OK;
}

static rt_status not_supported(const char *path, const char *what, rt_error *err)
{
    if (what)
        return rt_error_set(err, RT_ERR_FORMAT,
                            "%s: %s: not supported (only PNG and JPEG images are decoded)", path,
                            what);
    return rt_error_set(err, RT_ERR_FORMAT,
                        "%s: not a PNG or JPEG image (unrecognised first bytes)", path);
}

static uint32_t be32(const unsigned char *b)
{
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

/* The PNG's size from its IHDR, the chunk that must come first (in the
 * first SIG_BYTES bytes). The rest is checked when it is decoded. */
static rt_status probe_png(const char *path, const unsigned char *sig, size_t n, int *width,
                           int *height, rt_error *err)
{
    if (n < 24 || be32(sig + 8) != 13 || memcmp(sig + 12, "IHDR", 4) != 0)
        return rt_error_set(err, RT_ERR_FORMAT, "%s: bad PNG: no IHDR chunk after the signature",
                            path);
    uint32_t w = be32(sig + 16), h = be32(sig + 20);
    if (w == 0 || h == 0)
        return rt_error_set(err, RT_ERR_FORMAT, "%s: bad PNG: the image is %lux%lu", path,
                            (unsigned long)w, (unsigned long)h);
    if (w > PNG_MAX_SIDE || h > PNG_MAX_SIDE || (uint64_t)w * h > RT_IMAGE_MAX_PIXELS)
        return rt_error_set(err, RT_ERR_FORMAT,
                            "%s: bad PNG: image too large: %lux%lu pixels (at most %u, and %u a "
                            "side)",
                            path, (unsigned long)w, (unsigned long)h, RT_IMAGE_MAX_PIXELS,
                            PNG_MAX_SIDE);
    *width = (int)w;
    *height = (int)h;
    return RT_OK;
}

rt_status rt_image_probe(const char *path, int *width, int *height, rt_error *err)
{
    *width = *height = 0;
    FILE *fp;
    unsigned char sig[SIG_BYTES];
    size_t n;
    rt_status st = open_image(path, &fp, sig, &n, err);
    if (st != RT_OK)
        return st;
    const char *what;
    kind k = identify(sig, n, &what);
    int w = 0, h = 0;
    if (k == KIND_PNG) {
        st = probe_png(path, sig, n, &w, &h, err);
    } else if (k == KIND_JPEG) {
        st = rt_image_probe_jpeg(path, fp, &w, &h, err);
    } else {
        st = not_supported(path, what, err);
    }
    fclose(fp);
    if (st == RT_OK) {
        *width = w;
        *height = h;
    }
    return st;
}

rt_status rt_image_decode(const char *path, int channels, rt_pixels *out, rt_error *err)
{
    memset(out, 0, sizeof *out);
    if (channels != 1 && channels != 3)
        return rt_error_set(err, RT_ERR_USAGE, "%s: cannot decode to %d channels (1 or 3)", path,
                            channels);
    FILE *fp;
    unsigned char sig[SIG_BYTES];
    size_t n;
    rt_status st = open_image(path, &fp, sig, &n, err);
    if (st != RT_OK)
        return st;
    const char *what;
    kind k = identify(sig, n, &what);
    if (k == KIND_PNG)
        st = rt_image_decode_png(path, fp, out, err);
    else if (k == KIND_JPEG)
        st = rt_image_decode_jpeg(path, fp, out, err);
    else
        st = not_supported(path, what, err);
    fclose(fp);
    if (st != RT_OK) {
        rt_pixels_free(out);
        return st;
    }
    if (channels == 1) { /* in place: pixel i's L lands at i <= 3i */
        size_t count = (size_t)out->width * (size_t)out->height;
        uint8_t *p = out->data;
        for (size_t i = 0; i < count; i++)
            p[i] = rt_rgb_to_l(p[3 * i], p[3 * i + 1], p[3 * i + 2]);
        uint8_t *shrunk = realloc(p, count);
        if (shrunk)
            out->data = shrunk;
        out->channels = 1;
    }
    return RT_OK;
}
