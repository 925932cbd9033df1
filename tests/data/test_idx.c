/* The IDX reader and rt_dataset_load against malformed files generated
 * into a temporary folder (each must fail with the right status and a
 * message naming the file and the problem), and valid raw and gzip files
 * that must read back exactly. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fixtures.h"
#include "resnet/data.h"
#include "test_support.h"

static char tmp[4096];

/* Writes content to tmp/name, reads it as expect_magic, and checks the
 * failure: status, the path, and each NULL-terminated substring. */
#define BAD_IDX(name, buf, magic, status, ...)                                                 \
    do {                                                                                       \
        char path_[4096];                                                                      \
        CHECK(fx_write(tmp, (name), (buf).data, (buf).size, path_) == 0);                      \
        rt_idx idx_;                                                                           \
        rt_error err_;                                                                         \
        rt_error_clear(&err_);                                                                 \
        rt_status st_ = rt_idx_read(path_, (magic), &idx_, &err_);                             \
        fx_check_error((name), st_, &err_, (status), path_, __VA_ARGS__, (const char *)NULL);  \
        CHECKF(idx_.data == NULL && idx_.size == 0, "%s: output not cleared", (name));         \
    } while (0)

static void check_roundtrip(const char *name, fx_buf file, uint32_t magic, int ndim,
                            const uint32_t *dims, const uint8_t *payload, size_t size)
{
    char path[4096];
    CHECK(fx_write(tmp, name, file.data, file.size, path) == 0);
    rt_idx idx;
    rt_error err;
    rt_error_clear(&err);
    rt_status st = rt_idx_read(path, magic, &idx, &err);
    CHECKF(st == RT_OK, "%s: %s", name, err.message);
    if (st != RT_OK)
        return;
    CHECKF(idx.magic == (magic ? magic : (0x800u | (uint32_t)ndim)), "%s: magic 0x%08x", name,
           idx.magic);
    CHECKF(idx.ndim == ndim, "%s: ndim %d", name, idx.ndim);
    for (int i = 0; i < ndim; i++)
        CHECKF(idx.dims[i] == dims[i], "%s: dims[%d] = %u, expected %u", name, i, idx.dims[i],
               dims[i]);
    CHECKF(idx.size == size, "%s: size %zu, expected %zu", name, idx.size, size);
    CHECKF(idx.data && memcmp(idx.data, payload, size) == 0, "%s: data differs", name);
    rt_idx_free(&idx);
    CHECK(idx.data == NULL);
}

static void idx_cases(void)
{
    const uint32_t img_dims[3] = {3, 28, 28};
    const uint32_t lab_dims[1] = {3};
    uint8_t pixels[3 * 28 * 28];
    for (size_t i = 0; i < sizeof pixels; i++)
        pixels[i] = (uint8_t)(i * 7 + 3);
    const uint8_t labels[3] = {7, 0, 9};
    fx_buf images = fx_idx(RT_IDX_MAGIC_IMAGES, 3, img_dims, pixels, sizeof pixels);
    fx_buf labs = fx_idx(RT_IDX_MAGIC_LABELS, 1, lab_dims, labels, sizeof labels);
    fx_buf images_gz = fx_gzip(images.data, images.size);
    fx_buf labs_gz = fx_gzip(labs.data, labs.size);
    CHECK(images.data && labs.data && images_gz.data && labs_gz.data);

    /* valid files read back exactly, raw or gzip, whatever their names */
    check_roundtrip("ok-images.idx", images, RT_IDX_MAGIC_IMAGES, 3, img_dims, pixels,
                    sizeof pixels);
    check_roundtrip("ok-images.idx.gz", images_gz, RT_IDX_MAGIC_IMAGES, 3, img_dims, pixels,
                    sizeof pixels);
    check_roundtrip("ok-labels.idx", labs, RT_IDX_MAGIC_LABELS, 1, lab_dims, labels,
                    sizeof labels);
    check_roundtrip("ok-labels.gz", labs_gz, RT_IDX_MAGIC_LABELS, 1, lab_dims, labels,
                    sizeof labels);
    check_roundtrip("gzip-named-raw", images_gz, RT_IDX_MAGIC_IMAGES, 3, img_dims, pixels,
                    sizeof pixels);
    check_roundtrip("raw-named-gzip.gz", images, RT_IDX_MAGIC_IMAGES, 3, img_dims, pixels,
                    sizeof pixels);
    check_roundtrip("any-magic", labs, 0, 1, lab_dims, labels, sizeof labels);
    {
        /* gzip allows several members back to back: header in one, data in another */
        fx_buf head = fx_gzip(images.data, 16);
        fx_buf body = fx_gzip(images.data + 16, images.size - 16);
        fx_buf both = fx_concat(head, body);
        check_roundtrip("two-members.gz", both, RT_IDX_MAGIC_IMAGES, 3, img_dims, pixels,
                        sizeof pixels);
        fx_free(&head);
        fx_free(&body);
        fx_free(&both);
    }
    {
        /* larger than the first buffer, so the gzip path must grow it */
        const uint32_t big_dims[3] = {2000, 28, 28};
        size_t n = 2000u * 28 * 28;
        uint8_t *big = malloc(n);
        CHECK(big != NULL);
        for (size_t i = 0; big && i < n; i++)
            big[i] = (uint8_t)((i * 2654435761u) >> 13);
        fx_buf raw = fx_idx(RT_IDX_MAGIC_IMAGES, 3, big_dims, big, n);
        fx_buf gz = fx_gzip(raw.data, raw.size);
        check_roundtrip("big.gz", gz, RT_IDX_MAGIC_IMAGES, 3, big_dims, big, n);
        fx_free(&raw);
        fx_free(&gz);
        free(big);
    }

    /* empty */
    fx_buf empty = {0};
    BAD_IDX("empty", empty, RT_IDX_MAGIC_IMAGES, RT_ERR_FORMAT, "empty file");
    fx_buf empty_gz = fx_gzip("", 0);
    BAD_IDX("empty.gz", empty_gz, RT_IDX_MAGIC_IMAGES, RT_ERR_FORMAT, "empty", "gzip");
    fx_free(&empty_gz);

    /* truncated header: inside the magic, and inside the dimensions */
    fx_buf cut = {images.data, 3};
    BAD_IDX("short-magic", cut, RT_IDX_MAGIC_IMAGES, RT_ERR_FORMAT, "truncated header", "3 bytes");
    cut.size = 10;
    BAD_IDX("short-dims", cut, RT_IDX_MAGIC_IMAGES, RT_ERR_FORMAT, "truncated header",
            "10 bytes", "16 bytes");
    fx_buf cut_labels = {labs.data, 6};
    BAD_IDX("short-label-header", cut_labels, RT_IDX_MAGIC_LABELS, RT_ERR_FORMAT,
            "truncated header", "8 bytes");
    fx_buf cut_gz = fx_gzip(images.data, 10);
    BAD_IDX("short-dims.gz", cut_gz, RT_IDX_MAGIC_IMAGES, RT_ERR_FORMAT, "truncated header");
    fx_free(&cut_gz);

    /* wrong magic: says what was expected for an image or a label file */
    BAD_IDX("labels-as-images", labs, RT_IDX_MAGIC_IMAGES, RT_ERR_FORMAT, "wrong magic",
            "0x00000801", "label file", "expected 0x00000803", "image file");
    BAD_IDX("images-as-labels", images, RT_IDX_MAGIC_LABELS, RT_ERR_FORMAT, "wrong magic",
            "0x00000803", "expected 0x00000801", "label file");
    fx_buf text = {(uint8_t *)"hello, world\n", 13};
    BAD_IDX("not-idx.txt", text, RT_IDX_MAGIC_IMAGES, RT_ERR_FORMAT, "wrong magic", "0x68656c6c",
            "not an IDX file", "expected 0x00000803");
    BAD_IDX("not-idx-any.txt", text, 0, RT_ERR_FORMAT, "wrong magic", "0x68656c6c");
    fx_buf floats = fx_idx(0x00000d03u, 3, img_dims, pixels, sizeof pixels); /* float IDX */
    BAD_IDX("floats.idx", floats, RT_IDX_MAGIC_IMAGES, RT_ERR_FORMAT, "wrong magic",
            "0x00000d03", "expected 0x00000803");
    fx_free(&floats);

    /* zero dimensions */
    const uint32_t zero_count[3] = {0, 28, 28}, zero_rows[3] = {3, 0, 28},
                   zero_cols[3] = {3, 28, 0}, zero_labels[1] = {0};
    fx_buf z = fx_idx(RT_IDX_MAGIC_IMAGES, 3, zero_count, NULL, 0);
    BAD_IDX("zero-count", z, RT_IDX_MAGIC_IMAGES, RT_ERR_FORMAT, "image count is 0");
    fx_free(&z);
    z = fx_idx(RT_IDX_MAGIC_IMAGES, 3, zero_rows, NULL, 0);
    BAD_IDX("zero-rows", z, RT_IDX_MAGIC_IMAGES, RT_ERR_FORMAT, "row count is 0");
    fx_free(&z);
    z = fx_idx(RT_IDX_MAGIC_IMAGES, 3, zero_cols, pixels, 100);
    BAD_IDX("zero-cols", z, RT_IDX_MAGIC_IMAGES, RT_ERR_FORMAT, "column count is 0");
    fx_free(&z);
    z = fx_idx(RT_IDX_MAGIC_LABELS, 1, zero_labels, NULL, 0);
    BAD_IDX("zero-labels", z, RT_IDX_MAGIC_LABELS, RT_ERR_FORMAT, "label count is 0");
    fx_free(&z);

    /* huge dimensions: the product overflows 32 and 64 bits, or just
     * exceeds the cap; rejected before any allocation */
    const uint32_t huge[3] = {0xffffffffu, 0xffffffffu, 0xffffffffu};
    const uint32_t wide[3] = {65536, 65536, 65536};
    const uint32_t over[3] = {(uint32_t)(RT_IDX_MAX_BYTES / 784 + 1), 28, 28};
    z = fx_idx(RT_IDX_MAGIC_IMAGES, 3, huge, pixels, 64);
    BAD_IDX("huge", z, RT_IDX_MAGIC_IMAGES, RT_ERR_FORMAT, "4294967295 x 4294967295 x 4294967295 are",
            "too large (more than 1024 MiB");
    fx_buf zgz = fx_gzip(z.data, z.size);
    BAD_IDX("huge.gz", zgz, RT_IDX_MAGIC_IMAGES, RT_ERR_FORMAT, "too large");
    fx_free(&zgz);
    fx_free(&z);
    z = fx_idx(RT_IDX_MAGIC_IMAGES, 3, wide, pixels, 64);
    BAD_IDX("wide", z, RT_IDX_MAGIC_IMAGES, RT_ERR_FORMAT, "65536 x 65536 x 65536", "too large");
    fx_free(&z);
    z = fx_idx(RT_IDX_MAGIC_IMAGES, 3, over, pixels, 64);
    BAD_IDX("over-cap", z, RT_IDX_MAGIC_IMAGES, RT_ERR_FORMAT, "too large");
    fx_free(&z);
    const uint32_t huge_labels[1] = {0xffffffffu};
    z = fx_idx(RT_IDX_MAGIC_LABELS, 1, huge_labels, labels, 3);
    BAD_IDX("huge-labels", z, RT_IDX_MAGIC_LABELS, RT_ERR_FORMAT, "4294967295", "too large");
    fx_free(&z);

    /* truncated data: the header promises more than follows */
    const uint32_t mnist_dims[3] = {60000, 28, 28};
    z = fx_idx(RT_IDX_MAGIC_IMAGES, 3, mnist_dims, pixels, 1200);
    BAD_IDX("train-images-idx3-ubyte", z, RT_IDX_MAGIC_IMAGES, RT_ERR_FORMAT,
            "truncated: header says 60000 images of 28x28 (47040000 bytes) but only 1200 bytes "
            "of data follow");
    zgz = fx_gzip(z.data, z.size);
    BAD_IDX("train-images-idx3-ubyte.gz", zgz, RT_IDX_MAGIC_IMAGES, RT_ERR_FORMAT,
            "truncated: header says 60000 images of 28x28 (47040000 bytes) but only 1200 bytes "
            "of data follow");
    fx_free(&zgz);
    fx_free(&z);
    /* within the cap but far larger than the file: must not be trusted */
    const uint32_t near_cap[3] = {(uint32_t)(RT_IDX_MAX_BYTES / 784), 28, 28};
    z = fx_idx(RT_IDX_MAGIC_IMAGES, 3, near_cap, pixels, 784);
    zgz = fx_gzip(z.data, z.size);
    BAD_IDX("near-cap.gz", zgz, RT_IDX_MAGIC_IMAGES, RT_ERR_FORMAT, "truncated",
            "only 784 bytes");
    fx_free(&zgz);
    fx_free(&z);
    z = fx_idx(RT_IDX_MAGIC_LABELS, 1, (const uint32_t[1]){10}, labels, 3);
    BAD_IDX("short-labels", z, RT_IDX_MAGIC_LABELS, RT_ERR_FORMAT,
            "truncated: header says 10 labels (10 bytes) but only 3 bytes of data follow");
    fx_free(&z);

    /* trailing bytes after the data */
    fx_buf junk = {(uint8_t *)"JUNK", 4};
    z = fx_concat(labs, junk);
    BAD_IDX("trailing", z, RT_IDX_MAGIC_LABELS, RT_ERR_FORMAT,
            "trailing garbage: header says 3 labels (3 bytes) but 4 more bytes follow");
    zgz = fx_gzip(z.data, z.size);
    BAD_IDX("trailing.gz", zgz, RT_IDX_MAGIC_LABELS, RT_ERR_FORMAT, "trailing garbage",
            "4 more bytes");
    fx_free(&zgz);
    fx_free(&z);
    /* and bytes after the gzip stream that are not another gzip member */
    z = fx_concat(labs_gz, junk);
    BAD_IDX("after-gzip.gz", z, RT_IDX_MAGIC_LABELS, RT_ERR_FORMAT, "trailing garbage",
            "after the end of the gzip stream");
    fx_free(&z);

    /* corrupt gzip: a bad checksum, a bad block, an unknown method */
    z = fx_concat(images_gz, empty);
    z.data[z.size - 6] ^= 0x55; /* inside the CRC-32 of the trailer */
    BAD_IDX("bad-crc.gz", z, RT_IDX_MAGIC_IMAGES, RT_ERR_FORMAT, "corrupt gzip",
            "incorrect data check");
    fx_free(&z);
    z = fx_concat(images_gz, empty);
    memset(z.data + 10, 0xff, z.size - 18); /* the deflate body: an invalid block type */
    BAD_IDX("bad-block.gz", z, RT_IDX_MAGIC_IMAGES, RT_ERR_FORMAT, "corrupt gzip");
    fx_free(&z);
    z = fx_concat(images_gz, empty);
    z.data[2] = 7; /* compression method */
    BAD_IDX("bad-method.gz", z, RT_IDX_MAGIC_IMAGES, RT_ERR_FORMAT, "corrupt gzip");
    fx_free(&z);

    /* truncated gzip: cut in the middle, cut in the trailer, only the magic */
    fx_buf gz_cut = {images_gz.data, images_gz.size / 2};
    BAD_IDX("half.gz", gz_cut, RT_IDX_MAGIC_IMAGES, RT_ERR_FORMAT, "truncated gzip");
    gz_cut.size = images_gz.size - 3;
    BAD_IDX("no-trailer.gz", gz_cut, RT_IDX_MAGIC_IMAGES, RT_ERR_FORMAT, "truncated gzip");
    gz_cut.size = 2;
    BAD_IDX("magic-only.gz", gz_cut, RT_IDX_MAGIC_IMAGES, RT_ERR_FORMAT, "truncated gzip");

    /* files that are not there or not files */
    rt_idx idx;
    rt_error err;
    char missing[4096];
    fx_pathf(missing, sizeof missing, "%s/no-such-file", tmp);
    rt_status st = rt_idx_read(missing, RT_IDX_MAGIC_IMAGES, &idx, &err);
    fx_check_error("missing", st, &err, RT_ERR_IO, missing, "cannot open", NULL);
    st = rt_idx_read(tmp, RT_IDX_MAGIC_IMAGES, &idx, &err);
    fx_check_error("folder", st, &err, RT_ERR_IO, tmp, "folder", NULL);

    fx_free(&images);
    fx_free(&labs);
    fx_free(&images_gz);
    fx_free(&labs_gz);
}

static void dataset_cases(void)
{
    enum { N = 5 };
    uint8_t pixels[N * 28 * 28];
    for (size_t i = 0; i < sizeof pixels; i++)
        pixels[i] = (uint8_t)(i % 251);
    uint8_t labels[N] = {5, 0, 4, 1, 9};
    const uint32_t img_dims[3] = {N, 28, 28}, lab_dims[1] = {N};
    char ipath[4096], lpath[4096], bad[4096];
    rt_dataset set;
    rt_error err;
    rt_status st;

    fx_buf images = fx_idx(RT_IDX_MAGIC_IMAGES, 3, img_dims, pixels, sizeof pixels);
    fx_buf images_gz = fx_gzip(images.data, images.size);
    fx_buf labs = fx_idx(RT_IDX_MAGIC_LABELS, 1, lab_dims, labels, N);
    CHECK(fx_write(tmp, "set-images.gz", images_gz.data, images_gz.size, ipath) == 0);
    CHECK(fx_write(tmp, "set-labels", labs.data, labs.size, lpath) == 0);

    st = rt_dataset_load(ipath, lpath, &set, &err);
    CHECKF(st == RT_OK, "dataset: %s", err.message);
    if (st == RT_OK) {
        CHECK(set.count == N && set.rows == 28 && set.cols == 28);
        CHECK(memcmp(set.images, pixels, sizeof pixels) == 0);
        CHECK(memcmp(set.labels, labels, N) == 0);
        rt_dataset_free(&set);
        CHECK(set.images == NULL && set.labels == NULL && set.count == 0);
    }

    /* counts disagree: both files and both counts named */
    fx_buf four = fx_idx(RT_IDX_MAGIC_LABELS, 1, (const uint32_t[1]){N - 1}, labels, N - 1);
    CHECK(fx_write(tmp, "four-labels", four.data, four.size, bad) == 0);
    st = rt_dataset_load(ipath, bad, &set, &err);
    fx_check_error("count mismatch", st, &err, RT_ERR_FORMAT, ipath, bad, "5 images", "4 labels",
                   "mismatch", NULL);
    CHECK(set.images == NULL && set.labels == NULL);
    fx_free(&four);

    /* a label of 10: index and value of the first bad one */
    uint8_t wrong[N] = {5, 0, 10, 1, 200};
    fx_buf ten = fx_idx(RT_IDX_MAGIC_LABELS, 1, lab_dims, wrong, N);
    CHECK(fx_write(tmp, "label-ten", ten.data, ten.size, bad) == 0);
    st = rt_dataset_load(ipath, bad, &set, &err);
    fx_check_error("label 10", st, &err, RT_ERR_FORMAT, bad, "label 2 is 10", "0..9", NULL);
    fx_free(&ten);

    /* not 28x28 */
    fx_buf odd = fx_idx(RT_IDX_MAGIC_IMAGES, 3, (const uint32_t[3]){N, 27, 28}, pixels,
                        (size_t)N * 27 * 28);
    CHECK(fx_write(tmp, "odd-images", odd.data, odd.size, bad) == 0);
    st = rt_dataset_load(bad, lpath, &set, &err);
    fx_check_error("27x28", st, &err, RT_ERR_FORMAT, bad, "27x28", "expected 28x28", NULL);
    fx_free(&odd);

    /* the files swapped: the magic tells */
    st = rt_dataset_load(lpath, ipath, &set, &err);
    fx_check_error("swapped", st, &err, RT_ERR_FORMAT, lpath, "wrong magic", "image file", NULL);

    /* a broken label file behind a good image file */
    fx_buf cut = {labs.data, labs.size - 1};
    CHECK(fx_write(tmp, "cut-labels", cut.data, cut.size, bad) == 0);
    st = rt_dataset_load(ipath, bad, &set, &err);
    fx_check_error("cut labels", st, &err, RT_ERR_FORMAT, bad, "truncated", NULL);

    fx_free(&images);
    fx_free(&images_gz);
    fx_free(&labs);
}

int main(void)
{
    CHECK(rt_test_tempdir(tmp, sizeof tmp) == 0);
    idx_cases();
    dataset_cases();
    fx_remove_tree(tmp);
    return rt_test_finish("test_idx");
}
