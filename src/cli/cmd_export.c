/* resnet-train export CHECKPOINT --onnx FILE | --weights-only FILE: the
 * weights of a checkpoint for other tools: an ONNX model (docs/export.md),
 * or a safetensors file of the state_dict alone (no recipe, moments or
 * position: what torchvision's load_state_dict takes). */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "common.h"
#include "resnet/checkpoint.h"
#include "resnet/export.h"

/* An output must not be the checkpoint being read. */
static rt_status check_output(const char *option, const char *path, const char *checkpoint,
                              rt_error *err)
{
    struct stat a, b;
    if (!strcmp(path, checkpoint) ||
        (stat(path, &a) == 0 && stat(checkpoint, &b) == 0 && a.st_dev == b.st_dev &&
         a.st_ino == b.st_ino))
        return rt_error_set(err, RT_ERR_USAGE, "%s %s is the checkpoint being exported", option,
                            path);
    return cli_check_writable(option, path, err);
}

int cli_export(const cli_options *o)
{
    rt_error err = {0};
    if (!o->onnx_path && !o->weights_path) {
        rt_error_set(&err, RT_ERR_USAGE, "export needs --onnx FILE or --weights-only FILE");
        return cli_fail(&err);
    }
    if (o->onnx_path && o->weights_path && !strcmp(o->onnx_path, o->weights_path)) {
        rt_error_set(&err, RT_ERR_USAGE, "--onnx and --weights-only name the same file '%s'",
                     o->onnx_path);
        return cli_fail(&err);
    }
    if (o->onnx_path && !rt_export_onnx_available()) {
        rt_export_onnx(NULL, NULL, NULL, o->onnx_path, &err);
        return cli_fail(&err);
    }
    if ((o->onnx_path && check_output("--onnx", o->onnx_path, o->checkpoint, &err) != RT_OK) ||
        (o->weights_path &&
         check_output("--weights-only", o->weights_path, o->checkpoint, &err) != RT_OK))
        return cli_fail(&err);
    rt_checkpoint ck;
    if (cli_load_checkpoint(o, o->checkpoint, &ck, &err) != RT_OK)
        return cli_fail(&err);
    rt_status st = RT_OK;
    if (o->onnx_path) {
        st = rt_export_onnx(ck.network, ck.params, ck.buffers, o->onnx_path, &err);
        if (st == RT_OK)
            printf("ONNX model (opset 17) of %s: %s\n", rt_network_name(ck.network), o->onnx_path);
    }
    if (st == RT_OK && o->weights_path) {
        rt_checkpoint weights = ck;
        weights.has_training_state = 0; /* the state_dict alone */
        weights.adam_m = weights.adam_v = NULL;
        st = rt_checkpoint_save(o->weights_path, &weights, &err);
        if (st == RT_OK)
            printf("weights of %s (%d tensors, no training state): %s\n",
                   rt_network_name(ck.network), rt_network_tensor_count(ck.network),
                   o->weights_path);
    }
    rt_checkpoint_free(&ck);
    return st == RT_OK ? 0 : cli_fail(&err);
}
