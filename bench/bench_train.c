/* resnet-train's side of the benchmarks: the same measurements as
 * bench/pytorch_baseline.py, through the library, as JSON lines.
 *
 *   bench_train [--device cpu|cuda] [--threads N] [--precision fp32|tf32]
 *               [--batch-size N ...] [--max-steps N] [--warmup-steps N]
 *               [--repeats R] [--eval] [--data DIR]
 *               [--model NAME|FILE] [--input CxHxW --synthetic N]
 *
 * Training: for each batch size, --warmup-steps untimed steps, then
 * --repeats timed runs of --max-steps steps (default: a whole epoch) on the
 * seed's recipe; the epoch time is measured for whole epochs and
 * extrapolated from the images/s otherwise (then "extrapolated": true).
 * --eval: inference over the 10000 test images at each batch size.
 * --model: the network (default the seed's); --input CxHxW with
 * --synthetic N trains on N random images of that shape (10 classes)
 * instead of MNIST, for networks and sizes MNIST has no data for (the
 * timing does not depend on the pixel values). Every line also carries the
 * network, the start-up time (process start to the end of the first
 * training step, data loading and device set-up included), the peak host
 * memory (getrusage) and the peak device memory. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "resnet/data.h"
#include "resnet/device.h"
#include "resnet/network.h"
#include "resnet/rng.h"
#include "resnet/train.h"

#define MAX_BATCHES 8
#define MAX_REPEATS 32

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double process_start;

typedef struct bench_opts {
    const char *device;
    rt_device_config cfg;
    int batches[MAX_BATCHES], nbatches;
    int max_steps, warmup, repeats, eval;
    const char *data;
    const char *model;
    int channels, height, width, synthetic;
    const rt_network *net;
} bench_opts;

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    double s[MAX_REPEATS];
    memcpy(s, v, (size_t)n * sizeof *s);
    qsort(s, (size_t)n, sizeof *s, cmp_double);
    return n % 2 ? s[n / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]);
}

static double peak_rss_mib(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_maxrss / 1024.0; /* Linux reports KiB */
}

static void emit(const bench_opts *o, rt_device *dev, int batch, const char *metric,
                 const double *values, int n, const char *extra)
{
    double lo = values[0], hi = values[0];
    for (int i = 1; i < n; i++) {
        lo = values[i] < lo ? values[i] : lo;
        hi = values[i] > hi ? values[i] : hi;
    }
    printf("{\"impl\": \"resnet-train\", \"device\": \"%s\", \"device_name\": \"%s\", "
           "\"threads\": %d, \"batch_size\": %d, \"metric\": \"%s\", \"unit\": \"images/s\", "
           "\"value\": %.1f, \"min\": %.1f, \"max\": %.1f, \"values\": [",
           rt_device_kind(dev), rt_device_description(dev), rt_device_threads(dev), batch,
           metric, median((double *)values, n), lo, hi);
    for (int i = 0; i < n; i++)
        printf("%s%.1f", i ? ", " : "", values[i]);
    printf("], \"precision\": \"%s\", \"cudnn_benchmark\": %s, \"peak_host_rss_mib\": %.1f, "
           "\"peak_device_mib\": %.1f, \"model\": \"%s\", \"input\": \"%dx%dx%d\", "
           "\"data\": \"%s\"%s}\n",
           o->cfg.precision == RT_PRECISION_TF32 ? "tf32" : "fp32",
           o->cfg.cudnn_benchmark ? "true" : "false", peak_rss_mib(),
           (double)rt_device_peak_bytes(dev) / (1 << 20), rt_network_name(o->net),
           rt_network_input_of(o->net).channels, rt_network_input_of(o->net).height,
           rt_network_input_of(o->net).width, o->synthetic ? "synthetic" : "mnist", extra);
    fflush(stdout);
}

/* count random images of c x h x w bytes with labels 0..9. */
static int synthetic_set(rt_dataset *set, int count, int c, int h, int w, uint64_t seed)
{
    size_t bytes = (size_t)count * c * h * w;
    set->count = count, set->channels = c, set->rows = h, set->cols = w;
    set->images = malloc(bytes);
    set->labels = malloc((size_t)count);
    if (!set->images || !set->labels)
        return -1;
    rt_rng rng;
    rt_rng_seed(&rng, seed);
    for (size_t i = 0; i < bytes; i++)
        set->images[i] = (uint8_t)rt_rng_below(&rng, 256);
    for (int i = 0; i < count; i++)
        set->labels[i] = (uint8_t)rt_rng_below(&rng, 10);
    return 0;
}

static int fail(const rt_error *err)
{
    fprintf(stderr, "bench_train: %s\n", err->message);
    return err->status == RT_ERR_NODEVICE ? 77 : 1;
}

static int bench_batch(const bench_opts *o, rt_device *dev, const rt_dataset *train,
                       const rt_dataset *test, int batch, double *startup)
{
    rt_train_config cfg;
    rt_train_config_default(&cfg);
    cfg.batch_size = batch;
    rt_trainer *t;
    rt_error err;
    if (rt_trainer_create(dev, o->net, train, test, &cfg, &t, &err) != RT_OK)
        return fail(&err);
    int per_epoch = (train->count + batch - 1) / batch;
    int steps = o->max_steps > 0 ? o->max_steps : per_epoch;
    for (int i = 0; i < o->warmup; i++) {
        if (rt_trainer_step(t, &err) != RT_OK)
            return fail(&err);
        if (i == 0 && *startup < 0) {
            rt_device_synchronize(dev);
            *startup = now() - process_start;
        }
    }
    double rates[MAX_REPEATS] = {0}, epoch_times[MAX_REPEATS] = {0};
    for (int r = 0; r < o->repeats; r++) {
        if (rt_device_synchronize(dev) != RT_OK)
            return fail(&(rt_error){RT_ERR_DEVICE, "synchronize failed"});
        /* start each timed run at an epoch boundary, as a real epoch does */
        double t0 = now();
        long images = 0;
        for (int i = 0; i < steps; i++) {
            rt_train_position p = rt_trainer_position(t);
            int n = train->count - p.cursor; /* the trainer starts a new epoch at the end */
            if (n <= 0 || n > batch)
                n = batch;
            if (rt_trainer_step(t, &err) != RT_OK)
                return fail(&err);
            images += n;
        }
        rt_device_synchronize(dev);
        double dt = now() - t0;
        rates[r] = (double)images / dt;
        epoch_times[r] = o->max_steps > 0 ? (double)train->count / rates[r] : dt;
    }
    double fastest = epoch_times[0];
    for (int r = 1; r < o->repeats; r++)
        fastest = epoch_times[r] < fastest ? epoch_times[r] : fastest;
    char extra[512];
    snprintf(extra, sizeof extra,
             ", \"steps\": %d, \"epoch_time_s\": %.4f, \"epoch_time_min_s\": %.4f, "
             "\"extrapolated\": %s, \"startup_to_first_step_s\": %.4f",
             steps, median(epoch_times, o->repeats), fastest,
             o->max_steps > 0 ? "true" : "false", *startup);
    emit(o, dev, batch, "train_images_per_s", rates, o->repeats, extra);

    if (o->eval) {
        double eval_rates[MAX_REPEATS];
        rt_eval_result res;
        if (rt_trainer_evaluate(t, &res, &err) != RT_OK) /* warm-up: captures the graphs */
            return fail(&err);
        for (int r = 0; r < o->repeats; r++) {
            double t0 = now();
            if (rt_trainer_evaluate(t, &res, &err) != RT_OK)
                return fail(&err);
            eval_rates[r] = (double)res.total / (now() - t0);
        }
        snprintf(extra, sizeof extra, ", \"images\": %d", res.total);
        emit(o, dev, batch, "eval_images_per_s", eval_rates, o->repeats, extra);
    }
    rt_trainer_destroy(t);
    return 0;
}

int main(int argc, char **argv)
{
    process_start = now();
    bench_opts o;
    memset(&o, 0, sizeof o);
    o.device = "cpu";
    rt_device_config_default(&o.cfg);
    o.warmup = 20;
    o.repeats = 3;
    const char *env = getenv("RESNET_TRAIN_DATA");
    o.data = env && *env ? env : "data";
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int more = i + 1 < argc;
        if (!strcmp(a, "--device") && more)
            o.device = argv[++i];
        else if (!strcmp(a, "--threads") && more)
            o.cfg.threads = atoi(argv[++i]);
        else if (!strcmp(a, "--precision") && more)
            o.cfg.precision = !strcmp(argv[++i], "tf32") ? RT_PRECISION_TF32 : RT_PRECISION_FP32;
        else if (!strcmp(a, "--no-graphs"))
            o.cfg.graphs = 0;
        else if (!strcmp(a, "--cudnn-benchmark"))
            o.cfg.cudnn_benchmark = 1;
        else if (!strcmp(a, "--batch-size") && more) {
            while (i + 1 < argc && argv[i + 1][0] != '-' && o.nbatches < MAX_BATCHES)
                o.batches[o.nbatches++] = atoi(argv[++i]);
        } else if (!strcmp(a, "--max-steps") && more)
            o.max_steps = atoi(argv[++i]);
        else if (!strcmp(a, "--warmup-steps") && more)
            o.warmup = atoi(argv[++i]);
        else if (!strcmp(a, "--repeats") && more)
            o.repeats = atoi(argv[++i]);
        else if (!strcmp(a, "--eval"))
            o.eval = 1;
        else if (!strcmp(a, "--data") && more)
            o.data = argv[++i];
        else if (!strcmp(a, "--model") && more)
            o.model = argv[++i];
        else if (!strcmp(a, "--input") && more &&
                 sscanf(argv[++i], "%dx%dx%d", &o.channels, &o.height, &o.width) == 3)
            ;
        else if (!strcmp(a, "--synthetic") && more)
            o.synthetic = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: bench_train [--device cpu|cuda] [--threads N] "
                            "[--precision fp32|tf32] [--no-graphs] [--cudnn-benchmark] [--batch-size N ...] "
                            "[--max-steps N] [--warmup-steps N] [--repeats R] [--eval] "
                            "[--data DIR] [--model NAME|FILE] [--input CxHxW --synthetic N]\n");
            return 2;
        }
    }
    if (o.nbatches == 0)
        o.batches[o.nbatches++] = 64;
    if (o.repeats < 1 || o.repeats > MAX_REPEATS || o.warmup < 1) {
        fprintf(stderr, "bench_train: --repeats must be 1..%d and --warmup-steps at least 1\n",
                MAX_REPEATS);
        return 2;
    }
    rt_error err;
    rt_device *dev;
    if (rt_device_open(o.device, &o.cfg, &dev, &err) != RT_OK)
        return fail(&err);
    rt_dataset train, test;
    if (o.synthetic > 0) {
        if (o.channels < 1 || o.height < 1 || o.width < 1) {
            fprintf(stderr, "bench_train: --synthetic needs --input CxHxW\n");
            return 2;
        }
        if (synthetic_set(&train, o.synthetic, o.channels, o.height, o.width, 1) != 0 ||
            synthetic_set(&test, o.synthetic, o.channels, o.height, o.width, 2) != 0)
            return fail(&(rt_error){RT_ERR_NOMEM, "out of memory for synthetic data"});
    } else {
        rt_mnist_options mo = {0};
        mo.dir = o.data;
        if (rt_mnist_load(&mo, &train, &test, &err) != RT_OK)
            return fail(&err);
    }
    rt_network_input in = {train.channels, train.rows, train.cols, 10};
    rt_network *net;
    if (rt_network_load(o.model ? o.model : "seed", &in, &net, &err) != RT_OK)
        return fail(&err);
    o.net = net;
    double startup = -1.0;
    int status = 0;
    for (int b = 0; b < o.nbatches && status == 0; b++)
        status = bench_batch(&o, dev, &train, &test, o.batches[b], &startup);
    rt_dataset_free(&train);
    rt_dataset_free(&test);
    rt_network_free(net);
    rt_device_close(dev);
    return status;
}
