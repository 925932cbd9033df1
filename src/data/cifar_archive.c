/* A CIFAR set straight from its .tar.gz archive, decompressed into memory
 * with libarchive (nothing is extracted to disk), trusting nothing in it:
 * every member's name, type and size is checked before its data is read,
 * and only the record files are kept. */
#include <stdlib.h>
#include <string.h>

#include "cifar.h"
#include "data_util.h"

#ifdef RT_HAVE_ARCHIVE

#include <archive.h>
#include <archive_entry.h>

#define MEMBER_MAX 256
#define LABEL_MAX (RT_DATA_PATH_MAX + MEMBER_MAX + 16)

typedef struct wanted {
    char member[MEMBER_MAX]; /* FOLDER/FILE */
    char label[LABEL_MAX];   /* "ARCHIVE member FOLDER/FILE", for messages */
    uint8_t *dst;
    size_t size;
    int seen;
} wanted;

typedef struct reader {
    const rt_cifar_set *set;
    const char *name; /* the archive, for messages */
    struct archive *a;
    wanted want[RT_CIFAR_MAX_TRAIN_FILES + 1];
    int nwant;
    size_t largest; /* the biggest record file */
    uint64_t other_bytes;
} reader;

static rt_status lib_error(const reader *r, const char *what, const char *member, rt_error *err)
{
    char msg[400];
    const char *s = archive_error_string(r->a);
    rt_data_printable(s && *s ? s : "libarchive gave no reason (corrupt or truncated?)", msg,
                      sizeof msg);
    if (member)
        return rt_error_set(err, RT_ERR_FORMAT, "%s: member %s: %s: %s", r->name, member, what,
                            msg);
    return rt_error_set(err, RT_ERR_FORMAT, "%s: %s: %s", r->name, what, msg);
}

static rt_status refuse(const reader *r, const char *member, const char *why, rt_error *err)
{
    return rt_error_set(err, RT_ERR_FORMAT, "%s: member %s: refused: %s", r->name, member, why);
}

/* NULL when the path is acceptable, else why not. */
static const char *bad_path(const char *path)
{
    if (!path[0])
        return "an empty name";
    if (path[0] == '/' || path[0] == '\\')
        return "an absolute path";
    for (const char *p = path; *p;) {
        size_t n = strcspn(p, "/\\");
        if (n == 2 && p[0] == '.' && p[1] == '.')
            return "a path with a '..' component";
        p += n;
        if (*p)
            p++;
    }
    return NULL;
}

static wanted *find_wanted(reader *r, const char *path)
{
    while (path[0] == '.' && path[1] == '/') /* ./FOLDER/FILE, as `tar czf x ./FOLDER` writes */
        path += 2;
    for (int i = 0; i < r->nwant; i++)
        if (strcmp(r->want[i].member, path) == 0)
            return &r->want[i];
    return NULL;
}

static rt_status read_member(reader *r, wanted *w, const char *shown, rt_error *err)
{
    size_t got = 0;
    while (got < w->size) {
        la_ssize_t k = archive_read_data(r->a, w->dst + got, w->size - got);
        if (k < 0)
            return lib_error(r, "corrupt or truncated", shown, err);
        if (k == 0)
            return rt_error_set(err, RT_ERR_FORMAT,
                                "%s: member %s: cut short (%zu of %zu bytes): truncated archive",
                                r->name, shown, got, w->size);
        got += (size_t)k;
    }
    return RT_OK;
}

/* One member: checked, then read (a record file) or skipped. */
static rt_status member(reader *r, struct archive_entry *e, rt_error *err)
{
    const char *path = archive_entry_pathname(e);
    char shown[MEMBER_MAX];
    rt_data_printable(path ? path : "(no name)", shown, sizeof shown);
    const char *why = path ? bad_path(path) : "a name that cannot be read";
    if (why)
        return refuse(r, shown, why, err);
    if (archive_entry_hardlink(e))
        return refuse(r, shown, "a hard link", err);
    mode_t type = archive_entry_filetype(e);
    if (type == AE_IFLNK)
        return refuse(r, shown, "a symbolic link", err);
    if (type == AE_IFDIR)
        return RT_OK;
    if (type != AE_IFREG)
        return refuse(r, shown, "not a regular file or folder", err);
    if (!archive_entry_size_is_set(e) || archive_entry_size(e) < 0)
        return refuse(r, shown, "no size in its header", err);
    uint64_t size = (uint64_t)archive_entry_size(e);
    wanted *w = find_wanted(r, path);
    if (!w) {
        if (size > r->largest)
            return rt_error_set(err, RT_ERR_FORMAT,
                                "%s: member %s: refused: %llu bytes, larger than any file of the "
                                "%s binary archive (%zu)",
                                r->name, shown, (unsigned long long)size, r->set->title,
                                r->largest);
        r->other_bytes += size;
        if (r->other_bytes > RT_CIFAR_MAX_OTHER_BYTES)
            return rt_error_set(err, RT_ERR_FORMAT,
                                "%s: member %s: refused: the members besides the record files "
                                "hold more than %llu MiB: not the %s binary archive",
                                r->name, shown,
                                (unsigned long long)(RT_CIFAR_MAX_OTHER_BYTES >> 20),
                                r->set->title);
        if (archive_read_data_skip(r->a) != ARCHIVE_OK)
            return lib_error(r, "corrupt or truncated", shown, err);
        return RT_OK;
    }
    if (w->seen)
        return refuse(r, shown, "a record file that appears twice", err);
    w->seen = 1;
    if (size > w->size)
        return rt_error_set(err, RT_ERR_FORMAT,
                            "%s: member %s: refused: %llu bytes, larger than the %zu bytes of "
                            "the %s record file",
                            r->name, shown, (unsigned long long)size, w->size, r->set->title);
    int test = w == &r->want[r->nwant - 1];
    rt_status st = rt_cifar_check_size(w->label, size, r->set->cifar100,
                                       test ? r->set->test_records : r->set->train_records, err);
    if (st == RT_OK && size != w->size) /* only for a malformed table row */
        st = rt_error_set(err, RT_ERR_FORMAT, "%s: %llu bytes, expected %zu", w->label,
                          (unsigned long long)size, w->size);
    return st != RT_OK ? st : read_member(r, w, shown, err);
}

static rt_status read_all(reader *r, rt_error *err)
{
    struct archive_entry *e;
    for (int members = 0;; members++) {
        int rc = archive_read_next_header(r->a, &e);
        if (rc == ARCHIVE_EOF)
            break;
        if (rc != ARCHIVE_OK)
            return lib_error(r, members ? "corrupt or truncated archive" : "not a readable archive",
                             NULL, err);
        if (members >= RT_CIFAR_MAX_MEMBERS)
            return rt_error_set(err, RT_ERR_FORMAT,
                                "%s: refused: more than %d members: not the %s binary archive",
                                r->name, RT_CIFAR_MAX_MEMBERS, r->set->title);
        rt_status st = member(r, e, err);
        if (st != RT_OK)
            return st;
    }
    for (int i = 0; i < r->nwant; i++)
        if (!r->want[i].seen)
            return rt_error_set(err, RT_ERR_FORMAT,
                                "%s: member %s not found: not the %s binary archive (%s)",
                                r->name, r->want[i].member, r->set->title, r->set->archive);
    return RT_OK;
}

/* open_memory when data is not NULL, else open_filename(name) */
static rt_status read_archive(const rt_cifar_set *set, const char *name, const void *data,
                              size_t size, int coarse, rt_dataset *train, rt_dataset *test,
                              rt_error *err)
{
    memset(train, 0, sizeof *train);
    memset(test, 0, sizeof *test);
    size_t train_bytes = rt_cifar_train_bytes(set), test_bytes = rt_cifar_test_bytes(set);
    if (!train_bytes || !test_bytes)
        return rt_error_set(err, RT_ERR_USAGE, "%s: malformed CIFAR set description", name);
    reader r;
    memset(&r, 0, sizeof r);
    r.set = set;
    r.name = name;
    r.nwant = set->train_files + 1;
    size_t file_bytes = train_bytes / (size_t)set->train_files;
    r.largest = file_bytes > test_bytes ? file_bytes : test_bytes;
    uint8_t *train_buf = malloc(train_bytes), *test_buf = malloc(test_bytes);
    const char *names[RT_CIFAR_MAX_TRAIN_FILES];
    rt_status st = RT_OK;
    if (!train_buf || !test_buf) {
        st = rt_error_set(err, RT_ERR_NOMEM, "%s: out of memory for %zu bytes of records", name,
                          train_bytes + test_bytes);
        goto fail;
    }
    for (int i = 0; i < r.nwant; i++) {
        wanted *w = &r.want[i];
        const char *file = i < set->train_files ? set->train[i] : set->test;
        int n = snprintf(w->member, sizeof w->member, "%s/%s", set->folder, file);
        int m = snprintf(w->label, sizeof w->label, "%s member %s/%s", name, set->folder, file);
        if (n < 0 || (size_t)n >= sizeof w->member || m < 0 || (size_t)m >= sizeof w->label) {
            st = rt_error_set(err, RT_ERR_USAGE, "%s: path too long", name);
            goto fail;
        }
        w->dst = i < set->train_files ? train_buf + (size_t)i * file_bytes : test_buf;
        w->size = i < set->train_files ? file_bytes : test_bytes;
        if (i < set->train_files)
            names[i] = w->label;
    }
    r.a = archive_read_new();
    if (!r.a) {
        st = rt_error_set(err, RT_ERR_NOMEM, "%s: cannot start libarchive", name);
        goto fail;
    }
    if (archive_read_support_filter_gzip(r.a) != ARCHIVE_OK) {
        st = rt_error_set(err, RT_ERR_IO, "%s: this libarchive cannot decompress gzip itself",
                          name);
        goto fail;
    }
    archive_read_support_format_tar(r.a);
    int rc = data ? archive_read_open_memory(r.a, data, size)
                  : archive_read_open_filename(r.a, name, 1 << 16);
    if (rc != ARCHIVE_OK) {
        st = lib_error(&r, "not a readable archive", NULL, err);
        goto fail;
    }
    if ((st = read_all(&r, err)) != RT_OK)
        goto fail;
    archive_read_free(r.a);
    return rt_cifar_finish(set, coarse, train_buf, names, test_buf, r.want[r.nwant - 1].label,
                           train, test, err);
fail:
    if (r.a)
        archive_read_free(r.a);
    free(train_buf);
    free(test_buf);
    return st;
}

rt_status rt_cifar_read_archive(const rt_cifar_set *set, const char *path, int coarse,
                                rt_dataset *train, rt_dataset *test, rt_error *err)
{
    return read_archive(set, path, NULL, 0, coarse, train, test, err);
}

rt_status rt_cifar_read_archive_memory(const rt_cifar_set *set, const char *name,
                                       const void *data, size_t size, int coarse,
                                       rt_dataset *train, rt_dataset *test, rt_error *err)
{
    static const uint8_t empty[1] = {0};
    return read_archive(set, name, size ? data : empty, size, coarse, train, test, err);
}

#else /* !RT_HAVE_ARCHIVE */

static rt_status no_archive(const rt_cifar_set *set, const char *name, rt_dataset *train,
                            rt_dataset *test, rt_error *err)
{
    memset(train, 0, sizeof *train);
    memset(test, 0, sizeof *test);
    return rt_error_set(err, RT_ERR_IO,
                        "%s: cannot read the archive: this build has no libarchive; unpack it "
                        "(tar xzf %s, giving the folder %s beside it) or rebuild with "
                        "libarchive (-Darchive=enabled)",
                        name, set->archive, set->folder);
}

rt_status rt_cifar_read_archive(const rt_cifar_set *set, const char *path, int coarse,
                                rt_dataset *train, rt_dataset *test, rt_error *err)
{
    (void)coarse;
    return no_archive(set, path, train, test, err);
}

rt_status rt_cifar_read_archive_memory(const rt_cifar_set *set, const char *name,
                                       const void *data, size_t size, int coarse,
                                       rt_dataset *train, rt_dataset *test, rt_error *err)
{
    (void)data;
    (void)size;
    (void)coarse;
    return no_archive(set, name, train, test, err);
}

#endif
