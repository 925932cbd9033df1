/* PIL's bilinear resampling (libImaging/Resample.c: precompute_coeffs,
 * normalize_coeffs_8bpc, ImagingResampleHorizontal/Vertical_8bpc,
 * ImagingResampleInner), which is what torchvision's Resize does to a PIL
 * image whatever its antialias argument: the triangle filter with its
 * support scaled by in/out when shrinking, weights normalised to sum 1 and
 * rounded to 22-bit fixed point, one pass across and one down with the
 * first one's result rounded to 8 bits in between; as Pillow 13.0, the
 * vertical pass first when the height loses more than twice as many
 * pixels as the width, else the horizontal one (older Pillows always go
 * across first: up to 1 level apart). The same double arithmetic in the
 * same order gives the same bytes. Only the requested window is
 * computed: every output pixel depends on its own coefficients alone, so a
 * window of the resized image is the crop of the whole one. */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "resnet/image.h"

#define PRECISION_BITS (32 - 8 - 2)

typedef struct axis {
    int ksize;
    int *first;  /* per output index: the first input index used */
    int *count;  /* and how many */
    int32_t *k;  /* ksize fixed-point weights per output index */
} axis;

static void axis_free(axis *a)
{
    free(a->first);
    free(a->count);
    free(a->k);
    memset(a, 0, sizeof *a);
}

static double bilinear(double x)
{
    if (x < 0.0)
        x = -x;
    return x < 1.0 ? 1.0 - x : 0.0;
}

/* precompute_coeffs + normalize_coeffs_8bpc for the output indices
 * [from, from + n) of a resize of in_size to out_size. */
static int axis_init(axis *a, int in_size, int64_t out_size, int from, int n)
{
    memset(a, 0, sizeof *a);
    float in0 = 0.0f, in1 = (float)in_size; /* PIL's box, in floats */
    double scale = (double)(in1 - in0) / (double)out_size, filterscale = scale;
    if (filterscale < 1.0)
        filterscale = 1.0;
    double support = 1.0 * filterscale;
    double ksize_d = ceil(support) * 2 + 1;
    if (ksize_d > (double)(INT_MAX / 8) || ksize_d * n > (double)(SIZE_MAX / 16))
        return -1;
    int ksize = (int)ksize_d;
    a->ksize = ksize;
    a->first = malloc((size_t)n * sizeof *a->first);
    a->count = malloc((size_t)n * sizeof *a->count);
    a->k = malloc((size_t)n * (size_t)ksize * sizeof *a->k);
    double *w = malloc((size_t)ksize * sizeof *w);
    if (!a->first || !a->count || !a->k || !w) {
        free(w);
        axis_free(a);
        return -1;
    }
    for (int i = 0; i < n; i++) {
        int64_t xx = (int64_t)from + i;
        double center = in0 + ((double)xx + 0.5) * scale;
        double ww = 0.0, ss = 1.0 / filterscale;
        int xmin = (int)(center - support + 0.5);
        if (xmin < 0)
            xmin = 0;
        int xmax = (int)(center + support + 0.5);
        if (xmax > in_size)
            xmax = in_size;
        xmax -= xmin;
        if (xmax > ksize) /* cannot happen: 2 * support + 1 <= ksize */
            xmax = ksize;
        for (int x = 0; x < xmax; x++) {
            w[x] = bilinear((x + xmin - center + 0.5) * ss);
            ww += w[x];
        }
        int32_t *k = a->k + (size_t)i * (size_t)ksize;
        for (int x = 0; x < ksize; x++) {
            double v = x < xmax ? (ww != 0.0 ? w[x] / ww : w[x]) : 0.0;
            k[x] = v < 0 ? (int32_t)(-0.5 + v * (1 << PRECISION_BITS))
                         : (int32_t)(0.5 + v * (1 << PRECISION_BITS));
        }
        a->first[i] = xmin;
        a->count[i] = xmax < 0 ? 0 : xmax;
    }
    free(w);
    return 0;
}

static uint8_t clip8(int32_t ss)
{
    int32_t v = ss >> PRECISION_BITS; /* arithmetic shift, as PIL's lookup index */
    return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
}

/* The horizontal pass over rows of src whose first column is input column
 * col0 (ax NULL: the window's columns as they are): out_w pixels a row. */
static void hpass(const uint8_t *src, size_t src_row, int col0, size_t rows, const axis *ax,
                  int left, int out_w, int c, uint8_t *dst)
{
    const size_t px = (size_t)c, dst_row = (size_t)out_w * px;
    for (size_t r = 0; r < rows; r++) {
        const uint8_t *s = src + r * src_row;
        uint8_t *d = dst + r * dst_row;
        if (!ax) {
            memcpy(d, s + (size_t)(left - col0) * px, dst_row);
            continue;
        }
        for (int i = 0; i < out_w; i++) {
            const int32_t *k = ax->k + (size_t)i * (size_t)ax->ksize;
            const uint8_t *b = s + (size_t)(ax->first[i] - col0) * px;
            for (int ch = 0; ch < c; ch++) {
                int32_t ss = 1 << (PRECISION_BITS - 1);
                for (int x = 0; x < ax->count[i]; x++)
                    ss += b[(size_t)x * px + (size_t)ch] * k[x];
                d[(size_t)i * px + (size_t)ch] = clip8(ss);
            }
        }
    }
}

/* The vertical pass over src, whose first row is input row row0 (ay NULL:
 * the window's rows as they are): out_h rows of row bytes. */
static void vpass(const uint8_t *src, size_t row, int row0, const axis *ay, int top, int out_h,
                  uint8_t *dst)
{
    for (int j = 0; j < out_h; j++) {
        uint8_t *d = dst + (size_t)j * row;
        if (!ay) {
            memcpy(d, src + (size_t)(top + j - row0) * row, row);
            continue;
        }
        const int32_t *k = ay->k + (size_t)j * (size_t)ay->ksize;
        const uint8_t *base = src + (size_t)(ay->first[j] - row0) * row;
        for (size_t e = 0; e < row; e++) {
            int32_t ss = 1 << (PRECISION_BITS - 1);
            for (int y = 0; y < ay->count[j]; y++)
                ss += base[(size_t)y * row + e] * k[y];
            d[e] = clip8(ss);
        }
    }
}

/* The input indices [*lo, *hi) that output indices [from, from + n) read. */
static void span(const axis *a, int from, int n, int *lo, int *hi)
{
    if (!a->first) {
        *lo = from;
        *hi = from + n;
        return;
    }
    *lo = a->first[0];
    *hi = a->first[0] + a->count[0];
    for (int i = 1; i < n; i++) {
        if (a->first[i] < *lo)
            *lo = a->first[i];
        if (a->first[i] + a->count[i] > *hi)
            *hi = a->first[i] + a->count[i];
    }
}

rt_status rt_pixels_resize_crop(const rt_pixels *in, int64_t rw, int64_t rh, int left, int top,
                                int out_w, int out_h, rt_pixels *out, rt_error *err)
{
    memset(out, 0, sizeof *out);
    const int c = in->channels, w = in->width, h = in->height;
    if (!in->data || w < 1 || h < 1 || c < 1 || c > 4 || rw < 1 || rh < 1 || rw > INT_MAX ||
        rh > INT_MAX || out_w < 1 || out_h < 1 || left < 0 || top < 0 ||
        left + (int64_t)out_w > rw || top + (int64_t)out_h > rh)
        return rt_error_set(err, RT_ERR_USAGE,
                            "resize: bad window %dx%d at (%d, %d) of %lldx%lld from %dx%d", out_w,
                            out_h, left, top, (long long)rw, (long long)rh, w, h);
    const int need_h = rw != w, need_v = rh != h;
    /* Pillow 13's ImagingResampleInner: the vertical pass first when the
     * height shrinks by more than twice as many pixels as the width (the
     * order changes the rounding between the passes) */
    const int v_first = h - rh > 0 && h - rh > 2 * ((int64_t)w - rw);
    const size_t px = (size_t)c, row_in = (size_t)w * px, row_out = (size_t)out_w * px;
    axis ax = {0}, ay = {0};
    uint8_t *tmp = NULL;
    int lo, hi;
    out->data = malloc((size_t)out_h * row_out);
    int ok = out->data && (!need_h || axis_init(&ax, w, rw, left, out_w) == 0) &&
             (!need_v || axis_init(&ay, h, rh, top, out_h) == 0);
    if (ok && !v_first) { /* the rows the vertical pass reads, resampled across */
        span(&ay, top, out_h, &lo, &hi);
        tmp = malloc((size_t)(hi - lo) * row_out);
        if ((ok = tmp != NULL) != 0) {
            hpass(in->data + (size_t)lo * row_in, row_in, 0, (size_t)(hi - lo),
                  need_h ? &ax : NULL, left, out_w, c, tmp);
            vpass(tmp, row_out, lo, need_v ? &ay : NULL, top, out_h, out->data);
        }
    } else if (ok) { /* the columns the horizontal pass reads, resampled down */
        span(&ax, left, out_w, &lo, &hi);
        const size_t row_mid = (size_t)(hi - lo) * px;
        tmp = malloc((size_t)out_h * row_mid);
        uint8_t *cols = malloc((size_t)h * row_mid);
        if ((ok = tmp && cols) != 0) {
            for (int y = 0; y < h; y++) /* the columns [lo, hi) of every row */
                memcpy(cols + (size_t)y * row_mid, in->data + (size_t)y * row_in + (size_t)lo * px,
                       row_mid);
            vpass(cols, row_mid, 0, &ay, top, out_h, tmp);
            hpass(tmp, row_mid, lo, (size_t)out_h, need_h ? &ax : NULL, left, out_w, c,
                  out->data);
        }
        free(cols);
    }
    free(tmp);
    axis_free(&ax);
    axis_free(&ay);
    if (!ok) {
        rt_pixels_free(out);
        return rt_error_set(err, RT_ERR_NOMEM, "resize: out of memory (%dx%d to %lldx%lld)", w,
                            h, (long long)rw, (long long)rh);
    }
    out->width = out_w;
    out->height = out_h;
    out->channels = c;
    return RT_OK;
}
