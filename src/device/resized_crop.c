/* The fixed-point bounds of RandomResizedCrop (include/resnet/augment.h):
 * computed once on the host, so the devices share them exactly. */
#include <math.h>

#include "resnet/augment.h"

rt_status rt_batch_transform_resized_crop(rt_batch_transform *tf, int src_height, int src_width,
                                          float scale_lo, float scale_hi, rt_error *err)
{
    if (!(scale_lo > 0.0f && scale_lo <= scale_hi && scale_hi <= 1.0f))
        return rt_error_set(err, RT_ERR_USAGE,
                            "random resized crop: the area share %g..%g is not within 0 < low "
                            "<= high <= 1",
                            (double)scale_lo, (double)scale_hi);
    if (src_height < 1 || src_width < 1 || src_height > RT_MAX_IMAGE_SIDE ||
        src_width > RT_MAX_IMAGE_SIDE)
        return rt_error_set(err, RT_ERR_USAGE, "random resized crop: %dx%d stored images",
                            src_height, src_width);
    tf->resized_crop = 1;
    tf->crop_pad = 0;
    tf->src_height = src_height;
    tf->src_width = src_width;
    tf->scale_q[0] = (uint32_t)lround((double)scale_lo * 16777216.0);
    tf->scale_q[1] = (uint32_t)lround((double)scale_hi * 16777216.0);
    if (tf->scale_q[0] == 0)
        tf->scale_q[0] = 1;
    const double lo = log(3.0 / 4.0), hi = log(4.0 / 3.0);
    for (int k = 0; k < RT_RESIZED_CROP_KNOTS; k++)
        tf->ratio_q[k] = (uint32_t)lround(
            exp(lo + (hi - lo) * (double)k / (double)(RT_RESIZED_CROP_KNOTS - 1)) * 65536.0);
    return RT_OK;
}
