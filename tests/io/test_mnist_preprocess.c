/* The preprocessing against MNIST itself: a test digit blown up 4x
 * (nearest neighbour) and placed anywhere on a larger canvas, black on
 * white or white on black, must come back close to the original 28x28
 * (MNIST digits are already size-normalised and centred by mass, so a
 * faithful re-preprocessing nearly reproduces them). Skipped without the
 * MNIST files ($RESNET_TRAIN_DATA). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io_test_util.h"
#include "resnet/data.h"
#include "resnet/image.h"

#define SAMPLES 500
#define UP 4
#define CANVAS 200

static int find_images(const char *dir, char *path, size_t size)
{
    static const char *const names[] = {
        "t10k-images-idx3-ubyte", "t10k-images-idx3-ubyte.gz",
        "MNIST/raw/t10k-images-idx3-ubyte", "MNIST/raw/t10k-images-idx3-ubyte.gz"};
    for (int i = 0; i < 4; i++) {
        snprintf(path, size, "%s/%s", dir, names[i]);
        if (access(path, R_OK) == 0)
            return 1;
    }
    return 0;
}

int main(void)
{
    const char *dir = rt_test_mnist_dir();
    if (!dir)
        return rt_test_skip("RESNET_TRAIN_DATA is not set");
    char path[1024];
    if (!find_images(dir, path, sizeof path))
        return rt_test_skip("no t10k-images-idx3-ubyte in RESNET_TRAIN_DATA");
    rt_idx idx;
    rt_error err = {0};
    if (rt_idx_read(path, RT_IDX_MAGIC_IMAGES, &idx, &err) != RT_OK) {
        CHECKF(0, "%s", err.message);
        return rt_test_finish("test_mnist_preprocess");
    }
    CHECK(idx.dims[1] == 28 && idx.dims[2] == 28 && idx.dims[0] >= SAMPLES);

    rt_image light = {CANVAS, CANVAS, malloc(CANVAS * CANVAS)};
    rt_image dark = {CANVAS, CANVAS, malloc(CANVAS * CANVAS)};
    double sum_nmse = 0, worst = 0;
    int close = 0;
    for (int n = 0; n < SAMPLES; n++) {
        const uint8_t *src = idx.data + (size_t)n * 784;
        memset(light.pixels, 0, CANVAS * CANVAS);
        int ox = 3 + (n * 37) % (CANVAS - 28 * UP - 6), oy = 3 + (n * 53) % (CANVAS - 28 * UP - 6);
        for (int y = 0; y < 28 * UP; y++)
            for (int x = 0; x < 28 * UP; x++)
                light.pixels[(oy + y) * CANVAS + ox + x] = src[(y / UP) * 28 + x / UP];
        for (int i = 0; i < CANVAS * CANVAS; i++)
            dark.pixels[i] = (uint8_t)(255 - light.pixels[i]);
        float a[784], b[784], ref[784];
        int inv_a = -1, inv_b = -1;
        rt_status sa = rt_image_to_mnist(&light, a, &inv_a, &err);
        CHECKF(sa == RT_OK, "image %d: %s", n, err.message);
        rt_status sb = rt_image_to_mnist(&dark, b, &inv_b, &err);
        CHECKF(sb == RT_OK, "image %d inverted: %s", n, err.message);
        if (sa != RT_OK || sb != RT_OK)
            continue;
        CHECKF(inv_a == 0 && inv_b == 1, "image %d: inverted %d/%d", n, inv_a, inv_b);
        CHECKF(memcmp(a, b, sizeof a) == 0, "image %d: inverted input gives another result", n);
        for (int i = 0; i < 784; i++)
            ref[i] = src[i] / 255.0f;
        double e = rt_test_nmse(ref, a, 784);
        sum_nmse += e;
        worst = e > worst ? e : worst;
        close += e < 0.1;
    }
    double mean = sum_nmse / SAMPLES;
    printf("re-preprocessed MNIST: mean nmse %.4f, worst %.4f, %d of %d under 0.1\n", mean, worst,
           close, SAMPLES);
    CHECKF(mean < 0.01, "mean nmse %g", mean);
    CHECKF(close >= SAMPLES * 98 / 100, "%d of %d close", close, SAMPLES);
    free(light.pixels);
    free(dark.pixels);
    rt_idx_free(&idx);
    return rt_test_finish("test_mnist_preprocess");
}
