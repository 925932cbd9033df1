/* The CIFAR readers: the input as a record file (CIFAR-10, CIFAR-100 with
 * fine and coarse labels, any record count) through rt_cifar_parse, and as
 * an archive read from memory through rt_cifar_read_archive_memory, for
 * sets of one or two records per file (the seeds are such archives). A
 * success must give a whole set with labels in range; a failure, zeroed
 * sets and a one-line message. */
#include "cifar.h"
#include "fuzz_common.h"

static void check_set(const rt_dataset *d, int classes)
{
    if (d->count <= 0 || d->channels != 3 || d->rows != 32 || d->cols != 32 ||
        d->classes != classes || !d->images || !d->labels)
        abort();
    volatile uint8_t sink = 0;
    for (int32_t i = 0; i < d->count; i++) {
        if (d->labels[i] >= classes)
            abort();
        sink ^= d->images[(size_t)i * RT_CIFAR_IMAGE_BYTES];
        sink ^= d->images[(size_t)i * RT_CIFAR_IMAGE_BYTES + RT_CIFAR_IMAGE_BYTES - 1];
    }
    (void)sink;
}

static void zeroed(const rt_dataset *d)
{
    if (d->images || d->labels || d->count)
        abort();
}

static void records(const uint8_t *data, size_t size, int cifar100, int coarse)
{
    rt_dataset d;
    rt_error err;
    rt_error_clear(&err);
    rt_status st = rt_cifar_parse("fuzz.bin", data, size, cifar100, coarse, 0, &d, &err);
    fuzz_check_error(st, &err);
    if (st != RT_OK) {
        zeroed(&d);
        return;
    }
    if ((size_t)d.count * rt_cifar_record_bytes(cifar100) != size)
        abort();
    check_set(&d, cifar100 ? (coarse ? 20 : 100) : 10);
    rt_dataset_free(&d);
}

static void archive(const rt_cifar_set *set, const uint8_t *data, size_t size, int coarse)
{
    rt_dataset train, test;
    rt_error err;
    rt_error_clear(&err);
    rt_status st =
        rt_cifar_read_archive_memory(set, "fuzz.tar.gz", data, size, coarse, &train, &test, &err);
    fuzz_check_error(st, &err);
    if (st != RT_OK) {
        zeroed(&train);
        zeroed(&test);
        return;
    }
    int classes = set->cifar100 ? (coarse ? 20 : 100) : 10;
    check_set(&train, classes);
    check_set(&test, classes);
    if (train.count != set->train_files * set->train_records || test.count != set->test_records)
        abort();
    rt_dataset_free(&train);
    rt_dataset_free(&test);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    records(data, size, 0, 0);
    records(data, size, 1, 0);
    records(data, size, 1, 1);
    rt_cifar_set c10 = rt_cifar10, c100 = rt_cifar100;
    c10.train_records = 1;
    c10.test_records = 1;
    c100.train_records = 2;
    c100.test_records = 1;
    archive(&c10, data, size, 0);
    archive(&c100, data, size, size & 1);
    return 0;
}
