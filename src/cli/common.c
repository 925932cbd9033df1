#include "common.h"

#include "resnet/datasets.h"
#include "resnet/image_folder.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
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

rt_status cli_load_data(const cli_options *o, int train_room, cli_report *report,
                        rt_dataset *train, rt_dataset *test, rt_error *err)
{
    rt_data_options mo;
    memset(&mo, 0, sizeof mo);
    mo.dataset = o->dataset;
    mo.dir = o->data_dir;
    mo.download = o->download;
    mo.mirrors = o->mirror_count ? o->mirrors : NULL;
    mo.notice = print_notice;
    mo.notice_ctx = report;
    mo.coarse_labels = o->coarse_labels;
    rt_status st;
    if (cli_is_folder(o)) {
        rt_folder_options fo;
        memset(&fo, 0, sizeof fo);
        fo.dir = o->data_dir;
        fo.grayscale = o->grayscale;
        fo.image_size = o->image_size;
        fo.threads = o->device_cfg.threads;
        fo.skip_bad_images = o->skip_bad_images;
        fo.train_room = train_room;
        fo.notice = print_notice;
        fo.notice_ctx = report;
        rt_folder_info info;
        memset(&info, 0, sizeof info);
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        st = rt_folder_load(&fo, train, test, &info, err);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        double s = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
        if (st == RT_OK) {
            /* the loader's speed, to set beside the training's images/s */
            char line[256];
            int n = train->count + test->count;
            snprintf(line, sizeof line,
                     "Decoded %d images (%d classes, %d resized) in %.2f s: %.0f images/s; kept "
                     "as %dx%dx%d for training, %dx%dx%d for testing",
                     n, info.classes, info.resized, s, s > 0 ? n / s : 0.0, train->channels,
                     train->rows, train->cols, test->channels, test->rows, test->cols);
            print_notice(report, line);
        }
        rt_folder_info_free(&info);
    } else {
        st = rt_data_load(&mo, train, test, err);
    }
    if (st == RT_OK && o->train_limit > 0 && o->train_limit < train->count)
        train->count = o->train_limit;
    if (st == RT_OK && o->test_limit > 0 && o->test_limit < test->count)
        test->count = o->test_limit;
    return st;
}

const rt_network_input CLI_MNIST_INPUT = {1, 28, 28, 10};

int cli_is_folder(const cli_options *o)
{
    return o->dataset && !strcmp(o->dataset, "folder");
}

void cli_folder_normalization(const cli_options *o, int channels, rt_train_config *cfg)
{
    /* torchvision's ImageNet values for colour pictures; none for grey */
    static const float mean[3] = {0.485f, 0.456f, 0.406f}, std[3] = {0.229f, 0.224f, 0.225f};
    if (!o->normalize_default || !cfg->normalize)
        return;
    for (int c = 0; c < RT_MAX_CHANNELS; c++) {
        cfg->mean[c] = channels == 3 ? mean[c < 3 ? c : 2] : 0.0f;
        cfg->std[c] = channels == 3 ? std[c < 3 ? c : 2] : 1.0f;
    }
}

rt_network_input cli_data_input(const cli_options *o)
{
    const rt_dataset_spec *spec = rt_dataset_spec_find(o->dataset ? o->dataset : "mnist");
    rt_network_input in = CLI_MNIST_INPUT;
    if (spec) {
        in.channels = spec->channels, in.height = spec->height, in.width = spec->width;
        in.classes = spec->classes;
        if (o->coarse_labels && !strcmp(spec->name, "cifar100"))
            in.classes = 20;
    }
    return in;
}

rt_status cli_network(const cli_options *o, rt_network **net, rt_error *err)
{
    rt_network_input in = cli_data_input(o);
    return rt_network_load(o->model ? o->model : "seed", &in, net, err);
}

void cli_default_normalization(const cli_options *o, rt_train_config *cfg)
{
    const rt_dataset_spec *spec = rt_dataset_spec_find(o->dataset ? o->dataset : "mnist");
    if (!spec || !o->normalize_default || !cfg->normalize)
        return;
    for (int c = 0; c < RT_MAX_CHANNELS; c++) {
        cfg->mean[c] = spec->mean[c < 3 ? c : 2];
        cfg->std[c] = spec->std[c < 3 ? c : 2];
    }
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

rt_status cli_check_writable(const char *option, const char *path, rt_error *err)
{
    /* refused here, before training, rather than at the first save */
    if (!*path)
        return rt_error_set(err, RT_ERR_USAGE, "%s: the file name is empty", option);
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
