/* The CIFAR record parser on buffers: CIFAR-10 and CIFAR-100 records
 * (fine and coarse labels) land as planar 3x32x32 images with their
 * labels, and every malformed buffer fails with a format error naming the
 * file and the problem: empty, a size that is no whole number of records
 * (cut short, or a byte too many), the wrong record count, and each kind of
 * label out of range (naming the record and the value). */
#include <stdlib.h>
#include <string.h>

#include "cifar_fixtures.h"
#include "test_support.h"

static void good(int cifar100, int coarse)
{
    const char *what = cifar100 ? (coarse ? "cifar100 coarse" : "cifar100 fine") : "cifar10";
    fx_buf b = fx_cifar_records(cifar100, 7, 4);
    rt_dataset d;
    rt_error err;
    rt_status st = rt_cifar_parse("x.bin", b.data, b.size, cifar100, coarse, 7, &d, &err);
    CHECKF(st == RT_OK, "%s: %s", what, err.message);
    if (st == RT_OK) {
        CHECK(d.count == 7 && d.channels == 3 && d.rows == 32 && d.cols == 32);
        CHECK(d.classes == (cifar100 ? (coarse ? 20 : 100) : 10));
        for (int i = 0; i < 7; i++) {
            CHECKF(d.labels[i] == fx_cifar_label(cifar100, coarse, 4, i), "%s: label %d", what,
                   i);
            for (int j = 0; j < RT_CIFAR_IMAGE_BYTES; j += 97)
                CHECKF(d.images[(size_t)i * RT_CIFAR_IMAGE_BYTES + (size_t)j] ==
                           fx_cifar_pixel(4, i, j),
                       "%s: image %d byte %d", what, i, j);
        }
        /* the red plane first: record 0's byte 1024 is its first green pixel */
        size_t skip = cifar100 ? 2 : 1;
        CHECK(d.images[1024] == b.data[skip + 1024]);
        rt_dataset_free(&d);
    }
    /* any positive count when none is expected */
    st = rt_cifar_parse("x.bin", b.data, b.size, cifar100, coarse, 0, &d, &err);
    CHECKF(st == RT_OK && d.count == 7, "%s, any count: %s", what, err.message);
    rt_dataset_free(&d);
    fx_free(&b);
}

#define BAD(what, data, size, cifar100, expect, ...)                                           \
    do {                                                                                       \
        rt_dataset d_;                                                                         \
        rt_error e_;                                                                           \
        rt_error_clear(&e_);                                                                   \
        rt_status s_ = rt_cifar_parse("data_batch_3.bin", (data), (size), (cifar100), 0,       \
                                      (expect), &d_, &e_);                                     \
        fx_check_error((what), s_, &e_, RT_ERR_FORMAT, "data_batch_3.bin", __VA_ARGS__,        \
                       (const char *)NULL);                                                    \
        CHECKF(d_.images == NULL && d_.labels == NULL && d_.count == 0,                        \
               "%s: output not cleared", (what));                                              \
    } while (0)

static void bad(void)
{
    fx_buf b = fx_cifar_records(0, 5, 0);
    static const uint8_t one = 0;
    BAD("empty", &one, 0, 0, 5, "empty file (0 bytes)");
    BAD("cut short", b.data, b.size - 100, 0, 5,
        "15265 bytes is not a whole number of 3073-byte CIFAR-10 records",
        "4 records and 2973 bytes over");
    BAD("a byte over", b.data, 4 * 3073 + 1, 0, 5,
        "12293 bytes is not a whole number", "4 records and 1 bytes over");
    BAD("wrong count", b.data, b.size - 3073, 0, 5, "holds 4 records, expected 5");
    BAD("wrong count, more", b.data, b.size, 0, 4, "holds 5 records, expected 4");
    BAD("cifar10 record size for cifar100", b.data, 3073 * 2, 1, 0,
        "6146 bytes is not a whole number of 3074-byte CIFAR-100 records");

    b.data[3 * 3073] = 10;
    BAD("label 10", b.data, b.size, 0, 5, "bad label: record 3 has label 10, expected 0..9");
    b.data[3 * 3073] = 0;
    b.data[4 * 3073] = 255;
    BAD("label 255", b.data, b.size, 0, 5, "record 4 has label 255, expected 0..9");
    fx_free(&b);

    b = fx_cifar_records(1, 3, 0);
    b.data[1 * 3074] = 20;
    BAD("coarse 20", b.data, b.size, 1, 3, "record 1 has coarse label 20, expected 0..19");
    b.data[1 * 3074] = 0;
    b.data[2 * 3074 + 1] = 100;
    BAD("fine 100", b.data, b.size, 1, 3, "record 2 has fine label 100, expected 0..99");
    fx_free(&b);
}

int main(void)
{
    good(0, 0);
    good(1, 0);
    good(1, 1);
    CHECK(rt_cifar_record_bytes(0) == 3073 && rt_cifar_record_bytes(1) == 3074);
    bad();
    return rt_test_finish("test_cifar_records");
}
