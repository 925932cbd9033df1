/* The checkpoint loader: rt_checkpoint_load on the input as a file. A
 * checkpoint it accepts must hold only finite weights (and, with training
 * state, finite moments and a non-negative second moment). */
#include <math.h>

#include "fuzz_common.h"
#include "resnet/checkpoint.h"
#include "resnet/network.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_file(data, size);
    rt_checkpoint ck;
    rt_error err;
    rt_error_clear(&err);
    static rt_network *seed;
    if (!seed) {
        const rt_network_input mnist = {1, 28, 28, 10};
        if (rt_network_load("seed", &mnist, &seed, &err) != RT_OK)
            abort();
    }
    /* the file's own network when it describes one, else the seed's */
    rt_status st = rt_checkpoint_load(path, seed, 0, &ck, &err);
    fuzz_check_error(st, &err);
    if (st != RT_OK) {
        if (ck.params || ck.adam_m || ck.adam_v || ck.network || ck.buffers || ck.counters)
            abort(); /* *out must be left zeroed */
        return 0;
    }
    size_t n = rt_network_params_size(ck.network);
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(ck.params[i]))
            abort();
        if (ck.has_training_state &&
            (!isfinite(ck.adam_m[i]) || !isfinite(ck.adam_v[i]) || ck.adam_v[i] < 0.0f))
            abort();
    }
    if (ck.has_training_state && (ck.position.epoch < 0 || ck.position.epoch > ck.config.epochs ||
                                  ck.config.batch_size < 1 || !(ck.config.lr > 0.0f)))
        abort();
    rt_checkpoint_free(&ck);
    return 0;
}
