#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int cli_fail(const rt_error *err)
{
    fflush(stdout);
    fprintf(stderr, "resnet-train: %s\n", err->message);
    return err->status == RT_ERR_USAGE || err->status == RT_ERR_NODEVICE ? 2 : 1;
}

rt_status cli_open_device(const cli_options *o, rt_device **dev, rt_error *err)
{
    return rt_device_open(o->device, &o->device_cfg, dev, err);
}

void cli_print_device(const rt_device *dev)
{
    if (*rt_device_fallback_note(dev))
        printf("CUDA not used: %s\n", rt_device_fallback_note(dev));
    printf("Using %s device (%s)\n", rt_device_kind(dev), rt_device_description(dev));
    fflush(stdout);
}

static void print_notice(void *ctx, const char *message)
{
    cli_report *r = ctx;
    cli_report_clear(r);
    fprintf(r->out, "%s\n", message);
    fflush(r->out);
}

rt_status cli_load_mnist(const cli_options *o, cli_report *report, rt_dataset *train,
                         rt_dataset *test, rt_error *err)
{
    rt_mnist_options mo;
    memset(&mo, 0, sizeof mo);
    mo.dir = o->data_dir;
    mo.download = o->download;
    mo.mirrors = o->mirror_count ? o->mirrors : NULL;
    mo.notice = print_notice;
    mo.notice_ctx = report;
    rt_status st = rt_mnist_load(&mo, train, test, err);
    if (st == RT_OK && o->train_limit > 0 && o->train_limit < train->count)
        train->count = o->train_limit;
    if (st == RT_OK && o->test_limit > 0 && o->test_limit < test->count)
        test->count = o->test_limit;
    return st;
}

const rt_network_input CLI_MNIST_INPUT = {1, 28, 28, 10};

rt_status cli_network(const cli_options *o, rt_network **net, rt_error *err)
{
    return rt_network_load(o->model ? o->model : "seed", &CLI_MNIST_INPUT, net, err);
}

rt_status cli_load_checkpoint(const cli_options *o, const char *path, rt_checkpoint *ck,
                              rt_error *err)
{
    rt_network *fallback = NULL;
    rt_status st = cli_network(o, &fallback, err);
    if (st == RT_OK)
        st = rt_checkpoint_load(path, fallback, o->model != NULL, ck, err);
    rt_network_free(fallback);
    return st;
}

void cli_print_model(const rt_network *net)
{
    if (!strcmp(rt_network_name(net), "seed"))
        return;
    rt_network_input in = rt_network_input_of(net);
    printf("Model: %s (%zu parameters, %dx%dx%d input, %d classes)\n", rt_network_name(net),
           rt_network_parameter_count(net), in.channels, in.height, in.width, in.classes);
    fflush(stdout);
}

rt_status cli_check_writable(const char *path, rt_error *err)
{
    /* refused here, before training, rather than at the first save */
    if (!*path)
        return rt_error_set(err, RT_ERR_USAGE, "--save: the file name is empty");
    struct stat st;
    size_t len = strlen(path);
    if (path[len - 1] == '/' || (stat(path, &st) == 0 && S_ISDIR(st.st_mode)))
        return rt_error_set(err, RT_ERR_IO, "%s: cannot replace the file: Is a directory", path);
    char probe[4096];
    const char *slash = strrchr(path, '/');
    if (slash == path)
        snprintf(probe, sizeof probe, "/.resnet-train-probe-XXXXXX");
    else if (slash)
        snprintf(probe, sizeof probe, "%.*s/.resnet-train-probe-XXXXXX", (int)(slash - path), path);
    else
        snprintf(probe, sizeof probe, ".resnet-train-probe-XXXXXX");
    int fd = mkstemp(probe);
    if (fd < 0)
        return rt_error_set(err, RT_ERR_IO, "%s: cannot create files in its folder: %s", path,
                            strerror(errno));
    close(fd);
    unlink(probe);
    return RT_OK;
}
