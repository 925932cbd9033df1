/* Batch loading through a transform (the CPU backend) against a naive
 * rendering of torchvision's RandomCrop(size, padding=p) (zero bytes
 * around the image, then a crop at the drawn corner), RandomHorizontalFlip
 * (of the crop) and ToTensor then Normalize; the draws are reproducible
 * (the same step gives the same batch), change with the step and the
 * sample, and cover every corner and both flips about evenly. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "resnet/augment.h"
#include "resnet/device.h"
#include "test_support.h"

enum { N = 24, C = 3, H = 9, W = 7, PAD = 3 };

/* One sample as torchvision renders it. */
static void naive(const uint8_t *img, const rt_batch_transform *tf, rt_augment_draw d, float *out)
{
    const int hp = H + 2 * PAD, wp = W + 2 * PAD;
    uint8_t padded[C][H + 2 * PAD][W + 2 * PAD];
    memset(padded, 0, sizeof padded);
    for (int c = 0; c < C; c++)
        for (int r = 0; r < H; r++)
            for (int q = 0; q < W; q++)
                padded[c][r + PAD][q + PAD] = img[(c * H + r) * W + q];
    (void)hp, (void)wp;
    for (int c = 0; c < C; c++)
        for (int r = 0; r < H; r++)
            for (int q = 0; q < W; q++) {
                int src = d.flip ? W - 1 - q : q; /* the flip mirrors the crop */
                float v = (float)padded[c][r + d.dy][src + d.dx] / 255.0f;
                out[(c * H + r) * W + q] = (v - tf->mean[c]) / tf->std[c];
            }
}

int main(void)
{
    rt_device *dev;
    rt_error err;
    rt_device_config dc;
    rt_device_config_default(&dc);
    if (rt_device_open("cpu", &dc, &dev, &err) != RT_OK)
        return 1;
    const int pixels = C * H * W;
    uint8_t *images = malloc((size_t)N * pixels), labels[N];
    rt_rng rng;
    rt_rng_seed(&rng, 5);
    for (int i = 0; i < N * pixels; i++)
        images[i] = (uint8_t)rt_rng_below(&rng, 256);
    for (int i = 0; i < N; i++)
        labels[i] = (uint8_t)i;
    int32_t order[N];
    for (int i = 0; i < N; i++)
        order[i] = N - 1 - i;
    rt_batch_transform tf;
    memset(&tf, 0, sizeof tf);
    tf.channels = C, tf.height = H, tf.width = W, tf.crop_pad = PAD, tf.flip = 1;
    tf.normalize = 1, tf.seed = 77;
    const float mean[C] = {0.49f, 0.48f, 0.45f}, std[C] = {0.25f, 0.24f, 0.26f};
    for (int c = 0; c < C; c++)
        tf.mean[c] = mean[c], tf.std[c] = std[c];
    float *x = malloc((size_t)N * pixels * sizeof *x), *again = malloc((size_t)N * pixels * sizeof *x);
    float *want = malloc((size_t)pixels * sizeof *want);
    int32_t y[N];
    rt_step_state s;
    memset(&s, 0, sizeof s);
    s.cursor = 0;
    s.steps = 41;
    CHECK(rt_op_load_batch_transformed(dev, images, labels, order, N, &tf, &s, x, y) == RT_OK);
    int wrong = 0;
    for (int i = 0; i < N; i++) {
        CHECK(y[i] == N - 1 - i);
        naive(images + (size_t)order[i] * pixels, &tf, rt_augment_sample(&tf, s.steps, i), want);
        wrong += memcmp(want, x + (size_t)i * pixels, (size_t)pixels * sizeof *want) != 0;
    }
    CHECKF(wrong == 0, "%d of %d samples differ from torchvision's crop, flip and Normalize",
           wrong, N);
    /* the same step again: the same batch; the next step: other draws */
    CHECK(rt_op_load_batch_transformed(dev, images, labels, order, N, &tf, &s, again, y) == RT_OK);
    CHECK(memcmp(x, again, (size_t)N * pixels * sizeof *x) == 0);
    s.steps = 42;
    CHECK(rt_op_load_batch_transformed(dev, images, labels, order, N, &tf, &s, again, y) == RT_OK);
    CHECK(memcmp(x, again, (size_t)N * pixels * sizeof *x) != 0);
    /* without augmentation: plain Normalize of every pixel */
    rt_batch_transform plain = tf;
    plain.crop_pad = 0, plain.flip = 0;
    CHECK(rt_op_load_batch_transformed(dev, images, labels, NULL, N, &plain, &s, x, y) == RT_OK);
    int off = 0;
    for (int i = 0; i < N * pixels; i++) {
        int c = (i % pixels) / (H * W);
        off += x[i] != ((float)images[i] / 255.0f - mean[c]) / std[c];
    }
    CHECKF(off == 0, "%d values differ from Normalize without augmentation", off);

    /* the draws: every corner of the 7 x 7 and both flips, about evenly */
    enum { DRAWS = 49000 };
    static int corner[2 * PAD + 1][2 * PAD + 1];
    int flips = 0;
    for (int k = 0; k < DRAWS; k++) {
        rt_augment_draw d = rt_augment_sample(&tf, k / 128, k % 128);
        CHECK(d.dy >= 0 && d.dy <= 2 * PAD && d.dx >= 0 && d.dx <= 2 * PAD);
        corner[d.dy][d.dx]++;
        flips += d.flip;
    }
    int lo = DRAWS, hi = 0;
    for (int a = 0; a <= 2 * PAD; a++)
        for (int b = 0; b <= 2 * PAD; b++)
            lo = corner[a][b] < lo ? corner[a][b] : lo, hi = corner[a][b] > hi ? corner[a][b] : hi;
    /* 1000 expected per corner: 5 standard deviations is about 160 */
    CHECKF(lo > 840 && hi < 1160, "corner counts %d..%d, expected about 1000 each", lo, hi);
    CHECKF(abs(flips - DRAWS / 2) < 560, "%d flips in %d draws", flips, DRAWS);
    free(images), free(x), free(again), free(want);
    rt_device_close(dev);
    return rt_test_finish("augmentation");
}
