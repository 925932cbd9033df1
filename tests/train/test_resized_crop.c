/* RandomResizedCrop in the batch load (the CPU backend): the boxes follow
 * torchvision's algorithm (inside the image, the area share and aspect
 * ratio within their bounds, spread over the whole range; the centred
 * fallback for an image too elongated for any box), and the resize against
 * a naive double-precision bilinear interpolation with aligned pixel
 * centres (F.interpolate's align_corners=False), rounded to bytes: at most
 * one byte apart (the draws use 16-bit fixed-point weights), mostly none.
 * A full box of an image already the output's size returns it unchanged. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "resnet/augment.h"
#include "resnet/device.h"
#include "test_support.h"

enum { N = 32, C = 3, SH = 13, SW = 11, OH = 9, OW = 7 };

/* The byte a naive bilinear resize of box b puts at (r, q). */
static int naive_byte(const uint8_t *plane, rt_augment_box b, int r, int q)
{
    int col = b.flip ? OW - 1 - q : q;
    double sy = ((double)r + 0.5) * b.h / OH - 0.5, sx = ((double)col + 0.5) * b.w / OW - 0.5;
    sy = sy < 0 ? 0 : sy;
    sx = sx < 0 ? 0 : sx;
    int y0 = (int)sy, x0 = (int)sx;
    y0 = y0 > b.h - 1 ? b.h - 1 : y0;
    x0 = x0 > b.w - 1 ? b.w - 1 : x0;
    int y1 = y0 + 1 < b.h ? y0 + 1 : b.h - 1, x1 = x0 + 1 < b.w ? x0 + 1 : b.w - 1;
    double fy = sy - y0, fx = sx - x0;
#define P(y, x) ((double)plane[(b.top + (y)) * SW + b.left + (x)])
    double v = (P(y0, x0) * (1 - fx) + P(y0, x1) * fx) * (1 - fy) +
               (P(y1, x0) * (1 - fx) + P(y1, x1) * fx) * fy;
#undef P
    return (int)floor(v + 0.5);
}

static void test_boxes(void)
{
    rt_batch_transform tf;
    memset(&tf, 0, sizeof tf);
    tf.channels = 3, tf.height = 224, tf.width = 224, tf.flip = 1, tf.seed = 9;
    rt_error err;
    CHECK(rt_batch_transform_resized_crop(&tf, 400, 360, 0.08f, 1.0f, &err) == RT_OK);
    double lo_share = 1, hi_share = 0, lo_ratio = 9, hi_ratio = 0;
    int top0 = 0, left0 = 0, bottom = 0, right = 0, flips = 0, wide = 0, placed = 0;
    double where_y = 0, where_x = 0; /* the box's place in its free room, 0..1 */
    enum { DRAWS = 20000 };
    for (int k = 0; k < DRAWS; k++) {
        rt_augment_box b = rt_augment_resized_box(&tf, k / 64, k % 64);
        CHECK(b.h >= 1 && b.w >= 1 && b.top >= 0 && b.left >= 0 && b.top + b.h <= 400 &&
              b.left + b.w <= 360);
        double share = (double)b.h * b.w / (400.0 * 360.0), ratio = (double)b.w / b.h;
        /* w and h are rounded (at least 90 pixels here): 1.2% either way */
        CHECKF(share > 0.08 * 0.975 && share <= 1.0, "box %dx%d: area share %g", b.w, b.h, share);
        CHECKF(ratio > 0.75 / 1.012 && ratio < 4.0 / 3.0 * 1.012, "box %dx%d: ratio %g", b.w,
               b.h, ratio);
        lo_share = share < lo_share ? share : lo_share;
        hi_share = share > hi_share ? share : hi_share;
        lo_ratio = ratio < lo_ratio ? ratio : lo_ratio;
        hi_ratio = ratio > hi_ratio ? ratio : hi_ratio;
        top0 += b.top == 0, left0 += b.left == 0;
        bottom += b.top + b.h == 400, right += b.left + b.w == 360;
        flips += b.flip, wide += b.w > b.h;
        if (b.h < 300 && b.w < 270) {
            where_y += (double)b.top / (400 - b.h), where_x += (double)b.left / (360 - b.w);
            placed++;
        }
    }
    /* uniform offsets: the mean place 1/2, give or take 5 sd of 0.29/sqrt(n) */
    where_y /= placed, where_x /= placed;
    CHECKF(fabs(where_y - 0.5) < 1.5 / sqrt(placed) && fabs(where_x - 0.5) < 1.5 / sqrt(placed),
           "boxes placed at %g, %g of their room on average (%d boxes), not 0.5", where_y,
           where_x, placed);
    CHECKF(lo_share < 0.085 && hi_share > 0.95, "area shares only %g..%g", lo_share, hi_share);
    CHECKF(lo_ratio < 0.76 && hi_ratio > 1.31, "ratios only %g..%g", lo_ratio, hi_ratio);
    CHECKF(top0 > 0 && left0 > 0 && bottom > 0 && right > 0,
           "boxes never touch an edge (%d %d %d %d)", top0, left0, bottom, right);
    CHECKF(abs(flips - DRAWS / 2) < 5 * 71, "%d flips in %d draws", flips, DRAWS);
    /* log-uniform ratios; a wide box is rejected a little more often in a
     * taller-than-wide image, so somewhat under half are wide */
    CHECKF(wide > DRAWS * 35 / 100 && wide < DRAWS * 55 / 100, "%d of %d boxes wider than tall",
           wide, DRAWS);

    /* a 40 x 4 strip: no box of ratio <= 4/3 and share >= 0.9 fits; the
     * fallback is the full height, width round(4 * 4/3) = 5, centred */
    CHECK(rt_batch_transform_resized_crop(&tf, 4, 40, 0.9f, 1.0f, &err) == RT_OK);
    for (int k = 0; k < 50; k++) {
        rt_augment_box b = rt_augment_resized_box(&tf, 3, k);
        CHECKF(b.h == 4 && b.w == 5 && b.top == 0 && b.left == 17, "fallback box %dx%d at %d,%d",
               b.w, b.h, b.left, b.top);
    }
    /* bad bounds */
    CHECK(rt_batch_transform_resized_crop(&tf, 4, 40, 0.0f, 1.0f, &err) == RT_ERR_USAGE);
    CHECK(rt_batch_transform_resized_crop(&tf, 4, 40, 0.5f, 0.4f, &err) == RT_ERR_USAGE);
    CHECK(rt_batch_transform_resized_crop(&tf, 4, 40, 0.5f, 1.5f, &err) == RT_ERR_USAGE);
    CHECK(rt_batch_transform_resized_crop(&tf, 0, 40, 0.5f, 1.0f, &err) == RT_ERR_USAGE);
}

static void test_load(rt_device *dev)
{
    const int stored = C * SH * SW, pixels = C * OH * OW;
    uint8_t *images = malloc((size_t)N * stored), labels[N];
    rt_rng rng;
    rt_rng_seed(&rng, 11);
    for (int i = 0; i < N * stored; i++)
        images[i] = (uint8_t)rt_rng_below(&rng, 256);
    for (int i = 0; i < N; i++)
        labels[i] = (uint8_t)(3 * i);
    int32_t order[N];
    for (int i = 0; i < N; i++)
        order[i] = (i * 7) % N;
    rt_batch_transform tf;
    memset(&tf, 0, sizeof tf);
    tf.channels = C, tf.height = OH, tf.width = OW, tf.flip = 1, tf.seed = 5;
    rt_error err;
    CHECK(rt_batch_transform_resized_crop(&tf, SH, SW, 0.08f, 1.0f, &err) == RT_OK);
    float *x = malloc((size_t)N * pixels * sizeof *x), *again = malloc((size_t)N * pixels * sizeof *x);
    int32_t y[N];
    rt_step_state s;
    memset(&s, 0, sizeof s);
    s.steps = 17;
    CHECK(rt_op_load_batch_transformed(dev, images, labels, order, N, &tf, &s, x, y) == RT_OK);
    int far = 0, off = 0;
    for (int i = 0; i < N; i++) {
        CHECK(y[i] == 3 * order[i]);
        rt_augment_box b = rt_augment_resized_box(&tf, s.steps, i);
        for (int c = 0; c < C; c++)
            for (int r = 0; r < OH; r++)
                for (int q = 0; q < OW; q++) {
                    const uint8_t *plane = images + (size_t)order[i] * stored + (size_t)c * SH * SW;
                    int want = naive_byte(plane, b, r, q);
                    float got = x[(size_t)i * pixels + (size_t)(c * OH + r) * OW + q] * 255.0f;
                    int d = abs((int)lrintf(got) - want);
                    far += d > 1;
                    off += d != 0;
                }
    }
    CHECKF(far == 0, "%d values more than one byte from a naive bilinear resize", far);
    CHECKF(off < N * pixels / 20, "%d of %d values a byte off the naive resize", off, N * pixels);
    /* the same step again: the same batch; the next: other boxes */
    CHECK(rt_op_load_batch_transformed(dev, images, labels, order, N, &tf, &s, again, y) == RT_OK);
    CHECK(memcmp(x, again, (size_t)N * pixels * sizeof *x) == 0);
    s.steps = 18;
    CHECK(rt_op_load_batch_transformed(dev, images, labels, order, N, &tf, &s, again, y) == RT_OK);
    CHECK(memcmp(x, again, (size_t)N * pixels * sizeof *x) != 0);

    /* the whole of a square image of the output's size: the image itself
     * (a box of a non-square one may round a side short by one) */
    rt_batch_transform full;
    memset(&full, 0, sizeof full);
    full.channels = C, full.height = SW, full.width = SW, full.seed = 5;
    CHECK(rt_batch_transform_resized_crop(&full, SW, SW, 1.0f, 1.0f, &err) == RT_OK);
    float *whole = malloc((size_t)N * stored * sizeof *whole);
    CHECK(rt_op_load_batch_transformed(dev, images, labels, NULL, N, &full, &s, whole, y) == RT_OK);
    int changed = 0;
    for (int i = 0; i < N * C * SW * SW; i++)
        changed += whole[i] != (float)images[i] / 255.0f;
    CHECKF(changed == 0, "a full-image box changed %d values", changed);
    /* the device layer refuses a resized crop with padding */
    full.crop_pad = 2;
    CHECK(rt_op_load_batch_transformed(dev, images, labels, NULL, N, &full, &s, whole, y) ==
          RT_ERR_USAGE);
    free(images), free(x), free(again), free(whole);
}

int main(void)
{
    rt_device *dev;
    rt_error err;
    rt_device_config dc;
    rt_device_config_default(&dc);
    if (rt_device_open("cpu", &dc, &dev, &err) != RT_OK)
        return 1;
    test_boxes();
    test_load(dev);
    rt_device_close(dev);
    return rt_test_finish("random resized crop");
}
