/* The world and its collectives (resnet/dist.h).
 *   test_dist_collectives            the slice arithmetic and a world of one
 *                                    (any build, no launcher)
 *   mpirun -np N test_dist_collectives   every collective across N ranks: the
 *                                    right sums, the same bits on every rank,
 *                                    a differing rank found
 *   mpirun -np 2 test_dist_collectives timeout   rank 1 never answers: rank 0
 *                                    reports it within its 1 s timeout */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "resnet/dist.h"

static int failures = 0;
#define CHECK(cond, ...)                                   \
    do {                                                   \
        if (!(cond)) {                                     \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
            fprintf(stderr, __VA_ARGS__);                  \
            fputc('\n', stderr);                           \
            failures++;                                    \
        }                                                  \
    } while (0)

static void test_slices(void)
{
    for (int size = 1; size <= 9; size++)
        for (int n = 0; n <= 70; n++) {
            int next = 0, lo = n, hi = 0;
            for (int r = 0; r < size; r++) {
                int off, count;
                rt_dist_slice(n, size, r, &off, &count);
                CHECK(off == next, "n %d size %d rank %d: offset %d, expected %d", n, size, r,
                      off, next);
                next = off + count;
                lo = count < lo ? count : lo;
                hi = count > hi ? count : hi;
            }
            CHECK(next == n, "n %d size %d: the slices cover %d", n, size, next);
            CHECK(hi - lo <= 1, "n %d size %d: shares %d..%d", n, size, lo, hi);
        }
}

static void test_world_of_one(rt_dist *d)
{
    rt_error err = {0};
    float v[3] = {1.5f, -2.0f, 3.25f};
    CHECK(rt_dist_sum_f32(d, v, 3, "test", &err) == RT_OK && v[0] == 1.5f && v[2] == 3.25f,
          "a world of one changes its sums");
    int flag = 5;
    CHECK(rt_dist_any(d, &flag, 0, "test", &err) == RT_OK && flag == 1, "any of one");
    int other;
    uint64_t value;
    CHECK(rt_dist_compare(d, 42, &other, &value, "test", &err) == RT_OK && other == -1,
          "compare in a world of one");
    CHECK(rt_dist_checksum("a", 1, 0) != rt_dist_checksum("b", 1, 0), "checksum");
    CHECK(rt_dist_checksum("ab", 2, 0) != rt_dist_checksum("ba", 2, 0), "checksum order");
}

static void test_collectives(rt_dist *d)
{
    rt_error err = {0};
    int rank = rt_dist_rank(d), size = rt_dist_size(d);
    /* values whose sum depends on the order: each rank must get rank 0's bits */
    enum { N = 100003 };
    float *v = malloc(N * sizeof *v);
    for (int i = 0; i < N; i++)
        v[i] = (float)((rank + 1) * 0.1 + i * 1e-7) * (i % 2 ? 1.0f : -1.0f) * (1.0f + 1e-3f * rank);
    CHECK(rt_dist_sum_f32(d, v, N, "test sum", &err) == RT_OK, "sum: %s", err.message);
    double worst = 0;
    for (int i = 0; i < N; i++) {
        double exact = 0;
        for (int r = 0; r < size; r++)
            exact += (double)(float)((r + 1) * 0.1 + i * 1e-7) * (i % 2 ? 1.0 : -1.0) *
                     (double)(1.0f + 1e-3f * r);
        double e = fabs(v[i] - exact) / fabs(exact);
        worst = e > worst ? e : worst;
    }
    CHECK(worst < 1e-6, "rank %d: the sum is off by %g relative", rank, worst);
    uint64_t mine = rt_dist_checksum(v, N * sizeof *v, 0), theirs;
    int other;
    CHECK(rt_dist_compare(d, mine, &other, &theirs, "test", &err) == RT_OK && other == -1,
          "rank %d: the ranks' sums differ (rank %d)", rank, other);
    free(v);

    double s[2] = {rank + 0.5, -rank};
    CHECK(rt_dist_sum_f64(d, s, 2, "test", &err) == RT_OK, "sum_f64: %s", err.message);
    CHECK(s[0] == size * (size - 1) / 2.0 + 0.5 * size && s[1] == -size * (size - 1) / 2.0,
          "rank %d: f64 sums %g %g", rank, s[0], s[1]);

    int flag = rank == size - 1;
    CHECK(rt_dist_any(d, &flag, 0, "test", &err) == RT_OK && flag == 1, "rank %d: any", rank);
    flag = 0;
    CHECK(rt_dist_any(d, &flag, 0, "test", &err) == RT_OK && flag == 0, "rank %d: none", rank);

    char text[32];
    snprintf(text, sizeof text, "from rank %d", rank);
    CHECK(rt_dist_broadcast(d, text, sizeof text, "test", &err) == RT_OK &&
          !strcmp(text, "from rank 0"), "rank %d: broadcast gave '%s'", rank, text);

    /* the last rank differs: every rank learns which, and its value */
    CHECK(rt_dist_compare(d, rank == size - 1 ? 7u : 3u, &other, &theirs, "test", &err) == RT_OK,
          "compare: %s", err.message);
    CHECK(other == size - 1 && theirs == 7u, "rank %d: compare found rank %d (%llu)", rank, other,
          (unsigned long long)theirs);
}

static int test_timeout(rt_dist *d)
{
    rt_error err = {0};
    if (rt_dist_rank(d) != 0) {
        sleep(60); /* never answers; the abort below ends it */
        return 1;
    }
    rt_dist_set_timeout(d, 1.0);
    float v = 1.0f;
    rt_status st = rt_dist_sum_f32(d, &v, 1, "test sum", &err);
    if (st != RT_OK && strstr(err.message, "no answer from the other ranks for 1 s in the test sum")) {
        printf("timeout reported: %s\n", err.message);
        rt_dist_abort(d, 3);
    }
    fprintf(stderr, "FAIL: the timeout was not reported (status %d: %s)\n", (int)st, err.message);
    rt_dist_abort(d, 1);
    return 1;
}

int main(int argc, char **argv)
{
    rt_error err = {0};
    rt_dist *d = NULL;
    if (rt_dist_open(&d, &err) != RT_OK) {
        fprintf(stderr, "FAIL: rt_dist_open: %s\n", err.message);
        return 1;
    }
    if (argc > 1 && !strcmp(argv[1], "timeout"))
        return test_timeout(d);
    test_slices();
    if (rt_dist_size(d) == 1)
        test_world_of_one(d);
    else
        test_collectives(d);
    int rank = rt_dist_rank(d), size = rt_dist_size(d), local = rt_dist_local_size(d);
    rt_dist_close(d);
    if (failures)
        return 1;
    printf("ok: rank %d of %d (%d on its machine)\n", rank, size, local);
    return 0;
}
