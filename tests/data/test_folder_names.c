/* The image-folder scanner over odd names, against the order torchvision's
 * ImageFolder gives for the same tree (printed by torchvision 0.29's
 * ImageFolder over this tree; docs/image_folder.md):
 * classes with spaces, a leading dot (a class, as find_classes takes every
 * folder), non-ASCII and invalid UTF-8 names, sorted as Python sorts str;
 * files kept by extension only (any case; ".png" and ".hidden.png" kept,
 * .DS_Store and x.png.txt not), decoded by content (a PNG named b.JpEg),
 * subfolders in sorted(os.walk) order, symbolic links to files and
 * folders followed. Also rt_folder_name_cmp and the extension test alone.
 * Usage: test_folder_names FIXTURE_DIR (unused) */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fixtures.h"
#include "folder_scan.h"
#include "folder_test_util.h"
#include "resnet/image_folder.h"
#include "test_support.h"

static void name_order(void)
{
    /* Python: sorted() of the str os.listdir gives for these bytes */
    static const char *const sorted[] = {
        " space", ".hidden", "C", "a", "b", "x.png", "\xc3\xa9", "\xe6\x97\xa5\xe6\x9c\xac",
        "\xed\x9f\xbf",  /* U+D7FF */
        "\xe9",          /* invalid: U+DCE9 */
        "\xee\x80\x80",  /* U+E000 */
        "\xf0\x9f\x98\x80",
    };
    size_t n = sizeof sorted / sizeof sorted[0];
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < n; k++) {
            int c = rt_folder_name_cmp(sorted[i], sorted[k]);
            int want = i < k ? -1 : i > k ? 1 : 0;
            CHECKF((c > 0) - (c < 0) == want, "cmp(#%zu, #%zu) = %d, expected %d", i, k, c, want);
        }
    /* prefixes first; invalid sequences byte by byte */
    CHECK(rt_folder_name_cmp("sub", "sub-a") < 0 && rt_folder_name_cmp("sub-a", "sub.x") < 0 &&
          rt_folder_name_cmp("sub.x", "sub/deeper") < 0);
    CHECK(rt_folder_name_cmp("\xe9" "b", "\xe9" "a") > 0);
    CHECK(rt_folder_name_cmp("\xe0\x80\x80", "\xed\x9f\xbf") > 0); /* overlong: U+DCE0... */
    CHECK(rt_folder_name_cmp("\xed\xa0\x80", "\xee\x80\x80") < 0); /* a surrogate: U+DCED... */
    CHECK(rt_folder_name_cmp("\xf4\x90\x80\x80", "\xf0\x9f\x98\x80") < 0); /* > U+10FFFF */
}

static void extensions(void)
{
    static const char *const yes[] = {"a.jpg", "A.JPG", "b.JpEg", ".png", ".hidden.png", "x.ppm",
                                      "x.bmp", "x.pgm", "x.tif", "x.TIFF", "x.webp", "a b.png"};
    static const char *const no[] = {".DS_Store", "Thumbs.db", "x.png.txt", "png", "x.gif",
                                     "x.jp", "x.jpe", "x.pngx", "", "x.PNG "};
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++)
        CHECKF(rt_folder_has_image_extension(yes[i]), "'%s' should count as an image", yes[i]);
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
        CHECKF(!rt_folder_has_image_extension(no[i]), "'%s' should not count", no[i]);
}

typedef struct file {
    const char *path; /* under train/ */
    int value;        /* the picture's grey level; -1: not an image; -2: unsupported */
    const char *bytes;
    size_t n; /* of bytes */
} file;

static void odd_tree(void)
{
    char dir[4096], p[4096], q[4096];
    CHECK(rt_test_tempdir(dir, sizeof dir) == 0);
    static const file files[] = {
        {" space/i.png", 10, NULL, 0}, {".hidden/i.png", 11, NULL, 0}, {"C/i.png", 12, NULL, 0},
        {"b/i.png", 13, NULL, 0}, {"x.png/i.png", 14, NULL, 0}, {"\xc3\xa9/i.png", 15, NULL, 0},
        {"\xe6\x97\xa5\xe6\x9c\xac/i.png", 16, NULL, 0}, {"\xed\x9f\xbf/i.png", 17, NULL, 0},
        {"\xe9/i.png", 18, NULL, 0}, {"\xee\x80\x80/i.png", 19, NULL, 0},
        {"a/.hidden.png", 30, NULL, 0}, {"a/.png", 31, NULL, 0}, {"a/A.PNG", 32, NULL, 0},
        {"a/b.JpEg", 33, NULL, 0}, {"a/new\nline.png", 34, NULL, 0}, {"a/w.jpeg", 35, NULL, 0},
        {"a/with space.png", 36, NULL, 0}, {"a/z.png", 37, NULL, 0},
        {"a/\xc3\xbcn\xc3\xaf.png", 38, NULL, 0}, {"a/d.png/5.png", 39, NULL, 0},
        {"a/sub/1.png", 40, NULL, 0}, {"a/sub-a/2.png", 41, NULL, 0},
        {"a/sub.x/3.png", 42, NULL, 0},
        {"a/sub/deeper/4.png", 43, NULL, 0},
        {"a/.DS_Store", -1, "junk", 4}, {"a/Thumbs.db", -1, "junk", 4},
        {"a/notes.txt", -1, "junk", 4},
        {"a/x.png.txt", -1, "junk", 4}, {"a/y.gif", -1, "GIF89a", 6},
        {"a/q.tif", -2, "II*\0\x08\0\0\0", 8}, {"a/r.TIFF", -2, "MM\0*\0\0\0\x08", 8},
        {"a/s.webp", -2, "RIFF\x10\0\0\0WEBPVP8 ", 16}, {"a/t.bmp", -2, "BM\x36\0\0\0\0\0\0\0", 10},
        {"a/u.ppm", -2, "P6\n1 1\n255\n\0\0\0", 14}, {"a/v.pgm", -2, "P5\n1 1\n255\n\0", 12},
    };
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        fx_pathf(p, sizeof p, "%s/train/%s", dir, files[i].path);
        if (files[i].value >= 0) {
            uint8_t v = (uint8_t)files[i].value;
            CHECK(ft_solid_png(p, 2, 2, v, v, v) == 0);
        } else {
            CHECK(ft_put(p, files[i].bytes, files[i].n) == 0);
        }
        const char *slash = strchr(files[i].path, '/');
        fx_pathf(q, sizeof q, "%s/val/%.*s/v.png", dir, (int)(slash - files[i].path),
                 files[i].path);
        CHECK(ft_solid_png(q, 2, 2, 1, 1, 1) == 0);
    }
    fx_pathf(p, sizeof p, "%s/train/a/link.png", dir);
    CHECK(symlink("z.png", p) == 0);
    fx_pathf(p, sizeof p, "%s/train/a/linkdir", dir);
    CHECK(symlink("sub", p) == 0);

    /* torchvision's samples, less the six it would hand PIL but we refuse */
    static const int order[] = {10, 11, 12, 30, 31, 32, 33, 37, 34, 35, 36, 37, 38, 39, 40,
                                43, 40, 41, 42, 43, 13, 14, 15, 16, 17, 18, 19};
    static const int labels[] = {0, 1, 2, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,
                                 3, 3, 3, 3, 3, 3, 4, 5, 6, 7, 8, 9, 10};
    static const char *const classes[] = {" space", ".hidden", "C", "a", "b", "x.png",
                                          "\xc3\xa9", "\xe6\x97\xa5\xe6\x9c\xac",
                                          "\xed\x9f\xbf", "\xe9", "\xee\x80\x80"};
    const int n = (int)(sizeof order / sizeof order[0]);
    ft_notices notes = {0};
    rt_folder_options o = {dir, 1, 0, 3, 1, ft_notice, &notes, 0};
    rt_dataset train, val;
    rt_folder_info info;
    rt_error err;
    rt_status st = rt_folder_load(&o, &train, &val, &info, &err);
    CHECKF(st == RT_OK, "odd names: %s", err.message);
    if (st == RT_OK) {
        CHECKF(info.classes == 11, "%d classes", info.classes);
        for (size_t c = 0; c < sizeof classes / sizeof classes[0] && (int)c < info.classes; c++) {
            const char *got = info.class_names[c] ? info.class_names[c] : "(null)";
            if (strcmp(got, classes[c]) != 0)
                CHECKF(0, "class %zu is '%s', expected class %zu", c, got, c);
        }
        CHECKF(train.count == n, "%d samples, expected %d", train.count, n);
        for (int i = 0; i < n && i < train.count; i++)
            CHECKF(train.images[4 * i] == order[i] && train.labels[i] == labels[i],
                   "sample %d: grey %d label %d, expected %d and %d", i, train.images[4 * i],
                   train.labels[i], order[i], labels[i]);
        CHECK(val.count == 11 && info.skipped == 6);
        fx_pathf(p, sizeof p, "%s/train/a/q.tif: a TIFF image", dir);
        CHECKF(notes.count == 1 && strstr(notes.last, "skipped 6 unreadable images (first: ") &&
                   strstr(notes.last, p),
               "notice: %s", notes.last);
        rt_dataset_free(&train);
        rt_dataset_free(&val);
        rt_folder_info_free(&info);
    }
    /* the same without skipping: the first unsupported file, by name */
    o.skip_bad_images = 0;
    st = rt_folder_load(&o, &train, &val, &info, &err);
    fx_pathf(p, sizeof p, "%s/train/a/q.tif", dir);
    fx_check_error("unsupported", st, &err, RT_ERR_FORMAT, p, "a TIFF image: not supported",
                   (const char *)NULL);
    fx_remove_tree(dir);
}

int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    name_order();
    extensions();
#ifdef RT_HAVE_PNG
    odd_tree();
#endif
    return rt_test_finish("test_folder_names");
}
