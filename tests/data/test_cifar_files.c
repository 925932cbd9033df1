/* Where rt_data_load and rt_cifar_load find a CIFAR set: the unpacked
 * folder (before the archive, all its files checked before any is read),
 * the archive in the data folder, and the "not found" error when
 * downloading is disabled; the real record counts through rt_data_load on
 * sparse all-zero files (labels and pixels poked in to check the order);
 * coarse labels. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cifar_fixtures.h"
#include "resnet/datasets.h"
#include "test_support.h"

static char tmp[4096];

static void sub(char *out, const char *name)
{
    fx_pathf(out, 4096, "%s/%s", tmp, name);
    CHECK(mkdir(out, 0777) == 0);
}

static void load(const char *what, const rt_cifar_set *set, const char *dir, int coarse,
                 rt_dataset *train, rt_dataset *test, rt_status *st, rt_error *err)
{
    rt_data_options o = {0};
    o.dir = dir;
    o.coarse_labels = coarse;
    *st = rt_cifar_load(set, &o, train, test, err);
    if (getenv("RT_TEST_VERBOSE"))
        printf("%-22s %s: %s\n", what, rt_status_name(*st), *st ? err->message : "");
}

static void ok_case(const char *what, const rt_cifar_set *set, const char *dir, int coarse)
{
    rt_dataset train, test;
    rt_error err;
    rt_status st;
    load(what, set, dir, coarse, &train, &test, &st, &err);
    CHECKF(st == RT_OK, "%s: %s", what, err.message);
    if (st == RT_OK)
        fx_cifar_check_sets(what, set, coarse, &train, &test);
    rt_dataset_free(&train);
    rt_dataset_free(&test);
}

static void put(const char *dir, const char *name, fx_buf b)
{
    char path[4096];
    CHECKF(fx_write(dir, name, b.data, b.size, path) == 0, "cannot write %s/%s", dir, name);
}

static void lookup_cases(void)
{
    rt_cifar_set c10 = fx_cifar_small(0, 3, 2), c100 = fx_cifar_small(1, 2, 3);
    char dir[4096], folder[4096], path[4096];
    rt_dataset train, test;
    rt_error err;
    rt_status st;
    fx_buf garbage = {(uint8_t *)"not an archive at all", 21};

    /* the unpacked folder, and it wins over a (broken) archive */
    sub(dir, "folder");
    fx_cifar_write_folder(&c10, dir);
    put(dir, "cifar-10-binary.tar.gz", garbage);
    ok_case("unpacked folder", &c10, dir, 0);

    /* CIFAR-100's folder, fine and coarse labels */
    sub(dir, "folder100");
    fx_cifar_write_folder(&c100, dir);
    ok_case("cifar100 folder", &c100, dir, 0);
    ok_case("cifar100 folder coarse", &c100, dir, 1);

    /* one file missing from the folder: named, even with an archive there */
    sub(dir, "partial");
    fx_cifar_write_folder(&c10, dir);
    fx_pathf(path, sizeof path, "%s/cifar-10-batches-bin/data_batch_4.bin", dir);
    unlink(path);
    put(dir, "cifar-10-binary.tar.gz", garbage);
    load("partial", &c10, dir, 0, &train, &test, &st, &err);
    fx_check_error("partial folder", st, &err, RT_ERR_IO, path, "not found",
                   "cifar-10-binary.tar.gz", NULL);

    /* a wrong size anywhere is found before anything is read: the test file */
    sub(dir, "short-test");
    fx_cifar_write_folder(&c10, dir);
    fx_pathf(folder, sizeof folder, "%s/cifar-10-batches-bin", dir);
    fx_buf b = fx_cifar_records(0, 1, 0);
    put(folder, "test_batch.bin", b);
    fx_free(&b);
    fx_pathf(path, sizeof path, "%s/test_batch.bin", folder);
    load("short test file", &c10, dir, 0, &train, &test, &st, &err);
    fx_check_error("short test file", st, &err, RT_ERR_FORMAT, path, "holds 1 records, expected 2",
                   NULL);
    CHECK(!train.images && !test.images);

    /* a truncated training file: not a whole number of records */
    fx_buf cut = fx_cifar_file(&c10, 1);
    put(folder, "data_batch_2.bin", (fx_buf){cut.data, cut.size - 10});
    fx_free(&cut);
    fx_pathf(path, sizeof path, "%s/data_batch_2.bin", folder);
    load("cut training file", &c10, dir, 0, &train, &test, &st, &err);
    fx_check_error("cut training file", st, &err, RT_ERR_FORMAT, path,
                   "is not a whole number of 3073-byte CIFAR-10 records", NULL);

    /* an empty file */
    put(folder, "data_batch_1.bin", (fx_buf){NULL, 0});
    fx_pathf(path, sizeof path, "%s/data_batch_1.bin", folder);
    load("empty file", &c10, dir, 0, &train, &test, &st, &err);
    fx_check_error("empty file", st, &err, RT_ERR_FORMAT, path, "empty file (0 bytes)", NULL);

    /* a folder where a file belongs */
    sub(dir, "folder-in-place");
    fx_cifar_write_folder(&c10, dir);
    fx_pathf(path, sizeof path, "%s/cifar-10-batches-bin/data_batch_5.bin", dir);
    unlink(path);
    CHECK(mkdir(path, 0777) == 0);
    load("folder in place", &c10, dir, 0, &train, &test, &st, &err);
    fx_check_error("folder in place", st, &err, RT_ERR_IO, path, "not a regular file", NULL);

    /* a bad label in the last training file: named with the record */
    sub(dir, "bad-label");
    fx_cifar_write_folder(&c10, dir);
    fx_pathf(folder, sizeof folder, "%s/cifar-10-batches-bin", dir);
    b = fx_cifar_file(&c10, 4);
    b.data[2 * 3073] = 200;
    put(folder, "data_batch_5.bin", b);
    fx_free(&b);
    fx_pathf(path, sizeof path, "%s/data_batch_5.bin", folder);
    load("bad label", &c10, dir, 0, &train, &test, &st, &err);
    fx_check_error("bad label", st, &err, RT_ERR_FORMAT, path,
                   "bad label: record 2 has label 200, expected 0..9", NULL);

    /* the archive in the data folder; an empty unpacked folder does not count */
    sub(dir, "archive");
    fx_pathf(folder, sizeof folder, "%s/cifar-10-batches-bin", dir);
    CHECK(mkdir(folder, 0777) == 0);
    fx_pathf(path, sizeof path, "%s/cifar-10-binary.tar.gz", dir);
#ifdef RT_HAVE_ARCHIVE
    fx_buf a = fx_cifar_archive(&c10);
    put(dir, "cifar-10-binary.tar.gz", a);
    fx_free(&a);
    ok_case("archive", &c10, dir, 0);
    a = fx_cifar_archive(&c100);
    put(dir, "cifar-100-binary.tar.gz", a);
    fx_free(&a);
    ok_case("archive cifar100 coarse", &c100, dir, 1);
    /* a broken archive is named */
    put(dir, "cifar-10-binary.tar.gz", garbage);
    load("broken archive", &c10, dir, 0, &train, &test, &st, &err);
    fx_check_error("broken archive", st, &err, RT_ERR_FORMAT, path, "not a readable archive",
                   NULL);
#else
    put(dir, "cifar-10-binary.tar.gz", garbage);
    load("archive without libarchive", &c10, dir, 0, &train, &test, &st, &err);
    fx_check_error("archive without libarchive", st, &err, RT_ERR_IO, path, "no libarchive",
                   "unpack", NULL);
#endif
}

static int is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static void missing_cases(void)
{
    char dir[4096], folder[4096], archive[4096];
    rt_dataset train, test;
    rt_error err;
    sub(dir, "missing");
    rt_data_options o = {0};
    o.dataset = "cifar10";
    o.dir = dir;
    o.download = 0;
    rt_status st = rt_data_load(&o, &train, &test, &err);
    fx_pathf(folder, sizeof folder, "%s/cifar-10-batches-bin", dir);
    fx_pathf(archive, sizeof archive, "%s/cifar-10-binary.tar.gz", dir);
    fx_check_error("cifar10 missing", st, &err, RT_ERR_IO, folder, archive, "CIFAR-10 not found",
                   "--data DIR",
#if !defined(RT_HAVE_ARCHIVE)
                   "without libarchive",
#elif !defined(RT_HAVE_CURL)
                   "without libcurl",
#else
                   "--no-download",
#endif
                   NULL);
    CHECK(!train.images && !test.images);

    o.dataset = "cifar100";
    o.coarse_labels = 1;
    st = rt_data_load(&o, &train, &test, &err);
    fx_pathf(folder, sizeof folder, "%s/cifar-100-binary", dir);
    fx_pathf(archive, sizeof archive, "%s/cifar-100-binary.tar.gz", dir);
    fx_check_error("cifar100 missing", st, &err, RT_ERR_IO, folder, archive, "CIFAR-100 not found",
                   NULL);

    /* a folder that does not exist: nothing is created */
    char nowhere[4096];
    fx_pathf(nowhere, sizeof nowhere, "%s/nowhere", tmp);
    o.dir = nowhere;
    o.coarse_labels = 0;
    st = rt_data_load(&o, &train, &test, &err);
    fx_check_error("no folder", st, &err, RT_ERR_IO, nowhere, "CIFAR-100 not found", NULL);
    CHECK(!is_dir(nowhere));

    /* small files where the real set is expected: the count is named */
    rt_cifar_set small = fx_cifar_small(0, 3, 2);
    sub(dir, "small");
    fx_cifar_write_folder(&small, dir);
    o.dataset = "cifar10";
    o.dir = dir;
    st = rt_data_load(&o, &train, &test, &err);
    fx_check_error("small files", st, &err, RT_ERR_FORMAT, "data_batch_1.bin",
                   "holds 3 records, expected 10000", NULL);
}

/* A file of size zero bytes but for the bytes poked in: sparse, so the
 * real sizes cost no disk. */
static void sparse(const char *folder, const char *name, size_t size)
{
    char path[4096];
    fx_pathf(path, sizeof path, "%s/%s", folder, name);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    CHECKF(fd >= 0 && ftruncate(fd, (off_t)size) == 0, "cannot make %s", path);
    if (fd >= 0)
        close(fd);
}

static void poke(const char *folder, const char *name, size_t at, uint8_t value)
{
    char path[4096];
    fx_pathf(path, sizeof path, "%s/%s", folder, name);
    int fd = open(path, O_WRONLY);
    CHECKF(fd >= 0 && pwrite(fd, &value, 1, (off_t)at) == 1, "cannot write %s", path);
    if (fd >= 0)
        close(fd);
}

static void real_size_cases(void)
{
    char dir[4096], folder[4096];
    rt_dataset train, test;
    rt_error err;
    rt_data_options o = {0};

    /* CIFAR-10: 5 x 10000 + 10000 records */
    sub(dir, "real10");
    fx_pathf(folder, sizeof folder, "%s/cifar-10-batches-bin", dir);
    CHECK(mkdir(folder, 0777) == 0);
    for (int i = 0; i < 5; i++)
        sparse(folder, rt_cifar10.train[i], 10000 * 3073);
    sparse(folder, "test_batch.bin", 10000 * 3073);
    poke(folder, "data_batch_3.bin", 0, 7);             /* record 0: label 7 */
    poke(folder, "data_batch_3.bin", 1 + 2048, 99);     /* its first blue pixel */
    poke(folder, "data_batch_5.bin", 9999 * 3073, 4);   /* the last training label */
    poke(folder, "test_batch.bin", 9999 * 3073 + 3072, 255); /* the last byte */
    o.dataset = "CIFAR-10";
    o.dir = dir;
    rt_status st = rt_data_load(&o, &train, &test, &err);
    CHECKF(st == RT_OK, "real-size CIFAR-10: %s", err.message);
    if (st == RT_OK) {
        CHECK(train.count == 50000 && test.count == 10000 && train.classes == 10 &&
              test.classes == 10 && train.channels == 3 && train.rows == 32 && train.cols == 32);
        CHECK(train.labels[20000] == 7 && train.labels[19999] == 0 && train.labels[49999] == 4);
        CHECK(train.images[(size_t)20000 * 3072 + 2048] == 99);
        CHECK(train.images[(size_t)20000 * 3072 + 2047] == 0);
        CHECK(test.images[(size_t)10000 * 3072 - 1] == 255 && test.labels[9999] == 0);
    }
    rt_dataset_free(&train);
    rt_dataset_free(&test);

    /* a label out of range in the real test file: the record is named */
    poke(folder, "test_batch.bin", 1234 * 3073, 10);
    st = rt_data_load(&o, &train, &test, &err);
    fx_check_error("real-size bad label", st, &err, RT_ERR_FORMAT, "test_batch.bin",
                   "record 1234 has label 10", NULL);

    /* CIFAR-100: 50000 + 10000 records, coarse labels */
    sub(dir, "real100");
    fx_pathf(folder, sizeof folder, "%s/cifar-100-binary", dir);
    CHECK(mkdir(folder, 0777) == 0);
    sparse(folder, "train.bin", (size_t)50000 * 3074);
    sparse(folder, "test.bin", (size_t)10000 * 3074);
    poke(folder, "train.bin", (size_t)49999 * 3074, 19);
    poke(folder, "train.bin", (size_t)49999 * 3074 + 1, 99);
    o.dataset = "cifar100";
    o.dir = dir;
    o.coarse_labels = 1;
    st = rt_data_load(&o, &train, &test, &err);
    CHECKF(st == RT_OK, "real-size CIFAR-100 coarse: %s", err.message);
    if (st == RT_OK)
        CHECK(train.count == 50000 && test.count == 10000 && train.classes == 20 &&
              train.labels[49999] == 19);
    rt_dataset_free(&train);
    rt_dataset_free(&test);
    o.coarse_labels = 0;
    st = rt_data_load(&o, &train, &test, &err);
    CHECKF(st == RT_OK, "real-size CIFAR-100 fine: %s", err.message);
    if (st == RT_OK)
        CHECK(train.classes == 100 && test.classes == 100 && train.labels[49999] == 99);
    rt_dataset_free(&train);
    rt_dataset_free(&test);
}

int main(void)
{
    CHECK(rt_test_tempdir(tmp, sizeof tmp) == 0);
    lookup_cases();
    missing_cases();
    real_size_cases();
    fx_remove_tree(tmp);
    return rt_test_finish("test_cifar_files");
}
