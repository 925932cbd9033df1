/* Helpers for the CIFAR tests: record files built in memory (labels and
 * pixels that tell which file and record they came from), CIFAR set rows
 * with small record counts, and tar archives written with libarchive's
 * writer (gzip-compressed or not) holding files, folders and links. */
#ifndef RT_TEST_CIFAR_FIXTURES_H
#define RT_TEST_CIFAR_FIXTURES_H

#include <stddef.h>
#include <stdint.h>

#include "cifar.h"
#include "fixtures.h"

/* count records; record i has label (i + tag) % 10 (CIFAR-100: coarse
 * (i + tag) % 20, fine (i + 3 * tag) % 100) and pixel j = fx_cifar_pixel. */
fx_buf fx_cifar_records(int cifar100, int count, int tag);
uint8_t fx_cifar_pixel(int tag, int record, int j);
uint8_t fx_cifar_label(int cifar100, int coarse, int tag, int record);

/* rt_cifar10 or rt_cifar100 with train_records per training file and
 * test_records in the test file. */
rt_cifar_set fx_cifar_small(int cifar100, int32_t train_records, int32_t test_records);

/* The training file i (tag i + 1) or the test file (tag 9) of a small set. */
fx_buf fx_cifar_file(const rt_cifar_set *set, int i);

/* Checks that a loaded small set holds exactly the fx_cifar_file records. */
void fx_cifar_check_sets(const char *what, const rt_cifar_set *set, int coarse,
                         const rt_dataset *train, const rt_dataset *test);

/* Writes every record file of a small set into dir/set->folder/. */
void fx_cifar_write_folder(const rt_cifar_set *set, const char *dir);

enum fx_member_type { FX_FILE, FX_DIR, FX_SYMLINK, FX_HARDLINK, FX_FIFO };

typedef struct fx_member {
    const char *name;
    enum fx_member_type type;
    fx_buf data;        /* FX_FILE */
    const char *target; /* FX_SYMLINK, FX_HARDLINK */
} fx_member;

/* A tar archive (ustar, gzip-compressed when gzip) of the members, or
 * {NULL, 0} without libarchive or on failure. */
fx_buf fx_tar(const fx_member *members, int count, int gzip);

/* The set's archive as published: the folder, then the training files in
 * order, then the test file, plus a readme (gzip-compressed). */
fx_buf fx_cifar_archive(const rt_cifar_set *set);

#endif
