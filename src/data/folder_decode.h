/* The per-image work of the image-folder loader (decoding, torchvision's
 * resize and centre crop, the planar copy) and the worker threads that do
 * it. Private to the data module. */
#ifndef RT_DATA_FOLDER_DECODE_H
#define RT_DATA_FOLDER_DECODE_H

#include <stddef.h>
#include <stdint.h>

#include "resnet/error.h"

/* What every stored image looks like. */
typedef struct rt_folder_geometry {
    int channels;   /* 3 (RGB) or 1 (L) */
    int rows, cols; /* of a stored image */
    int crop;       /* 0: stored as decoded (every image is rows x cols);
                       S: transforms.Resize(resize) then CenterCrop(S) */
    int resize;     /* the shorter side's size before the crop (S * 256 / 224, or the
                       training images' R = that with train_room) */
} rt_folder_geometry;

/* torchvision's arithmetic for Resize(size) of a w x h image (the shorter
 * side to size, the longer int(size * long / short)) then CenterCrop(crop):
 * the resized size and the crop's corner (round((rw - crop) / 2.0), Python's
 * round: halves to even). Fails when the resized side would pass 2^31 - 1. */
rt_status rt_folder_resize_plan(int w, int h, int size, int crop, int64_t *rw, int64_t *rh,
                                int *left, int *top, rt_error *err);

/* Decodes path (rt_image_decode) and stores it planar in slot (channels x
 * rows x cols bytes) as g says; *transformed = 1 when the stored pixels
 * are not the decoded ones as they are (resized and/or cropped). */
rt_status rt_folder_decode_into(const char *path, const rt_folder_geometry *g, uint8_t *slot,
                                int *transformed, rt_error *err);

/* Runs fn(ctx, i) for every i in [0, n) on up to threads threads (the
 * caller's one among them), handing out the indices in increasing order.
 * fn returns 0 on success. With stop_on_failure no index is handed out
 * after one has failed, so every index below the lowest failing one has
 * run: that failure is the same whatever the number of threads. Threads
 * that cannot be started are done without. */
void rt_folder_parallel(size_t n, int threads, int (*fn)(void *ctx, size_t i), void *ctx,
                        int stop_on_failure);

#endif
