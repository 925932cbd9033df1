/* Images: PGM P2/P5 parsing (and malformed files rejected), PNG of every
 * color type and bit depth decoded to the right gray values (written with
 * libpng here), corrupt PNGs and decompression bombs refused, and the
 * MNIST-style preprocessing: inversion, cropping, scaling, centring. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#ifdef RT_HAVE_PNG
#include <png.h>
#endif

#include "io_test_util.h"
#include "resnet/image.h"

static char dir[512];

static void path_in(char *buf, size_t size, const char *name)
{
    snprintf(buf, size, "%s/%s", dir, name);
}

static void check_pixels(const char *what, const rt_image *img, int w, int h, const uint8_t *want)
{
    CHECKF(img->width == w && img->height == h, "%s: %dx%d, expected %dx%d", what, img->width,
           img->height, w, h);
    if (img->width != w || img->height != h || !img->pixels)
        return;
    for (int i = 0; i < w * h; i++)
        CHECKF(img->pixels[i] == want[i], "%s: pixel %d is %d, expected %d", what, i,
               img->pixels[i], want[i]);
}

/* Writes bytes to a file and reads it as an image. */
static rt_status read_bytes(const char *name, const void *bytes, size_t n, rt_image *img,
                            rt_error *err)
{
    char path[600];
    path_in(path, sizeof path, name);
    CHECK(io_write_bytes(path, bytes, n) == 0);
    rt_status st = rt_image_read(path, img, err);
    unlink(path);
    return st;
}

/* ---- PGM ----------------------------------------------------------------- */

static void test_pgm(void)
{
    rt_error err = {0};
    rt_image img;

    static const char p5[] = "P5\n3 2\n255\n\x00\x01\x7f\x80\xfe\xff";
    rt_status st = read_bytes("a.pgm", p5, sizeof p5 - 1, &img, &err);
    CHECKF(st == RT_OK, "P5: %s", err.message);
    check_pixels("P5", &img, 3, 2, (const uint8_t[]){0, 1, 127, 128, 254, 255});
    rt_image_free(&img);
    CHECK(img.pixels == NULL && img.width == 0);

    /* comments anywhere in the header, any whitespace, a trailing newline */
    static const char p5c[] = "P5#c\n# made by hand\n 3\t# width\n2\r\n# maxval next\n255\n"
                              "\x00\x01\x7f\x80\xfe\xff\n";
    st = read_bytes("c.pgm", p5c, sizeof p5c - 1, &img, &err);
    CHECKF(st == RT_OK, "P5 with comments: %s", err.message);
    check_pixels("P5 comments", &img, 3, 2, (const uint8_t[]){0, 1, 127, 128, 254, 255});
    rt_image_free(&img);

    /* 16-bit big-endian samples, scaled to 8 bits */
    static const char p5w[] = "P5 4 1 65535\n\x00\x00\xff\xff\x80\x00\x01\x01";
    st = read_bytes("w.pgm", p5w, sizeof p5w - 1, &img, &err);
    CHECKF(st == RT_OK, "P5 16-bit: %s", err.message);
    check_pixels("P5 16-bit", &img, 4, 1, (const uint8_t[]){0, 255, 128, 1});
    rt_image_free(&img);
    static const char p5k[] = "P5 3 1 1000\n\x00\x00\x03\xe8\x01\xf4"; /* 0, 1000, 500 */
    st = read_bytes("k.pgm", p5k, sizeof p5k - 1, &img, &err);
    CHECKF(st == RT_OK, "P5 maxval 1000: %s", err.message);
    check_pixels("P5 maxval 1000", &img, 3, 1, (const uint8_t[]){0, 255, 128});
    rt_image_free(&img);
    static const char p5b[] = "P5 2 1 1\n\x00\x01";
    st = read_bytes("b.pgm", p5b, sizeof p5b - 1, &img, &err);
    CHECKF(st == RT_OK, "P5 maxval 1: %s", err.message);
    check_pixels("P5 maxval 1", &img, 2, 1, (const uint8_t[]){0, 255});
    rt_image_free(&img);

    /* plain */
    static const char p2[] = "P2\n# plain\n3 2\n15\n0 5 10\n 15\t1\n\n2\n";
    st = read_bytes("p.pgm", p2, sizeof p2 - 1, &img, &err);
    CHECKF(st == RT_OK, "P2: %s", err.message);
    check_pixels("P2", &img, 3, 2, (const uint8_t[]){0, 85, 170, 255, 17, 34});
    rt_image_free(&img);
    static const char p2w[] = "P2 2 1 65535 65535 32768";
    st = read_bytes("pw.pgm", p2w, sizeof p2w - 1, &img, &err);
    CHECKF(st == RT_OK, "P2 16-bit: %s", err.message);
    check_pixels("P2 16-bit", &img, 2, 1, (const uint8_t[]){255, 128});
    rt_image_free(&img);

    static const struct {
        const char *what, *bytes;
        size_t n; /* 0: strlen */
        rt_status status;
        const char *expect;
    } bad[] = {
        {"zero width", "P5\n0 2\n255\n", 0, RT_ERR_FORMAT, "PGM width is 0"},
        {"zero height", "P5 2 0 255\n", 0, RT_ERR_FORMAT, "PGM height is 0"},
        {"zero maxval", "P5 2 1 0\n\x00\x00", 0, RT_ERR_FORMAT, "PGM maxval is 0"},
        {"maxval too large", "P5 2 1 65536\n\x00\x00\x00\x00", 0, RT_ERR_FORMAT,
         "maxval is too large"},
        {"huge width", "P5 99999999999999999999 2 255\n", 0, RT_ERR_FORMAT, "width is too large"},
        {"too many pixels", "P5 8192 8193 255\n", 0, RT_ERR_FORMAT, "image too large: 8192x8193"},
        {"negative width", "P5 -3 2 255\n", 0, RT_ERR_FORMAT, "width is not a decimal number"},
        {"junk in a number", "P5 3x2 255\n", 0, RT_ERR_FORMAT, "unexpected character after the width"},
        {"no separator", "P53 2 255\n", 0, RT_ERR_FORMAT, "expected whitespace before the width"},
        {"header cut", "P5 3 2", 0, RT_ERR_FORMAT, "truncated PGM"},
        {"comment cut", "P5 3 2 # no end", 0, RT_ERR_FORMAT, "inside a header comment"},
        {"no raster", "P5 3 2 255", 0, RT_ERR_FORMAT, "truncated PGM"},
        {"maxval then junk", "P5 3 2 255#\n\x01\x02\x03\x04\x05\x06", 0, RT_ERR_FORMAT,
         "followed by whitespace"},
        {"raw raster cut", "P5 3 2 255\n\x01\x02\x03\x04\x05", 0, RT_ERR_FORMAT,
         "the raster has 5 bytes, 6 expected"},
        {"16-bit raster cut", "P5 2 1 300\n\x00\x01\x01", 14, RT_ERR_FORMAT,
         "the raster has 3 bytes, 4 expected"},
        {"raw sample above maxval", "P5 2 1 300\n\x00\x01\x01\x2d", 15, RT_ERR_FORMAT,
         "sample 301 at (x 1, y 0) exceeds maxval 300"},
        {"plain raster cut", "P2 2 2 255\n1 2 3", 0, RT_ERR_FORMAT, "truncated PGM"},
        {"plain raster short", "P2 2 2 255\n1 2 3      ", 0, RT_ERR_FORMAT,
         "ends after 3 of 4 samples"},
        {"plain sample above maxval", "P2 2 1 15\n3 16\n", 0, RT_ERR_FORMAT,
         "sample 16 at (x 1, y 0) exceeds maxval 15"},
        {"plain huge sample", "P2 2 1 15\n3 99999999999999999999\n", 0, RT_ERR_FORMAT,
         "exceeds maxval 15"},
        {"plain junk sample", "P2 2 1 15\n3 x\n", 0, RT_ERR_FORMAT, "sample 1 is not a decimal"},
        {"plain negative sample", "P2 2 1 15\n3 -1\n", 0, RT_ERR_FORMAT, "not a decimal"},
        {"plain junk after sample", "P2 2 1 15\n3 4x\n", 0, RT_ERR_FORMAT,
         "unexpected character after sample 1"},
        {"two images", "P5 1 1 255\n\x07P5 1 1 255\n\x07", 0, RT_ERR_FORMAT,
         "data after the PGM raster"},
        {"plain trailing junk", "P2 1 1 255\n7\nmore\n", 0, RT_ERR_FORMAT, "data after the PGM raster"},
        {"PPM", "P6 1 1 255\n\x01\x02\x03", 0, RT_ERR_FORMAT, "a PPM (color) image"},
        {"PBM", "P4 8 1\n\xff", 0, RT_ERR_FORMAT, "a PBM (bitmap) image"},
        {"JPEG", "\xff\xd8\xff\xe0\x00\x10JFIF", 10, RT_ERR_FORMAT, "a JPEG image"},
        {"GIF", "GIF89a...", 0, RT_ERR_FORMAT, "a GIF image"},
        {"text", "hello", 0, RT_ERR_FORMAT, "not a PNG or PGM"},
        {"empty", "", 0, RT_ERR_FORMAT, "empty file"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        size_t n = bad[i].n ? bad[i].n : strlen(bad[i].bytes);
        memset(&img, 0x5a, sizeof img);
        st = read_bytes("bad.pgm", bad[i].bytes, n, &img, &err);
        printf("%-26s -> %s\n", bad[i].what, err.message);
        CHECKF(st == bad[i].status, "%s: status %s", bad[i].what, rt_status_name(st));
        CHECKF(strstr(err.message, bad[i].expect) != NULL, "%s: \"%s\" lacks \"%s\"", bad[i].what,
               err.message, bad[i].expect);
        CHECKF(strstr(err.message, "bad.pgm") != NULL, "%s: names the file", bad[i].what);
        CHECKF(img.pixels == NULL && img.width == 0 && img.height == 0, "%s: *out zeroed",
               bad[i].what);
        if (st == RT_OK)
            rt_image_free(&img);
    }
    char path[600];
    path_in(path, sizeof path, "absent.pgm");
    EXPECT_ERROR(rt_image_read(path, &img, &err), &err, RT_ERR_IO, path, "cannot open");
}

/* ---- PNG ----------------------------------------------------------------- */

/* Appends one chunk (length, type, data, CRC) to buf at *n. */
static void put_chunk(unsigned char *buf, size_t *n, const char *type, const void *data,
                      uint32_t len)
{
    unsigned char *p = buf + *n;
    p[0] = (unsigned char)(len >> 24);
    p[1] = (unsigned char)(len >> 16);
    p[2] = (unsigned char)(len >> 8);
    p[3] = (unsigned char)len;
    memcpy(p + 4, type, 4);
    if (len)
        memcpy(p + 8, data, len);
    uLong crc = crc32(0L, p + 4, 4 + len);
    p[8 + len] = (unsigned char)(crc >> 24);
    p[9 + len] = (unsigned char)(crc >> 16);
    p[10 + len] = (unsigned char)(crc >> 8);
    p[11 + len] = (unsigned char)crc;
    *n += 12 + len;
}

/* A PNG whose header claims width x height gray pixels, with a tiny IDAT. */
static size_t bomb_png(unsigned char *buf, uint32_t width, uint32_t height)
{
    size_t n = 0;
    memcpy(buf, "\x89PNG\r\n\x1a\n", 8);
    n = 8;
    unsigned char ihdr[13] = {0};
    for (int i = 0; i < 4; i++) {
        ihdr[i] = (unsigned char)(width >> (24 - 8 * i));
        ihdr[4 + i] = (unsigned char)(height >> (24 - 8 * i));
    }
    ihdr[8] = 8; /* bit depth */
    ihdr[9] = 0; /* gray */
    put_chunk(buf, &n, "IHDR", ihdr, 13);
    unsigned char z[64];
    uLongf zn = sizeof z;
    unsigned char zeros[16] = {0};
    compress(z, &zn, zeros, sizeof zeros);
    put_chunk(buf, &n, "IDAT", z, (uint32_t)zn);
    put_chunk(buf, &n, "IEND", NULL, 0);
    return n;
}

#ifdef RT_HAVE_PNG

typedef struct png_spec {
    const char *what;
    int w, h, color, depth, interlace;
    const unsigned char *rows; /* packed rows as PNG stores them */
    const png_color *palette;
    int npalette;
    const unsigned char *trans; /* palette alpha */
    int ntrans;
    int trans_gray; /* >= 0: tRNS gray value (gray images) */
    const uint8_t *expect;
} png_spec;

static int write_png(const char *path, const png_spec *s)
{
    FILE *fp = fopen(path, "wb");
    if (!fp)
        return -1;
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        fclose(fp);
        return -1;
    }
    png_init_io(png, fp);
    png_set_IHDR(png, info, (png_uint_32)s->w, (png_uint_32)s->h, s->depth, s->color,
                 s->interlace ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    if (s->palette)
        png_set_PLTE(png, info, s->palette, s->npalette);
    if (s->trans)
        png_set_tRNS(png, info, s->trans, s->ntrans, NULL);
    if (s->trans_gray >= 0) {
        png_color_16 tc = {0, 0, 0, 0, (png_uint_16)s->trans_gray};
        png_set_tRNS(png, info, NULL, 0, &tc);
    }
    png_write_info(png, info);
    int channels = s->color == PNG_COLOR_TYPE_GRAY || s->color == PNG_COLOR_TYPE_PALETTE ? 1
                   : s->color == PNG_COLOR_TYPE_GRAY_ALPHA                                ? 2
                   : s->color == PNG_COLOR_TYPE_RGB                                       ? 3
                                                                                          : 4;
    size_t rowbytes = ((size_t)s->w * channels * s->depth + 7) / 8;
    png_bytep rows[64];
    for (int y = 0; y < s->h; y++)
        rows[y] = (png_bytep)(s->rows + (size_t)y * rowbytes);
    png_write_image(png, rows);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    return fclose(fp) == 0 ? 0 : -1;
}

static void test_png(void)
{
    static const png_color pal3[3] = {{0, 0, 0}, {255, 0, 0}, {10, 20, 30}};
    static const unsigned char trans3[3] = {255, 255, 0};
    static const png_color pal2[2] = {{0, 0, 0}, {255, 255, 255}};
    static unsigned char inter[9 * 9];
    static uint8_t inter_expect[9 * 9];
    for (int i = 0; i < 81; i++)
        inter[i] = inter_expect[i] = (unsigned char)(i * 3);
    const png_spec specs[] = {
        {"gray 8", 3, 2, PNG_COLOR_TYPE_GRAY, 8, 0, (const unsigned char[]){0, 1, 127, 128, 254, 255},
         NULL, 0, NULL, 0, -1, (const uint8_t[]){0, 1, 127, 128, 254, 255}},
        {"gray 16", 4, 1, PNG_COLOR_TYPE_GRAY, 16, 0,
         (const unsigned char[]){0, 0, 0xff, 0xff, 0x80, 0x80, 0x01, 0x01}, NULL, 0, NULL, 0, -1,
         (const uint8_t[]){0, 255, 128, 1}},
        {"gray 1", 8, 1, PNG_COLOR_TYPE_GRAY, 1, 0, (const unsigned char[]){0xb0}, NULL, 0, NULL, 0,
         -1, (const uint8_t[]){255, 0, 255, 255, 0, 0, 0, 0}},
        {"gray 2", 4, 1, PNG_COLOR_TYPE_GRAY, 2, 0, (const unsigned char[]){0x1b}, NULL, 0, NULL, 0,
         -1, (const uint8_t[]){0, 85, 170, 255}},
        {"gray 4", 3, 1, PNG_COLOR_TYPE_GRAY, 4, 0, (const unsigned char[]){0x0f, 0x70}, NULL, 0,
         NULL, 0, -1, (const uint8_t[]){0, 255, 119}},
        {"gray 8 + tRNS", 3, 1, PNG_COLOR_TYPE_GRAY, 8, 0, (const unsigned char[]){0, 100, 0}, NULL,
         0, NULL, 0, 0, (const uint8_t[]){255, 100, 255}},
        {"gray+alpha 8", 4, 1, PNG_COLOR_TYPE_GRAY_ALPHA, 8, 0,
         (const unsigned char[]){0, 255, 0, 0, 0, 128, 200, 255}, NULL, 0, NULL, 0, -1,
         (const uint8_t[]){0, 255, 127, 200}},
        {"gray+alpha 16", 2, 1, PNG_COLOR_TYPE_GRAY_ALPHA, 16, 0,
         (const unsigned char[]){0, 0, 0xff, 0xff, 0, 0, 0, 0}, NULL, 0, NULL, 0, -1,
         (const uint8_t[]){0, 255}},
        {"RGB 8", 5, 1, PNG_COLOR_TYPE_RGB, 8, 0,
         (const unsigned char[]){255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255, 0, 0, 0}, NULL, 0,
         NULL, 0, -1, (const uint8_t[]){76, 150, 29, 255, 0}},
        {"RGB 16", 2, 1, PNG_COLOR_TYPE_RGB, 16, 0,
         (const unsigned char[]){0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, NULL, 0, NULL, 0, -1,
         (const uint8_t[]){76, 0}},
        {"RGBA 8", 3, 1, PNG_COLOR_TYPE_RGB_ALPHA, 8, 0,
         (const unsigned char[]){255, 0, 0, 0, 0, 0, 0, 255, 0, 255, 0, 128}, NULL, 0, NULL, 0, -1,
         (const uint8_t[]){255, 0, 202}},
        {"palette 8 + tRNS", 3, 1, PNG_COLOR_TYPE_PALETTE, 8, 0, (const unsigned char[]){0, 1, 2},
         pal3, 3, trans3, 3, -1, (const uint8_t[]){0, 76, 255}},
        {"palette 2", 4, 1, PNG_COLOR_TYPE_PALETTE, 2, 0, (const unsigned char[]){0x14}, pal2, 2,
         NULL, 0, -1, (const uint8_t[]){0, 255, 255, 0}},
        {"gray 8 interlaced", 9, 9, PNG_COLOR_TYPE_GRAY, 8, 1, inter, NULL, 0, NULL, 0, -1,
         inter_expect},
    };
    char path[600];
    path_in(path, sizeof path, "t.png");
    for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++) {
        CHECKF(write_png(path, &specs[i]) == 0, "writing %s", specs[i].what);
        rt_error err = {0};
        rt_image img;
        rt_status st = rt_image_read(path, &img, &err);
        CHECKF(st == RT_OK, "%s: %s", specs[i].what, err.message);
        if (st == RT_OK)
            check_pixels(specs[i].what, &img, specs[i].w, specs[i].h, specs[i].expect);
        rt_image_free(&img);
    }

    /* damage a good PNG */
    CHECK(write_png(path, &specs[13]) == 0);
    size_t n;
    unsigned char *good = io_read_bytes(path, &n);
    CHECK(good != NULL && n > 60);
    if (good && n > 60) {
        rt_error err = {0};
        rt_image img;
        unsigned char *bad = malloc(n);
        memcpy(bad, good, n);
        bad[n - 20] ^= 0x55; /* inside the IDAT data or its CRC */
        EXPECT_ERROR(read_bytes("crc.png", bad, n, &img, &err), &err, RT_ERR_FORMAT, "crc.png",
                     "bad PNG");
        CHECK(img.pixels == NULL);
        memcpy(bad, good, n);
        bad[16] ^= 0x01; /* the width, so IHDR's CRC fails */
        EXPECT_ERROR(read_bytes("ihdr.png", bad, n, &img, &err), &err, RT_ERR_FORMAT, "bad PNG",
                     "CRC");
        EXPECT_ERROR(read_bytes("cut.png", good, n / 2, &img, &err), &err, RT_ERR_FORMAT,
                     "cut.png", "unexpected end of file (truncated)");
        EXPECT_ERROR(read_bytes("sig.png", good, 8, &img, &err), &err, RT_ERR_FORMAT,
                     "unexpected end of file");
        free(bad);
    }
    free(good);

    /* decompression bombs: refused from the header */
    unsigned char buf[256];
    rt_error err = {0};
    rt_image img;
    size_t bn = bomb_png(buf, 100000, 100000);
    EXPECT_ERROR(read_bytes("bomb.png", buf, bn, &img, &err), &err, RT_ERR_FORMAT, "bomb.png",
                 "image too large: 100000x100000");
    bn = bomb_png(buf, 3000000, 1);
    EXPECT_ERROR(read_bytes("wide.png", buf, bn, &img, &err), &err, RT_ERR_FORMAT, "wide.png",
                 "exceeds user limit");
    bn = bomb_png(buf, 4, 4); /* the same file, sane size: the IDAT is too short */
    EXPECT_ERROR(read_bytes("short.png", buf, bn, &img, &err), &err, RT_ERR_FORMAT, "bad PNG");
    unlink(path);
}

#else

static void test_png(void)
{
    unsigned char buf[256];
    rt_error err = {0};
    rt_image img;
    size_t n = bomb_png(buf, 4, 4);
    EXPECT_ERROR(read_bytes("x.png", buf, n, &img, &err), &err, RT_ERR_USAGE, "x.png",
                 "cannot read PNG");
    printf("note: built without libpng; PNG decoding not tested\n");
}

#endif

/* ---- preprocessing ------------------------------------------------------- */

/* A synthetic digit, a "6"-like ring with a tail, anti-aliased by 4x4
 * supersampling: white (255) on black, top-left corner at (ox, oy), size
 * scaled by s. */
static void draw_digit(rt_image *img, int w, int h, double ox, double oy, double s)
{
    img->width = w;
    img->height = h;
    img->pixels = calloc((size_t)w * h, 1);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            int hits = 0;
            for (int sy = 0; sy < 4; sy++)
                for (int sx = 0; sx < 4; sx++) {
                    double px = (x + (sx + 0.5) / 4 - ox) / s, py = (y + (sy + 0.5) / 4 - oy) / s;
                    /* ring centred (20, 40), radii 16/14, thickness 6 */
                    double dx = (px - 20) / 16, dy = (py - 40) / 14;
                    double r = sqrt(dx * dx + dy * dy);
                    int in = fabs(r - 1.0) * 15 < 3;
                    /* tail from (8, 38) up to (28, 2), 6 wide */
                    double t = ((px - 8) * 20 + (py - 38) * -36) / (20.0 * 20 + 36.0 * 36);
                    if (t >= 0 && t <= 1) {
                        double qx = 8 + 20 * t - px, qy = 38 - 36 * t - py;
                        if (qx * qx + qy * qy < 9)
                            in = 1;
                    }
                    hits += in;
                }
            img->pixels[(size_t)y * w + x] = (uint8_t)((hits * 255 + 8) / 16);
        }
}

static void centre_of_mass(const float *x, double *cx, double *cy)
{
    double m = 0, mx = 0, my = 0;
    for (int y = 0; y < 28; y++)
        for (int i = 0; i < 28; i++) {
            m += x[y * 28 + i];
            mx += x[y * 28 + i] * i;
            my += x[y * 28 + i] * y;
        }
    *cx = m > 0 ? mx / m : -1;
    *cy = m > 0 ? my / m : -1;
}

/* Bounding box of the non-zero outputs: width and height. */
static void extent(const float *x, int *w, int *h)
{
    int x0 = 28, x1 = -1, y0 = 28, y1 = -1;
    for (int y = 0; y < 28; y++)
        for (int i = 0; i < 28; i++)
            if (x[y * 28 + i] > 0) {
                x0 = i < x0 ? i : x0;
                x1 = i > x1 ? i : x1;
                y0 = y < y0 ? y : y0;
                y1 = y > y1 ? y : y1;
            }
    *w = x1 - x0 + 1;
    *h = y1 - y0 + 1;
}

/* The smallest nmse of got against ref shifted by up to a pixel each way. */
static double shifted_nmse(const float *ref, const float *got)
{
    double best = INFINITY;
    for (int dy = -1; dy <= 1; dy++)
        for (int dx = -1; dx <= 1; dx++) {
            float moved[784] = {0};
            for (int y = 0; y < 28; y++)
                for (int x = 0; x < 28; x++)
                    if (y + dy >= 0 && y + dy < 28 && x + dx >= 0 && x + dx < 28)
                        moved[(y + dy) * 28 + x + dx] = ref[y * 28 + x];
            double e = rt_test_nmse(moved, got, 784);
            best = e < best ? e : best;
        }
    return best;
}

static void test_preprocess(void)
{
    rt_error err = {0};
    rt_image light, dark;
    float a[784], b[784], c[784];
    int inv = -1;

    /* white on black, off-centre in a big canvas */
    draw_digit(&light, 160, 120, 17, 9, 1.5);
    rt_status st = rt_image_to_mnist(&light, a, &inv, &err);
    CHECKF(st == RT_OK, "white on black: %s", err.message);
    CHECK(inv == 0);
    /* the same, black on white */
    dark.width = light.width;
    dark.height = light.height;
    dark.pixels = malloc((size_t)dark.width * dark.height);
    for (int i = 0; i < dark.width * dark.height; i++)
        dark.pixels[i] = (uint8_t)(255 - light.pixels[i]);
    st = rt_image_to_mnist(&dark, b, &inv, &err);
    CHECKF(st == RT_OK, "black on white: %s", err.message);
    CHECK(inv == 1);
    CHECK(memcmp(a, b, sizeof a) == 0);

    double cx, cy;
    centre_of_mass(a, &cx, &cy);
    printf("centre of mass (%.3f, %.3f)\n", cx, cy);
    CHECKF(fabs(cx - 14) <= 1 && fabs(cy - 14) <= 1, "centre of mass (%g, %g) near (14, 14)", cx,
           cy);
    CHECKF(fabs(cx - 14) <= 0.5 + 1e-9 && fabs(cy - 14) <= 0.5 + 1e-9,
           "centre of mass (%g, %g) within half a pixel of (14, 14)", cx, cy);
    int ew, eh;
    extent(a, &ew, &eh);
    CHECKF(eh == 20 && ew >= 10 && ew < 20, "ink spans %dx%d, expected the height 20", ew, eh);
    float mx = 0;
    for (int i = 0; i < 784; i++) {
        CHECK(a[i] >= 0.0f && a[i] <= 1.0f);
        CHECK(a[i] * 255.0f == roundf(a[i] * 255.0f)); /* 8-bit levels, like MNIST */
        mx = a[i] > mx ? a[i] : mx;
    }
    CHECK(mx == 1.0f);
    /* for the eye */
    for (int y = 0; y < 28; y++) {
        for (int x = 0; x < 28; x++)
            putchar(" .:-=+*#%@"[(int)(a[y * 28 + x] * 9.99f)]);
        putchar('\n');
    }

    /* NULL inverted is fine */
    CHECK(rt_image_to_mnist(&light, c, NULL, &err) == RT_OK && memcmp(a, c, sizeof a) == 0);

    /* moved by whole pixels: the same result */
    rt_image moved;
    draw_digit(&moved, 200, 150, 17 + 40, 9 + 25, 1.5);
    CHECK(rt_image_to_mnist(&moved, c, &inv, &err) == RT_OK && inv == 0);
    CHECK(memcmp(a, c, sizeof a) == 0);
    rt_image_free(&moved);

    /* drawn twice as large: nearly the same */
    rt_image large;
    draw_digit(&large, 300, 260, 30, 20, 3.0);
    CHECK(rt_image_to_mnist(&large, c, &inv, &err) == RT_OK);
    /* the same size; the same picture up to sub-pixel sampling (thin
     * strokes make nmse sensitive to that) and a centre of mass that may
     * round to the neighbouring pixel */
    int lw, lh;
    extent(c, &lw, &lh);
    CHECKF(lh == 20 && abs(lw - ew) <= 1, "2x larger drawing spans %dx%d, not %dx%d", lw, lh, ew,
           eh);
    double nm = shifted_nmse(a, c);
    CHECKF(nm < 0.25, "2x larger drawing: nmse %g", nm);
    rt_image_free(&large);

    /* a photo: dark ink on grey paper with noise */
    rt_image photo;
    photo.width = light.width;
    photo.height = light.height;
    photo.pixels = malloc((size_t)photo.width * photo.height);
    rt_rng rng;
    rt_rng_seed(&rng, 7);
    for (int i = 0; i < photo.width * photo.height; i++) {
        double v = 200.0 - light.pixels[i] * (170.0 / 255.0) + (rt_rng_uniform(&rng) - 0.5) * 12;
        photo.pixels[i] = (uint8_t)lround(v < 0 ? 0 : v > 255 ? 255 : v);
    }
    st = rt_image_to_mnist(&photo, c, &inv, &err);
    CHECKF(st == RT_OK && inv == 1, "photo: %s", err.message);
    nm = rt_test_nmse(a, c, 784);
    double md = rt_test_max_abs_diff(a, c, 784);
    printf("photo vs clean: nmse %.4f, max |diff| %.3f\n", nm, md);
    CHECKF(nm < 0.01 && md < 0.25, "photo vs clean: nmse %g, max diff %g", nm, md);
    rt_image_free(&photo);

    /* a small block grows to 20 px, keeping its aspect */
    rt_image small = {10, 10, calloc(100, 1)};
    for (int y = 2; y < 7; y++)
        for (int x = 4; x < 7; x++)
            small.pixels[y * 10 + x] = 255;
    CHECK(rt_image_to_mnist(&small, c, &inv, &err) == RT_OK);
    extent(c, &ew, &eh);
    CHECKF(ew == 12 && eh == 20, "3x5 block -> %dx%d, expected 12x20", ew, eh);
    int ones = 0;
    for (int i = 0; i < 784; i++)
        ones += c[i] == 1.0f;
    CHECK(ones == 240);
    centre_of_mass(c, &cx, &cy);
    CHECKF(fabs(cx - 14) <= 0.5 && fabs(cy - 14) <= 0.5, "block centre (%g, %g)", cx, cy);
    rt_image_free(&small);

    /* a one-pixel-wide stroke stays one column wide */
    rt_image line = {80, 80, calloc(6400, 1)};
    for (int y = 10; y < 70; y++)
        line.pixels[y * 80 + 33] = 255;
    CHECK(rt_image_to_mnist(&line, c, &inv, &err) == RT_OK);
    extent(c, &ew, &eh);
    CHECKF(ew == 1 && eh == 20, "line -> %dx%d", ew, eh);
    rt_image_free(&line);

    /* no ink */
    rt_image blank = {50, 40, calloc(2000, 1)};
    EXPECT_ERROR(rt_image_to_mnist(&blank, c, &inv, &err), &err, RT_ERR_FORMAT, "no ink");
    memset(blank.pixels, 255, 2000);
    EXPECT_ERROR(rt_image_to_mnist(&blank, c, &inv, &err), &err, RT_ERR_FORMAT, "no ink");
    for (int i = 0; i < 2000; i++)
        blank.pixels[i] = (uint8_t)(100 + rt_rng_below(&rng, 11));
    EXPECT_ERROR(rt_image_to_mnist(&blank, c, &inv, &err), &err, RT_ERR_FORMAT, "no ink");
    CHECK(inv == 0);
    rt_image_free(&blank);
    rt_image one = {1, 1, calloc(1, 1)};
    EXPECT_ERROR(rt_image_to_mnist(&one, c, &inv, &err), &err, RT_ERR_FORMAT, "no ink");
    rt_image_free(&one);
    rt_image none = {0, 0, NULL};
    EXPECT_ERROR(rt_image_to_mnist(&none, c, &inv, &err), &err, RT_ERR_USAGE, "not a valid image");

    /* the whole path from a file */
    char path[600];
    path_in(path, sizeof path, "digit.pgm");
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    if (f) {
        fprintf(f, "P5\n# a digit\n%d %d\n255\n", dark.width, dark.height);
        fwrite(dark.pixels, 1, (size_t)dark.width * dark.height, f);
        fclose(f);
        rt_image fromfile;
        st = rt_image_read(path, &fromfile, &err);
        CHECKF(st == RT_OK, "%s", err.message);
        if (st == RT_OK) {
            CHECK(rt_image_to_mnist(&fromfile, c, &inv, &err) == RT_OK && inv == 1);
            CHECK(memcmp(a, c, sizeof a) == 0);
            rt_image_free(&fromfile);
        }
        unlink(path);
    }
    rt_image_free(&light);
    rt_image_free(&dark);
}

int main(void)
{
    if (rt_test_tempdir(dir, sizeof dir) != 0) {
        fprintf(stderr, "cannot make a temporary folder\n");
        return 1;
    }
    test_pgm();
    test_png();
    test_preprocess();
    rmdir(dir);
    return rt_test_finish("test_image");
}
