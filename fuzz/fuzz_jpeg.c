/* The image-folder decoders: rt_image_probe and rt_image_decode (JPEG
 * through libjpeg, PNG to RGB as PIL; the seeds are JPEG files) on the
 * input as a file, then torchvision's Resize + CenterCrop of what decoded
 * (rt_folder_resize_plan, rt_pixels_resize_crop). Invariants: failures
 * leave the outputs zeroed with one line of message; the probe's size is
 * the decoder's; the L decoding is PIL's L of the RGB one. */
#include "folder_decode.h"
#include "fuzz_common.h"
#include "resnet/image.h"

static void check_resize(const rt_pixels *px)
{
    if ((uint64_t)px->width * (uint64_t)px->height > (1u << 20))
        return; /* keep each input fast */
    static const int crops[] = {1, 7, 16};
    for (size_t i = 0; i < sizeof crops / sizeof crops[0]; i++) {
        int s = crops[i];
        int64_t rw, rh;
        int left, top;
        rt_error err;
        rt_error_clear(&err);
        rt_status st = rt_folder_resize_plan(px->width, px->height, s * 256 / 224, s, &rw, &rh,
                                             &left, &top, &err);
        fuzz_check_error(st, &err);
        if (st != RT_OK)
            continue;
        rt_pixels out;
        st = rt_pixels_resize_crop(px, rw, rh, left, top, s, s, &out, &err);
        fuzz_check_error(st, &err);
        if (st == RT_OK) {
            if (out.width != s || out.height != s || out.channels != px->channels || !out.data)
                abort();
        } else if (out.data) {
            abort();
        }
        rt_pixels_free(&out);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_file(data, size);
    int w = -1, h = -1;
    rt_error err;
    rt_error_clear(&err);
    rt_status probed = rt_image_probe(path, &w, &h, &err);
    fuzz_check_error(probed, &err);
    if (probed != RT_OK && (w != 0 || h != 0))
        abort();
    rt_pixels rgb, l;
    rt_error_clear(&err);
    rt_status st = rt_image_decode(path, 3, &rgb, &err);
    fuzz_check_error(st, &err);
    if (st != RT_OK) {
        if (rgb.data || rgb.width || rgb.height)
            abort();
        return 0;
    }
    if (probed != RT_OK || rgb.width != w || rgb.height != h || rgb.channels != 3 || !rgb.data ||
        (uint64_t)w * (uint64_t)h > RT_IMAGE_MAX_PIXELS)
        abort();
    rt_error_clear(&err);
    st = rt_image_decode(path, 1, &l, &err);
    fuzz_check_error(st, &err);
    if (st != RT_OK || l.width != w || l.height != h || l.channels != 1)
        abort();
    for (size_t i = 0; i < (size_t)w * (size_t)h; i++)
        if (l.data[i] != rt_rgb_to_l(rgb.data[3 * i], rgb.data[3 * i + 1], rgb.data[3 * i + 2]))
            abort();
    check_resize(&rgb);
    check_resize(&l);
    rt_pixels_free(&rgb);
    rt_pixels_free(&l);
    return 0;
}
