/* rt_folder_load over folders written here: the sorted class order and
 * torchvision's file order, planar RGB and PIL's L, sizes kept or brought
 * to S by Resize + CenterCrop as torchvision does (against the bytes of
 * tests/data/folder_fixtures/, written by torchvision), PNG and JPEG in
 * one set, results independent of the thread count, and every malformed
 * case refused with one line naming the folder or file (or, with
 * skip_bad_images, counted and reported once).
 * Usage: test_image_folder FIXTURE_DIR */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fixtures.h"
#include "folder_test_util.h"
#include "resnet/image.h"
#include "resnet/image_folder.h"
#include "test_support.h"

static const char *fixtures;
static char tmp[4096];
static int case_no;

/* A fresh folder tmp/caseN for one case. */
static void new_case(char *dir, size_t size)
{
    fx_pathf(dir, size, "%s/case%d", tmp, ++case_no);
    CHECK(ft_mkdirs(dir) == 0);
}

static void pathf(char *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void pathf(char *out, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(out, 4096, fmt, ap);
    va_end(ap);
    CHECK(n > 0 && n < 4096);
}

static rt_status load(const char *dir, int gray, int size, int threads, int skip,
                      rt_dataset *train, rt_dataset *val, rt_folder_info *info, ft_notices *notes,
                      rt_error *err)
{
    rt_folder_options o = {dir, gray, size, threads, skip, notes ? ft_notice : NULL, notes, 0};
    rt_error_clear(err);
    return rt_folder_load(&o, train, val, info, err);
}

/* Loading dir must fail with status and every NULL-terminated text. */
static void expect_failure(const char *what, const char *dir, int skip, int size, rt_status status,
                           ...)
{
    rt_dataset train, val;
    rt_folder_info info;
    ft_notices notes = {0};
    rt_error err;
    memset(&train, 0x5a, sizeof train);
    rt_status st = load(dir, 0, size, 2, skip, &train, &val, &info, &notes, &err);
    CHECKF(st == status, "%s: status %s, expected %s (%s)", what, rt_status_name(st),
           rt_status_name(status), err.message);
    CHECKF(strchr(err.message, '\n') == NULL, "%s: message of more than one line", what);
    va_list ap;
    va_start(ap, status);
    for (const char *s; (s = va_arg(ap, const char *)) != NULL;)
        CHECKF(strstr(err.message, s) != NULL, "%s: message lacks '%s': %s", what, s, err.message);
    va_end(ap);
    CHECKF(train.images == NULL && train.count == 0 && val.images == NULL &&
               info.class_names == NULL && info.classes == 0,
           "%s: outputs not cleared", what);
    if (getenv("RT_TEST_VERBOSE"))
        printf("%s: %s\n", what, err.message);
}

/* Writes dir/train/<c>/img.png and dir/val/<c>/img.png for each class. */
static void classes_with_one_image(const char *dir, int n)
{
    char p[4096];
    for (int c = 0; c < n; c++)
        for (int s = 0; s < 2; s++) {
            pathf(p, "%s/%s/c%03d/img.png", dir, s ? "val" : "train", c);
            CHECK(ft_solid_png(p, 1, 1, (uint8_t)c, 0, 0) == 0);
        }
}

/* ---- order and layout ---------------------------------------------------- */

/* Classes C < a < b (strcmp); in a, files in torchvision's order of
 * sorted(os.walk()): a, a/sub, a/sub-a, a/sub.x, a/sub/deeper, then names.
 * Each image is 4x3 of one colour: R = its position, G = its class. */
static void order_and_layout(void)
{
    char dir[4096], p[4096];
    new_case(dir, sizeof dir);
    static const struct {
        const char *cls, *file;
        int pos;
    } files[] = {
        {"a", "z.png", 2},           {"a", "10.png", 0},         {"a", "9.png", 1},
        {"a", "sub/deeper/x.png", 7}, {"a", "sub/y.png", 3},      {"a", "sub-a/y.png", 4},
        {"a", "sub.x/b.png", 5},     {"a", "sub.x/c.png", 6},     {"C", "only.png", -1},
        {"b", "B.PNG", -2},          {"b", "a.png", -3},
    };
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        int cls = strcmp(files[i].cls, "C") == 0 ? 0 : strcmp(files[i].cls, "a") == 0 ? 1 : 2;
        int pos = files[i].pos;
        /* positions in the whole set: C's one first, then a's 8, then b's 2 */
        int at = pos == -1 ? 0 : pos >= 0 ? 1 + pos : pos == -2 ? 9 : 10;
        pathf(p, "%s/train/%s/%s", dir, files[i].cls, files[i].file);
        CHECK(ft_solid_png(p, 4, 3, (uint8_t)(10 * at), (uint8_t)cls, 7) == 0);
    }
    /* not images: left out */
    pathf(p, "%s/train/a/.DS_Store", dir);
    CHECK(ft_put(p, "junk", 4) == 0);
    pathf(p, "%s/train/a/notes.txt", dir);
    CHECK(ft_put(p, "junk", 4) == 0);
    pathf(p, "%s/train/README.md", dir); /* a file beside the classes */
    CHECK(ft_put(p, "junk", 4) == 0);
    for (int c = 0; c < 3; c++) {
        pathf(p, "%s/val/%s/v.png", dir, c == 0 ? "C" : c == 1 ? "a" : "b");
        CHECK(ft_solid_png(p, 4, 3, (uint8_t)(200 + c), (uint8_t)c, 9) == 0);
    }
    rt_dataset train, val;
    rt_folder_info info;
    ft_notices notes = {0};
    rt_error err;
    rt_status st = load(dir, 0, 0, 1, 0, &train, &val, &info, &notes, &err);
    CHECKF(st == RT_OK, "order: %s", err.message);
    if (st != RT_OK)
        return;
    CHECK(info.classes == 3 && train.classes == 3 && val.classes == 3);
    CHECK(strcmp(info.class_names[0], "C") == 0 && strcmp(info.class_names[1], "a") == 0 &&
          strcmp(info.class_names[2], "b") == 0);
    CHECK(info.skipped == 0 && info.resized == 0 && notes.count == 0);
    CHECKF(train.count == 11 && train.channels == 3 && train.rows == 3 && train.cols == 4,
           "train %d images of %dx%dx%d", train.count, train.channels, train.rows, train.cols);
    CHECK(val.count == 3 && val.rows == 3 && val.cols == 4);
    for (int i = 0; i < train.count && train.count == 11; i++) {
        const uint8_t *img = train.images + (size_t)i * 36;
        int label = i == 0 ? 0 : i < 9 ? 1 : 2;
        CHECKF(train.labels[i] == label, "train %d: label %d, expected %d", i, train.labels[i],
               label);
        int ok = 1;
        for (int k = 0; k < 12; k++) /* planar: 12 R, 12 G, 12 B */
            ok &= img[k] == 10 * i && img[12 + k] == label && img[24 + k] == 7;
        CHECKF(ok, "train %d: R %d G %d B %d, expected R %d (order) G %d B 7", i, img[0], img[12],
               img[24], 10 * i, label);
    }
    for (int i = 0; i < val.count; i++)
        CHECK(val.labels[i] == i && val.images[(size_t)i * 36] == 200 + i);
    rt_dataset_free(&train);
    rt_dataset_free(&val);
    rt_folder_info_free(&info);
    CHECK(info.class_names == NULL && info.classes == 0);
}

/* A picture of known colours: planar RGB, and L by PIL's formula worked
 * out by hand (0.299 R + 0.587 G + 0.114 B, rounded). */
static void colours(void)
{
    static const uint8_t rgb[6][3] = {{255, 0, 0}, {0, 255, 0},  {0, 0, 255},
                                      {10, 200, 30}, {100, 50, 25}, {255, 255, 255}};
    static const uint8_t l[6] = {76, 150, 29, 124, 62, 255};
    char dir[4096], p[4096];
    new_case(dir, sizeof dir);
    pathf(p, "%s/train/k/a.png", dir);
    CHECK(ft_write_png(p, 3, 2, 3, &rgb[0][0]) == 0);
    pathf(p, "%s/val/k/a.png", dir);
    CHECK(ft_write_png(p, 3, 2, 3, &rgb[0][0]) == 0);
    for (int gray = 0; gray <= 1; gray++) {
        rt_dataset train, val;
        rt_folder_info info;
        rt_error err;
        rt_status st = load(dir, gray, 0, 0, 0, &train, &val, NULL, NULL, &err);
        (void)info;
        CHECKF(st == RT_OK, "colours: %s", err.message);
        if (st != RT_OK)
            continue;
        CHECK(train.channels == (gray ? 1 : 3) && train.rows == 2 && train.cols == 3);
        for (int i = 0; i < 6; i++) {
            if (gray) {
                CHECKF(train.images[i] == l[i], "L of (%d,%d,%d) is %d, expected %d", rgb[i][0],
                       rgb[i][1], rgb[i][2], train.images[i], l[i]);
            } else {
                for (int c = 0; c < 3; c++)
                    CHECK(train.images[c * 6 + i] == rgb[i][c]);
            }
        }
        rt_dataset_free(&train);
        rt_dataset_free(&val);
    }
}

/* Every PNG fixture (all 7x5) in one class, kept at their size: each
 * sample is PIL's RGB of its file, in name order; the JPEG fixtures
 * (21x13) likewise in a second data set. */
static void fixtures_through_the_loader(const char *prefix, int w, int h)
{
    char dir[4096], p[4096], q[4096];
    new_case(dir, sizeof dir);
    fx_pathf(p, sizeof p, "%s/decode.txt", fixtures);
    FILE *f = fopen(p, "r");
    CHECK(f != NULL);
    if (!f)
        return;
    char names[64][128];
    int n = 0;
    char line[512];
    while (n < 64 && fgets(line, sizeof line, f))
        if (strncmp(line, prefix, strlen(prefix)) == 0 && sscanf(line, "%127s", names[n]) == 1)
            n++;
    fclose(f);
    for (int i = 0; i < n; i++) {
        pathf(p, "%s/%s", fixtures, names[i]);
        pathf(q, "%s/train/all/%s", dir, names[i]);
        CHECK(ft_copy(p, q) == 0);
    }
    pathf(p, "%s/%s", fixtures, names[0]);
    pathf(q, "%s/val/all/%s", dir, names[0]);
    CHECK(ft_copy(p, q) == 0);
    for (int gray = 0; gray <= 1; gray++) {
        rt_dataset train, val;
        rt_error err;
        rt_status st = load(dir, gray, 0, 3, 0, &train, &val, NULL, NULL, &err);
        CHECKF(st == RT_OK, "%s fixtures: %s", prefix, err.message);
        if (st != RT_OK)
            continue;
        int c = gray ? 1 : 3;
        CHECK(train.count == n && train.rows == h && train.cols == w && train.channels == c);
        /* the names are sorted in decode.txt already */
        for (int i = 0; i < n && train.count == n; i++) {
            pathf(p, "%s/%s.%s", fixtures, names[i], gray ? "l" : "rgb");
            fx_buf want = fx_read(p);
            int same = want.size == (size_t)(w * h * c);
            const uint8_t *img = train.images + (size_t)i * (size_t)(w * h * c);
            for (int k = 0; same && k < w * h; k++)
                for (int ch = 0; ch < c; ch++)
                    same &= img[ch * w * h + k] == want.data[k * c + ch];
            CHECKF(same, "%s as %s through the loader differs from PIL", names[i],
                   gray ? "L" : "RGB");
            fx_free(&want);
        }
        rt_dataset_free(&train);
        rt_dataset_free(&val);
    }
}

/* Pictures of different sizes: Resize + CenterCrop as torchvision. */
static void resized(void)
{
    char dir[4096], p[4096], q[4096];
    new_case(dir, sizeof dir);
    const char *srcs[2] = {"tall", "wide"}; /* name order */
    for (int i = 0; i < 2; i++) {
        pathf(p, "%s/resize_%s.png", fixtures, srcs[i]);
        pathf(q, "%s/train/x/%s.png", dir, srcs[i]);
        CHECK(ft_copy(p, q) == 0);
    }
    pathf(p, "%s/resize_wide.png", fixtures);
    pathf(q, "%s/val/x/wide.png", dir);
    CHECK(ft_copy(p, q) == 0);
    static const int sizes[] = {32, 16, 48};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        int s = sizes[k];
        for (int gray = 0; gray <= 1; gray++) {
            rt_dataset train, val;
            rt_folder_info info;
            rt_error err;
            rt_status st = load(dir, gray, s, 2, 0, &train, &val, &info, NULL, &err);
            CHECKF(st == RT_OK, "resized: %s", err.message);
            if (st != RT_OK)
                continue;
            int c = gray ? 1 : 3;
            CHECK(train.count == 2 && train.rows == s && train.cols == s && train.channels == c);
            CHECK(info.resized == 3);
            for (int i = 0; i < 2 && train.count == 2; i++) {
                pathf(p, "%s/resize_%s_%d.%s", fixtures, srcs[i], s, gray ? "l" : "rgb");
                fx_buf want = fx_read(p);
                if (want.data == NULL)
                    continue; /* not every size has a reference for both */
                int same = want.size == (size_t)(s * s * c);
                const uint8_t *img = train.images + (size_t)i * (size_t)(s * s * c);
                for (int px = 0; same && px < s * s; px++)
                    for (int ch = 0; ch < c; ch++)
                        same &= img[ch * s * s + px] == want.data[px * c + ch];
                CHECKF(same, "%s at S=%d as %s differs from torchvision", srcs[i], s,
                       gray ? "L" : "RGB");
                fx_free(&want);
            }
            rt_dataset_free(&train);
            rt_dataset_free(&val);
            rt_folder_info_free(&info);
        }
    }
    /* train_room: the training images kept R x R (R = S * 256 / 224 = 54
     * for S = 48), Resize(R) then CenterCrop(R); the evaluation transform's
     * S x S is their exact centre (wide.png is in both sets) */
    for (int gray = 0; gray <= 1; gray++) {
        const int s = 48, r = 48 * 256 / 224, c = gray ? 1 : 3, m = (r - s) / 2;
        rt_folder_options o = {dir, gray, s, 2, 0, NULL, NULL, 1};
        rt_dataset train, val;
        rt_error err;
        rt_status st = rt_folder_load(&o, &train, &val, NULL, &err);
        CHECKF(st == RT_OK, "train_room: %s", err.message);
        if (st != RT_OK)
            continue;
        CHECKF(train.rows == r && train.cols == r && val.rows == s && val.cols == s,
               "train_room: train %dx%d, val %dx%d", train.rows, train.cols, val.rows, val.cols);
        int same = train.rows == r && val.rows == s;
        const uint8_t *big = train.images + (size_t)r * r * c; /* wide.png, the second */
        for (int ch = 0; same && ch < c; ch++)
            for (int y = 0; y < s; y++)
                for (int x = 0; x < s; x++)
                    same &= big[(ch * r + y + m) * r + x + m] == val.images[(ch * s + y) * s + x];
        CHECKF(same, "train_room (%s): the evaluation image is not the centre of the training one",
               gray ? "L" : "RGB");
        rt_dataset_free(&train);
        rt_dataset_free(&val);
    }
    /* image_size 0 with sizes that differ: 224 */
    rt_dataset train, val;
    rt_folder_info info;
    rt_error err;
    rt_status st = load(dir, 0, 0, 2, 0, &train, &val, &info, NULL, &err);
    CHECKF(st == RT_OK && train.rows == 224 && train.cols == 224 && info.resized == 3,
           "mixed sizes: %s %dx%d", err.message, train.rows, train.cols);
    rt_dataset_free(&train);
    rt_dataset_free(&val);
    rt_folder_info_free(&info);
}

/* Many pictures of many sizes, some unreadable, PNG and JPEG: the same
 * bytes whatever the thread count. */
static void threads(void)
{
    char dir[4096], p[4096];
    new_case(dir, sizeof dir);
    rt_rng rng;
    rt_rng_seed(&rng, 5);
    for (int i = 0; i < 60; i++) {
        int w = 5 + (int)rt_rng_below(&rng, 40), h = 5 + (int)rt_rng_below(&rng, 40);
        uint8_t *px = malloc((size_t)w * h * 3);
        CHECK(px != NULL);
        if (!px)
            return;
        for (int k = 0; k < w * h * 3; k++)
            px[k] = (uint8_t)(rt_rng_next(&rng) >> 56);
        const char *split = i % 5 == 4 ? "val" : "train";
        int cls = i % 3;
        if (i % 7 == 3) {
            pathf(p, "%s/%s/c%d/img%02d.jpg", dir, split, cls, i);
            int rc = ft_write_jpeg(p, w, h, 3, px, 80);
            if (rc != 0) /* no libjpeg: a PNG instead */
                pathf(p, "%s/%s/c%d/img%02d.png", dir, split, cls, i);
            if (rc != 0)
                CHECK(ft_write_png(p, w, h, 3, px) == 0);
        } else if (i % 11 == 5) {
            pathf(p, "%s/%s/c%d/bad%02d.png", dir, split, cls, i);
            CHECK(ft_put(p, "\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR\0\0\0\x08\0\0\0\x08", 24) == 0);
        } else {
            pathf(p, "%s/%s/c%d/img%02d.png", dir, split, cls, i);
            CHECK(ft_write_png(p, w, h, 3, px) == 0);
        }
        free(px);
    }
    rt_dataset ref_train, ref_val;
    rt_folder_info ref_info;
    ft_notices ref_notes = {0};
    rt_error err;
    rt_status st = load(dir, 0, 24, 1, 1, &ref_train, &ref_val, &ref_info, &ref_notes, &err);
    CHECKF(st == RT_OK, "threads: %s", err.message);
    if (st != RT_OK)
        return;
    CHECKF(ref_info.skipped == 4 && ref_notes.count == 1, "skipped %d, %d notices",
           ref_info.skipped, ref_notes.count);
    static const int counts[] = {2, 3, 8, 0};
    for (size_t k = 0; k < sizeof counts / sizeof counts[0]; k++) {
        for (int gray = 0; gray <= 1; gray++) {
            rt_dataset train, val, want_train = ref_train, want_val = ref_val;
            rt_dataset gref_train = {0}, gref_val = {0};
            if (gray) { /* the reference in L, on one thread */
                CHECK(load(dir, 1, 24, 1, 1, &gref_train, &gref_val, NULL, NULL, &err) == RT_OK);
                want_train = gref_train;
                want_val = gref_val;
            }
            rt_folder_info info;
            ft_notices notes = {0};
            st = load(dir, gray, 24, counts[k], 1, &train, &val, &info, &notes, &err);
            CHECKF(st == RT_OK, "threads %d: %s", counts[k], err.message);
            if (st == RT_OK) {
                size_t bytes = (size_t)want_train.count * (size_t)want_train.channels * 24 * 24;
                CHECKF(train.count == want_train.count && val.count == want_val.count &&
                           memcmp(train.images, want_train.images, bytes) == 0 &&
                           memcmp(train.labels, want_train.labels, (size_t)train.count) == 0 &&
                           memcmp(val.images, want_val.images,
                                  (size_t)val.count * (size_t)val.channels * 24 * 24) == 0,
                       "%d threads (%s): the result differs from one thread's", counts[k],
                       gray ? "L" : "RGB");
                CHECK(info.skipped == ref_info.skipped && info.resized == ref_info.resized);
                CHECKF(strcmp(notes.last, ref_notes.last) == 0, "notice '%s' vs '%s'",
                       notes.last, ref_notes.last);
                rt_dataset_free(&train);
                rt_dataset_free(&val);
                rt_folder_info_free(&info);
            }
            rt_dataset_free(&gref_train);
            rt_dataset_free(&gref_val);
        }
    }
    /* without skipping, the failure named is the first bad file, whatever the threads */
    char first[4096];
    pathf(first, "%s/train/c0/bad27.png", dir); /* class c0 comes first */
    for (size_t k = 0; k < sizeof counts / sizeof counts[0]; k++) {
        rt_dataset train, val;
        st = load(dir, 0, 24, counts[k], 0, &train, &val, NULL, NULL, &err);
        CHECKF(st == RT_ERR_FORMAT && strstr(err.message, first) != NULL,
               "%d threads: %s (expected %s)", counts[k], err.message, first);
    }
    CHECKF(strstr(ref_notes.last, "skipped 4 unreadable images (first: ") != NULL &&
               strstr(ref_notes.last, first) != NULL,
           "notice: %s", ref_notes.last);
    rt_dataset_free(&ref_train);
    rt_dataset_free(&ref_val);
    rt_folder_info_free(&ref_info);
}

/* ---- malformed ----------------------------------------------------------- */

static void malformed(void)
{
    char dir[4096], p[4096], q[4096];
    /* folders missing */
    new_case(dir, sizeof dir);
    pathf(p, "%s/nowhere", dir);
    expect_failure("no folder", p, 0, 0, RT_ERR_IO, p, "no such folder", (const char *)NULL);
    pathf(p, "%s/train", dir);
    expect_failure("no train", dir, 0, 0, RT_ERR_IO, p, "no such folder", (const char *)NULL);
    pathf(p, "%s/train/a/x.png", dir);
    CHECK(ft_solid_png(p, 2, 2, 1, 2, 3) == 0);
    pathf(p, "%s/val", dir);
    expect_failure("no val", dir, 0, 0, RT_ERR_IO, p, "no such folder", (const char *)NULL);
    CHECK(ft_put(p, "a file", 6) == 0);
    expect_failure("val a file", dir, 0, 0, RT_ERR_IO, p, "not a folder", (const char *)NULL);

    /* no classes: only files in train */
    new_case(dir, sizeof dir);
    pathf(p, "%s/train/x.png", dir);
    CHECK(ft_solid_png(p, 2, 2, 1, 2, 3) == 0);
    pathf(p, "%s/val/a", dir);
    CHECK(ft_mkdirs(p) == 0);
    pathf(p, "%s/train", dir);
    expect_failure("no classes", dir, 0, 0, RT_ERR_FORMAT, p, "no class folders",
                   (const char *)NULL);

    /* an empty class (only files without an image extension), in train, then in val */
    new_case(dir, sizeof dir);
    classes_with_one_image(dir, 2);
    pathf(p, "%s/train/empty/.DS_Store", dir);
    CHECK(ft_put(p, "x", 1) == 0);
    pathf(p, "%s/train/empty/sub/notes.txt", dir);
    CHECK(ft_put(p, "x", 1) == 0);
    pathf(p, "%s/val/empty/v.png", dir);
    CHECK(ft_solid_png(p, 1, 1, 0, 0, 0) == 0);
    pathf(p, "%s/train/empty", dir);
    expect_failure("empty class", dir, 0, 0, RT_ERR_FORMAT, p, "class 'empty' has no image files",
                   (const char *)NULL);
    pathf(p, "%s/val/empty/v.png", dir);
    pathf(q, "%s/train/empty/t.png", dir);
    CHECK(rename(p, q) == 0);
    pathf(p, "%s/val/empty", dir);
    expect_failure("empty val class", dir, 0, 0, RT_ERR_FORMAT, p,
                   "class 'empty' has no image files", (const char *)NULL);

    /* val's classes differ */
    new_case(dir, sizeof dir);
    classes_with_one_image(dir, 3);
    pathf(p, "%s/val/c001", dir);
    fx_remove_tree(p);
    pathf(p, "%s/val", dir);
    expect_failure("val lacks a class", dir, 0, 0, RT_ERR_FORMAT, p, "no folder for class 'c001'",
                   (const char *)NULL);
    pathf(p, "%s/val/c001/img.png", dir);
    CHECK(ft_solid_png(p, 1, 1, 0, 0, 0) == 0);
    pathf(p, "%s/val/extra/img.png", dir);
    CHECK(ft_solid_png(p, 1, 1, 0, 0, 0) == 0);
    pathf(p, "%s/val/extra", dir);
    expect_failure("val has another class", dir, 0, 0, RT_ERR_FORMAT, p,
                   "class 'extra' is not a class of", (const char *)NULL);

    /* unreadable images: each refused, naming the file */
    static const struct {
        const char *name, *bytes, *text;
        size_t n;
        rt_status status;
    } bad[] = {
        {"cut.png", "\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR\0\0\0\x08\0\0\0\x08\x08\x02", "bad PNG", 26,
         RT_ERR_FORMAT},
        {"pic.bmp", "BM\x36\0\0\0\0\0\0\0\x36\0\0\0", "a BMP image: not supported", 14,
         RT_ERR_FORMAT},
        {"text.jpg", "not a picture\n", "not a PNG or JPEG image", 14, RT_ERR_FORMAT},
        {"empty.png", "", "empty file", 0, RT_ERR_FORMAT},
        {"pic.tiff", "MM\0*\0\0\0\x08", "a TIFF image: not supported", 8, RT_ERR_FORMAT},
        {"pic.webp", "RIFF\x10\0\0\0WEBPVP8 ", "a WebP image: not supported", 16, RT_ERR_FORMAT},
        {"pic.pgm", "P5\n1 1\n255\n\x07", "a PNM", 12, RT_ERR_FORMAT},
#ifdef RT_HAVE_JPEG
        {"cut.jpg", "\xff\xd8\xff\xe0\0\x10JFIF\0\x01\x01\0\0\x01\0\x01\0\0", "bad JPEG", 20,
         RT_ERR_FORMAT},
#endif
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        new_case(dir, sizeof dir);
        classes_with_one_image(dir, 2);
        pathf(p, "%s/train/c001/%s", dir, bad[i].name);
        CHECK(ft_put(p, bad[i].bytes, bad[i].n) == 0);
        expect_failure(bad[i].name, dir, 0, 0, bad[i].status, p, bad[i].text, (const char *)NULL);
        /* skipped: one notice, the rest loads */
        rt_dataset train, val;
        rt_folder_info info;
        ft_notices notes = {0};
        rt_error err;
        rt_status st = load(dir, 0, 0, 2, 1, &train, &val, &info, &notes, &err);
        CHECKF(st == RT_OK && info.skipped == 1 && train.count == 2 && notes.count == 1 &&
                   strstr(notes.last, "skipped 1 unreadable image (first: ") == notes.last &&
                   strstr(notes.last, p) != NULL && strstr(notes.last, bad[i].text) != NULL,
               "%s skipped: %s / %d skipped, %d images, notice '%s'", bad[i].name, err.message,
               info.skipped, train.count, notes.last);
        rt_dataset_free(&train);
        rt_dataset_free(&val);
        rt_folder_info_free(&info);
    }

    /* a class whose every image is unreadable, with skipping */
    new_case(dir, sizeof dir);
    classes_with_one_image(dir, 2);
    pathf(p, "%s/val/c000/img.png", dir);
    CHECK(ft_put(p, "broken", 6) == 0);
    pathf(q, "%s/val/c000", dir);
    expect_failure("all skipped", dir, 1, 0, RT_ERR_FORMAT, q,
                   "class 'c000' has no readable image (all 1 skipped; first: ", p,
                   (const char *)NULL);

    /* not regular files: a FIFO, a dangling link, a file name with a newline */
    new_case(dir, sizeof dir);
    classes_with_one_image(dir, 1);
    pathf(p, "%s/train/c000/fifo.png", dir);
    CHECK(mkfifo(p, 0600) == 0);
    expect_failure("fifo", dir, 0, 0, RT_ERR_IO, p, "not a regular file", (const char *)NULL);
    CHECK(unlink(p) == 0);
    pathf(p, "%s/train/c000/dangling.png", dir);
    CHECK(symlink("nowhere.png", p) == 0);
    expect_failure("dangling link", dir, 0, 0, RT_ERR_IO, p, "cannot open", (const char *)NULL);
    CHECK(unlink(p) == 0);
    pathf(p, "%s/train/c000/new\nline.png", dir);
    CHECK(ft_put(p, "broken", 6) == 0);
    pathf(q, "%s/train/c000/new?line.png", dir);
    expect_failure("newline", dir, 0, 0, RT_ERR_FORMAT, q, "not a PNG or JPEG",
                   (const char *)NULL);
    CHECK(unlink(p) == 0);

    /* a link back to an enclosing folder */
    pathf(p, "%s/train/c000/sub", dir);
    CHECK(ft_mkdirs(p) == 0);
    pathf(p, "%s/train/c000/sub/loop", dir);
    CHECK(symlink("..", p) == 0);
    expect_failure("link loop", dir, 0, 0, RT_ERR_FORMAT, p, "symbolic link loop",
                   (const char *)NULL);
    CHECK(unlink(p) == 0);

    /* 257 classes: too many; 256: fine */
    new_case(dir, sizeof dir);
    classes_with_one_image(dir, 257);
    pathf(p, "%s/train", dir);
    expect_failure("257 classes", dir, 0, 0, RT_ERR_FORMAT, p, "257 class folders",
                   "more than 256 (labels are single bytes)",
                   (const char *)NULL);
    pathf(p, "%s/train/c256", dir);
    fx_remove_tree(p);
    pathf(p, "%s/val/c256", dir);
    fx_remove_tree(p);
    rt_dataset train, val;
    rt_folder_info info;
    rt_error err;
    rt_status st = load(dir, 0, 0, 0, 0, &train, &val, &info, NULL, &err);
    CHECKF(st == RT_OK && info.classes == 256 && train.count == 256 && train.labels[255] == 255 &&
               strcmp(info.class_names[255], "c255") == 0,
           "256 classes: %s", err.message);
    rt_dataset_free(&train);
    rt_dataset_free(&val);
    rt_folder_info_free(&info);

    /* more than 16 GiB once decoded (90 headers of 8000 x 8000), refused before decoding */
    new_case(dir, sizeof dir);
    unsigned char head[33] = "\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR\0\0\x1f\x40\0\0\x1f\x40\x08\x02";
    for (int i = 0; i < 90; i++) {
        pathf(p, "%s/%s/a/%02d.png", dir, i < 88 ? "train" : "val", i);
        CHECK(ft_put(p, head, 33) == 0);
    }
    expect_failure("memory cap", dir, 0, 0, RT_ERR_NOMEM, dir, "90 images of 3x8000x8000",
                   "more than the 16 GiB", (const char *)NULL);
    /* the same through a large image size */
    new_case(dir, sizeof dir);
    for (int i = 0; i < 90; i++) {
        pathf(p, "%s/%s/a/%02d.png", dir, i < 88 ? "train" : "val", i);
        CHECK(ft_solid_png(p, 1, 1, 0, 0, 0) == 0);
    }
    expect_failure("memory cap by size", dir, 0, 8000, RT_ERR_NOMEM, dir, "more than the 16 GiB",
                   (const char *)NULL);

    /* options */
    expect_failure("size -1", dir, 0, -1, RT_ERR_USAGE, "image size -1", (const char *)NULL);
    expect_failure("size 9000", dir, 0, 9000, RT_ERR_USAGE, "image size 9000",
                   (const char *)NULL);
    rt_folder_options o = {NULL, 0, 0, 0, 0, NULL, NULL, 0};
    st = rt_folder_load(&o, &train, &val, NULL, &err);
    CHECK(st == RT_ERR_USAGE && strstr(err.message, "no folder given"));
    o.dir = dir;
    o.threads = -2;
    st = rt_folder_load(&o, &train, &val, NULL, &err);
    CHECK(st == RT_ERR_USAGE && strstr(err.message, "-2 threads"));
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: test_image_folder FIXTURE_DIR\n");
        return 2;
    }
#ifndef RT_HAVE_PNG
    (void)argv;
    return rt_test_skip("built without libpng: the tests write their folders as PNG");
#else
    fixtures = argv[1];
    CHECK(rt_test_tempdir(tmp, sizeof tmp) == 0);
    order_and_layout();
    colours();
    fixtures_through_the_loader("png_", 7, 5);
#ifdef RT_HAVE_JPEG
    fixtures_through_the_loader("jpeg_", 21, 13);
#endif
    resized();
    threads();
    malformed();
    fx_remove_tree(tmp);
    return rt_test_finish("test_image_folder");
#endif
}
