/* The CIFAR archive reader on tar.gz archives written by this test with
 * libarchive's writer: the published layout loads (from a file and from
 * memory, members in any order, "./" prefixes, an uncompressed tar), and
 * every hostile or broken archive is refused with one line naming the
 * archive and the member: '..' and absolute paths, symbolic and hard links,
 * a fifo, oversized members, too many members, too much besides the record
 * files, a record file twice or missing, the wrong size, a bad label,
 * garbage, an empty file, a truncated or corrupt gzip stream. Without
 * libarchive: the one-line "unpack it or build with libarchive" error. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cifar_fixtures.h"
#include "test_support.h"

static char tmp[4096];

#ifdef RT_HAVE_ARCHIVE

static rt_cifar_set c10, c100;

/* Reads an archive from memory, expecting failure with the substrings. */
#define BAD(what, set, buf, status, ...)                                                       \
    do {                                                                                       \
        rt_dataset tr_, te_;                                                                   \
        rt_error e_;                                                                           \
        rt_error_clear(&e_);                                                                   \
        rt_status s_ = rt_cifar_read_archive_memory((set), "x.tar.gz", (buf).data, (buf).size, \
                                                    0, &tr_, &te_, &e_);                       \
        fx_check_error((what), s_, &e_, (status), "x.tar.gz", __VA_ARGS__,                     \
                       (const char *)NULL);                                                    \
        CHECKF(!tr_.images && !te_.images && !tr_.count && !te_.count,                         \
               "%s: sets not cleared", (what));                                                \
    } while (0)

/* The members of a small set's archive, in the published order, for
 * variations: names[k] and m[k]; returns the count. */
typedef struct members {
    fx_member m[80];
    char names[80][256];
    int n;
} members;

static void add(members *ms, const char *name, enum fx_member_type type, fx_buf data,
                const char *target)
{
    snprintf(ms->names[ms->n], sizeof ms->names[0], "%s", name);
    ms->m[ms->n] = (fx_member){ms->names[ms->n], type, data, target};
    ms->n++;
}

static void standard(members *ms, const rt_cifar_set *set)
{
    ms->n = 0;
    char name[256];
    snprintf(name, sizeof name, "%s/", set->folder);
    add(ms, name, FX_DIR, (fx_buf){NULL, 0}, NULL);
    for (int i = 0; i <= set->train_files; i++) {
        snprintf(name, sizeof name, "%s/%s", set->folder,
                 i < set->train_files ? set->train[i] : set->test);
        add(ms, name, FX_FILE, fx_cifar_file(set, i), NULL);
    }
}

static void release(members *ms)
{
    for (int i = 0; i < ms->n; i++)
        if (ms->m[i].type == FX_FILE)
            fx_free(&ms->m[i].data);
    ms->n = 0;
}

static fx_buf build(members *ms, int gzip)
{
    return fx_tar(ms->m, ms->n, gzip);
}

static void load_ok(const char *what, const rt_cifar_set *set, fx_buf archive, int coarse)
{
    rt_dataset train, test;
    rt_error err;
    rt_status st = rt_cifar_read_archive_memory(set, "x.tar.gz", archive.data, archive.size,
                                                coarse, &train, &test, &err);
    CHECKF(st == RT_OK, "%s: %s", what, err.message);
    if (st == RT_OK)
        fx_cifar_check_sets(what, set, coarse, &train, &test);
    rt_dataset_free(&train);
    rt_dataset_free(&test);
}

static void good_cases(void)
{
    /* the published layout, from a file (the path rt_data_load takes) */
    fx_buf a = fx_cifar_archive(&c10);
    CHECK(a.data != NULL);
    char path[4096];
    CHECK(fx_write(tmp, "cifar-10-binary.tar.gz", a.data, a.size, path) == 0);
    rt_dataset train, test;
    rt_error err;
    rt_status st = rt_cifar_read_archive(&c10, path, 0, &train, &test, &err);
    CHECKF(st == RT_OK, "from a file: %s", err.message);
    if (st == RT_OK)
        fx_cifar_check_sets("from a file", &c10, 0, &train, &test);
    rt_dataset_free(&train);
    rt_dataset_free(&test);
    load_ok("from memory", &c10, a, 0);
    fx_free(&a);

    /* CIFAR-100, fine and coarse labels */
    a = fx_cifar_archive(&c100);
    load_ok("cifar100 fine", &c100, a, 0);
    load_ok("cifar100 coarse", &c100, a, 1);
    fx_free(&a);

    /* members in another order, with ./ prefixes, uncompressed */
    members ms;
    standard(&ms, &c10);
    fx_member rev[8];
    for (int i = 0; i < ms.n; i++)
        rev[i] = ms.m[ms.n - 1 - i];
    char dotted[8][260];
    for (int i = 0; i < ms.n; i++) {
        snprintf(dotted[i], sizeof dotted[i], "./%s", rev[i].name);
        rev[i].name = dotted[i];
    }
    a = fx_tar(rev, ms.n, 0);
    load_ok("reversed, ./, plain tar", &c10, a, 0);
    fx_free(&a);
    release(&ms);

    /* a missing file on disk */
    char nowhere[4096];
    fx_pathf(nowhere, sizeof nowhere, "%s/no-such.tar.gz", tmp);
    st = rt_cifar_read_archive(&c10, nowhere, 0, &train, &test, &err);
    fx_check_error("no such file", st, &err, RT_ERR_FORMAT, nowhere, "not a readable archive",
                   NULL);
}

static void hostile_cases(void)
{
    members ms;
    fx_buf a, small = {(uint8_t *)"evil\n", 5};

    standard(&ms, &c10);
    add(&ms, "../evil.bin", FX_FILE, (fx_buf){NULL, 0}, NULL);
    ms.m[ms.n - 1].data = small;
    a = build(&ms, 1);
    ms.m[--ms.n].data = (fx_buf){NULL, 0};
    BAD("dot-dot", &c10, a, RT_ERR_FORMAT, "member ../evil.bin: refused", "'..'");
    fx_free(&a);
    release(&ms);

    standard(&ms, &c10);
    add(&ms, "cifar-10-batches-bin/../../x", FX_DIR, (fx_buf){NULL, 0}, NULL);
    a = build(&ms, 1);
    BAD("dot-dot folder", &c10, a, RT_ERR_FORMAT, "cifar-10-batches-bin/../../x", "'..'");
    fx_free(&a);
    release(&ms);

    standard(&ms, &c10);
    add(&ms, "/etc/cron.d/evil", FX_DIR, (fx_buf){NULL, 0}, NULL);
    a = build(&ms, 1);
    BAD("absolute", &c10, a, RT_ERR_FORMAT, "member /etc/cron.d/evil/: refused",
        "an absolute path");
    fx_free(&a);
    release(&ms);

    /* a record file that is a symbolic link (before the real one) */
    standard(&ms, &c10);
    fx_member link = {"cifar-10-batches-bin/data_batch_2.bin", FX_SYMLINK, {NULL, 0},
                      "/etc/passwd"};
    fx_member with_link[9];
    with_link[0] = link;
    memcpy(with_link + 1, ms.m, (size_t)ms.n * sizeof ms.m[0]);
    a = fx_tar(with_link, ms.n + 1, 1);
    BAD("symlink", &c10, a, RT_ERR_FORMAT, "member cifar-10-batches-bin/data_batch_2.bin",
        "refused: a symbolic link");
    fx_free(&a);

    /* a hard link to a record file, after it */
    with_link[0] = ms.m[0];
    memcpy(with_link, ms.m, (size_t)ms.n * sizeof ms.m[0]);
    with_link[ms.n] = (fx_member){"cifar-10-batches-bin/copy.bin", FX_HARDLINK, {NULL, 0},
                                  "cifar-10-batches-bin/data_batch_1.bin"};
    a = fx_tar(with_link, ms.n + 1, 1);
    BAD("hard link", &c10, a, RT_ERR_FORMAT, "member cifar-10-batches-bin/copy.bin",
        "refused: a hard link");
    fx_free(&a);

    with_link[ms.n] = (fx_member){"cifar-10-batches-bin/pipe", FX_FIFO, {NULL, 0}, NULL};
    a = fx_tar(with_link, ms.n + 1, 1);
    BAD("fifo", &c10, a, RT_ERR_FORMAT, "member cifar-10-batches-bin/pipe",
        "not a regular file or folder");
    fx_free(&a);
    release(&ms);

    /* a record file one record too big */
    standard(&ms, &c10);
    fx_free(&ms.m[3].data);
    ms.m[3].data = fx_cifar_records(0, c10.train_records + 1, 3);
    a = build(&ms, 1);
    BAD("oversized record file", &c10, a, RT_ERR_FORMAT,
        "member cifar-10-batches-bin/data_batch_3.bin: refused: 12292 bytes, larger than the "
        "9219 bytes");
    fx_free(&a);
    release(&ms);

    /* another member bigger than any record file */
    standard(&ms, &c10);
    add(&ms, "cifar-10-batches-bin/readme.html", FX_FILE, fx_cifar_records(0, 4, 0), NULL);
    a = build(&ms, 1);
    BAD("oversized other member", &c10, a, RT_ERR_FORMAT,
        "member cifar-10-batches-bin/readme.html: refused", "larger than any file");
    fx_free(&a);
    release(&ms);

    /* 70 members */
    standard(&ms, &c10);
    while (ms.n < 70) {
        char name[64];
        snprintf(name, sizeof name, "cifar-10-batches-bin/extra%d/", ms.n);
        add(&ms, name, FX_DIR, (fx_buf){NULL, 0}, NULL);
    }
    a = build(&ms, 1);
    BAD("too many members", &c10, a, RT_ERR_FORMAT, "more than 64 members");
    fx_free(&a);
    release(&ms);

    /* a record file twice */
    standard(&ms, &c10);
    add(&ms, "cifar-10-batches-bin/test_batch.bin", FX_FILE, fx_cifar_file(&c10, 5), NULL);
    a = build(&ms, 1);
    BAD("twice", &c10, a, RT_ERR_FORMAT, "member cifar-10-batches-bin/test_batch.bin",
        "appears twice");
    fx_free(&a);
    release(&ms);

    /* a name with a newline and an escape: the message stays one line */
    standard(&ms, &c10);
    add(&ms, "cifar-10-batches-bin/\n\033[2J/../x", FX_DIR, (fx_buf){NULL, 0}, NULL);
    a = build(&ms, 1);
    BAD("control characters", &c10, a, RT_ERR_FORMAT, "cifar-10-batches-bin/??[2J/../x",
        "'..'");
    fx_free(&a);
    release(&ms);
}

static void broken_cases(void)
{
    members ms;
    fx_buf a;

    /* the test file missing */
    standard(&ms, &c10);
    fx_free(&ms.m[ms.n - 1].data);
    ms.n--;
    a = build(&ms, 1);
    BAD("missing member", &c10, a, RT_ERR_FORMAT,
        "member cifar-10-batches-bin/test_batch.bin not found",
        "not the CIFAR-10 binary archive (cifar-10-binary.tar.gz)");
    fx_free(&a);
    release(&ms);

    /* the CIFAR-100 archive where CIFAR-10 is expected: its training file is
     * bigger than any of CIFAR-10's */
    a = fx_cifar_archive(&c100);
    BAD("the other set", &c10, a, RT_ERR_FORMAT, "member cifar-100-binary/train.bin: refused",
        "larger than any file of the CIFAR-10 binary archive");
    fx_free(&a);
    /* and CIFAR-10's where CIFAR-100 is expected */
    a = fx_cifar_archive(&c10);
    BAD("the other set (100)", &c100, a, RT_ERR_FORMAT,
        "member cifar-100-binary/train.bin not found", "not the CIFAR-100 binary archive");
    fx_free(&a);

    /* a record file one record short */
    standard(&ms, &c10);
    fx_free(&ms.m[2].data);
    ms.m[2].data = fx_cifar_records(0, c10.train_records - 1, 2);
    a = build(&ms, 1);
    BAD("short record file", &c10, a, RT_ERR_FORMAT,
        "x.tar.gz member cifar-10-batches-bin/data_batch_2.bin: holds 2 records, expected 3");
    fx_free(&a);
    release(&ms);

    /* a bad label in the test file */
    standard(&ms, &c10);
    ms.m[ms.n - 1].data.data[1 * 3073] = 12;
    a = build(&ms, 1);
    BAD("bad label", &c10, a, RT_ERR_FORMAT,
        "x.tar.gz member cifar-10-batches-bin/test_batch.bin: bad label: record 1 has label 12");
    fx_free(&a);
    release(&ms);

    /* a bad fine label in CIFAR-100's training file */
    standard(&ms, &c100);
    ms.m[1].data.data[2 * 3074 + 1] = 150;
    a = build(&ms, 1);
    BAD("bad fine label", &c100, a, RT_ERR_FORMAT,
        "member cifar-100-binary/train.bin: bad label: record 2 has fine label 150");
    fx_free(&a);
    release(&ms);

    /* garbage, text, nothing */
    fx_buf garbage = {malloc(5000), 5000};
    CHECK(garbage.data != NULL);
    for (size_t i = 0; i < garbage.size; i++)
        garbage.data[i] = (uint8_t)(i * 2654435761u >> 13);
    BAD("garbage", &c10, garbage, RT_ERR_FORMAT, "not a readable archive");
    fx_buf html = {(uint8_t *)"<html><body>404 Not Found</body></html>\n", 40};
    BAD("html", &c10, html, RT_ERR_FORMAT, "not a readable archive");
    fx_buf empty = {NULL, 0};
    BAD("empty", &c10, empty, RT_ERR_FORMAT, "x.tar.gz");
    /* gzip of something that is not a tar */
    fx_buf gz = fx_gzip(garbage.data, garbage.size);
    BAD("gzip of garbage", &c10, gz, RT_ERR_FORMAT, "not a readable archive");
    fx_free(&gz);
    fx_free(&garbage);

    /* cut: inside the compressed data, and just before the gzip trailer */
    a = fx_cifar_archive(&c10);
    fx_buf cut = {a.data, a.size / 2};
    BAD("cut at half", &c10, cut, RT_ERR_FORMAT, "truncated");
    cut.size = a.size - 4;
    BAD("cut trailer", &c10, cut, RT_ERR_FORMAT, "x.tar.gz");
    /* corrupt deflate data */
    for (size_t i = a.size / 3; i < a.size / 3 + 32; i++)
        a.data[i] ^= 0x5a;
    BAD("corrupt", &c10, a, RT_ERR_FORMAT, "x.tar.gz");
    fx_free(&a);

    /* an uncompressed tar cut inside a record file's data */
    standard(&ms, &c10);
    a = build(&ms, 0);
    cut = (fx_buf){a.data, 512 * 3 + 4000};
    BAD("plain tar cut", &c10, cut, RT_ERR_FORMAT, "truncated");
    fx_free(&a);
    release(&ms);
}

/* Besides the record files, more than 16 MiB: with the real set's sizes
 * (a record file is 30 MB, so one 9 MB member is allowed). */
static void other_bytes_case(void)
{
    fx_buf zeros = {calloc(9u << 20, 1), 9u << 20};
    CHECK(zeros.data != NULL);
    fx_member m[3] = {
        {"cifar-10-batches-bin/", FX_DIR, {NULL, 0}, NULL},
        {"cifar-10-batches-bin/a.txt", FX_FILE, zeros, NULL},
        {"cifar-10-batches-bin/b.txt", FX_FILE, zeros, NULL},
    };
    fx_buf a = fx_tar(m, 3, 1);
    BAD("too much besides", &rt_cifar10, a, RT_ERR_FORMAT, "member cifar-10-batches-bin/b.txt",
        "more than 16 MiB");
    fx_free(&a);
    fx_free(&zeros);
}

int main(void)
{
    CHECK(rt_test_tempdir(tmp, sizeof tmp) == 0);
    c10 = fx_cifar_small(0, 3, 2);
    c100 = fx_cifar_small(1, 4, 3);
    good_cases();
    hostile_cases();
    broken_cases();
    other_bytes_case();
    fx_remove_tree(tmp);
    return rt_test_finish("test_cifar_archive");
}

#else /* !RT_HAVE_ARCHIVE */

int main(void)
{
    CHECK(rt_test_tempdir(tmp, sizeof tmp) == 0);
    static const uint8_t bytes[4] = {0x1f, 0x8b, 0, 0};
    rt_dataset train, test;
    rt_error err;
    rt_status st = rt_cifar_read_archive_memory(&rt_cifar10, "x.tar.gz", bytes, sizeof bytes, 0,
                                                &train, &test, &err);
    fx_check_error("no libarchive", st, &err, RT_ERR_IO, "x.tar.gz", "no libarchive", "unpack",
                   "cifar-10-batches-bin", NULL);
    fx_remove_tree(tmp);
    return rt_test_finish("test_cifar_archive");
}

#endif
