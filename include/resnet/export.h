/* Weights leaving resnet-train for deployment tools: an ONNX model of the
 * network (opset 17; BatchNorm in inference form), written atomically.
 * docs/export.md. (The weights-only safetensors file is rt_checkpoint_save
 * without training state.) */
#ifndef RESNET_EXPORT_H
#define RESNET_EXPORT_H

#include "resnet/error.h"
#include "resnet/network.h"

#ifdef __cplusplus
extern "C" {
#endif

/* 1 when this build writes ONNX (it needs protobuf-c). */
int rt_export_onnx_available(void);

/* net with its parameters and running statistics (the network's flat
 * layouts, as rt_checkpoint holds them) as an ONNX model at path: input
 * `input` [N, C, H, W], output `logits` [N, classes], N symbolic. */
rt_status rt_export_onnx(const rt_network *net, const float *params, const float *buffers,
                         const char *path, rt_error *err);

#ifdef __cplusplus
}
#endif
#endif
