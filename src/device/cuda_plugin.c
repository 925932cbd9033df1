/* Finding and loading the CUDA backend's plugin (resnet-train-cuda.so).
 *
 * Where it is looked for, first found wins:
 *   1. $RESNET_TRAIN_CUDA_PLUGIN, a file (nothing else is tried then);
 *   2. the build tree's copy, when the running program lives in the build
 *      tree it was built in (tests, ./build/resnet-train);
 *   3. beside the program as installed: <bindir>/../<libdir>/resnet-train/,
 *      so a staged or relocated installation finds its own plugin;
 *   4. the configured installation folder, <prefix>/<libdir>/resnet-train
 *      (programs that embed the library live anywhere).
 * The plugin is opened with RTLD_NODELETE: the CUDA libraries it pulls in
 * stay mapped for the life of the process (the CUDA runtime does not
 * support being unloaded), and opening it again is a reference count. */
#include "cuda_plugin.h"

#include <dlfcn.h>
#include <limits.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#ifdef RT_HAVE_CUDA

static int is_file(const char *path) { return access(path, R_OK) == 0; }

/* The folder of the running program, resolved ("" when unknown). */
static void program_folder(char *out, size_t size)
{
    char exe[PATH_MAX];
    out[0] = '\0';
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return;
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    if (!slash)
        return;
    *slash = '\0';
    snprintf(out, size, "%s", exe);
}

static int inside(const char *folder, const char *root)
{
    char real_root[PATH_MAX];
    if (!realpath(root, real_root))
        return 0;
    size_t len = strlen(real_root);
    return strncmp(folder, real_root, len) == 0 && (folder[len] == '/' || folder[len] == '\0');
}

int rt_cuda_plugin_locate(char *path, size_t size, char *looked, size_t looked_size)
{
    const char *env = getenv("RESNET_TRAIN_CUDA_PLUGIN");
    snprintf(looked, looked_size, "%s", "");
    if (env && *env) {
        snprintf(path, size, "%s", env);
        snprintf(looked, looked_size, "%s (RESNET_TRAIN_CUDA_PLUGIN)", env);
        return is_file(env);
    }
    char folder[PATH_MAX];
    program_folder(folder, sizeof folder);
    char candidate[PATH_MAX + 128];
    if (*folder && inside(folder, RT_BUILD_ROOT)) {
        snprintf(candidate, sizeof candidate, "%s/%s", RT_BUILD_ROOT, RT_CUDA_PLUGIN_FILE);
        snprintf(path, size, "%s", candidate);
        snprintf(looked, looked_size, "%s (the build tree's)", candidate);
        return is_file(candidate);
    }
    size_t used = 0;
    if (*folder) {
        snprintf(candidate, sizeof candidate, "%s/%s/%s", folder, RT_PLUGIN_FROM_BINDIR,
                 RT_CUDA_PLUGIN_FILE);
        char real[PATH_MAX];
        const char *shown = realpath(candidate, real) ? real : candidate;
        used += (size_t)snprintf(looked + used, looked_size - used, "%s", shown);
        if (is_file(candidate)) {
            snprintf(path, size, "%s", shown);
            return 1;
        }
    }
    snprintf(candidate, sizeof candidate, "%s/%s", RT_PLUGIN_DIR, RT_CUDA_PLUGIN_FILE);
    if (used < looked_size)
        snprintf(looked + used, looked_size - used, "%s%s", used ? ", " : "", candidate);
    snprintf(path, size, "%s", candidate);
    return is_file(candidate);
}

rt_status rt_cuda_plugin_load(const rt_backend_plugin **out, rt_error *err)
{
    *out = NULL;
    char path[PATH_MAX + 128], looked[2 * PATH_MAX + 300];
    if (!rt_cuda_plugin_locate(path, sizeof path, looked, sizeof looked))
        return rt_error_set(err, RT_ERR_NODEVICE,
                            "the CUDA backend's plugin is missing: no %s at %s%s",
                            RT_CUDA_PLUGIN_FILE, looked,
                            getenv("RESNET_TRAIN_CUDA_PLUGIN")
                                ? ""
                                : " (set RESNET_TRAIN_CUDA_PLUGIN to its path)");
    /* dlerror() names the library the loader could not find (libcudnn.so.9,
     * libcudart.so.13, ...) or what is wrong with the file */
    void *handle = dlopen(path, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
    if (!handle)
        return rt_error_set(err, RT_ERR_NODEVICE, "the CUDA plugin %s cannot be loaded: %s",
                            path, dlerror());
    const rt_backend_plugin *plugin = dlsym(handle, RT_CUDA_PLUGIN_SYMBOL);
    if (!plugin) {
        dlclose(handle);
        return rt_error_set(err, RT_ERR_NODEVICE,
                            "%s is not a resnet-train CUDA plugin (it has no symbol %s)", path,
                            RT_CUDA_PLUGIN_SYMBOL);
    }
    if (plugin->abi != RT_BACKEND_PLUGIN_ABI || plugin->ops_size != sizeof(rt_backend_ops) ||
        !plugin->version || strcmp(plugin->version, RT_VERSION) != 0 || !plugin->open) {
        char version[32];
        snprintf(version, sizeof version, "%s", plugin->version ? plugin->version : "?");
        dlclose(handle);
        return rt_error_set(err, RT_ERR_NODEVICE,
                            "the CUDA plugin %s is of another resnet-train (version %s, "
                            "plugin interface %u); this is %s (interface %d): install the "
                            "plugin built with this program",
                            path, version, (unsigned)plugin->abi, RT_VERSION,
                            RT_BACKEND_PLUGIN_ABI);
    }
    *out = plugin;
    return RT_OK;
}

#else

int rt_cuda_plugin_locate(char *path, size_t size, char *looked, size_t looked_size)
{
    snprintf(path, size, "%s", "");
    snprintf(looked, looked_size, "%s", "");
    return 0;
}

rt_status rt_cuda_plugin_load(const rt_backend_plugin **out, rt_error *err)
{
    *out = NULL;
    return rt_error_set(err, RT_ERR_NODEVICE,
                        "this build of resnet-train has no CUDA backend (the CUDA toolkit, "
                        "cuBLAS or cuDNN was not found when it was configured)");
}

#endif
