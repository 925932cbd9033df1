/* Helpers for the image-folder tests: PNG and JPEG files written with
 * libpng and libjpeg, folders made and filled, a notice collector. */
#ifndef RT_TEST_FOLDER_TEST_UTIL_H
#define RT_TEST_FOLDER_TEST_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* Writes a w x h picture of channels (1: gray, 3: RGB) interleaved bytes.
 * Returns 0, or -1 on failure or when the build lacks the library. */
int ft_write_png(const char *path, int w, int h, int channels, const uint8_t *pixels);
int ft_write_jpeg(const char *path, int w, int h, int channels, const uint8_t *pixels,
                  int quality);
/* A w x h RGB PNG of one colour. */
int ft_solid_png(const char *path, int w, int h, uint8_t r, uint8_t g, uint8_t b);

/* mkdir -p; 0 on success. */
int ft_mkdirs(const char *path);
/* Writes bytes to path, making its folder; 0 on success. */
int ft_put(const char *path, const void *data, size_t size);
/* Copies a file; 0 on success. */
int ft_copy(const char *from, const char *to);

/* Collects notices: the number received and the last one. */
typedef struct ft_notices {
    int count;
    char last[2048];
} ft_notices;
void ft_notice(void *ctx, const char *message);

#endif
