/* A build without protobuf-c: export --onnx is refused with one line. */
#include "resnet/export.h"

int rt_export_onnx_available(void) { return 0; }

rt_status rt_export_onnx(const rt_network *net, const float *params, const float *buffers,
                         const char *path, rt_error *err)
{
    (void)net, (void)params, (void)buffers;
    return rt_error_set(err, RT_ERR_USAGE,
                        "--onnx %s: this resnet-train was built without protobuf-c, which ONNX "
                        "export needs (install libprotobuf-c-dev and protobuf-c-compiler and "
                        "configure again)",
                        path);
}
