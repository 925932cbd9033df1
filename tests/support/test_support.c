#include "test_support.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

int rt_test_failures = 0;
int rt_test_checks = 0;

int rt_test_check(int ok, const char *file, int line, const char *fmt, ...)
{
    rt_test_checks++;
    if (ok)
        return 1;
    rt_test_failures++;
    fprintf(stderr, "%s:%d: check failed: ", file, line);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return 0;
}

int rt_test_finish(const char *name)
{
    if (rt_test_checks == 0) {
        fprintf(stderr, "%s: no checks ran\n", name);
        return 1;
    }
    printf("%s: %d checks, %d failed\n", name, rt_test_checks, rt_test_failures);
    return rt_test_failures ? 1 : 0;
}

int rt_test_skip(const char *why)
{
    printf("skipped: %s\n", why);
    return RT_TEST_SKIP;
}

void rt_test_fill(rt_rng *rng, float *x, size_t n, float lo, float hi)
{
    for (size_t i = 0; i < n; i++)
        x[i] = lo + (hi - lo) * rt_rng_uniform(rng);
}

double rt_test_nmse(const float *ref, const float *got, size_t n)
{
    double num = 0.0, den = 0.0;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(got[i]) || !isfinite(ref[i]))
            return INFINITY;
        double d = (double)ref[i] - (double)got[i];
        num += d * d;
        den += (double)ref[i] * (double)ref[i];
    }
    if (den == 0.0)
        return num == 0.0 ? 0.0 : INFINITY;
    return num / den;
}

double rt_test_max_abs_diff(const float *a, const float *b, size_t n)
{
    double m = 0.0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)b[i]);
        if (isnan(d))
            return INFINITY;
        if (d > m)
            m = d;
    }
    return m;
}

int rt_test_all_finite(const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i]))
            return 0;
    return 1;
}

const char *rt_test_mnist_dir(void)
{
    const char *dir = getenv("RESNET_TRAIN_DATA");
    return dir && *dir ? dir : NULL;
}

int rt_test_tempdir(char *buf, size_t size)
{
    const char *base = getenv("TMPDIR");
    snprintf(buf, size, "%s/resnet-test-XXXXXX", base && *base ? base : "/tmp");
    return mkdtemp(buf) ? 0 : -1;
}

rt_network *rt_test_network(const char *model)
{
    rt_network_input mnist = {1, 28, 28, 10};
    rt_network *net;
    rt_error err;
    if (rt_network_load(model, &mnist, &net, &err) != RT_OK) {
        fprintf(stderr, "making network %s: %s\n", model, err.message);
        exit(1);
    }
    return net;
}

rt_network *rt_test_small_resnet(void)
{
    const char *root = getenv("RESNET_TRAIN_SOURCE");
    char path[4096];
    snprintf(path, sizeof path, "%s/docs/examples/small_resnet.json", root && *root ? root : ".");
    return rt_test_network(path);
}
