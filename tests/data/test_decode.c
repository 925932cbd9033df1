/* rt_image_decode, rt_image_probe and rt_pixels_resize_crop against what
 * PIL and torchvision give (tests/data/folder_fixtures/, written by
 * tools/make_folder_fixtures.py): every PNG colour type and bit depth and
 * JPEG of gray, YCbCr 4:4:4/4:2:2/4:2:0, progressive and CMYK decoded to
 * the same RGB and L bytes; Resize(S * 256 / 224) + CenterCrop(S) of a
 * wide and a tall picture, shrinking and enlarging, to the same bytes; and
 * malformed or unsupported files refused with one line naming the file.
 * Usage: test_decode FIXTURE_DIR */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "fixtures.h"
#include "folder_decode.h"
#include "resnet/image.h"
#include "test_support.h"

static const char *fixtures;
static char tmp[4096];

static void compare(const char *what, const uint8_t *got, const fx_buf *want, size_t n, int tol)
{
    CHECKF(want->data && want->size == n, "%s: reference of %zu bytes, expected %zu", what,
           want->size, n);
    if (!want->data || want->size != n)
        return;
    int worst = 0;
    size_t at = 0, differ = 0;
    for (size_t i = 0; i < n; i++) {
        int d = abs((int)got[i] - (int)want->data[i]);
        differ += d != 0;
        if (d > worst) {
            worst = d;
            at = i;
        }
    }
    CHECKF(worst <= tol, "%s: %zu of %zu bytes differ, the most by %d at byte %zu (%d, PIL %d)",
           what, differ, n, worst, at, got[at], want->data[at]);
    if (getenv("RT_TEST_VERBOSE"))
        printf("%s: %zu of %zu bytes differ, at most by %d\n", what, differ, n, worst);
}

static void decode_cases(void)
{
    char path[4096];
    fx_pathf(path, sizeof path, "%s/decode.txt", fixtures);
    FILE *f = fopen(path, "r");
    CHECKF(f != NULL, "%s: cannot open", path);
    if (!f)
        return;
    char line[512];
    int cases = 0;
    while (fgets(line, sizeof line, f)) {
        char name[256];
        int w, h;
        if (line[0] == '#' || sscanf(line, "%255s %d %d", name, &w, &h) != 3)
            continue;
        cases++;
        char file[4096], ref[4096];
        fx_pathf(file, sizeof file, "%s/%s", fixtures, name);
#ifndef RT_HAVE_JPEG
        if (strstr(name, ".jpg"))
            continue;
#endif
#ifndef RT_HAVE_PNG
        if (strstr(name, ".png"))
            continue;
#endif
        int pw = -1, ph = -1;
        rt_error err;
        rt_error_clear(&err);
        rt_status st = rt_image_probe(file, &pw, &ph, &err);
        CHECKF(st == RT_OK && pw == w && ph == h, "%s: probe %dx%d (%s), expected %dx%d", name,
               pw, ph, err.message, w, h);
        for (int c = 3; c >= 1; c -= 2) {
            rt_pixels px;
            st = rt_image_decode(file, c, &px, &err);
            CHECKF(st == RT_OK, "%s: %s", name, err.message);
            if (st != RT_OK)
                continue;
            CHECKF(px.width == w && px.height == h && px.channels == c,
                   "%s: decoded %dx%dx%d, expected %dx%dx%d", name, px.width, px.height,
                   px.channels, w, h, c);
            fx_pathf(ref, sizeof ref, "%s/%s.%s", fixtures, name, c == 3 ? "rgb" : "l");
            fx_buf want = fx_read(ref);
            char what[300];
            snprintf(what, sizeof what, "%s as %s", name, c == 3 ? "RGB" : "L");
            if (px.width == w && px.height == h)
                compare(what, px.data, &want, (size_t)w * (size_t)h * (size_t)c, 0);
            fx_free(&want);
            rt_pixels_free(&px);
            CHECK(px.data == NULL && px.width == 0);
        }
    }
    fclose(f);
    CHECKF(cases >= 20, "decode.txt lists %d pictures", cases);
}

static void resize_cases(void)
{
    char path[4096];
    fx_pathf(path, sizeof path, "%s/resize.txt", fixtures);
    FILE *f = fopen(path, "r");
    CHECKF(f != NULL, "%s: cannot open", path);
    if (!f)
        return;
    char line[512];
    int cases = 0;
    while (fgets(line, sizeof line, f)) {
        char src[64];
        int s;
        if (line[0] == '#' || sscanf(line, "%63s %d", src, &s) != 2)
            continue;
        cases++;
#ifdef RT_HAVE_PNG
        char file[4096], ref[4096];
        fx_pathf(file, sizeof file, "%s/resize_%s.png", fixtures, src);
        for (int c = 3; c >= 1; c -= 2) {
            rt_pixels px, out;
            rt_error err;
            rt_error_clear(&err);
            rt_status st = rt_image_decode(file, c, &px, &err);
            CHECKF(st == RT_OK, "%s", err.message);
            if (st != RT_OK)
                continue;
            int64_t rw, rh;
            int left, top;
            st = rt_folder_resize_plan(px.width, px.height, s * 256 / 224, s, &rw, &rh, &left,
                                       &top, &err);
            CHECK(st == RT_OK);
            st = rt_pixels_resize_crop(&px, rw, rh, left, top, s, s, &out, &err);
            CHECKF(st == RT_OK, "%s", err.message);
            if (st == RT_OK) {
                fx_pathf(ref, sizeof ref, "%s/resize_%s_%d.%s", fixtures, src, s,
                         c == 3 ? "rgb" : "l");
                fx_buf want = fx_read(ref);
                char what[128];
                snprintf(what, sizeof what, "%s S=%d %s (resized to %lldx%lld, crop at %d,%d)",
                         src, s, c == 3 ? "RGB" : "L", (long long)rw, (long long)rh, left, top);
                compare(what, out.data, &want, (size_t)s * (size_t)s * (size_t)c, 0);
                fx_free(&want);
                rt_pixels_free(&out);
            }
            rt_pixels_free(&px);
        }
#endif
    }
    fclose(f);
    CHECKF(cases >= 8, "resize.txt lists %d cases", cases);
}

/* torchvision's arithmetic: int(S * long / short) and round() of halves to even. */
static void plan_cases(void)
{
    static const struct {
        int w, h, size, crop;
        long long rw, rh;
        int left, top;
    } cases[] = {
        {500, 375, 256, 224, 341, 256, 58, 16},   /* 341.33 -> 341; 117/2 = 58.5 -> 58 */
        {375, 500, 256, 224, 256, 341, 16, 58},
        {640, 427, 256, 224, 383, 256, 80, 16},   /* 383.7 -> 383; 159/2 = 79.5 -> 80 */
        {61, 47, 36, 32, 46, 36, 7, 2},           /* 14/2 = 7; 4/2 = 2 */
        {100, 100, 36, 32, 36, 36, 2, 2},
        {10, 10, 36, 32, 36, 36, 2, 2},           /* enlarging */
        {1, 3, 9, 8, 9, 27, 0, 10},               /* 19/2 = 9.5 -> 10 */
        {33, 32, 36, 32, 37, 36, 2, 2},           /* 37.125 -> 37; 5/2 = 2.5 -> 2 */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int64_t rw, rh;
        int left, top;
        rt_error err;
        rt_status st = rt_folder_resize_plan(cases[i].w, cases[i].h, cases[i].size, cases[i].crop,
                                             &rw, &rh, &left, &top, &err);
        CHECKF(st == RT_OK && rw == cases[i].rw && rh == cases[i].rh && left == cases[i].left &&
                   top == cases[i].top,
               "plan %dx%d -> %d/%d: %lldx%lld at %d,%d, expected %lldx%lld at %d,%d",
               cases[i].w, cases[i].h, cases[i].size, cases[i].crop, (long long)rw,
               (long long)rh, left, top, cases[i].rw, cases[i].rh, cases[i].left, cases[i].top);
    }
    int64_t rw, rh;
    int left, top;
    rt_error err;
    rt_status st = rt_folder_resize_plan(1, 67108864, 256, 224, &rw, &rh, &left, &top, &err);
    fx_check_error("too elongated", st, &err, RT_ERR_FORMAT, NULL, "too elongated",
                   (const char *)NULL);
}

/* The resize of an image to its own size is a copy, and a window of a
 * resize is the crop of the whole (the two paths of the implementation). */
static void resize_properties(void)
{
    rt_pixels in = {13, 9, 3, malloc(13 * 9 * 3)};
    CHECK(in.data != NULL);
    if (!in.data)
        return;
    for (int i = 0; i < 13 * 9 * 3; i++)
        in.data[i] = (uint8_t)(i * 37 + (i / 7) * 11);
    rt_pixels out, whole;
    rt_error err;
    CHECK(rt_pixels_resize_crop(&in, 13, 9, 0, 0, 13, 9, &out, &err) == RT_OK);
    CHECK(out.data && memcmp(out.data, in.data, 13 * 9 * 3) == 0);
    rt_pixels_free(&out);
    static const int sizes[][2] = {{7, 5}, {13, 4}, {5, 9}, {29, 17}, {13, 20}};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        int rw = sizes[k][0], rh = sizes[k][1];
        CHECK(rt_pixels_resize_crop(&in, rw, rh, 0, 0, rw, rh, &whole, &err) == RT_OK);
        int ow = rw > 2 ? rw - 2 : rw, oh = rh > 2 ? rh - 1 : rh;
        CHECK(rt_pixels_resize_crop(&in, rw, rh, rw - ow, rh - oh, ow, oh, &out, &err) == RT_OK);
        int same = whole.data && out.data;
        for (int y = 0; same && y < oh; y++)
            same = memcmp(out.data + (size_t)y * ow * 3,
                          whole.data + ((size_t)(y + rh - oh) * rw + (size_t)(rw - ow)) * 3,
                          (size_t)ow * 3) == 0;
        CHECKF(same, "window of %dx%d differs from the crop of the whole", rw, rh);
        rt_pixels_free(&out);
        rt_pixels_free(&whole);
    }
    rt_status st = rt_pixels_resize_crop(&in, 10, 10, 5, 5, 6, 6, &out, &err);
    fx_check_error("window outside", st, &err, RT_ERR_USAGE, NULL, "bad window",
                   (const char *)NULL);
    CHECK(out.data == NULL);
    rt_pixels_free(&in);
}

/* Writes bytes into tmp/name and decodes it: must fail with status and text. */
static void bad(const char *name, const void *bytes, size_t n, rt_status status, const char *text)
{
    char path[4096];
    CHECK(fx_write(tmp, name, bytes, n, path) == 0);
    rt_pixels px;
    memset(&px, 0x5a, sizeof px);
    rt_error err;
    rt_error_clear(&err);
    rt_status st = rt_image_decode(path, 3, &px, &err);
    fx_check_error(name, st, &err, status, path, text, (const char *)NULL);
    CHECKF(px.data == NULL && px.width == 0 && px.height == 0, "%s: output not cleared", name);
    int w = 5, h = 5;
    rt_error_clear(&err);
    st = rt_image_probe(path, &w, &h, &err);
    /* the header alone may be fine: then the probe succeeds */
    CHECKF(st != RT_OK ? err.message[0] != '\0' && w == 0 && h == 0 : w > 0 && h > 0,
           "%s: probe %d %dx%d", name, (int)st, w, h);
    unlink(path);
}

static void malformed(void)
{
    char path[4096];
    fx_pathf(path, sizeof path, "%s/jpeg_420.jpg", fixtures);
    fx_buf jpg = fx_read(path);
    fx_pathf(path, sizeof path, "%s/png_rgb8.png", fixtures);
    fx_buf png = fx_read(path);
    CHECK(jpg.data && png.data);
    if (!jpg.data || !png.data)
        return;
    bad("empty.png", "", 0, RT_ERR_FORMAT, "empty file");
    bad("text.png", "hello, world", 12, RT_ERR_FORMAT, "not a PNG or JPEG image");
    bad("a.bmp", "BM\x36\0\0\0\0\0\0\0", 10, RT_ERR_FORMAT, "a BMP image: not supported");
    bad("a.tif", "II*\0\x08\0\0\0", 8, RT_ERR_FORMAT, "a TIFF image: not supported");
    bad("a.webp", "RIFF\x10\0\0\0WEBPVP8 ", 16, RT_ERR_FORMAT, "a WebP image: not supported");
    bad("a.ppm", "P6\n1 1\n255\n\0\0\0", 14, RT_ERR_FORMAT, "a PNM (PBM/PGM/PPM/PAM) image");
    bad("a.gif", "GIF89a\1\0\1\0", 10, RT_ERR_FORMAT, "a GIF image: not supported");
#ifdef RT_HAVE_JPEG
    bad("cut.jpg", jpg.data, jpg.size / 2, RT_ERR_FORMAT, "bad JPEG: unexpected end of file");
    bad("soi.jpg", jpg.data, 3, RT_ERR_FORMAT, "bad JPEG");
    /* the frame header claims 60000 x 60000 */
    fx_buf big = fx_concat(jpg, (fx_buf){NULL, 0});
    for (size_t i = 2; big.data && i + 9 < big.size; i++)
        if (big.data[i] == 0xff && (big.data[i + 1] == 0xc0 || big.data[i + 1] == 0xc2)) {
            big.data[i + 5] = 0xea, big.data[i + 6] = 0x60; /* height */
            big.data[i + 7] = 0xea, big.data[i + 8] = 0x60; /* width */
            break;
        }
    bad("huge.jpg", big.data, big.size, RT_ERR_FORMAT, "image too large: 60000x60000");
    fx_free(&big);
    /* entropy-coded data overwritten: libjpeg warns and goes on, as PIL */
    fx_buf noisy = fx_concat(jpg, (fx_buf){NULL, 0});
    for (size_t i = noisy.size - 40; i < noisy.size - 20; i++)
        noisy.data[i] = 0x55; /* no 0xff: no marker made */
    char np[4096];
    CHECK(fx_write(tmp, "noisy.jpg", noisy.data, noisy.size, np) == 0);
    rt_pixels px;
    rt_error err;
    CHECKF(rt_image_decode(np, 3, &px, &err) == RT_OK, "corrupt entropy data: %s", err.message);
    rt_pixels_free(&px);
    fx_free(&noisy);
#else
    bad("a.jpg", jpg.data, jpg.size, RT_ERR_USAGE, "this build cannot read JPEG");
#endif
#ifdef RT_HAVE_PNG
    bad("cut.png", png.data, png.size - 20, RT_ERR_FORMAT, "bad PNG");
    bad("sig.png", png.data, 8, RT_ERR_FORMAT, "bad PNG");
    fx_buf crc = fx_concat(png, (fx_buf){NULL, 0});
    crc.data[29] ^= 0xff; /* IHDR's CRC */
    bad("crc.png", crc.data, crc.size, RT_ERR_FORMAT, "bad PNG");
    fx_free(&crc);
    /* headers claiming too much or nothing: refused by the probe, and by
     * the decoder (libpng's words) */
    static const struct {
        const char *name, *size, *probe, *decode;
    } heads[] = {
        {"huge.png", "\0\x01\x86\xa0\0\x01\x86\xa0", "image too large: 100000x100000",
         "bad PNG"},
        {"wide.png", "\0\x20\0\0\0\0\0\x01", "image too large: 2097152x1", "bad PNG"},
        {"zero.png", "\0\0\0\0\0\0\0\x05", "the image is 0x5", "bad PNG"},
    };
    for (size_t i = 0; i < sizeof heads / sizeof heads[0]; i++) {
        unsigned char ihdr[45];
        memcpy(ihdr, png.data, 33);
        memcpy(ihdr + 16, heads[i].size, 8);
        uint32_t crc = (uint32_t)crc32(0L, ihdr + 12, 17);
        for (int k = 0; k < 4; k++)
            ihdr[29 + k] = (uint8_t)(crc >> (24 - 8 * k));
        memcpy(ihdr + 33, "\0\0\0\0IEND\xae\x42\x60\x82", 12);
        char hp[4096];
        CHECK(fx_write(tmp, heads[i].name, ihdr, sizeof ihdr, hp) == 0);
        int w = 1, h = 1;
        rt_error err;
        rt_status st = rt_image_probe(hp, &w, &h, &err);
        fx_check_error(heads[i].name, st, &err, RT_ERR_FORMAT, hp, heads[i].probe,
                       (const char *)NULL);
        CHECK(w == 0 && h == 0);
        bad(heads[i].name, ihdr, sizeof ihdr, RT_ERR_FORMAT, heads[i].decode);
    }
#endif
    /* not regular files */
    char sub[4096];
    fx_pathf(sub, sizeof sub, "%s/folder.png", tmp);
    CHECK(mkdir(sub, 0700) == 0);
    rt_pixels px2;
    rt_error err2;
    rt_status st = rt_image_decode(sub, 3, &px2, &err2);
    fx_check_error("folder", st, &err2, RT_ERR_IO, sub, "is a folder", (const char *)NULL);
    fx_pathf(sub, sizeof sub, "%s/fifo.png", tmp);
    CHECK(mkfifo(sub, 0600) == 0);
    st = rt_image_decode(sub, 3, &px2, &err2);
    fx_check_error("fifo", st, &err2, RT_ERR_IO, sub, "not a regular file", (const char *)NULL);
    fx_pathf(sub, sizeof sub, "%s/missing.png", tmp);
    st = rt_image_decode(sub, 3, &px2, &err2);
    fx_check_error("missing", st, &err2, RT_ERR_IO, sub, "cannot open", (const char *)NULL);
    st = rt_image_decode(sub, 2, &px2, &err2);
    fx_check_error("2 channels", st, &err2, RT_ERR_USAGE, sub, "1 or 3", (const char *)NULL);
    fx_free(&jpg);
    fx_free(&png);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: test_decode FIXTURE_DIR\n");
        return 2;
    }
    fixtures = argv[1];
    CHECK(rt_test_tempdir(tmp, sizeof tmp) == 0);
    decode_cases();
    resize_cases();
    plan_cases();
    resize_properties();
    malformed();
    fx_remove_tree(tmp);
    return rt_test_finish("test_decode");
}
