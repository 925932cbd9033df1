#include "cifar_fixtures.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "test_support.h"

#ifdef RT_HAVE_ARCHIVE
#include <archive.h>
#include <archive_entry.h>
#endif

uint8_t fx_cifar_pixel(int tag, int record, int j)
{
    return (uint8_t)(record * 7 + j * 13 + tag * 31 + (j >> 10));
}

uint8_t fx_cifar_label(int cifar100, int coarse, int tag, int record)
{
    if (!cifar100)
        return (uint8_t)((record + tag) % 10);
    return (uint8_t)(coarse ? (record + tag) % 20 : (record + 3 * tag) % 100);
}

fx_buf fx_cifar_records(int cifar100, int count, int tag)
{
    size_t rec = rt_cifar_record_bytes(cifar100), skip = rec - RT_CIFAR_IMAGE_BYTES;
    fx_buf b = {malloc((size_t)count * rec + 1), (size_t)count * rec};
    CHECK(b.data != NULL);
    if (!b.data) {
        b.size = 0;
        return b;
    }
    for (int i = 0; i < count; i++) {
        uint8_t *r = b.data + (size_t)i * rec;
        r[0] = fx_cifar_label(cifar100, cifar100, tag, i);
        if (cifar100)
            r[1] = fx_cifar_label(1, 0, tag, i);
        for (int j = 0; j < RT_CIFAR_IMAGE_BYTES; j++)
            r[skip + (size_t)j] = fx_cifar_pixel(tag, i, j);
    }
    return b;
}

rt_cifar_set fx_cifar_small(int cifar100, int32_t train_records, int32_t test_records)
{
    rt_cifar_set s = cifar100 ? rt_cifar100 : rt_cifar10;
    s.train_records = train_records;
    s.test_records = test_records;
    return s;
}

fx_buf fx_cifar_file(const rt_cifar_set *set, int i)
{
    if (i < set->train_files)
        return fx_cifar_records(set->cifar100, set->train_records, i + 1);
    return fx_cifar_records(set->cifar100, set->test_records, 9);
}

static void check_set(const char *what, const rt_cifar_set *set, int coarse, const rt_dataset *d,
                      int test)
{
    int files = test ? 1 : set->train_files;
    int per = test ? set->test_records : set->train_records;
    int classes = set->cifar100 ? (coarse ? 20 : 100) : 10;
    CHECKF(d->count == files * per && d->channels == 3 && d->rows == 32 && d->cols == 32 &&
               d->classes == classes,
           "%s: %d images of %dx%dx%d, %d classes", what, (int)d->count, (int)d->channels,
           (int)d->rows, (int)d->cols, (int)d->classes);
    if (!d->images || !d->labels || d->count != files * per)
        return;
    int bad = 0;
    for (int f = 0; f < files && !bad; f++) {
        int tag = test ? 9 : f + 1;
        for (int i = 0; i < per && !bad; i++) {
            size_t at = (size_t)f * (size_t)per + (size_t)i;
            if (d->labels[at] != fx_cifar_label(set->cifar100, coarse, tag, i)) {
                CHECKF(0, "%s: image %zu: label %u, expected %u", what, at, d->labels[at],
                       fx_cifar_label(set->cifar100, coarse, tag, i));
                bad = 1;
            }
            const uint8_t *img = d->images + at * RT_CIFAR_IMAGE_BYTES;
            for (int j = 0; j < RT_CIFAR_IMAGE_BYTES && !bad; j++)
                if (img[j] != fx_cifar_pixel(tag, i, j)) {
                    CHECKF(0, "%s: image %zu byte %d differs", what, at, j);
                    bad = 1;
                }
        }
    }
}

void fx_cifar_check_sets(const char *what, const rt_cifar_set *set, int coarse,
                         const rt_dataset *train, const rt_dataset *test)
{
    char w[256];
    snprintf(w, sizeof w, "%s (training set)", what);
    check_set(w, set, coarse, train, 0);
    snprintf(w, sizeof w, "%s (test set)", what);
    check_set(w, set, coarse, test, 1);
}

void fx_cifar_write_folder(const rt_cifar_set *set, const char *dir)
{
    char folder[4096], path[4096];
    fx_pathf(folder, sizeof folder, "%s/%s", dir, set->folder);
    mkdir(folder, 0777);
    for (int i = 0; i <= set->train_files; i++) {
        fx_buf b = fx_cifar_file(set, i);
        const char *name = i < set->train_files ? set->train[i] : set->test;
        CHECKF(fx_write(folder, name, b.data, b.size, path) == 0, "cannot write %s", path);
        fx_free(&b);
    }
}

#ifdef RT_HAVE_ARCHIVE

typedef struct sink {
    fx_buf buf;
    size_t cap;
    int failed;
} sink;

static la_ssize_t on_write(struct archive *a, void *ctx, const void *data, size_t n)
{
    (void)a;
    sink *s = ctx;
    if (s->buf.size + n > s->cap) {
        size_t cap = (s->cap ? s->cap * 2 : 1 << 16) + n;
        uint8_t *g = realloc(s->buf.data, cap);
        if (!g) {
            s->failed = 1;
            return -1;
        }
        s->buf.data = g;
        s->cap = cap;
    }
    memcpy(s->buf.data + s->buf.size, data, n);
    s->buf.size += n;
    return (la_ssize_t)n;
}

fx_buf fx_tar(const fx_member *members, int count, int gzip)
{
    sink s = {{NULL, 0}, 0, 0};
    struct archive *a = archive_write_new();
    if (!a)
        return s.buf;
    archive_write_set_format_ustar(a);
    if (gzip)
        archive_write_add_filter_gzip(a);
    archive_write_set_bytes_in_last_block(a, 1);
    int ok = archive_write_open(a, &s, NULL, on_write, NULL) == ARCHIVE_OK;
    for (int i = 0; ok && i < count; i++) {
        const fx_member *m = &members[i];
        struct archive_entry *e = archive_entry_new();
        archive_entry_set_pathname(e, m->name);
        archive_entry_set_mtime(e, 1262304000, 0);
        switch (m->type) {
        case FX_FILE:
            archive_entry_set_filetype(e, AE_IFREG);
            archive_entry_set_perm(e, 0644);
            archive_entry_set_size(e, (la_int64_t)m->data.size);
            break;
        case FX_DIR:
            archive_entry_set_filetype(e, AE_IFDIR);
            archive_entry_set_perm(e, 0755);
            break;
        case FX_SYMLINK:
            archive_entry_set_filetype(e, AE_IFLNK);
            archive_entry_set_perm(e, 0777);
            archive_entry_set_symlink(e, m->target);
            break;
        case FX_HARDLINK:
            archive_entry_set_filetype(e, AE_IFREG);
            archive_entry_set_perm(e, 0644);
            archive_entry_set_hardlink(e, m->target);
            archive_entry_set_size(e, 0);
            break;
        case FX_FIFO:
            archive_entry_set_filetype(e, AE_IFIFO);
            archive_entry_set_perm(e, 0644);
            break;
        }
        ok = archive_write_header(a, e) == ARCHIVE_OK;
        if (ok && m->type == FX_FILE && m->data.size)
            ok = archive_write_data(a, m->data.data, m->data.size) == (la_ssize_t)m->data.size;
        archive_entry_free(e);
    }
    ok = archive_write_close(a) == ARCHIVE_OK && ok;
    archive_write_free(a);
    CHECKF(ok && !s.failed, "writing a test archive failed");
    if (!ok || s.failed)
        fx_free(&s.buf);
    return s.buf;
}

#else

fx_buf fx_tar(const fx_member *members, int count, int gzip)
{
    (void)members;
    (void)count;
    (void)gzip;
    fx_buf b = {NULL, 0};
    return b;
}

#endif

fx_buf fx_cifar_archive(const rt_cifar_set *set)
{
    fx_member m[RT_CIFAR_MAX_TRAIN_FILES + 3];
    char names[RT_CIFAR_MAX_TRAIN_FILES + 3][256];
    int n = 0;
    snprintf(names[n], sizeof names[n], "%s/", set->folder);
    m[n] = (fx_member){names[n], FX_DIR, {NULL, 0}, NULL};
    n++;
    snprintf(names[n], sizeof names[n], "%s/readme.html", set->folder);
    static const char readme[] = "<meta HTTP-EQUIV=\"REFRESH\" content=\"0; url=...\">\n";
    m[n] = (fx_member){names[n], FX_FILE, {(uint8_t *)(uintptr_t)readme, sizeof readme - 1}, NULL};
    n++;
    for (int i = 0; i <= set->train_files; i++, n++) {
        snprintf(names[n], sizeof names[n], "%s/%s", set->folder,
                 i < set->train_files ? set->train[i] : set->test);
        m[n] = (fx_member){names[n], FX_FILE, fx_cifar_file(set, i), NULL};
    }
    fx_buf out = fx_tar(m, n, 1);
    for (int i = 2; i < n; i++)
        fx_free(&m[i].data);
    return out;
}
