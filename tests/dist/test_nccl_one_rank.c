/* The device's collectives (NCCL) on a real GPU: a one-rank communicator,
 * its weighted all-reduce in place (the sum of one rank's weight * values)
 * and the version line. Skips (77) without a GPU or without NCCL. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "resnet/device.h"

int main(void)
{
    if (!*rt_device_collectives_headers()) {
        printf("skipped: built without NCCL\n");
        return 77;
    }
    rt_device_config cfg;
    rt_device_config_default(&cfg);
    rt_device *dev = NULL;
    rt_error err = {0};
    if (rt_device_open("cuda", &cfg, &dev, &err) != RT_OK) {
        printf("skipped: %s\n", err.message);
        return 77;
    }
    char version[96];
    rt_device_collectives_version(dev, version, sizeof version);
    printf("%s\n", version);
    if (strncmp(version, "NCCL 2.", 7) != 0 || !strstr(version, "(headers 2.")) {
        fprintf(stderr, "FAIL: version line '%s'\n", version);
        rt_device_close(dev);
        return 1;
    }
    int fail = 0;
    enum { N = 100000 };
    float *host = malloc(N * sizeof *host);
    float *values = rt_device_alloc(dev, N * sizeof *host);
    unsigned char id[RT_COMM_ID_BYTES];
    for (int i = 0; i < N; i++)
        host[i] = (float)(i % 977) - 300.25f;
    if (!rt_device_has_collectives(dev) || !values ||
        rt_device_comm_unique_id(dev, id) != RT_OK || rt_device_comm_init(dev, 0, 1, id) != RT_OK ||
        rt_device_upload(dev, values, host, N * sizeof *host) != RT_OK ||
        rt_device_allreduce_weighted(dev, values, N, 0.5f, 30.0) != RT_OK ||
        rt_device_download(dev, host, values, N * sizeof *host) != RT_OK) {
        fprintf(stderr, "FAIL: %s\n", rt_device_error(dev));
        fail = 1;
    }
    for (int i = 0; !fail && i < N; i++)
        if (host[i] != 0.5f * ((float)(i % 977) - 300.25f)) {
            fprintf(stderr, "FAIL: element %d is %.9g, expected %.9g\n", i, (double)host[i],
                    0.5 * ((i % 977) - 300.25));
            fail = 1;
        }
    if (!fail)
        printf("ok: a one-rank NCCL communicator sums %d floats weighted by 0.5 exactly\n", N);
    free(host);
    rt_device_free(dev, values);
    rt_device_close(dev);
    return fail;
}
