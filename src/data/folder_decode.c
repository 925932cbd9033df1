/* One image of an image folder: decoded to RGB or L, brought to the data
 * set's size as torchvision's evaluation transform would (Resize then
 * CenterCrop, on the PIL image), and copied planar into its slot. */
#include <limits.h>
#include <string.h>

#include "folder_decode.h"
#include "resnet/image.h"

/* Python's int(round(d / 2.0)) for d >= 0: halves go to the even side. */
static int64_t half_to_even(int64_t d)
{
    int64_t half = d / 2;
    if (d % 2 != 0 && half % 2 != 0)
        half++;
    return half;
}

rt_status rt_folder_resize_plan(int w, int h, int size, int crop, int64_t *rw, int64_t *rh,
                                int *left, int *top, rt_error *err)
{
    /* torchvision's _compute_resized_output_size for an int size */
    int64_t shorter = w <= h ? w : h, longer = w <= h ? h : w;
    int64_t new_long = (int64_t)((double)(size * longer) / (double)shorter);
    *rw = w <= h ? size : new_long;
    *rh = w <= h ? new_long : size;
    if (new_long > INT_MAX)
        return rt_error_set(err, RT_ERR_FORMAT,
                            "a %dx%d image resized to %d on its shorter side would be %lld "
                            "pixels long (too elongated)",
                            w, h, size, (long long)new_long);
    /* center_crop: crop <= size <= new_long, so no padding */
    *left = (int)half_to_even(*rw - crop);
    *top = (int)half_to_even(*rh - crop);
    return RT_OK;
}

static void planar(const rt_pixels *p, uint8_t *slot)
{
    const size_t plane = (size_t)p->width * (size_t)p->height, c = (size_t)p->channels;
    if (c == 1) {
        memcpy(slot, p->data, plane);
        return;
    }
    for (size_t i = 0; i < plane; i++)
        for (size_t ch = 0; ch < c; ch++)
            slot[ch * plane + i] = p->data[i * c + ch];
}

rt_status rt_folder_decode_into(const char *path, const rt_folder_geometry *g, uint8_t *slot,
                                int *transformed, rt_error *err)
{
    *transformed = 0;
    rt_pixels px;
    rt_status st = rt_image_decode(path, g->channels, &px, err);
    if (st != RT_OK)
        return st;
    if (!g->crop) {
        if (px.width != g->cols || px.height != g->rows)
            st = rt_error_set(err, RT_ERR_FORMAT,
                              "%s: decodes to %dx%d pixels, but its header said %dx%d", path,
                              px.width, px.height, g->cols, g->rows);
        else
            planar(&px, slot);
        rt_pixels_free(&px);
        return st;
    }
    int64_t rw, rh;
    int left, top;
    st = rt_folder_resize_plan(px.width, px.height, g->resize, g->crop, &rw, &rh, &left,
                               &top, err);
    if (st != RT_OK) {
        rt_error_prefix(err, "%s", path);
        rt_pixels_free(&px);
        return st;
    }
    rt_pixels out;
    st = rt_pixels_resize_crop(&px, rw, rh, left, top, g->crop, g->crop, &out, err);
    if (st == RT_OK) {
        planar(&out, slot);
        *transformed = !(px.width == g->crop && px.height == g->crop && rw == px.width &&
                         rh == px.height);
        rt_pixels_free(&out);
    } else {
        rt_error_prefix(err, "%s", path);
    }
    rt_pixels_free(&px);
    return st;
}
