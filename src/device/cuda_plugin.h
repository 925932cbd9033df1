/* The device layer's side of the CUDA plugin (cuda_plugin.c). */
#ifndef RT_DEVICE_CUDA_PLUGIN_H
#define RT_DEVICE_CUDA_PLUGIN_H

#include <stddef.h>

#include "resnet/backend.h"

/* Where the plugin would be loaded from: 1 and its path when a file is
 * there; 0 otherwise. `looked` lists the places tried, for messages. */
int rt_cuda_plugin_locate(char *path, size_t size, char *looked, size_t looked_size);

/* Loads the plugin and checks it is this version's; RT_ERR_NODEVICE with
 * one line naming the file and the loader's reason otherwise. */
rt_status rt_cuda_plugin_load(const rt_backend_plugin **out, rt_error *err);

#endif
