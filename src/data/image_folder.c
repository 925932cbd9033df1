/* rt_folder_load: torchvision's ImageFolder over DIR/train and DIR/val.
 *
 *  1. classes: the folders of DIR/train, checked against those of DIR/val;
 *  2. samples: each class folder walked (folder_scan.c), train then val;
 *  3. headers: every image's size read on the worker threads;
 *  4. geometry: the images' common size, or torchvision's Resize+CenterCrop
 *     to S (train_room: the training images' crop the whole resized
 *     square); the memory cap checked before anything is decoded;
 *  5. pixels: every image decoded on the worker threads straight into its
 *     slot of the preallocated sets (folder_decode.c);
 *  6. with skip_bad_images, the slots of unreadable images squeezed out.
 * Each image's outcome lands in its own entry, and failures are reported
 * by the lowest index, so nothing depends on the number of threads. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "folder_decode.h"
#include "folder_scan.h"
#include "resnet/image.h"
#include "resnet/image_folder.h"

typedef struct item {
    rt_status st; /* RT_OK until the image fails */
    char *msg;    /* why it failed (malloc'd; NULL when out of memory) */
    int w, h;     /* from its header */
    int transformed;
    size_t slot; /* its place in its set */
} item;

typedef struct job {
    const char **paths; /* train's then val's */
    const uint8_t *labels[2];
    size_t n, ntrain;
    item *items;
    rt_folder_geometry g[2]; /* train's, val's */
    size_t image_bytes[2];
    uint8_t *images[2];
} job;

static int fail_item(item *it, rt_status st, const rt_error *e)
{
    it->st = st;
    it->msg = strdup(e->message);
    return 1;
}

static int probe_one(void *ctx, size_t i)
{
    job *j = ctx;
    item *it = &j->items[i];
    rt_error e;
    rt_error_clear(&e);
    rt_status st = rt_image_probe(j->paths[i], &it->w, &it->h, &e);
    return st == RT_OK ? 0 : fail_item(it, st, &e);
}

static int decode_one(void *ctx, size_t i)
{
    job *j = ctx;
    item *it = &j->items[i];
    if (it->st != RT_OK)
        return 0; /* its header already failed (skipping) */
    const int s = i < j->ntrain ? 0 : 1;
    uint8_t *slot = j->images[s] + it->slot * j->image_bytes[s];
    rt_error e;
    rt_error_clear(&e);
    rt_status st = rt_folder_decode_into(j->paths[i], &j->g[s], slot, &it->transformed, &e);
    return st == RT_OK ? 0 : fail_item(it, st, &e);
}

/* The number of failed items, and the lowest one's error in first. */
static size_t failures(const job *j, rt_error *first)
{
    size_t count = 0;
    for (size_t i = 0; i < j->n; i++) {
        if (j->items[i].st == RT_OK || count++ != 0)
            continue;
        if (j->items[i].msg)
            rt_error_set(first, j->items[i].st, "%s", j->items[i].msg);
        else
            rt_error_set(first, j->items[i].st, "%s: failed (out of memory for the message)",
                         j->paths[i]);
    }
    return count;
}

static int threads_of(const rt_folder_options *o)
{
    if (o->threads > 0)
        return o->threads;
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)(n > 1024 ? 1024 : n) : 1;
}

static rt_status need_dir(const char *path, rt_error *err)
{
    struct stat sb;
    if (stat(path, &sb) != 0)
        return rt_error_set(err, RT_ERR_IO,
                            "%s: no such folder (an image folder data set holds train/ and val/, "
                            "each with one folder of images per class)",
                            path);
    if (!S_ISDIR(sb.st_mode))
        return rt_error_set(err, RT_ERR_IO, "%s: not a folder", path);
    return RT_OK;
}

/* The class folders of val must be those of train. */
static rt_status same_classes(const char *train, const char *val, char **a, int na, char **b,
                              int nb, rt_error *err)
{
    int i = 0, k = 0;
    while (i < na || k < nb) {
        int c = i == na ? 1 : k == nb ? -1 : rt_folder_name_cmp(a[i], b[k]);
        if (c < 0)
            return rt_error_set(err, RT_ERR_FORMAT,
                                "%s: no folder for class '%s' (a class of %s): both must hold "
                                "the same class folders",
                                val, a[i], train);
        if (c > 0)
            return rt_error_set(err, RT_ERR_FORMAT,
                                "%s/%s: class '%s' is not a class of %s: both must hold the "
                                "same class folders",
                                val, b[k], b[k], train);
        i++;
        k++;
    }
    return RT_OK;
}

/* Every class's files, in order; a class without any fails. */
static rt_status scan_split(const char *split, char **names, int n, rt_folder_list *out,
                            rt_error *err)
{
    char dir[RT_FOLDER_PATH_MAX];
    for (int c = 0; c < n; c++) {
        int len = snprintf(dir, sizeof dir, "%s/%s", split, names[c]);
        if (len < 0 || len >= (int)sizeof dir)
            return rt_error_set(err, RT_ERR_IO, "%s/%s: path too long", split, names[c]);
        size_t before = out->count;
        rt_status st = rt_folder_scan_class(dir, (uint8_t)c, out, err);
        if (st != RT_OK)
            return st;
        if (out->count == before)
            return rt_error_set(err, RT_ERR_FORMAT,
                                "%s: class '%s' has no image files (none named *.jpg, *.jpeg, "
                                "*.png, *.ppm, *.bmp, *.pgm, *.tif, *.tiff or *.webp)",
                                dir, names[c]);
    }
    return RT_OK;
}

/* Step 4: the stored size, and each readable image's slot. */
static rt_status plan(job *j, const rt_folder_options *o, size_t nok[2], rt_error *err)
{
    rt_folder_geometry *g = &j->g[1];
    g->channels = o->grayscale ? 1 : 3;
    int w = 0, h = 0, same = 1;
    nok[0] = nok[1] = 0;
    for (size_t i = 0; i < j->n; i++) {
        item *it = &j->items[i];
        if (it->st != RT_OK)
            continue;
        if (w == 0) {
            w = it->w;
            h = it->h;
        } else if (it->w != w || it->h != h) {
            same = 0;
        }
        it->slot = nok[i < j->ntrain ? 0 : 1]++;
    }
    if (o->image_size == 0 && same && w > 0) {
        g->rows = h;
        g->cols = w;
        g->crop = 0;
    } else {
        int s = o->image_size ? o->image_size : RT_FOLDER_DEFAULT_SIZE;
        g->rows = g->cols = g->crop = s;
        g->resize = s * 256 / 224; /* torchvision's evaluation Resize */
    }
    j->g[0] = *g;
    if (o->train_room && g->crop) {
        /* the square the evaluation crop is the centre of, for random resized crops */
        j->g[0].rows = j->g[0].cols = j->g[0].crop = g->resize;
    }
    uint64_t total = 0;
    for (int s = 0; s < 2; s++) {
        j->image_bytes[s] = (size_t)j->g[s].channels * (size_t)j->g[s].rows * (size_t)j->g[s].cols;
        /* fewer than 2^31 images of at most 3 x 2^28 bytes: no overflow */
        total += (uint64_t)nok[s] * j->image_bytes[s];
    }
    if (total > RT_FOLDER_MAX_BYTES)
        return rt_error_set(err, RT_ERR_NOMEM,
                            "%s: the decoded images would take %.1f GiB (%zu images of %dx%dx%d), "
                            "more than the %.0f GiB an image folder may take: use smaller "
                            "images or a smaller image size",
                            o->dir, (double)total / (double)(1u << 30), nok[0] + nok[1],
                            j->g[0].channels, j->g[0].rows, j->g[0].cols,
                            (double)RT_FOLDER_MAX_BYTES / (double)(1u << 30));
    for (int s = 0; s < 2; s++) {
        j->images[s] = malloc(nok[s] ? nok[s] * j->image_bytes[s] : 1);
        if (!j->images[s])
            return rt_error_set(err, RT_ERR_NOMEM,
                                "%s: out of memory for %zu decoded images of %zu bytes", o->dir,
                                nok[s], j->image_bytes[s]);
    }
    return RT_OK;
}

/* Step 6 and the result: set s's readable images moved down over the
 * unreadable ones' slots, in order; a class left empty fails. */
static rt_status build_set(job *j, int s, const char *split, char **names, int classes,
                           rt_dataset *out, rt_error *err)
{
    size_t from = s == 0 ? 0 : j->ntrain, to = s == 0 ? j->ntrain : j->n;
    size_t total = to - from, kept = 0;
    uint8_t *labels = malloc(total ? total : 1);
    size_t *per_class = calloc((size_t)classes, sizeof *per_class);
    size_t *bad_class = calloc((size_t)classes, sizeof *bad_class);
    size_t *first_bad = malloc((size_t)classes * sizeof *first_bad);
    rt_status st = RT_OK;
    if (!labels || !per_class || !bad_class || !first_bad) {
        st = rt_error_set(err, RT_ERR_NOMEM, "%s: out of memory", split);
        goto done;
    }
    for (size_t i = from; i < to; i++) {
        uint8_t label = j->labels[s][i - from];
        if (j->items[i].st != RT_OK) {
            if (bad_class[label]++ == 0)
                first_bad[label] = i;
            continue;
        }
        if (j->items[i].slot != kept)
            memmove(j->images[s] + kept * j->image_bytes[s],
                    j->images[s] + j->items[i].slot * j->image_bytes[s], j->image_bytes[s]);
        labels[kept++] = label;
        per_class[label]++;
    }
    for (int c = 0; c < classes; c++) {
        if (per_class[c] != 0)
            continue;
        size_t i = first_bad[c];
        st = rt_error_set(err, RT_ERR_FORMAT,
                          "%s/%s: class '%s' has no readable image (all %zu skipped; first: "
                          "%.600s)",
                          split, names[c], names[c], bad_class[c],
                          j->items[i].msg ? j->items[i].msg : j->paths[i]);
        goto done;
    }
    if (kept < total) {
        uint8_t *shrunk = realloc(j->images[s], kept * j->image_bytes[s]);
        if (shrunk)
            j->images[s] = shrunk;
    }
    out->count = (int32_t)kept;
    out->rows = j->g[s].rows;
    out->cols = j->g[s].cols;
    out->channels = j->g[s].channels;
    out->images = j->images[s];
    out->labels = labels;
    out->classes = classes;
    j->images[s] = NULL;
    labels = NULL;
done:
    free(labels);
    free(per_class);
    free(bad_class);
    free(first_bad);
    return st;
}

static void notify_skipped(const rt_folder_options *o, size_t count, const char *first)
{
    if (!o->notice)
        return;
    char line[RT_ERROR_MESSAGE_MAX + 64];
    snprintf(line, sizeof line, "skipped %zu unreadable image%s (first: %s)", count,
             count == 1 ? "" : "s", first);
    rt_folder_one_line(line);
    o->notice(o->notice_ctx, line);
}

static rt_status check_options(const rt_folder_options *o, rt_error *err)
{
    if (!o || !o->dir || !o->dir[0])
        return rt_error_set(err, RT_ERR_USAGE, "image folder: no folder given");
    if (o->image_size < 0 || o->image_size > RT_FOLDER_MAX_SIZE)
        return rt_error_set(err, RT_ERR_USAGE, "image folder: image size %d is not 0..%d",
                            o->image_size, RT_FOLDER_MAX_SIZE);
    if (o->threads < 0)
        return rt_error_set(err, RT_ERR_USAGE, "image folder: %d threads", o->threads);
    if (strlen(o->dir) > RT_FOLDER_PATH_MAX - 16)
        return rt_error_set(err, RT_ERR_USAGE, "%s: path too long", o->dir);
    return RT_OK;
}

/* Steps 2 to 6, once the classes are known. */
static rt_status load_images(const rt_folder_options *o, const char *split[2], char **names,
                             int classes, rt_dataset *sets[2], int *skipped, int *resized,
                             rt_error *err)
{
    rt_folder_list lists[2] = {{0}, {0}};
    job j;
    memset(&j, 0, sizeof j);
    rt_status st = RT_OK;
    for (int s = 0; s < 2 && st == RT_OK; s++)
        st = scan_split(split[s], names, classes, &lists[s], err);
    if (st != RT_OK)
        goto done;
    j.ntrain = lists[0].count;
    j.n = lists[0].count + lists[1].count;
    j.labels[0] = lists[0].labels;
    j.labels[1] = lists[1].labels;
    j.paths = malloc(j.n * sizeof *j.paths);
    j.items = calloc(j.n, sizeof *j.items);
    if (!j.paths || !j.items) {
        st = rt_error_set(err, RT_ERR_NOMEM, "%s: out of memory for %zu images", o->dir, j.n);
        goto done;
    }
    for (size_t i = 0; i < j.n; i++)
        j.paths[i] = i < j.ntrain ? lists[0].paths[i] : lists[1].paths[i - j.ntrain];
    const int threads = threads_of(o), stop = !o->skip_bad_images;
    rt_error first;
    rt_error_clear(&first);
    rt_folder_parallel(j.n, threads, probe_one, &j, stop);
    if (stop && failures(&j, &first) != 0) {
        st = rt_error_set(err, first.status, "%s", first.message);
        goto done;
    }
    size_t nok[2];
    st = plan(&j, o, nok, err);
    if (st != RT_OK)
        goto done;
    rt_folder_parallel(j.n, threads, decode_one, &j, stop);
    size_t bad = failures(&j, &first);
    if (bad != 0 && stop) {
        st = rt_error_set(err, first.status, "%s", first.message);
        goto done;
    }
    for (int s = 0; s < 2 && st == RT_OK; s++)
        st = build_set(&j, s, split[s], names, classes, sets[s], err);
    if (st != RT_OK)
        goto done;
    *skipped = (int)bad;
    *resized = 0;
    for (size_t i = 0; i < j.n; i++)
        *resized += j.items[i].st == RT_OK && j.items[i].transformed;
    if (bad != 0)
        notify_skipped(o, bad, first.message);
done:
    if (j.items)
        for (size_t i = 0; i < j.n; i++)
            free(j.items[i].msg);
    free(j.items);
    free(j.paths);
    free(j.images[0]);
    free(j.images[1]);
    rt_folder_list_free(&lists[0]);
    rt_folder_list_free(&lists[1]);
    return st;
}

rt_status rt_folder_load(const rt_folder_options *o, rt_dataset *train, rt_dataset *test,
                         rt_folder_info *info, rt_error *err)
{
    memset(train, 0, sizeof *train);
    memset(test, 0, sizeof *test);
    if (info)
        memset(info, 0, sizeof *info);
    rt_status st = check_options(o, err);
    if (st != RT_OK)
        return st;
    char train_dir[RT_FOLDER_PATH_MAX], val_dir[RT_FOLDER_PATH_MAX];
    snprintf(train_dir, sizeof train_dir, "%s/train", o->dir);
    snprintf(val_dir, sizeof val_dir, "%s/val", o->dir);
    char **names = NULL, **val_names = NULL;
    int classes = 0, val_classes = 0, skipped = 0, resized = 0;
    st = need_dir(o->dir, err);
    if (st == RT_OK)
        st = need_dir(train_dir, err);
    if (st == RT_OK)
        st = need_dir(val_dir, err);
    if (st == RT_OK)
        st = rt_folder_subdirs(train_dir, &names, &classes, err);
    if (st == RT_OK && classes == 0)
        st = rt_error_set(err, RT_ERR_FORMAT,
                          "%s: no class folders (expected %s/<class>/<image> for each class)",
                          train_dir, train_dir);
    if (st == RT_OK && classes > RT_FOLDER_MAX_CLASSES)
        st = rt_error_set(err, RT_ERR_FORMAT,
                          "%s: %d class folders, more than %d (labels are single bytes)",
                          train_dir, classes, RT_FOLDER_MAX_CLASSES);
    if (st == RT_OK)
        st = rt_folder_subdirs(val_dir, &val_names, &val_classes, err);
    if (st == RT_OK)
        st = same_classes(train_dir, val_dir, names, classes, val_names, val_classes, err);
    rt_folder_names_free(val_names, val_classes);
    if (st == RT_OK) {
        const char *split[2] = {train_dir, val_dir};
        rt_dataset *sets[2] = {train, test};
        st = load_images(o, split, names, classes, sets, &skipped, &resized, err);
    }
    if (st != RT_OK) {
        rt_folder_names_free(names, classes);
        rt_dataset_free(train);
        rt_dataset_free(test);
        if (err)
            rt_folder_one_line(err->message);
        return st;
    }
    if (info) {
        info->classes = classes;
        info->class_names = names;
        info->skipped = skipped;
        info->resized = resized;
    } else {
        rt_folder_names_free(names, classes);
    }
    return RT_OK;
}

void rt_folder_info_free(rt_folder_info *info)
{
    if (!info)
        return;
    rt_folder_names_free(info->class_names, info->classes);
    memset(info, 0, sizeof *info);
}
