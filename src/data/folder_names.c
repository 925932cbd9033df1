/* Names in an image folder: Python's order of str, torchvision's image
 * extensions, one-line messages. */
#include <string.h>

#include "folder_scan.h"

/* The code point at s (advancing *s): a well-formed UTF-8 sequence (no
 * overlong forms, surrogates or values above U+10FFFF, as Python's strict
 * decoder), else the byte as U+DC00 + byte. */
static unsigned next_code_point(const unsigned char **s)
{
    const unsigned char *p = *s;
    unsigned b = p[0];
    if (b < 0x80) {
        *s = p + 1;
        return b;
    }
    int n = 0;
    unsigned cp = 0, lo = 0x80, hi = 0xbf; /* the range of the second byte */
    if (b >= 0xc2 && b <= 0xdf) {
        n = 1;
        cp = b & 0x1f;
    } else if (b >= 0xe0 && b <= 0xef) {
        n = 2;
        cp = b & 0x0f;
        if (b == 0xe0)
            lo = 0xa0;
        else if (b == 0xed)
            hi = 0x9f;
    } else if (b >= 0xf0 && b <= 0xf4) {
        n = 3;
        cp = b & 0x07;
        if (b == 0xf0)
            lo = 0x90;
        else if (b == 0xf4)
            hi = 0x8f;
    }
    for (int i = 1; i <= n; i++) {
        unsigned c = p[i];
        if (c < (i == 1 ? lo : 0x80) || c > (i == 1 ? hi : 0xbf)) {
            n = 0;
            break;
        }
        cp = cp << 6 | (c & 0x3f);
    }
    if (n == 0) {
        *s = p + 1;
        return 0xdc00u + b;
    }
    *s = p + n + 1;
    return cp;
}

int rt_folder_name_cmp(const char *a, const char *b)
{
    const unsigned char *p = (const unsigned char *)a, *q = (const unsigned char *)b;
    while (*p && *q) {
        if (*p < 0x80 && *q < 0x80) { /* the common case */
            if (*p != *q)
                return *p < *q ? -1 : 1;
            p++;
            q++;
            continue;
        }
        unsigned x = next_code_point(&p), y = next_code_point(&q);
        if (x != y)
            return x < y ? -1 : 1;
    }
    return *p ? 1 : *q ? -1 : 0;
}

int rt_folder_has_image_extension(const char *name)
{
    static const char *const ext[] = {".jpg", ".jpeg", ".png", ".ppm", ".bmp",
                                      ".pgm", ".tif",  ".tiff", ".webp"};
    size_t n = strlen(name);
    for (size_t i = 0; i < sizeof ext / sizeof ext[0]; i++) {
        size_t m = strlen(ext[i]);
        if (n < m)
            continue;
        const char *tail = name + n - m;
        size_t k = 0;
        while (k < m) {
            char c = tail[k];
            if (c >= 'A' && c <= 'Z')
                c = (char)(c - 'A' + 'a');
            if (c != ext[i][k])
                break;
            k++;
        }
        if (k == m)
            return 1;
    }
    return 0;
}

void rt_folder_one_line(char *message)
{
    for (unsigned char *p = (unsigned char *)message; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            *p = '?';
}
