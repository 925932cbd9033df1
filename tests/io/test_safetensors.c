/* safetensors: round trips, a table of malformed files (one per rule the
 * reader enforces), the writer's own checks, atomic replacement (the old
 * file survives every failure, no temporary file is left behind) and a
 * file written by Python's safetensors package (argv[1]). */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io_test_util.h"
#include "resnet/safetensors.h"

static char dir[512];

static void path_in(char *buf, size_t size, const char *name)
{
    snprintf(buf, size, "%s/%s", dir, name);
}

/* Entries in a folder besides "." and "..". */
static int count_entries(const char *folder)
{
    DIR *d = opendir(folder);
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            n++;
    closedir(d);
    return n;
}

static int same_file(const char *path, const unsigned char *bytes, size_t n)
{
    size_t m;
    unsigned char *now = io_read_bytes(path, &m);
    int same = now && m == n && memcmp(now, bytes, n) == 0;
    free(now);
    return same;
}

/* ---- round trip -------------------------------------------------------------- */

static float f32[2][3] = {{1.0f, -2.5f, 3.25f}, {0.0f, -0.0f, 1e-30f}};
static int64_t i64[4] = {INT64_MIN, -1, 0, INT64_MAX};
static uint8_t u8[3] = {0, 128, 255};
static double f64 = 3.141592653589793;
static uint16_t bf16[5] = {0x3f80, 0xbf80, 0, 0x7f80, 1};

static int make_views(rt_tensor_view *t)
{
    memset(t, 0, 6 * sizeof *t);
    t[0] = (rt_tensor_view){"layer.weight", RT_DTYPE_F32, 2, {2, 3}, f32, sizeof f32};
    t[1] = (rt_tensor_view){"u8 odd size", RT_DTYPE_U8, 1, {3}, u8, sizeof u8};
    t[2] = (rt_tensor_view){"i64", RT_DTYPE_I64, 1, {4}, i64, sizeof i64};
    t[3] = (rt_tensor_view){"scalar", RT_DTYPE_F64, 0, {0}, &f64, sizeof f64};
    t[4] = (rt_tensor_view){"empty", RT_DTYPE_F32, 3, {2, 0, 5}, NULL, 0};
    t[5] = (rt_tensor_view){"caf\xc3\xa9 \"quoted\\\" \n", RT_DTYPE_BF16, 2, {5, 1}, bf16,
                            sizeof bf16};
    return 6;
}

static void check_same_views(const rt_safetensors *f, const rt_tensor_view *t, int n)
{
    CHECK(rt_safetensors_count(f) == n);
    for (int i = 0; i < n && i < rt_safetensors_count(f); i++) {
        const rt_tensor_view *g = rt_safetensors_tensor(f, i);
        CHECKF(strcmp(g->name, t[i].name) == 0, "tensor %d is '%s', expected '%s'", i, g->name,
               t[i].name);
        CHECK(g->dtype == t[i].dtype && g->ndim == t[i].ndim && g->bytes == t[i].bytes);
        for (int d = 0; d < t[i].ndim; d++)
            CHECK(g->shape[d] == t[i].shape[d]);
        CHECK(t[i].bytes == 0 || memcmp(g->data, t[i].data, t[i].bytes) == 0);
        CHECK(rt_safetensors_find(f, t[i].name) == g);
    }
}

static void test_round_trip(void)
{
    rt_tensor_view t[6];
    int n = make_views(t);
    const char *keys[] = {"format", "escapes \"\\\n\t\x01", "unicode \xe2\x82\xac", "empty"};
    const char *values[] = {"pt", "a\"b\\c\nd\x1f", "\xf0\x9f\x98\x80", ""};
    char path[600];
    path_in(path, sizeof path, "round.safetensors");
    rt_error err = {0};
    rt_status st = rt_safetensors_write(path, t, n, keys, values, 4, &err);
    CHECKF(st == RT_OK, "write: %s", err.message);

    /* the layout: 8 + header length is a multiple of 8, the header ends in spaces */
    size_t size;
    unsigned char *raw = io_read_bytes(path, &size);
    CHECK(raw != NULL && size >= 8);
    if (raw && size >= 8) {
        uint64_t hl = 0;
        for (int i = 7; i >= 0; i--)
            hl = hl << 8 | raw[i];
        CHECKF((8 + hl) % 8 == 0, "header length %" PRIu64 " leaves the buffer unaligned", hl);
        CHECK(8 + hl + sizeof f32 + sizeof u8 + sizeof i64 + sizeof f64 + sizeof bf16 == size);
        CHECK(raw[8] == '{');
    }
    free(raw);

    rt_safetensors *f = NULL;
    st = rt_safetensors_read(path, &f, &err);
    CHECKF(st == RT_OK, "read: %s", err.message);
    if (st != RT_OK)
        return;
    check_same_views(f, t, n);
    CHECK(((uintptr_t)rt_safetensors_tensor(f, 0)->data & 7) == 0);
    CHECK(rt_safetensors_metadata_count(f) == 4);
    for (int i = 0; i < 4; i++) {
        const char *k, *v;
        CHECK(rt_safetensors_metadata_at(f, i, &k, &v));
        CHECK(strcmp(k, keys[i]) == 0 && strcmp(v, values[i]) == 0);
        CHECK(rt_safetensors_metadata(f, keys[i]) == v);
    }
    CHECK(!rt_safetensors_metadata_at(f, 4, NULL, NULL));
    CHECK(rt_safetensors_metadata(f, "absent") == NULL);
    CHECK(rt_safetensors_find(f, "absent") == NULL);
    CHECK(rt_safetensors_find(f, "") == NULL);
    CHECK(rt_safetensors_tensor(f, -1) == NULL && rt_safetensors_tensor(f, n) == NULL);
    rt_safetensors_free(f);

    /* no tensors, no metadata: "{}" padded */
    st = rt_safetensors_write(path, NULL, 0, NULL, NULL, 0, &err);
    CHECKF(st == RT_OK, "empty write: %s", err.message);
    st = rt_safetensors_read(path, &f, &err);
    CHECKF(st == RT_OK && rt_safetensors_count(f) == 0 && rt_safetensors_metadata_count(f) == 0,
           "empty read: %s", err.message);
    rt_safetensors_free(f);

    /* many tensors: the name index */
    enum { MANY = 300 };
    static char names[MANY][16];
    static int32_t vals[MANY];
    rt_tensor_view many[MANY];
    memset(many, 0, sizeof many);
    for (int i = 0; i < MANY; i++) {
        snprintf(names[i], sizeof names[i], "t%03d", (i * 7919) % MANY);
        vals[i] = i;
        many[i] = (rt_tensor_view){names[i], RT_DTYPE_I32, 1, {1}, &vals[i], 4};
    }
    st = rt_safetensors_write(path, many, MANY, NULL, NULL, 0, &err);
    CHECKF(st == RT_OK, "write many: %s", err.message);
    st = rt_safetensors_read(path, &f, &err);
    CHECKF(st == RT_OK, "read many: %s", err.message);
    if (st == RT_OK) {
        check_same_views(f, many, MANY);
        rt_safetensors_free(f);
    }
    CHECK(count_entries(dir) == 1); /* no temporary files left */
    unlink(path);
}

/* ---- malformed files --------------------------------------------------------- */

/* A file: 8-byte length (hl, or the header's real length when hl is
 * UINT64_MAX), the header text, then buffer_len bytes of data. */
static void write_raw(const char *path, uint64_t hl, const char *header, size_t buffer_len)
{
    size_t h = strlen(header);
    if (hl == UINT64_MAX)
        hl = h;
    unsigned char *b = calloc(1, 8 + h + buffer_len + 1);
    for (int i = 0; i < 8; i++)
        b[i] = (unsigned char)(hl >> (8 * i));
    memcpy(b + 8, header, h);
    for (size_t i = 0; i < buffer_len; i++)
        b[8 + h + i] = (unsigned char)i;
    CHECK(io_write_bytes(path, b, 8 + h + buffer_len) == 0);
    free(b);
}

typedef struct bad_file {
    const char *what;
    uint64_t header_length; /* UINT64_MAX: the real one */
    const char *header;
    size_t buffer;
    rt_status status;
    const char *expect1, *expect2;
} bad_file;

#define T1(name, dt, shape, off) "\"" name "\":{\"dtype\":\"" dt "\",\"shape\":" shape ",\"data_offsets\":" off "}"

static const bad_file BAD[] = {
    {"header length 0", 0, "", 16, RT_ERR_FORMAT, "header length is 0", NULL},
    {"header longer than the file", 1000, "{}", 16, RT_ERR_FORMAT, "header length 1000",
     "exceeds the file size"},
    {"absurd header length", 200000000, "{}", 16, RT_ERR_FORMAT, "absurd", NULL},
    {"huge header length", UINT64_MAX - 1, "{}", 0, RT_ERR_FORMAT, "absurd", NULL},
    {"not JSON", UINT64_MAX, "{\"a\":", 0, RT_ERR_FORMAT, "invalid JSON header", "unexpected end"},
    {"trailing garbage", UINT64_MAX, "{} {}", 0, RT_ERR_FORMAT, "invalid JSON header", "trailing garbage"},
    {"NUL padding", UINT64_MAX, "{}\0\0", 0, RT_ERR_FORMAT, "invalid JSON header", NULL},
    {"not an object", UINT64_MAX, "[1, 2]", 0, RT_ERR_FORMAT, "not a JSON object", NULL},
    {"entry not an object", UINT64_MAX, "{\"a\": [1]}", 0, RT_ERR_FORMAT, "tensor 'a'",
     "not an object"},
    {"unknown dtype", UINT64_MAX, "{" T1("a", "F128", "[1]", "[0,16]") "}", 16, RT_ERR_FORMAT,
     "tensor 'a'", "unknown dtype \"F128\""},
    {"dtype not a string", UINT64_MAX, "{\"a\":{\"dtype\":4,\"shape\":[1],\"data_offsets\":[0,4]}}",
     4, RT_ERR_FORMAT, "tensor 'a'", "dtype is an integer"},
    {"missing dtype", UINT64_MAX, "{\"a\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4,
     RT_ERR_FORMAT, "tensor 'a'", "\"dtype\" is missing"},
    {"missing shape", UINT64_MAX, "{\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", 4,
     RT_ERR_FORMAT, "tensor 'a'", "\"shape\" is missing"},
    {"missing offsets", UINT64_MAX, "{\"a\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4, RT_ERR_FORMAT,
     "tensor 'a'", "\"data_offsets\" is missing"},
    {"unknown field", UINT64_MAX,
     "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"stride\":[1]}}", 4,
     RT_ERR_FORMAT, "tensor 'a'", "unknown field \"stride\""},
    {"shape not a list", UINT64_MAX, "{" T1("a", "F32", "3", "[0,12]") "}", 12, RT_ERR_FORMAT,
     "tensor 'a'", "shape must be a list of non-negative integers"},
    {"negative dimension", UINT64_MAX, "{" T1("a", "F32", "[2,-1]", "[0,0]") "}", 0, RT_ERR_FORMAT,
     "tensor 'a'", "shape must be a list of non-negative integers"},
    {"non-integer dimension", UINT64_MAX, "{" T1("a", "F32", "[2.0]", "[0,8]") "}", 8,
     RT_ERR_FORMAT, "tensor 'a'", "shape must be a list of non-negative integers"},
    {"string dimension", UINT64_MAX, "{" T1("a", "F32", "[\"2\"]", "[0,8]") "}", 8, RT_ERR_FORMAT,
     "tensor 'a'", "shape must be a list of non-negative integers"},
    {"too many dimensions", UINT64_MAX, "{" T1("a", "U8", "[1,1,1,1,1,1,1,1,1]", "[0,1]") "}", 1,
     RT_ERR_FORMAT, "tensor 'a'", "more than the 8 supported"},
    {"element count overflow", UINT64_MAX,
     "{" T1("a", "F32", "[4294967296,4294967296,16]", "[0,0]") "}", 0, RT_ERR_FORMAT, "tensor 'a'",
     "overflows"},
    {"byte size overflow", UINT64_MAX, "{" T1("a", "F64", "[4611686018427387904]", "[0,0]") "}", 0,
     RT_ERR_FORMAT, "tensor 'a'", "overflows"},
    {"offsets not a pair", UINT64_MAX, "{" T1("a", "F32", "[1]", "[0]") "}", 4, RT_ERR_FORMAT,
     "tensor 'a'", "data_offsets must be [begin, end]"},
    {"offsets reversed", UINT64_MAX, "{" T1("a", "F32", "[1]", "[8,4]") "}", 8, RT_ERR_FORMAT,
     "tensor 'a'", "data_offsets must be [begin, end]"},
    {"negative offset", UINT64_MAX, "{" T1("a", "F32", "[0]", "[-4,-4]") "}", 0, RT_ERR_FORMAT,
     "tensor 'a'", "data_offsets must be [begin, end]"},
    {"offsets not integers", UINT64_MAX, "{" T1("a", "F32", "[1]", "[\"0\",4]") "}", 4,
     RT_ERR_FORMAT, "tensor 'a'", "data_offsets must be [begin, end]"},
    {"end beyond the buffer", UINT64_MAX, "{" T1("a", "F32", "[4]", "[0,16]") "}", 12,
     RT_ERR_FORMAT, "tensor 'a'", "end 16 is beyond the end of the data buffer (12 bytes"},
    {"size mismatch", UINT64_MAX, "{" T1("a", "F32", "[2]", "[0,4]") "}", 4, RT_ERR_FORMAT,
     "tensor 'a'", "span 4 bytes, but dtype F32 with shape [2] needs 8"},
    {"overlap", UINT64_MAX,
     "{" T1("a", "F32", "[2]", "[0,8]") "," T1("b", "F32", "[2]", "[4,12]") "}", 12, RT_ERR_FORMAT,
     "tensors 'a' and 'b' overlap", NULL},
    {"same offsets", UINT64_MAX,
     "{" T1("a", "F32", "[1]", "[0,4]") "," T1("b", "I32", "[1]", "[0,4]") "}", 4, RT_ERR_FORMAT,
     "overlap", NULL},
    {"hole between", UINT64_MAX,
     "{" T1("a", "F32", "[1]", "[0,4]") "," T1("b", "F32", "[1]", "[8,12]") "}", 12, RT_ERR_FORMAT,
     "hole in the data buffer: bytes 4..8", NULL},
    {"hole at the start", UINT64_MAX, "{" T1("a", "F32", "[1]", "[4,8]") "}", 8, RT_ERR_FORMAT,
     "hole in the data buffer: bytes 0..4", NULL},
    {"hole at the end", UINT64_MAX, "{" T1("a", "F32", "[1]", "[0,4]") "}", 8, RT_ERR_FORMAT,
     "hole in the data buffer: bytes 4..8", "after the last tensor"},
    {"data but no tensors", UINT64_MAX, "{}", 8, RT_ERR_FORMAT, "hole in the data buffer",
     "no tensors"},
    {"metadata value not a string", UINT64_MAX, "{\"__metadata__\":{\"epoch\":3}}", 0,
     RT_ERR_FORMAT, "__metadata__ value of 'epoch'", "not a string"},
    {"metadata value null", UINT64_MAX, "{\"__metadata__\":{\"k\":null}}", 0, RT_ERR_FORMAT,
     "__metadata__ value of 'k'", "not a string"},
    {"metadata not an object", UINT64_MAX, "{\"__metadata__\":[\"a\"]}", 0, RT_ERR_FORMAT,
     "__metadata__ is an array", NULL},
    {"duplicate names", UINT64_MAX,
     "{" T1("a", "F32", "[1]", "[0,4]") "," T1("a", "F32", "[1]", "[4,8]") "}", 8, RT_ERR_FORMAT,
     "duplicate key \"a\"", NULL},
    {"duplicate metadata keys", UINT64_MAX, "{\"__metadata__\":{\"k\":\"1\",\"k\":\"2\"}}", 0,
     RT_ERR_FORMAT, "duplicate key \"k\"", NULL},
    {"two metadata objects", UINT64_MAX, "{\"__metadata__\":{},\"__metadata__\":{}}", 0,
     RT_ERR_FORMAT, "duplicate key \"__metadata__\"", NULL},
    {"invalid UTF-8 name", UINT64_MAX, "{" T1("\xff", "F32", "[1]", "[0,4]") "}", 4, RT_ERR_FORMAT,
     "invalid UTF-8", NULL},
};

static void test_malformed(void)
{
    char path[600];
    path_in(path, sizeof path, "bad.safetensors");
    for (size_t i = 0; i < sizeof BAD / sizeof BAD[0]; i++) {
        const bad_file *b = &BAD[i];
        /* headers given with embedded NULs ("NUL padding") carry their length */
        if (strcmp(b->what, "NUL padding") == 0) {
            unsigned char raw[8 + 4] = {4, 0, 0, 0, 0, 0, 0, 0, '{', '}', 0, 0};
            CHECK(io_write_bytes(path, raw, sizeof raw) == 0);
        } else {
            write_raw(path, b->header_length, b->header, b->buffer);
        }
        rt_error err = {0};
        rt_safetensors *f = (rt_safetensors *)&err; /* must be reset to NULL */
        rt_status st = rt_safetensors_read(path, &f, &err);
        printf("%-30s -> %s\n", b->what, err.message);
        CHECKF(f == NULL, "%s: *out is NULL on failure", b->what);
        CHECKF(st == b->status, "%s: status %s", b->what, rt_status_name(st));
        CHECKF(strncmp(err.message, path, strlen(path)) == 0, "%s: message names the file: %s",
               b->what, err.message);
        CHECKF(strstr(err.message, b->expect1) != NULL, "%s: \"%s\" lacks \"%s\"", b->what,
               err.message, b->expect1);
        if (b->expect2)
            CHECKF(strstr(err.message, b->expect2) != NULL, "%s: \"%s\" lacks \"%s\"", b->what,
                   err.message, b->expect2);
        CHECKF(strchr(err.message, '\n') == NULL, "%s: one line", b->what);
        if (st == RT_OK)
            rt_safetensors_free(f);
    }

    /* files shorter than the length field */
    for (size_t n = 0; n < 8; n += 3) {
        unsigned char raw[8] = {2, 0, 0, 0, 0, 0, 0, 0};
        CHECK(io_write_bytes(path, raw, n) == 0);
        rt_error err = {0};
        rt_safetensors *f;
        EXPECT_ERROR(rt_safetensors_read(path, &f, &err), &err, RT_ERR_FORMAT, path, "too short");
    }

    /* a good file cut short: every truncation point is caught */
    rt_tensor_view t[6];
    int n = make_views(t);
    CHECK(rt_safetensors_write(path, t, n, NULL, NULL, 0, NULL) == RT_OK);
    size_t size;
    unsigned char *good = io_read_bytes(path, &size);
    for (size_t cut = 1; good && cut <= size; cut += (cut < 40 ? 1 : 17)) {
        CHECK(io_write_bytes(path, good, size - cut) == 0);
        rt_error err = {0};
        rt_safetensors *f;
        rt_status st = rt_safetensors_read(path, &f, &err);
        CHECKF(st == RT_ERR_FORMAT, "cut %zu bytes: %s", cut, err.message);
        if (size - cut >= 8)
            CHECKF(strstr(err.message, "truncated") != NULL, "cut %zu: %s", cut, err.message);
        if (st == RT_OK)
            rt_safetensors_free(f);
    }
    free(good);

    /* the header may be padded with spaces (and other JSON whitespace) */
    write_raw(path, UINT64_MAX, "{" T1("a", "U8", "[2]", "[0,2]") "}     \n\t ", 2);
    rt_error err = {0};
    rt_safetensors *f;
    rt_status st = rt_safetensors_read(path, &f, &err);
    CHECKF(st == RT_OK && rt_safetensors_count(f) == 1, "padded header: %s", err.message);
    if (st == RT_OK)
        rt_safetensors_free(f);

    /* not there, not a file */
    path_in(path, sizeof path, "no-such.safetensors");
    EXPECT_ERROR(rt_safetensors_read(path, &f, &err), &err, RT_ERR_IO, path, "cannot open");
    EXPECT_ERROR(rt_safetensors_read(dir, &f, &err), &err, RT_ERR_IO, dir, "not a regular file");
    path_in(path, sizeof path, "bad.safetensors");
    unlink(path);
}

/* ---- the writer's own checks ------------------------------------------------- */

static void test_write_checks(void)
{
    char path[600];
    path_in(path, sizeof path, "w.safetensors");
    float x[4] = {0};
    rt_tensor_view t[2];
    memset(t, 0, sizeof t);
    t[0] = (rt_tensor_view){"a", RT_DTYPE_F32, 1, {4}, x, sizeof x};
    t[1] = t[0];
    rt_error err = {0};
    EXPECT_ERROR(rt_safetensors_write(path, t, 2, NULL, NULL, 0, &err), &err, RT_ERR_USAGE,
                 "duplicate tensor name 'a'");
    t[1].name = "__metadata__";
    EXPECT_ERROR(rt_safetensors_write(path, t, 2, NULL, NULL, 0, &err), &err, RT_ERR_USAGE,
                 "'__metadata__' is reserved");
    t[1].name = "";
    EXPECT_ERROR(rt_safetensors_write(path, t, 2, NULL, NULL, 0, &err), &err, RT_ERR_USAGE,
                 "empty");
    t[1].name = "bad\xc3";
    EXPECT_ERROR(rt_safetensors_write(path, t, 2, NULL, NULL, 0, &err), &err, RT_ERR_USAGE,
                 "not valid UTF-8");
    t[1].name = "b";
    t[1].bytes = 12;
    EXPECT_ERROR(rt_safetensors_write(path, t, 2, NULL, NULL, 0, &err), &err, RT_ERR_USAGE,
                 "tensor 'b' has 12 bytes", "does not match");
    t[1].bytes = 16;
    t[1].data = NULL;
    EXPECT_ERROR(rt_safetensors_write(path, t, 2, NULL, NULL, 0, &err), &err, RT_ERR_USAGE,
                 "tensor 'b' has no data");
    t[1].data = x;
    t[1].ndim = 9;
    EXPECT_ERROR(rt_safetensors_write(path, t, 2, NULL, NULL, 0, &err), &err, RT_ERR_USAGE,
                 "9 dimensions");
    t[1].ndim = 1;
    t[1].dtype = (rt_dtype)99;
    EXPECT_ERROR(rt_safetensors_write(path, t, 2, NULL, NULL, 0, &err), &err, RT_ERR_USAGE,
                 "no valid dtype");
    t[1].dtype = RT_DTYPE_F32;
    const char *k[2] = {"k", "k"}, *v[2] = {"1", "2"};
    EXPECT_ERROR(rt_safetensors_write(path, t, 2, k, v, 2, &err), &err, RT_ERR_USAGE,
                 "duplicate metadata key 'k'");
    k[1] = "k2";
    v[1] = "\xff";
    EXPECT_ERROR(rt_safetensors_write(path, t, 2, k, v, 2, &err), &err, RT_ERR_USAGE,
                 "metadata value of 'k2'");
    v[1] = NULL;
    EXPECT_ERROR(rt_safetensors_write(path, t, 2, k, v, 2, &err), &err, RT_ERR_USAGE,
                 "metadata value of 'k2'");
    CHECK(access(path, F_OK) != 0); /* nothing was written */
    v[1] = "2";
    CHECK(rt_safetensors_write(path, t, 2, k, v, 2, &err) == RT_OK);
    unlink(path);

    /* dtype names and sizes */
    CHECK(rt_dtype_size(RT_DTYPE_BF16) == 2 && rt_dtype_size(RT_DTYPE_U64) == 8 &&
          rt_dtype_size(RT_DTYPE_BOOL) == 1 && rt_dtype_size((rt_dtype)99) == 0);
    CHECK(strcmp(rt_dtype_name(RT_DTYPE_F8_E4M3), "F8_E4M3") == 0 &&
          rt_dtype_name((rt_dtype)-1) == NULL);
    for (int i = 0; i < RT_DTYPE_COUNT; i++)
        CHECK(rt_dtype_from_name(rt_dtype_name((rt_dtype)i)) == i);
    CHECK(rt_dtype_from_name("f32") == -1);
}

/* ---- atomic replacement ------------------------------------------------------ */

static void test_atomic(void)
{
    char path[600], bad[700];
    path_in(path, sizeof path, "keep.safetensors");
    static float big[16384];
    for (int i = 0; i < 16384; i++)
        big[i] = (float)i;
    rt_tensor_view small = {"small", RT_DTYPE_F32, 1, {4}, big, 16};
    rt_tensor_view large = {"large", RT_DTYPE_F32, 1, {16384}, big, sizeof big};
    rt_error err = {0};
    CHECK(rt_safetensors_write(path, &small, 1, NULL, NULL, 0, &err) == RT_OK);
    size_t old_size;
    unsigned char *old = io_read_bytes(path, &old_size);
    CHECK(old != NULL);
    if (!old)
        return;

    /* a folder that does not exist */
    path_in(bad, sizeof bad, "missing/folder/x.safetensors");
    EXPECT_ERROR(rt_safetensors_write(bad, &large, 1, NULL, NULL, 0, &err), &err, RT_ERR_IO, bad,
                 "cannot create a temporary file", "No such file or directory");
    /* a "folder" that is a regular file */
    snprintf(bad, sizeof bad, "%s/x.safetensors", path);
    EXPECT_ERROR(rt_safetensors_write(bad, &large, 1, NULL, NULL, 0, &err), &err, RT_ERR_IO,
                 "Not a directory");
    CHECK(same_file(path, old, old_size));

    /* the target is a folder: the temporary file is written, the rename
     * fails, and the temporary file is removed */
    char sub[600];
    path_in(sub, sizeof sub, "a-folder");
    CHECK(mkdir(sub, 0755) == 0);
    EXPECT_ERROR(rt_safetensors_write(sub, &large, 1, NULL, NULL, 0, &err), &err, RT_ERR_IO,
                 "cannot replace the file");
    CHECK(count_entries(dir) == 2); /* keep.safetensors and a-folder, no leftovers */
    rmdir(sub);
    /* a name ending in '/' */
    snprintf(bad, sizeof bad, "%s/", path);
    EXPECT_ERROR(rt_safetensors_write(bad, &large, 1, NULL, NULL, 0, &err), &err, RT_ERR_USAGE,
                 "ends in '/'");

    /* a write that fails halfway (the file size limit stands in for a full
     * disk; it binds root too): the old file is untouched, nothing left */
    struct rlimit old_limit;
    if (getrlimit(RLIMIT_FSIZE, &old_limit) == 0) {
        signal(SIGXFSZ, SIG_IGN);
        struct rlimit lim = old_limit;
        lim.rlim_cur = 4096;
        if (setrlimit(RLIMIT_FSIZE, &lim) == 0) {
            rt_status st = rt_safetensors_write(path, &large, 1, NULL, NULL, 0, &err);
            setrlimit(RLIMIT_FSIZE, &old_limit);
            EXPECT_ERROR(st, &err, RT_ERR_IO, path, "write failed", "File too large");
            CHECK(same_file(path, old, old_size));
            CHECK(count_entries(dir) == 1);
        } else {
            printf("note: cannot lower RLIMIT_FSIZE (%s); half-written case skipped\n",
                   strerror(errno));
        }
        signal(SIGXFSZ, SIG_DFL);
    }

    /* a read-only folder stops everyone but root */
    if (geteuid() != 0) {
        char ro[600], target[700];
        path_in(ro, sizeof ro, "ro");
        snprintf(target, sizeof target, "%s/keep.safetensors", ro);
        CHECK(mkdir(ro, 0755) == 0);
        CHECK(rt_safetensors_write(target, &small, 1, NULL, NULL, 0, &err) == RT_OK);
        CHECK(chmod(ro, 0555) == 0);
        EXPECT_ERROR(rt_safetensors_write(target, &large, 1, NULL, NULL, 0, &err), &err, RT_ERR_IO,
                     "cannot create a temporary file", "Permission denied");
        CHECK(same_file(target, old, old_size));
        chmod(ro, 0755);
        unlink(target);
        rmdir(ro);
    } else {
        printf("note: running as root, the read-only folder case is skipped\n");
    }

    /* a successful replacement */
    CHECK(rt_safetensors_write(path, &large, 1, NULL, NULL, 0, &err) == RT_OK);
    rt_safetensors *f;
    CHECK(rt_safetensors_read(path, &f, &err) == RT_OK);
    if (f) {
        const rt_tensor_view *l = rt_safetensors_find(f, "large");
        CHECK(rt_safetensors_count(f) == 1 && l && memcmp(l->data, big, sizeof big) == 0);
        rt_safetensors_free(f);
    }
    CHECK(count_entries(dir) == 1);
    free(old);
    unlink(path);
}

/* ---- a file written by Python ------------------------------------------------ */

static void test_python_file(const char *path)
{
    rt_error err = {0};
    rt_safetensors *f;
    rt_status st = rt_safetensors_read(path, &f, &err);
    CHECKF(st == RT_OK, "Python file: %s", err.message);
    if (st != RT_OK)
        return;
    CHECK(rt_safetensors_count(f) == 7);
    const rt_tensor_view *w = rt_safetensors_find(f, "weight");
    CHECK(w && w->dtype == RT_DTYPE_F32 && w->ndim == 2 && w->shape[0] == 2 && w->shape[1] == 3 &&
          w->bytes == 24);
    if (w && w->bytes == 24) {
        float x[6];
        memcpy(x, w->data, sizeof x);
        for (int i = 0; i < 6; i++)
            CHECKF(x[i] == (float)i * 0.5f - 1.0f, "weight[%d] = %g", i, (double)x[i]);
    }
    const rt_tensor_view *ix = rt_safetensors_find(f, "index");
    CHECK(ix && ix->dtype == RT_DTYPE_I64 && ix->ndim == 1 && ix->shape[0] == 3);
    if (ix && ix->bytes == 24) {
        int64_t v[3];
        memcpy(v, ix->data, sizeof v);
        CHECK(v[0] == -1 && v[1] == 0 && v[2] == (int64_t)1 << 40);
    }
    const rt_tensor_view *m = rt_safetensors_find(f, "mask");
    CHECK(m && m->dtype == RT_DTYPE_U8 && m->bytes == 4 &&
          memcmp(m->data, "\x00\x01\xfe\xff", 4) == 0);
    const rt_tensor_view *h = rt_safetensors_find(f, "half");
    CHECK(h && h->dtype == RT_DTYPE_F16 && h->bytes == 4 &&
          memcmp(h->data, "\x00\x3c\x00\xc0", 4) == 0); /* 1.0, -2.0 */
    const rt_tensor_view *s = rt_safetensors_find(f, "scalar");
    CHECK(s && s->dtype == RT_DTYPE_F64 && s->ndim == 0 && s->bytes == 8);
    if (s && s->bytes == 8) {
        double d;
        memcpy(&d, s->data, 8);
        CHECK(d == 3.25);
    }
    const rt_tensor_view *e = rt_safetensors_find(f, "empty");
    CHECK(e && e->dtype == RT_DTYPE_I32 && e->ndim == 2 && e->shape[0] == 0 && e->shape[1] == 4 &&
          e->bytes == 0);
    const rt_tensor_view *q = rt_safetensors_find(f, "caf\xc3\xa9/\"quoted\"");
    CHECK(q && q->dtype == RT_DTYPE_I16 && q->bytes == 2 && memcmp(q->data, "\x07\x00", 2) == 0);
    const char *fmt = rt_safetensors_metadata(f, "format");
    const char *note = rt_safetensors_metadata(f, "note");
    CHECK(fmt && strcmp(fmt, "pt") == 0);
    CHECK(note && strcmp(note, "made by safetensors.numpy") == 0);
    CHECK(rt_safetensors_metadata_count(f) == 2);
    rt_safetensors_free(f);
}

int main(int argc, char **argv)
{
    if (rt_test_tempdir(dir, sizeof dir) != 0) {
        fprintf(stderr, "cannot make a temporary folder\n");
        return 1;
    }
    test_round_trip();
    test_malformed();
    test_write_checks();
    test_atomic();
    if (argc > 1)
        test_python_file(argv[1]);
    else
        CHECKF(0, "usage: test_safetensors PYTHON_FIXTURE");
    CHECK(count_entries(dir) == 0);
    rmdir(dir);
    return rt_test_finish("test_safetensors");
}
