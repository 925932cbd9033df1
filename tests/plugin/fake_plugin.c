/* A plugin of another resnet-train: the right symbol and interface number,
 * another version. The device layer must refuse it with a line naming the
 * file and both versions (tests/plugin, tests/bad_inputs). */
#include "resnet/backend.h"

static rt_status never_open(const rt_device_config *cfg, rt_error *err, rt_backend *out)
{
    (void)cfg;
    (void)err;
    (void)out;
    return RT_ERR_DEVICE; /* never reached: the version check refuses it */
}

__attribute__((visibility("default"))) const rt_backend_plugin rt_cuda_plugin = {
    .abi = RT_BACKEND_PLUGIN_ABI,
    .ops_size = sizeof(rt_backend_ops),
    .version = "0.0.1-other",
    .open = never_open,
};
