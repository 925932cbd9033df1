/* The C side of check_python.py: writes a checkpoint whose every value is
 * a simple formula the Python side recomputes, and checks a weights file
 * written by Python against the same formula.
 *   io_interop write-checkpoint PATH
 *   io_interop check-weights PATH     (exit 0 when it loads, weights only, exact) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "resnet/checkpoint.h"
#include "resnet/model.h"

/* Exact in float32: the Python side computes the same. */
static float value(int kind, int tensor, size_t i)
{
    long v = ((long)tensor * 7919 + (long)i * 104729 + kind * 15485863L) % 2001 - 1000;
    if (kind == 2) /* the second moment is non-negative */
        v = v < 0 ? -v : v;
    return (float)v / 1024.0f;
}

static rt_network *net; /* the seed's */

static float *fill(int kind)
{
    float *x = calloc(rt_network_params_size(net), sizeof *x);
    for (int t = 0; t < rt_network_tensor_count(net); t++) {
        const rt_tensor_info *p = rt_network_tensor(net, t);
        for (size_t i = 0; i < p->count; i++)
            x[p->offset + i] = value(kind, t, i);
    }
    return x;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: io_interop write-checkpoint|check-weights PATH\n");
        return 2;
    }
    rt_error err = {0};
    const rt_network_input mnist = {1, 28, 28, 10};
    if (rt_network_load("seed", &mnist, &net, &err) != RT_OK) {
        fprintf(stderr, "%s\n", err.message);
        return 1;
    }
    if (strcmp(argv[1], "write-checkpoint") == 0) {
        rt_checkpoint ck;
        memset(&ck, 0, sizeof ck);
        static float no_buffers[1];
        static int64_t no_counters[1];
        ck.network = net;
        ck.buffers = no_buffers;
        ck.counters = no_counters;
        ck.params = fill(0);
        ck.adam_m = fill(1);
        ck.adam_v = fill(2);
        ck.has_training_state = 1;
        ck.position.epoch = 2;
        ck.position.cursor = 640;
        ck.position.steps = 1948;
        ck.position.ranks = 1;
        rt_rng_seed(&ck.position.epoch_rng, 5);
        rt_train_config_default(&ck.config);
        ck.config.epochs = 26;
        ck.config.batch_size = 64;
        ck.config.lr = 1e-3f;
        ck.config.adam.beta1 = 0.9f;
        ck.config.adam.beta2 = 0.999f;
        ck.config.adam.eps = 1e-8f;
        ck.config.lr_gamma = 0.1f;
        rt_status st = rt_checkpoint_save(argv[2], &ck, &err);
        free(ck.params);
        free(ck.adam_m);
        free(ck.adam_v);
        if (st != RT_OK) {
            fprintf(stderr, "%s\n", err.message);
            return 1;
        }
        return 0;
    }
    if (strcmp(argv[1], "check-weights") == 0) {
        rt_checkpoint ck;
        if (rt_checkpoint_load(argv[2], net, 1, &ck, &err) != RT_OK) {
            fprintf(stderr, "%s\n", err.message);
            return 1;
        }
        float *want = fill(0);
        int ok = !ck.has_training_state &&
                 memcmp(ck.params, want, rt_network_params_size(net) * sizeof(float)) == 0;
        if (!ok)
            fprintf(stderr, "%s: has_training_state %d, values %s\n", argv[2],
                    ck.has_training_state,
                    memcmp(ck.params, want, rt_network_params_size(net) * sizeof(float)) ? "differ"
                                                                                   : "match");
        free(want);
        rt_checkpoint_free(&ck);
        return ok ? 0 : 1;
    }
    fprintf(stderr, "unknown command %s\n", argv[1]);
    return 2;
}
