/* The pieces of the curve writers that need no training run: CRC-32C
 * against its standard check value and RFC 3720's vectors, TFRecord's
 * mask and framing, the JSON numbers (%.17g reads back as the same double,
 * NaN and Inf as null), the JSON lines of each event kind, and the
 * scalars' tags. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "resnet/metrics.h"
#include "test_support.h"

/* A bitwise CRC-32C, independent of the table. */
static uint32_t slow_crc32c(const unsigned char *p, size_t n)
{
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0x82F63B78u & (0u - (c & 1u)));
    }
    return ~c;
}

static uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void test_crc(void)
{
    CHECKF(rt_crc32c(0, "123456789", 9) == 0xE3069283u, "crc32c(123456789) = %08x",
           (unsigned)rt_crc32c(0, "123456789", 9));
    unsigned char zeros[32] = {0}, ones[32], up[32];
    memset(ones, 0xFF, sizeof ones);
    for (int i = 0; i < 32; i++)
        up[i] = (unsigned char)i;
    CHECK(rt_crc32c(0, zeros, 32) == 0x8A9136AAu); /* RFC 3720 B.4 */
    CHECK(rt_crc32c(0, ones, 32) == 0x62A8AB43u);
    CHECK(rt_crc32c(0, up, 32) == 0x46DD794Eu);
    CHECK(rt_crc32c(0, "", 0) == 0);
    /* continued over pieces: the same as at once */
    CHECK(rt_crc32c(rt_crc32c(0, "1234", 4), "56789", 5) == 0xE3069283u);
    for (size_t n = 0; n < 32; n++)
        CHECKF(rt_crc32c(0, up, n) == slow_crc32c(up, n), "length %zu", n);
    uint32_t c = 0xE3069283u;
    CHECK(rt_crc32c_mask(c) == ((c >> 15) | (c << 17)) + 0xa282ead8u);
    CHECK(rt_crc32c_mask(0) == 0xa282ead8u);
}

static void test_framing(void)
{
    FILE *f = tmpfile();
    if (!CHECK(f != NULL))
        return;
    const char payload[] = "brain";
    rt_error err = {0};
    CHECK(rt_tfrecord_write(f, payload, 5, &err) == RT_OK);
    CHECK(rt_tfrecord_write(f, "", 0, &err) == RT_OK);
    unsigned char buf[64];
    rewind(f);
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    if (!CHECKF(n == 21 + 16, "%zu bytes", n))
        return;
    CHECK(buf[0] == 5 && !buf[1] && !buf[2] && !buf[3] && !buf[4] && !buf[5] && !buf[6] && !buf[7]);
    CHECK(le32(buf + 8) == rt_crc32c_mask(slow_crc32c(buf, 8)));
    CHECK(!memcmp(buf + 12, payload, 5));
    CHECK(le32(buf + 17) == rt_crc32c_mask(slow_crc32c((const unsigned char *)payload, 5)));
    CHECK(le32(buf + 21 + 8) == rt_crc32c_mask(slow_crc32c(buf + 21, 8)));
    CHECK(le32(buf + 21 + 12) == rt_crc32c_mask(0));
}

static void test_json_numbers(void)
{
    const double values[] = {0.1, 1.0 / 3.0, 1e-300, 0.0010000000474974513, 97.35000000000001,
                             -2.5e17, 0.08192848151858902};
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        char text[64] = "";
        FILE *f = fmemopen(text, sizeof text - 1, "w");
        rt_json_write_double(f, values[i]);
        fclose(f);
        CHECKF(strtod(text, NULL) == values[i], "%s does not read back as %.17g", text,
               values[i]);
    }
    const double bad[] = {NAN, INFINITY, -INFINITY};
    for (size_t i = 0; i < 3; i++) {
        char text[64] = "";
        FILE *f = fmemopen(text, sizeof text - 1, "w");
        rt_json_write_double(f, bad[i]);
        fclose(f);
        CHECKF(!strcmp(text, "null"), "a non-finite number written as '%s'", text);
    }
}

static void test_jsonl(void)
{
    char path[] = "/tmp/test_metrics_XXXXXX";
    int fd = mkstemp(path);
    if (!CHECK(fd >= 0))
        return;
    rt_error err = {0};
    rt_metrics_jsonl *m;
    CHECK(rt_metrics_jsonl_open("--metrics", path, 0, &m, &err) == RT_OK);
    rt_train_event ev;
    memset(&ev, 0, sizeof ev);
    ev.kind = RT_EVENT_STEP_LOG;
    ev.epoch = 2, ev.step = 100, ev.global_step = 1038, ev.loss = 0.25f, ev.lr = 0.5;
    ev.images_per_second = NAN;
    CHECK(rt_metrics_jsonl_event(m, &ev, 0, 1.5, &err) == RT_OK);
    ev.kind = RT_EVENT_PROGRESS; /* not a record */
    CHECK(rt_metrics_jsonl_event(m, &ev, 0, 1.5, &err) == RT_OK);
    ev.kind = RT_EVENT_EPOCH_END, ev.seconds = 2.0, ev.images_per_second = 100.0;
    CHECK(rt_metrics_jsonl_event(m, &ev, 0, 3.0, &err) == RT_OK);
    ev.kind = RT_EVENT_EVAL, ev.final_eval = 1, ev.eval.avg_loss = 0.125;
    ev.eval.accuracy = 97.5, ev.eval.accuracy5 = 99.75;
    CHECK(rt_metrics_jsonl_event(m, &ev, 1, 4.0, &err) == RT_OK);
    CHECK(rt_metrics_jsonl_close(m, &err) == RT_OK);
    /* appending keeps what was there */
    CHECK(rt_metrics_jsonl_open("--metrics", path, 1, &m, &err) == RT_OK);
    CHECK(rt_metrics_jsonl_event(m, &ev, 0, 5.0, &err) == RT_OK);
    CHECK(rt_metrics_jsonl_close(m, &err) == RT_OK);
    char text[2048] = "";
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(text, 1, sizeof text - 1, f) : 0;
    text[n] = '\0';
    if (f)
        fclose(f);
    unlink(path);
    const char *want =
        "{\"kind\":\"step\",\"step\":1038,\"epoch\":2,\"batch\":100,\"loss\":0.25,\"lr\":0.5,"
        "\"images_per_s\":null,\"wall_s\":1.5}\n"
        "{\"kind\":\"epoch\",\"step\":1038,\"epoch\":2,\"images_per_s\":100,\"epoch_s\":2,"
        "\"wall_s\":3}\n"
        "{\"kind\":\"test\",\"step\":1038,\"epoch\":2,\"final\":true,\"test_loss\":0.125,"
        "\"test_accuracy\":97.5,\"test_accuracy5\":99.75,\"wall_s\":4}\n"
        "{\"kind\":\"test\",\"step\":1038,\"epoch\":2,\"final\":true,\"test_loss\":0.125,"
        "\"test_accuracy\":97.5,\"wall_s\":5}\n";
    CHECKF(!strcmp(text, want), "the JSON lines:\n%s", text);
    /* a folder that does not exist: one line naming option and path */
    CHECK(rt_metrics_jsonl_open("--metrics", "/nonexistent-folder/m.jsonl", 0, &m, &err) ==
          RT_ERR_USAGE);
    CHECKF(strstr(err.message, "--metrics: /nonexistent-folder/m.jsonl: cannot create the file") != NULL,
           "%s", err.message);
}

static void test_scalars(void)
{
    rt_train_event ev;
    memset(&ev, 0, sizeof ev);
    rt_metric_scalar s[RT_METRIC_SCALARS_MAX];
    ev.kind = RT_EVENT_STEP_LOG, ev.loss = 0.5f, ev.lr = 0.001, ev.images_per_second = 10.0;
    CHECK(rt_metric_scalars(&ev, 1, s) == 3 && !strcmp(s[0].tag, "train/loss") &&
          s[0].value == 0.5 && !strcmp(s[1].tag, "train/lr") && s[1].value == 0.001 &&
          !strcmp(s[2].tag, "train/images_per_s"));
    ev.kind = RT_EVENT_EVAL;
    CHECK(rt_metric_scalars(&ev, 0, s) == 2 && !strcmp(s[0].tag, "test/loss") &&
          !strcmp(s[1].tag, "test/accuracy"));
    CHECK(rt_metric_scalars(&ev, 1, s) == 3 && !strcmp(s[2].tag, "test/accuracy5"));
    ev.kind = RT_EVENT_PROGRESS;
    CHECK(rt_metric_scalars(&ev, 1, s) == 0);
}

int main(void)
{
    test_crc();
    test_framing();
    test_json_numbers();
    test_jsonl();
    test_scalars();
    return rt_test_finish("test_crc32c");
}
