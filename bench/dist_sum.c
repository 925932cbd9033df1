/* The host path's gradient sum (rt_dist_sum_f32: a reduce to rank 0, then
 * its result to every rank) timed on buffers of the family's gradient
 * sizes, under mpirun:
 *   mpirun -np 2 build/bench/dist_sum
 * Rank 0 prints, per size: the median of 9 sums in ms and the bus
 * bandwidth as nccl-tests counts it for an all-reduce, 2 (N-1)/N bytes /
 * time. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "resnet/dist.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(void)
{
    rt_error err = {0};
    rt_dist *d = NULL;
    if (rt_dist_open(&d, &err) != RT_OK) {
        fprintf(stderr, "dist_sum: %s\n", err.message);
        return 1;
    }
    /* floats: the seed network, resnet20, resnet18, resnet50 (1x28x28, 10 classes) */
    static const size_t sizes[] = {42790, 272186, 11175370, 23522250};
    static const char *const names[] = {"seed", "resnet20", "resnet18", "resnet50"};
    int ranks = rt_dist_size(d);
    if (rt_dist_rank(d) == 0) {
        char lib[160];
        rt_dist_built_library(lib, sizeof lib);
        printf("# %d ranks, %s; median of 9\n# network floats MB ms busbw_GB/s\n", ranks, lib);
    }
    for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++) {
        float *v = calloc(sizes[k], sizeof *v);
        double t[9];
        for (int r = 0; r < 10 && v; r++) {
            double start = now();
            if (rt_dist_sum_f32(d, v, sizes[k], "benchmark sum", &err) != RT_OK) {
                fprintf(stderr, "dist_sum: %s\n", err.message);
                return 1;
            }
            if (r > 0)
                t[r - 1] = now() - start; /* the first warms the buffers */
        }
        qsort(t, 9, sizeof *t, by_value);
        double bytes = (double)sizes[k] * sizeof(float);
        if (rt_dist_rank(d) == 0)
            printf("%s %zu %.1f %.3f %.2f\n", names[k], sizes[k], bytes / 1e6, t[4] * 1e3,
                   2.0 * (ranks - 1) / ranks * bytes / t[4] / 1e9);
        free(v);
    }
    rt_dist_close(d);
    return 0;
}
