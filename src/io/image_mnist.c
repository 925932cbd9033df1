/* MNIST-style preprocessing of a picture of one digit; the steps are listed
 * in image.h. MNIST's digits were size-normalised to fit a 20x20 box
 * (keeping the aspect ratio, anti-aliased) and centred by their centre of
 * mass in a 28x28 field; this does the same to an arbitrary picture. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "resnet/image.h"

#define BOX 20     /* the longer side after scaling */
#define FRAME 28   /* the model's input side */
#define MIN_CONTRAST 24
#define NOISE_FLOOR_MIN 0.02 /* of the ink's contrast */
#define NOISE_FLOOR_MAX 0.5

/* Weighted sum over the source cells [a, b) of one axis: calls back with
 * each source index and its share of the destination cell. */
typedef struct span {
    int first, last; /* source indices, inclusive */
    double a, b, scale;
} span;

static span cell(int d, int src_len, int dst_len)
{
    span s;
    s.a = (double)d * src_len / dst_len;
    s.b = (double)(d + 1) * src_len / dst_len;
    s.first = (int)floor(s.a);
    s.last = (int)ceil(s.b) - 1;
    if (s.last >= src_len)
        s.last = src_len - 1;
    s.scale = 1.0 / (s.b - s.a);
    return s;
}

static double weight(const span *s, int i)
{
    double lo = s->a > i ? s->a : i;
    double hi = s->b < i + 1 ? s->b : i + 1;
    return hi > lo ? (hi - lo) * s->scale : 0.0;
}

rt_status rt_image_to_mnist(const rt_image *img, float out[784], int *inverted, rt_error *err)
{
    if (inverted)
        *inverted = 0;
    if (!img || !img->pixels || img->width < 1 || img->height < 1 ||
        (unsigned long long)img->width * (unsigned long long)img->height > RT_IMAGE_MAX_PIXELS)
        return rt_error_set(err, RT_ERR_USAGE, "preprocessing: not a valid image");
    const int W = img->width, H = img->height;
    const uint8_t *px = img->pixels;

    /* 1. the background: the median of the border */
    size_t hist[256] = {0}, n = 0;
    for (int x = 0; x < W; x++) {
        hist[px[x]]++, n++;
        if (H > 1)
            hist[px[(size_t)(H - 1) * W + x]]++, n++;
    }
    for (int y = 1; y < H - 1; y++) {
        hist[px[(size_t)y * W]]++, n++;
        if (W > 1)
            hist[px[(size_t)y * W + W - 1]]++, n++;
    }
    int median = 0;
    for (size_t cum = 0; median < 256; median++) {
        cum += hist[median];
        if (2 * cum >= n)
            break;
    }
    int inv = median > 127;
    int bg = inv ? 255 - median : median;
    int peak = 0;
    size_t total = (size_t)W * H;
    for (size_t i = 0; i < total; i++) {
        int v = inv ? 255 - px[i] : px[i];
        if (v > peak)
            peak = v;
    }
    if (peak - bg < MIN_CONTRAST)
        return rt_error_set(err, RT_ERR_FORMAT,
                            "no ink in the image: nothing stands out from its %s background "
                            "(contrast %d of 255, at least %d needed)",
                            inv ? "light" : "dark", peak - bg, MIN_CONTRAST);

    /* 2. stretch: background 0, brightest ink 1; below the noise floor 0.
     * The floor is twice the border's spread around its median (its 90th
     * percentile deviation), at least 2% of the contrast: clean pictures
     * keep their faint anti-aliased edges, noisy photos lose their grain. */
    size_t dev[256] = {0};
    for (int v = 0; v < 256; v++)
        dev[v > median ? v - median : median - v] += hist[v];
    int spread = 0;
    for (size_t cum = 0; spread < 255; spread++) {
        cum += dev[spread];
        if (10 * cum >= 9 * n)
            break;
    }
    double floor_level = 2.0 * spread / (peak - bg);
    floor_level = floor_level < NOISE_FLOOR_MIN ? NOISE_FLOOR_MIN
                  : floor_level > NOISE_FLOOR_MAX ? NOISE_FLOOR_MAX
                                                  : floor_level;
    float lut[256];
    for (int v = 0; v < 256; v++) {
        int x = inv ? 255 - v : v;
        double t = (double)(x - bg) / (peak - bg);
        lut[v] = t < floor_level ? 0.0f : (float)(t > 1.0 ? 1.0 : t);
    }

    /* 3. the ink's bounding box */
    int x0 = W, x1 = -1, y0 = H, y1 = -1;
    for (int y = 0; y < H; y++) {
        const uint8_t *row = px + (size_t)y * W;
        for (int x = 0; x < W; x++)
            if (lut[row[x]] > 0.0f) {
                if (x < x0)
                    x0 = x;
                if (x > x1)
                    x1 = x;
                if (y < y0)
                    y0 = y;
                y1 = y;
            }
    }
    const int cw = x1 - x0 + 1, ch = y1 - y0 + 1;

    /* 4. area-average into nw x nh, the longer side BOX */
    int longer = cw > ch ? cw : ch;
    int nw = (int)lround((double)cw * BOX / longer), nh = (int)lround((double)ch * BOX / longer);
    if (nw < 1)
        nw = 1;
    if (nh < 1)
        nh = 1;
    double scaled[BOX * BOX] = {0};
    /* one axis at a time, the smaller intermediate first */
    int rows_first = (size_t)nw * ch <= (size_t)cw * nh;
    size_t tmp_n = rows_first ? (size_t)nw * ch : (size_t)cw * nh;
    double *tmp = calloc(tmp_n, sizeof *tmp);
    if (!tmp)
        return rt_error_set(err, RT_ERR_NOMEM, "preprocessing: out of memory");
    if (rows_first) {
        for (int y = 0; y < ch; y++) {
            const uint8_t *row = px + (size_t)(y0 + y) * W + x0;
            for (int dx = 0; dx < nw; dx++) {
                span s = cell(dx, cw, nw);
                double acc = 0.0;
                for (int sx = s.first; sx <= s.last; sx++)
                    acc += weight(&s, sx) * lut[row[sx]];
                tmp[(size_t)y * nw + dx] = acc;
            }
        }
        for (int dy = 0; dy < nh; dy++) {
            span s = cell(dy, ch, nh);
            for (int sy = s.first; sy <= s.last; sy++) {
                double w = weight(&s, sy);
                for (int dx = 0; dx < nw; dx++)
                    scaled[dy * BOX + dx] += w * tmp[(size_t)sy * nw + dx];
            }
        }
    } else {
        for (int dy = 0; dy < nh; dy++) {
            span s = cell(dy, ch, nh);
            for (int sy = s.first; sy <= s.last; sy++) {
                double w = weight(&s, sy);
                const uint8_t *row = px + (size_t)(y0 + sy) * W + x0;
                for (int sx = 0; sx < cw; sx++)
                    tmp[(size_t)dy * cw + sx] += w * lut[row[sx]];
            }
        }
        for (int dy = 0; dy < nh; dy++)
            for (int dx = 0; dx < nw; dx++) {
                span s = cell(dx, cw, nw);
                double acc = 0.0;
                for (int sx = s.first; sx <= s.last; sx++)
                    acc += weight(&s, sx) * tmp[(size_t)dy * cw + sx];
                scaled[dy * BOX + dx] = acc;
            }
    }
    free(tmp);

    /* 6 (before 5, so the centre of mass is the one of the final bytes) */
    uint8_t q[BOX * BOX] = {0};
    double mass = 0.0, mx = 0.0, my = 0.0;
    for (int y = 0; y < nh; y++)
        for (int x = 0; x < nw; x++) {
            long v = lround(scaled[y * BOX + x] * 255.0);
            v = v < 0 ? 0 : v > 255 ? 255 : v;
            q[y * BOX + x] = (uint8_t)v;
            mass += (double)v;
            mx += (double)v * x;
            my += (double)v * y;
        }
    if (mass <= 0.0)
        return rt_error_set(err, RT_ERR_FORMAT,
                            "no ink in the image after scaling it to %dx%d (strokes too thin)",
                            nw, nh);

    /* 5. centre of mass to (14, 14) in pixel indices, by a whole-pixel
     * shift: where MNIST's digits have theirs (within half a pixel) */
    const double centre = FRAME / 2.0;
    int ox = (int)floor(centre - mx / mass + 0.5), oy = (int)floor(centre - my / mass + 0.5);
    ox = ox < 0 ? 0 : ox > FRAME - nw ? FRAME - nw : ox;
    oy = oy < 0 ? 0 : oy > FRAME - nh ? FRAME - nh : oy;
    for (int i = 0; i < FRAME * FRAME; i++)
        out[i] = 0.0f;
    for (int y = 0; y < nh; y++)
        for (int x = 0; x < nw; x++)
            out[(oy + y) * FRAME + ox + x] = (float)q[y * BOX + x] / 255.0f;
    if (inverted)
        *inverted = inv;
    return RT_OK;
}

void rt_image_fit_input(const float in[784], int channels, int height, int width, float *out)
{
    /* bilinear, sampling at pixel centres (PyTorch's interpolate with
     * align_corners=False); 28x28 itself is copied unchanged */
    for (int y = 0; y < height; y++) {
        double sy = (y + 0.5) * FRAME / height - 0.5;
        sy = sy < 0 ? 0 : sy;
        int y0 = (int)sy, y1 = y0 + 1 < FRAME ? y0 + 1 : y0;
        double fy = sy - y0;
        for (int x = 0; x < width; x++) {
            double sx = (x + 0.5) * FRAME / width - 0.5;
            sx = sx < 0 ? 0 : sx;
            int x0 = (int)sx, x1 = x0 + 1 < FRAME ? x0 + 1 : x0;
            double fx = sx - x0;
            double v = (1 - fy) * ((1 - fx) * in[y0 * FRAME + x0] + fx * in[y0 * FRAME + x1]) +
                       fy * ((1 - fx) * in[y1 * FRAME + x0] + fx * in[y1 * FRAME + x1]);
            for (int c = 0; c < channels; c++)
                out[((size_t)c * height + y) * width + x] = (float)v;
        }
    }
}
