/* Finding an image folder's classes and files (torchvision's find_classes
 * and make_dataset), and the helpers they need: Python's order of names,
 * IMG_EXTENSIONS, messages made one line. Private to the data module. */
#ifndef RT_DATA_FOLDER_SCAN_H
#define RT_DATA_FOLDER_SCAN_H

#include <stddef.h>
#include <stdint.h>

#include "resnet/error.h"

#define RT_FOLDER_PATH_MAX 4096

/* The samples of one split, in torchvision's order. */
typedef struct rt_folder_list {
    char **paths;    /* malloc'd full paths */
    uint8_t *labels; /* the class of each */
    size_t count, cap;
} rt_folder_list;

void rt_folder_list_free(rt_folder_list *l);

/* strcmp as Python compares the str os.listdir gives for these bytes: the
 * code points of UTF-8, each byte of an invalid sequence taken as the lone
 * surrogate U+DC80..U+DCFF (the surrogateescape error handler). For valid
 * UTF-8 this is strcmp's order. */
int rt_folder_name_cmp(const char *a, const char *b);

/* 1 when name ends in one of torchvision's IMG_EXTENSIONS (.jpg .jpeg
 * .png .ppm .bmp .pgm .tif .tiff .webp), ASCII case ignored. */
int rt_folder_has_image_extension(const char *name);

/* Replaces every control byte of a message by '?', so that a file name
 * holding a newline cannot break the one-line rule. */
void rt_folder_one_line(char *message);

/* The folders directly inside dir (symbolic links followed, hidden ones
 * included), sorted by rt_folder_name_cmp: *names is a malloc'd array of
 * malloc'd strings. Fails when dir cannot be read. */
rt_status rt_folder_subdirs(const char *dir, char ***names, int *count, rt_error *err);
void rt_folder_names_free(char **names, int count);

/* Appends the files of class_dir (recursively, symbolic links followed)
 * whose names have an image extension to out with the given label, in
 * the order of Python's sorted(os.walk(class_dir, followlinks=True)) and
 * sorted(files). A folder linking back to one that encloses it fails
 * (os.walk would descend until the path is too long); so does a folder
 * that cannot be read (os.walk skips it silently). */
rt_status rt_folder_scan_class(const char *class_dir, uint8_t label, rt_folder_list *out,
                               rt_error *err);

#endif
