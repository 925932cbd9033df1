/* torchvision's ImageFolder: a data set of pictures sorted into one folder
 * per class, DIR/train/<class>/... and DIR/val/<class>/..., decoded,
 * converted and sized the way a torchvision program reading it with
 * datasets.ImageFolder and the evaluation transform sees it, and held in
 * memory as two rt_datasets. docs/image_folder.md has the details. */
#ifndef RESNET_IMAGE_FOLDER_H
#define RESNET_IMAGE_FOLDER_H

#include <stdint.h>

#include "resnet/data.h"
#include "resnet/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Labels are bytes: at most 256 classes. */
#define RT_FOLDER_MAX_CLASSES 256
/* The most the decoded images of both sets may take together. */
#define RT_FOLDER_MAX_BYTES ((uint64_t)16 << 30)
/* The size images are brought to when they differ and image_size is 0. */
#define RT_FOLDER_DEFAULT_SIZE 224
/* The largest image_size accepted. */
#define RT_FOLDER_MAX_SIZE 8192

typedef struct rt_folder_options {
    const char *dir;     /* holds train/ and val/ */
    int grayscale;       /* 1 channel (PIL's L) instead of 3 (RGB) */
    int image_size;      /* S; 0 = the images' own size when all share one, else 224 */
    int threads;         /* decoding threads; 0 = the number of online CPUs */
    int skip_bad_images; /* count and report unreadable/corrupt images instead of failing */
    rt_notice_fn notice; /* "skipped N unreadable images (first: PATH: why)" (may be NULL) */
    void *notice_ctx;
    int train_room;      /* resized images: keep the training ones R x R, R = S * 256 / 224
                            (Resize(R), CenterCrop(R)), for random resized crops; last, so
                            positional initialisers still work */
} rt_folder_options;

typedef struct rt_folder_info {
    int classes;        /* the number of classes (= train->classes) */
    char **class_names; /* classes names, label order (sorted); malloc'd */
    int skipped;        /* images skipped as unreadable (skip_bad_images) */
    int resized;        /* images not stored as decoded: resized and/or centre-cropped */
} rt_folder_info;

/* Loads DIR/train and DIR/val (torchvision's ImageFolder convention):
 *  - classes: the folders of DIR/train (symbolic links followed, hidden
 *    ones included, as torchvision's find_classes), sorted as Python sorts
 *    str; label i is the i-th. DIR/val must hold the same class folders.
 *  - samples: in each class folder and, recursively, its subfolders
 *    (symbolic links followed; a link back to an enclosing folder is an
 *    error), the files whose names end in .jpg .jpeg .png .ppm .bmp .pgm
 *    .tif .tiff .webp, any case (IMG_EXTENSIONS), in torchvision's order:
 *    class by class, folders sorted by path, files sorted by name.
 *  - pixels: PNG and JPEG decoded as PIL's convert("RGB") (rt_image_decode;
 *    grayscale: convert("L") of that); other formats are refused.
 *  - size: when image_size is 0 and every image of both sets has the same
 *    size, that size as it is; otherwise every image as torchvision's
 *    transforms.Resize(S * 256 / 224) then CenterCrop(S) (S = image_size,
 *    or 224) with PIL's bilinear resampling; with train_room the training
 *    images Resize(R) then CenterCrop(R), R = S * 256 / 224 (the square
 *    whose centre S x S the evaluation transform keeps), so a random
 *    resized crop has the whole of it to choose from.
 * Both sets are planar uint8 (channels x rows x cols per image), classes
 * set. Fails, naming the folder or file, on: a missing folder, no class,
 * more than RT_FOLDER_MAX_CLASSES classes, a class without images (in
 * either set), a class of one set missing from the other, an image that
 * cannot be read or decoded (with skip_bad_images: counted, reported once
 * through notice, and left out), more than RT_FOLDER_MAX_BYTES of decoded
 * images, a bad option. The result does not depend on threads. On failure
 * both sets and *info are zeroed. info may be NULL. */
rt_status rt_folder_load(const rt_folder_options *o, rt_dataset *train, rt_dataset *test,
                         rt_folder_info *info, rt_error *err);

void rt_folder_info_free(rt_folder_info *info);

#ifdef __cplusplus
}
#endif
#endif
