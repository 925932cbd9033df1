/* The two CIFAR sets' table rows (https://www.cs.toronto.edu/~kriz/cifar.html:
 * the binary versions' names and MD5 sums) and the step that turns the
 * record files read from a folder or an archive into the two sets. */
#include <stdlib.h>
#include <string.h>

#include "cifar.h"

static const char *const toronto[] = {"https://www.cs.toronto.edu/~kriz/", NULL};

/* the archives are 170052171 and 168513733 bytes */
const rt_cifar_set rt_cifar10 = {
    "CIFAR-10", "cifar-10-batches-bin", "cifar-10-binary.tar.gz",
    "c32a1d4ab5d03f1284b67883e8d87530", (uint64_t)200 << 20, toronto, 0, 5,
    {"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin",
     "data_batch_5.bin"},
    "test_batch.bin", 10000, 10000,
};
const rt_cifar_set rt_cifar100 = {
    "CIFAR-100", "cifar-100-binary", "cifar-100-binary.tar.gz",
    "03b5dce01913d631647c71ecec9e9cb8", (uint64_t)200 << 20, toronto, 1, 1,
    {"train.bin", NULL, NULL, NULL, NULL},
    "test.bin", 50000, 10000,
};

static int well_formed(const rt_cifar_set *set)
{
    size_t rec = rt_cifar_record_bytes(set->cifar100);
    return set->train_files >= 1 && set->train_files <= RT_CIFAR_MAX_TRAIN_FILES &&
           set->train_records > 0 && set->test_records > 0 &&
           (uint64_t)set->train_records * (uint64_t)set->train_files <= INT32_MAX / rec &&
           (uint64_t)set->test_records <= INT32_MAX / rec;
}

size_t rt_cifar_train_bytes(const rt_cifar_set *set)
{
    if (!well_formed(set))
        return 0;
    return (size_t)set->train_files * (size_t)set->train_records *
           rt_cifar_record_bytes(set->cifar100);
}

size_t rt_cifar_test_bytes(const rt_cifar_set *set)
{
    if (!well_formed(set))
        return 0;
    return (size_t)set->test_records * rt_cifar_record_bytes(set->cifar100);
}

rt_status rt_cifar_finish(const rt_cifar_set *set, int coarse, uint8_t *train_records,
                          const char *const *train_names, uint8_t *test_records,
                          const char *test_name, rt_dataset *train, rt_dataset *test,
                          rt_error *err)
{
    memset(train, 0, sizeof *train);
    memset(test, 0, sizeof *test);
    size_t rec = rt_cifar_record_bytes(set->cifar100);
    size_t file_bytes = (size_t)set->train_records * rec;
    rt_status st = RT_OK;
    for (int i = 0; i < set->train_files && st == RT_OK; i++)
        st = rt_cifar_check(train_names[i], train_records + (size_t)i * file_bytes, file_bytes,
                            set->cifar100, set->train_records, err);
    if (st == RT_OK)
        st = rt_cifar_check(test_name, test_records, rt_cifar_test_bytes(set), set->cifar100,
                            set->test_records, err);
    if (st != RT_OK) {
        free(train_records);
        free(test_records);
        return st;
    }
    st = rt_cifar_from_records(train_records, set->train_files * set->train_records,
                               set->cifar100, coarse, train, err);
    if (st != RT_OK) {
        free(test_records);
        return st;
    }
    st = rt_cifar_from_records(test_records, set->test_records, set->cifar100, coarse, test, err);
    if (st != RT_OK)
        rt_dataset_free(train);
    return st;
}
