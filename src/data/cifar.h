/* CIFAR-10 and CIFAR-100 from their official binary versions: the record
 * parser (on memory buffers, so a fuzzer can call it), the unpacked folders,
 * the .tar.gz archives read into memory with libarchive, and finding or
 * downloading them. Internal to the library (rt_data_load is the public
 * way in); a set's table row is a plain struct, so tests and fuzzers can
 * load a copy with small expected record counts. */
#ifndef RT_CIFAR_H
#define RT_CIFAR_H

#include <stddef.h>
#include <stdint.h>

#include "resnet/data.h"
#include "resnet/datasets.h"

#define RT_CIFAR_SIDE 32
#define RT_CIFAR_IMAGE_BYTES (3 * RT_CIFAR_SIDE * RT_CIFAR_SIDE) /* planar R, G, B */
#define RT_CIFAR_MAX_TRAIN_FILES 5
/* what an archive may hold besides the record files */
#define RT_CIFAR_MAX_MEMBERS 64
#define RT_CIFAR_MAX_OTHER_BYTES ((uint64_t)16 << 20)

typedef struct rt_cifar_set {
    const char *title;          /* "CIFAR-10", "CIFAR-100" (messages) */
    const char *folder;         /* the unpacked folder, also the members' folder */
    const char *archive;        /* the archive's file name */
    const char *archive_md5;    /* as published */
    uint64_t archive_max_bytes; /* the download cap */
    const char *const *mirrors; /* NULL-terminated base URLs */
    int cifar100;               /* records: coarse + fine label bytes, else one label byte */
    int train_files;            /* 1..RT_CIFAR_MAX_TRAIN_FILES, loaded in this order */
    const char *train[RT_CIFAR_MAX_TRAIN_FILES];
    const char *test;
    int32_t train_records; /* per training file */
    int32_t test_records;
} rt_cifar_set;

extern const rt_cifar_set rt_cifar10, rt_cifar100;

/* Bytes per record: 1 + 3072 (CIFAR-10) or 2 + 3072 (CIFAR-100). */
size_t rt_cifar_record_bytes(int cifar100);

/* Checks that a file of size bytes can hold exactly expect_records records
 * (any positive whole number of them when expect_records <= 0). name is
 * what the message names (a path, or "ARCHIVE member NAME"). */
rt_status rt_cifar_check_size(const char *name, uint64_t size, int cifar100,
                              int32_t expect_records, rt_error *err);

/* rt_cifar_check_size, then every label in range (CIFAR-100: both the
 * coarse 0..19 and the fine 0..99 one): the message names the record and
 * the value. */
rt_status rt_cifar_check(const char *name, const uint8_t *data, size_t size, int cifar100,
                         int32_t expect_records, rt_error *err);

/* rt_cifar_check, then the records copied into a new set (3x32x32,
 * classes 10, 100, or 20 with coarse). On failure *out is zeroed. */
rt_status rt_cifar_parse(const char *name, const uint8_t *data, size_t size, int cifar100,
                         int coarse, int32_t expect_records, rt_dataset *out, rt_error *err);

/* Turns count checked records in a malloc'd buffer into a set in place
 * (the images moved down over the label bytes, the buffer shrunk): records
 * is taken over, and freed on failure. */
rt_status rt_cifar_from_records(uint8_t *records, int32_t count, int cifar100, int coarse,
                                rt_dataset *out, rt_error *err);

/* The training files (in order) and the test file from an unpacked folder:
 * every file present and of the right size before any is read. */
rt_status rt_cifar_load_folder(const rt_cifar_set *set, const char *folder, int coarse,
                               rt_dataset *train, rt_dataset *test, rt_error *err);

/* The same files from the set's archive (a tar, gzip-compressed or not),
 * decompressed into memory: nothing is written to disk. Refused, naming
 * the archive and the member: an absolute path or a '..' component, a link
 * (symbolic or hard) or anything but files and folders, a record file larger
 * than expected, another member larger than the record files, more than
 * RT_CIFAR_MAX_MEMBERS members or RT_CIFAR_MAX_OTHER_BYTES of other
 * members, a record file twice or missing; a garbage or truncated archive.
 * Without libarchive: RT_ERR_IO saying to unpack it or build with it. */
rt_status rt_cifar_read_archive(const rt_cifar_set *set, const char *path, int coarse,
                                rt_dataset *train, rt_dataset *test, rt_error *err);
rt_status rt_cifar_read_archive_memory(const rt_cifar_set *set, const char *name,
                                       const void *data, size_t size, int coarse,
                                       rt_dataset *train, rt_dataset *test, rt_error *err);

/* The bytes of the set's training files together (train_files x
 * train_records records), and of its test file; 0 for a malformed row. */
size_t rt_cifar_train_bytes(const rt_cifar_set *set);
size_t rt_cifar_test_bytes(const rt_cifar_set *set);

/* Checks the records of each training file (train_names[i]: its region of
 * train_records, in order) and of the test file, then makes both sets in
 * place. Takes over both malloc'd buffers (freed on failure, when both sets
 * are zeroed). */
rt_status rt_cifar_finish(const rt_cifar_set *set, int coarse, uint8_t *train_records,
                          const char *const *train_names, uint8_t *test_records,
                          const char *test_name, rt_dataset *train, rt_dataset *test,
                          rt_error *err);

/* Loads the set from o->dir: the unpacked folder when it holds any of the
 * set's files, else the archive in the folder, else the archive downloaded
 * there (when o->download allows; MD5-checked, written atomically). */
rt_status rt_cifar_load(const rt_cifar_set *set, const rt_data_options *o, rt_dataset *train,
                        rt_dataset *test, rt_error *err);

#endif
