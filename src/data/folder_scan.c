/* Walking an image folder as torchvision's find_classes and make_dataset
 * do: os.scandir + is_dir() (which follows symbolic links) for the
 * classes; sorted(os.walk(class_dir, followlinks=True)) for the samples,
 * which orders the folders by their whole path string (so "a/b" comes
 * before "a/b-c", which comes before "a/b/c": not a depth-first order),
 * then sorted(file names) within each. Every folder is read whole and
 * closed before its subfolders are entered, so deep trees do not hold a
 * descriptor per level. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "folder_scan.h"

void rt_folder_list_free(rt_folder_list *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->count; i++)
        free(l->paths[i]);
    free(l->paths);
    free(l->labels);
    memset(l, 0, sizeof *l);
}

void rt_folder_names_free(char **names, int count)
{
    if (!names)
        return;
    for (int i = 0; i < count; i++)
        free(names[i]);
    free(names);
}

/* A growable array of strings. */
typedef struct strvec {
    char **v;
    size_t n, cap;
} strvec;

static void strvec_free(strvec *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i]);
    free(s->v);
    memset(s, 0, sizeof *s);
}

static int strvec_push(strvec *s, const char *str)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 16;
        char **v = realloc(s->v, cap * sizeof *v);
        if (!v)
            return -1;
        s->v = v;
        s->cap = cap;
    }
    char *copy = strdup(str);
    if (!copy)
        return -1;
    s->v[s->n++] = copy;
    return 0;
}

static int by_name(const void *a, const void *b)
{
    return rt_folder_name_cmp(*(char *const *)a, *(char *const *)b);
}

static rt_status join(char *out, const char *dir, const char *name, rt_error *err)
{
    int n = snprintf(out, RT_FOLDER_PATH_MAX, "%s/%s", dir, name);
    if (n < 0 || n >= RT_FOLDER_PATH_MAX)
        return rt_error_set(err, RT_ERR_IO, "%s/%s: path too long (%d bytes at most)", dir,
                            name, RT_FOLDER_PATH_MAX - 1);
    return RT_OK;
}

/* The names in dir but . and .., unsorted. */
static rt_status list_dir(const char *dir, strvec *out, rt_error *err)
{
    memset(out, 0, sizeof *out);
    DIR *d = opendir(dir);
    if (!d)
        return rt_error_set(err, RT_ERR_IO, "%s: cannot read the folder: %s", dir,
                            strerror(errno));
    struct dirent *e;
    errno = 0;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (strvec_push(out, e->d_name) != 0) {
            closedir(d);
            strvec_free(out);
            return rt_error_set(err, RT_ERR_NOMEM, "%s: out of memory listing the folder", dir);
        }
        errno = 0;
    }
    int e2 = errno;
    closedir(d);
    if (e2 != 0) {
        strvec_free(out);
        return rt_error_set(err, RT_ERR_IO, "%s: cannot read the folder: %s", dir, strerror(e2));
    }
    return RT_OK;
}

rt_status rt_folder_subdirs(const char *dir, char ***names, int *count, rt_error *err)
{
    *names = NULL;
    *count = 0;
    strvec all, dirs = {0};
    rt_status st = list_dir(dir, &all, err);
    if (st != RT_OK)
        return st;
    char path[RT_FOLDER_PATH_MAX];
    for (size_t i = 0; i < all.n && st == RT_OK; i++) {
        st = join(path, dir, all.v[i], err);
        struct stat sb;
        if (st == RT_OK && stat(path, &sb) == 0 && S_ISDIR(sb.st_mode) &&
            strvec_push(&dirs, all.v[i]) != 0)
            st = rt_error_set(err, RT_ERR_NOMEM, "%s: out of memory listing the folder", dir);
    }
    strvec_free(&all);
    if (st == RT_OK && dirs.n > (size_t)RT_FOLDER_PATH_MAX * 1024)
        st = rt_error_set(err, RT_ERR_FORMAT, "%s: too many folders (%zu)", dir, dirs.n);
    if (st != RT_OK) {
        strvec_free(&dirs);
        return st;
    }
    if (dirs.n > 1)
        qsort(dirs.v, dirs.n, sizeof *dirs.v, by_name);
    *names = dirs.v;
    *count = (int)dirs.n;
    return RT_OK;
}

/* One sample found by the walk: its folder (an index into the walk's
 * folders) and its name. */
typedef struct found {
    size_t folder;
    char *name;
} found;

typedef struct walk {
    strvec folders; /* full paths */
    found *files;
    size_t nfiles, cap;
} walk;

/* The folders enclosing the one being read, to catch links back to them. */
typedef struct ancestor {
    dev_t dev;
    ino_t ino;
    const char *path;
    const struct ancestor *up;
} ancestor;

static rt_status add_file(walk *w, size_t folder, const char *name, rt_error *err)
{
    if (w->nfiles == w->cap) {
        size_t cap = w->cap ? 2 * w->cap : 64;
        found *f = realloc(w->files, cap * sizeof *f);
        if (!f)
            return rt_error_set(err, RT_ERR_NOMEM, "out of memory listing the images");
        w->files = f;
        w->cap = cap;
    }
    char *copy = strdup(name);
    if (!copy)
        return rt_error_set(err, RT_ERR_NOMEM, "out of memory listing the images");
    w->files[w->nfiles].folder = folder;
    w->files[w->nfiles].name = copy;
    w->nfiles++;
    return RT_OK;
}

static rt_status walk_folder(walk *w, const char *dir, const ancestor *up, rt_error *err)
{
    if (w->folders.n >= (size_t)1 << 24)
        return rt_error_set(err, RT_ERR_FORMAT, "%s: too many folders (more than %d)", dir,
                            1 << 24);
    struct stat self;
    if (stat(dir, &self) != 0)
        return rt_error_set(err, RT_ERR_IO, "%s: cannot read the folder: %s", dir,
                            strerror(errno));
    for (const ancestor *a = up; a; a = a->up)
        if (a->dev == self.st_dev && a->ino == self.st_ino)
            return rt_error_set(err, RT_ERR_FORMAT,
                                "%s: a symbolic link loop: this is the folder %s again", dir,
                                a->path);
    if (strvec_push(&w->folders, dir) != 0)
        return rt_error_set(err, RT_ERR_NOMEM, "out of memory listing the images");
    size_t index = w->folders.n - 1;
    strvec names;
    rt_status st = list_dir(dir, &names, err);
    if (st != RT_OK)
        return st;
    strvec subdirs = {0};
    char path[RT_FOLDER_PATH_MAX];
    for (size_t i = 0; i < names.n && st == RT_OK; i++) {
        st = join(path, dir, names.v[i], err);
        if (st != RT_OK)
            break;
        struct stat sb;
        /* os.walk: is_dir() follows links; a broken link is a file */
        if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) {
            if (strvec_push(&subdirs, path) != 0)
                st = rt_error_set(err, RT_ERR_NOMEM, "out of memory listing the images");
        } else if (rt_folder_has_image_extension(names.v[i])) {
            st = add_file(w, index, names.v[i], err);
        }
    }
    strvec_free(&names);
    ancestor me = {self.st_dev, self.st_ino, dir, up};
    for (size_t i = 0; i < subdirs.n && st == RT_OK; i++)
        st = walk_folder(w, subdirs.v[i], &me, err);
    strvec_free(&subdirs);
    return st;
}

/* qsort has no context argument: the folders of the walk being sorted. */
static _Thread_local const char *const *sort_folders;

static int by_folder_then_name(const void *a, const void *b)
{
    const found *x = a, *y = b;
    if (x->folder != y->folder) {
        int c = rt_folder_name_cmp(sort_folders[x->folder], sort_folders[y->folder]);
        if (c != 0)
            return c;
    }
    return rt_folder_name_cmp(x->name, y->name);
}

static rt_status push_sample(rt_folder_list *out, const char *dir, const char *name,
                             uint8_t label, rt_error *err)
{
    if (out->count == out->cap) {
        size_t cap = out->cap ? 2 * out->cap : 256;
        char **p = realloc(out->paths, cap * sizeof *p);
        if (!p)
            return rt_error_set(err, RT_ERR_NOMEM, "out of memory listing the images");
        out->paths = p;
        uint8_t *l = realloc(out->labels, cap);
        if (!l)
            return rt_error_set(err, RT_ERR_NOMEM, "out of memory listing the images");
        out->labels = l;
        out->cap = cap;
    }
    char path[RT_FOLDER_PATH_MAX];
    rt_status st = join(path, dir, name, err);
    if (st != RT_OK)
        return st;
    char *copy = strdup(path);
    if (!copy)
        return rt_error_set(err, RT_ERR_NOMEM, "out of memory listing the images");
    out->paths[out->count] = copy;
    out->labels[out->count] = label;
    out->count++;
    return RT_OK;
}

rt_status rt_folder_scan_class(const char *class_dir, uint8_t label, rt_folder_list *out,
                               rt_error *err)
{
    walk w;
    memset(&w, 0, sizeof w);
    rt_status st = walk_folder(&w, class_dir, NULL, err);
    if (st == RT_OK && w.nfiles > 1) {
        sort_folders = (const char *const *)w.folders.v;
        qsort(w.files, w.nfiles, sizeof *w.files, by_folder_then_name);
        sort_folders = NULL;
    }
    for (size_t i = 0; i < w.nfiles && st == RT_OK; i++)
        st = push_sample(out, w.folders.v[w.files[i].folder], w.files[i].name, label, err);
    if (st == RT_OK && out->count > (size_t)INT32_MAX / 2)
        st = rt_error_set(err, RT_ERR_FORMAT, "%s: too many images (%zu)", class_dir,
                          out->count);
    for (size_t i = 0; i < w.nfiles; i++)
        free(w.files[i].name);
    free(w.files);
    strvec_free(&w.folders);
    return st;
}
