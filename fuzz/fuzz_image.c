/* The image readers (PNG through libpng, PGM) and the MNIST-style
 * preprocessing: rt_image_read on the input as a file, then
 * rt_image_to_mnist on what it read. */
#include "fuzz_common.h"
#include "resnet/image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_file(data, size);
    rt_image img;
    rt_error err;
    rt_error_clear(&err);
    rt_status st = rt_image_read(path, &img, &err);
    fuzz_check_error(st, &err);
    if (st != RT_OK) {
        if (img.pixels || img.width || img.height)
            abort();
        return 0;
    }
    if (img.width < 1 || img.height < 1 || !img.pixels ||
        (uint64_t)img.width * (uint64_t)img.height > RT_IMAGE_MAX_PIXELS)
        abort();
    float out[784];
    int inverted = -1;
    rt_error_clear(&err);
    st = rt_image_to_mnist(&img, out, &inverted, &err);
    fuzz_check_error(st, &err);
    if (st == RT_OK) {
        if (inverted != 0 && inverted != 1)
            abort();
        for (int i = 0; i < 784; i++)
            if (!(out[i] >= 0.0f && out[i] <= 1.0f))
                abort();
    }
    rt_image_free(&img);
    return 0;
}
