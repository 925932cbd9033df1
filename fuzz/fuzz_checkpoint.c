/* The checkpoint loader: rt_checkpoint_load on the input as a file. A
 * checkpoint it accepts must hold only finite weights (and, with training
 * state, finite moments and a non-negative second moment). */
#include <math.h>

#include "fuzz_common.h"
#include "resnet/checkpoint.h"
#include "resnet/model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_file(data, size);
    rt_checkpoint ck;
    rt_error err;
    rt_error_clear(&err);
    rt_status st = rt_checkpoint_load(path, &ck, &err);
    fuzz_check_error(st, &err);
    if (st != RT_OK) {
        if (ck.params || ck.adam_m || ck.adam_v)
            abort(); /* *out must be left zeroed */
        return 0;
    }
    size_t n = rt_model_flat_size();
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
