/* resnet-train: the command line. It parses options, opens the device and
 * data, and reports; the library does the work.
 *
 * Exit status: 0 success, 1 a failure while running, 2 a usage error or an
 * unavailable device, 128+N when stopped by signal N (after saving). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "report.h"
#include "resnet/data.h"
#include "resnet/device.h"
#include "resnet/train.h"

#ifndef RT_VERSION
#define RT_VERSION "unknown"
#endif

#define MAX_MIRRORS 8

typedef struct cli_options {
    const char *device;
    rt_device_config device_cfg;
    const char *data_dir;
    int download;
    const char *mirrors[MAX_MIRRORS + 1];
    int mirror_count;
    rt_train_config train;
} cli_options;

static volatile sig_atomic_t stop_signal = 0;

static void on_stop_signal(int sig) { stop_signal = sig; }

static void usage(FILE *out)
{
    fputs(
        "usage: resnet-train [options]\n"
        "Trains the residual network of the PyTorch MNIST tutorial on MNIST, on a CUDA GPU\n"
        "or the CPU, with the tutorial's recipe by default, then tests it.\n"
        "\n"
        "Device:\n"
        "  --device NAME        auto (default: cuda when usable, else cpu), cpu or cuda\n"
        "  --threads N          CPU threads (default: all cores)\n"
        "  --precision P        fp32 (default, strict) or tf32 (GPU convolutions)\n"
        "  --no-graphs          run GPU steps eagerly instead of replaying CUDA graphs\n"
        "Data:\n"
        "  --data DIR           MNIST folder, flat or DIR/MNIST/raw (default: $RESNET_TRAIN_DATA or data)\n"
        "  --no-download        fail instead of downloading missing files\n"
        "  --mirror URL         download from URL instead of torchvision's mirrors (repeatable)\n"
        "Training (defaults are the tutorial's):\n"
        "  --epochs N           epochs (26)\n"
        "  --batch-size N       images per step (64)\n"
        "  --lr X               Adam learning rate (0.001)\n"
        "  --shuffle            shuffle every epoch (seeded; default: file order)\n"
        "  --seed N             seed of the initial weights and shuffling (0)\n"
        "  --lr-step-size N     multiply the learning rate by --lr-gamma every N epochs (off)\n"
        "  --lr-gamma X         StepLR factor (0.1)\n"
        "  --eval-every N       test after every N epochs too (off: only at the end)\n"
        "\n"
        "  --help               this text\n"
        "  --version            the version\n",
        out);
}

/* The value after an option, or a usage error. */
static const char *option_value(int argc, char **argv, int *i, rt_error *err)
{
    if (*i + 1 >= argc) {
        rt_error_set(err, RT_ERR_USAGE, "%s needs a value", argv[*i]);
        return NULL;
    }
    return argv[++*i];
}

/* Parses argv into opts. Returns RT_OK, RT_ERR_USAGE, or -1 when --help or
 * --version was handled. */
static int parse_options(int argc, char **argv, cli_options *o, rt_error *err)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = NULL;
        rt_status st = RT_OK;
#define VALUE()                                          \
    do {                                                 \
        if (!(v = option_value(argc, argv, &i, err)))    \
            return RT_ERR_USAGE;                         \
    } while (0)
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return -1;
        } else if (!strcmp(a, "--version")) {
            printf("resnet-train %s (CUDA backend: %s)\n", RT_VERSION,
                   rt_device_cuda_built() ? "built" : "not built");
            return -1;
        } else if (!strcmp(a, "--device")) {
            VALUE();
            if (strcmp(v, "auto") && strcmp(v, "cpu") && strcmp(v, "cuda"))
                return rt_error_set(err, RT_ERR_USAGE,
                                    "--device: unknown device '%s' (expected auto, cpu or cuda)", v);
            o->device = v;
        } else if (!strcmp(a, "--threads")) {
            VALUE();
            st = rt_parse_int(a, v, 1, 256, &o->device_cfg.threads, err);
        } else if (!strcmp(a, "--precision")) {
            VALUE();
            if (!strcmp(v, "fp32"))
                o->device_cfg.precision = RT_PRECISION_FP32;
            else if (!strcmp(v, "tf32"))
                o->device_cfg.precision = RT_PRECISION_TF32;
            else
                return rt_error_set(err, RT_ERR_USAGE,
                                    "--precision: '%s' is not fp32 or tf32", v);
        } else if (!strcmp(a, "--no-graphs")) {
            o->device_cfg.graphs = 0;
        } else if (!strcmp(a, "--data")) {
            VALUE();
            o->data_dir = v;
        } else if (!strcmp(a, "--no-download")) {
            o->download = 0;
        } else if (!strcmp(a, "--mirror")) {
            VALUE();
            if (o->mirror_count == MAX_MIRRORS)
                return rt_error_set(err, RT_ERR_USAGE, "--mirror: at most %d mirrors",
                                    MAX_MIRRORS);
            o->mirrors[o->mirror_count++] = v;
        } else if (!strcmp(a, "--epochs")) {
            VALUE();
            st = rt_parse_int(a, v, 0, 1000000, &o->train.epochs, err);
        } else if (!strcmp(a, "--batch-size")) {
            VALUE();
            st = rt_parse_int(a, v, 1, 65536, &o->train.batch_size, err);
        } else if (!strcmp(a, "--lr")) {
            VALUE();
            st = rt_parse_float(a, v, 1e-12, 1e3, &o->train.lr, err);
        } else if (!strcmp(a, "--shuffle")) {
            o->train.shuffle = 1;
        } else if (!strcmp(a, "--seed")) {
            VALUE();
            st = rt_parse_u64(a, v, &o->train.seed, err);
        } else if (!strcmp(a, "--lr-step-size")) {
            VALUE();
            st = rt_parse_int(a, v, 0, 1000000, &o->train.lr_step_size, err);
        } else if (!strcmp(a, "--lr-gamma")) {
            VALUE();
            st = rt_parse_float(a, v, 1e-12, 1e6, &o->train.lr_gamma, err);
        } else if (!strcmp(a, "--eval-every")) {
            VALUE();
            st = rt_parse_int(a, v, 0, 1000000, &o->train.eval_every, err);
        } else {
            return rt_error_set(err, RT_ERR_USAGE, "unknown option '%s' (see --help)", a);
        }
#undef VALUE
        if (st != RT_OK)
            return st;
    }
    return rt_train_config_check(&o->train, err);
}

static void print_notice(void *ctx, const char *message)
{
    cli_report *r = ctx;
    cli_report_clear(r);
    fprintf(r->out, "%s\n", message);
    fflush(r->out);
}

static int on_event(void *ctx, const rt_train_event *ev)
{
    cli_report_event(ctx, ev);
    return 0;
}

static int fail(const rt_error *err)
{
    fflush(stdout);
    fprintf(stderr, "resnet-train: %s\n", err->message);
    return err->status == RT_ERR_USAGE || err->status == RT_ERR_NODEVICE ? 2 : 1;
}

int main(int argc, char **argv)
{
    cli_options o;
    memset(&o, 0, sizeof o);
    o.device = "auto";
    rt_device_config_default(&o.device_cfg);
    const char *env_data = getenv("RESNET_TRAIN_DATA");
    o.data_dir = env_data && *env_data ? env_data : "data";
    o.download = 1;
    rt_train_config_default(&o.train);
    rt_error err = {0};

    int parsed = parse_options(argc, argv, &o, &err);
    if (parsed == -1)
        return 0;
    if (parsed != RT_OK)
        return fail(&err);

    cli_report report;
    cli_report_init(&report, stdout);

    rt_device *dev = NULL;
    if (rt_device_open(o.device, &o.device_cfg, &dev, &err) != RT_OK)
        return fail(&err);

    rt_mnist_options mo = {0};
    mo.dir = o.data_dir;
    mo.download = o.download;
    mo.mirrors = o.mirror_count ? o.mirrors : NULL;
    mo.notice = print_notice;
    mo.notice_ctx = &report;
    rt_dataset train = {0}, test = {0};
    if (rt_mnist_load(&mo, &train, &test, &err) != RT_OK) {
        rt_device_close(dev);
        return fail(&err);
    }
    printf("%d\n%d\n", train.count, test.count);
    if (*rt_device_fallback_note(dev))
        printf("CUDA not used: %s\n", rt_device_fallback_note(dev));
    printf("Using %s device (%s)\n", rt_device_kind(dev), rt_device_description(dev));
    fflush(stdout);

    o.train.progress_interval = report.tty ? 0.25 : 0.0;
    o.train.stop_flag = &stop_signal;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    rt_trainer *trainer = NULL;
    rt_status st = rt_trainer_create(dev, &train, &test, &o.train, &trainer, &err);
    rt_dataset_free(&train);
    rt_dataset_free(&test);
    if (st == RT_OK)
        st = rt_trainer_run(trainer, 0, on_event, &report, &err);
    cli_report_clear(&report);
    rt_trainer_destroy(trainer);
    rt_device_close(dev);
    if (st == RT_ERR_INTERRUPTED && stop_signal) {
        fprintf(stderr, "resnet-train: %s by signal %d\n", err.message, (int)stop_signal);
        return 128 + stop_signal;
    }
    return st == RT_OK ? 0 : fail(&err);
}
