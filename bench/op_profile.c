/* Where the time goes: every op of one training step of the seed's model,
 * timed on its own on the chosen device at a given batch size, with the
 * achieved GFLOP/s of the convolutions, and the whole step for comparison.
 *
 *   op_profile [--device cpu|cuda] [--threads N] [--batch-size N] [--repeats R] [--json]
 *
 * The peak it compares against is measured, not assumed: a loop of
 * independent fused multiply-adds the compiler vectorises, on every thread
 * (see peak_gflops()). */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "resnet/device.h"
#include "resnet/model.h"
#include "resnet/network.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Measured FP32 peak of this CPU: 16 independent accumulator vectors of 16
 * floats per thread (enough to cover FMA latency x throughput on current
 * x86 cores), 2 FLOP per multiply-add. */
static double peak_gflops(int threads)
{
    enum { ACC = 16, W = 16 };
    const long iters = 20000000 / threads;
    double flops = 0.0, t0 = now();
    #pragma omp parallel num_threads(threads) reduction(+ : flops)
    {
        float acc[ACC][W], a[W], b[W];
        for (int j = 0; j < W; j++) {
            a[j] = 1.0f + 1e-7f * (float)j;
            b[j] = 1e-7f;
            for (int i = 0; i < ACC; i++)
                acc[i][j] = (float)i;
        }
        for (long it = 0; it < iters; it++)
            for (int i = 0; i < ACC; i++)
                for (int j = 0; j < W; j++)
                    acc[i][j] = acc[i][j] * a[j] + b[j];
        float sink = 0.0f;
        for (int i = 0; i < ACC; i++)
            for (int j = 0; j < W; j++)
                sink += acc[i][j];
        if (sink == 42.0f)
            printf(" ");
        flops += 2.0 * ACC * W * (double)iters;
    }
    return flops / (now() - t0) / 1e9;
}

typedef struct op_row {
    const char *name;
    double flops; /* per call */
    double seconds;
} op_row;

enum { MAX_ROWS = 64 };
static op_row rows[MAX_ROWS];
static int nrows;

#define TIME_OP(label, fl, call)                                            \
    do {                                                                    \
        if ((call) != RT_OK) {                                              \
            fprintf(stderr, "op_profile: %s: %s\n", label, rt_device_error(dev)); \
            exit(1);                                                        \
        }                                                                   \
        rt_device_synchronize(dev);                                         \
        double t0_ = now();                                                 \
        for (int r_ = 0; r_ < repeats; r_++)                                \
            (void)(call);                                                   \
        rt_device_synchronize(dev);                                         \
        rows[nrows].name = label;                                           \
        rows[nrows].flops = (fl);                                           \
        rows[nrows].seconds = (now() - t0_) / repeats;                      \
        nrows++;                                                            \
    } while (0)

int main(int argc, char **argv)
{
    const char *device = "cpu";
    int threads = 0, n = 64, repeats = 20, json = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--device") && i + 1 < argc)
            device = argv[++i];
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc)
            threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--batch-size") && i + 1 < argc)
            n = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--repeats") && i + 1 < argc)
            repeats = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--json"))
            json = 1;
        else {
            fprintf(stderr, "usage: op_profile [--device cpu|cuda] [--threads N] [--batch-size N] [--repeats R] [--json]\n");
            return 2;
        }
    }
    rt_device_config cfg;
    rt_device_config_default(&cfg);
    cfg.threads = threads;
    rt_device *dev;
    rt_error err;
    if (rt_device_open(device, &cfg, &dev, &err) != RT_OK) {
        fprintf(stderr, "op_profile: %s\n", err.message);
        return err.status == RT_ERR_NODEVICE ? 77 : 1;
    }
    rt_model *m;
    rt_network *net;
    const rt_network_input mnist = {1, 28, 28, 10};
    if (rt_network_load("seed", &mnist, &net, &err) != RT_OK ||
        rt_model_create(dev, net, n, 1, &m, &err) != RT_OK ||
        rt_model_init_params(m, 1, &err) != RT_OK) {
        fprintf(stderr, "op_profile: %s\n", err.message);
        return 1;
    }
    /* one real forward/backward first so every buffer holds typical values */
    float *x = malloc((size_t)n * 784 * sizeof *x);
    for (int i = 0; i < n * 784; i++)
        x[i] = (float)((i * 7919) % 256) / 255.0f;
    rt_device_upload(dev, rt_model_input(m), x, (size_t)n * 784 * sizeof *x);
    int32_t *labels = malloc((size_t)n * sizeof *labels);
    for (int i = 0; i < n; i++)
        labels[i] = i % 10;
    rt_device_upload(dev, rt_model_labels(m), labels, (size_t)n * sizeof *labels);
    rt_step_state *state = rt_device_alloc(dev, sizeof(rt_step_state));
    rt_adam_config adam = {0.9f, 0.999f, 1e-8f, 0.0f, 0};

    /* scratch activations for the individual ops */
    size_t big = (size_t)n * 20 * 24 * 24;
    float *a = rt_device_alloc(dev, big * sizeof(float)), *b = rt_device_alloc(dev, big * sizeof(float)),
          *c = rt_device_alloc(dev, big * sizeof(float)), *w = rt_device_alloc(dev, 16000 * sizeof(float)),
          *dw = rt_device_alloc(dev, 16000 * sizeof(float)), *bias = rt_device_alloc(dev, 64 * sizeof(float));
    rt_device_upload(dev, a, x, (size_t)n * 784 * sizeof *x);

    static const struct { const char *name; rt_conv_shape s; } convs[] = {
        {"conv1", {0, 1, 28, 28, 20, 5, 5, 0, 1}},
        {"resblock1.conv1", {0, 20, 12, 12, 30, 5, 5, 2, 1}},
        {"resblock1.conv2", {0, 30, 12, 12, 20, 3, 3, 1, 1}},
        {"conv2", {0, 20, 12, 12, 15, 3, 3, 0, 1}},
        {"resblock2.conv1", {0, 15, 5, 5, 30, 5, 5, 2, 1}},
        {"resblock2.conv2", {0, 30, 5, 5, 15, 3, 3, 1, 1}},
    };
    char labels_buf[6][4][48];
    double conv_flops = 0.0, conv_seconds = 0.0;
    for (int i = 0; i < 6; i++) {
        rt_conv_shape s = convs[i].s;
        s.n = n;
        double fl = 2.0 * n * s.k * rt_conv_out_h(&s) * rt_conv_out_w(&s) * s.c * s.r * s.s;
        snprintf(labels_buf[i][0], 48, "%s forward", convs[i].name);
        snprintf(labels_buf[i][1], 48, "%s backward data", convs[i].name);
        snprintf(labels_buf[i][2], 48, "%s backward filter", convs[i].name);
        snprintf(labels_buf[i][3], 48, "%s backward bias", convs[i].name);
        TIME_OP(labels_buf[i][0], fl, rt_op_conv_forward(dev, &s, a, w, bias, b));
        if (i > 0)
            TIME_OP(labels_buf[i][1], fl, rt_op_conv_backward_data(dev, &s, b, w, c, 0.0f));
        TIME_OP(labels_buf[i][2], fl, rt_op_conv_backward_filter(dev, &s, a, b, dw));
        TIME_OP(labels_buf[i][3], 0, rt_op_conv_backward_bias(dev, &s, b, bias));
    }
    for (int i = 0; i < nrows; i++) {
        conv_flops += rows[i].flops;
        conv_seconds += rows[i].seconds;
    }
    TIME_OP("maxpool+relu 20x24x24 forward", 0, rt_op_maxpool2_forward(dev, n, 20, 24, 24, 1, a, b));
    TIME_OP("maxpool+relu 20x24x24 backward", 0,
            rt_op_maxpool2_backward(dev, n, 20, 24, 24, 1, a, b, b, c));
    TIME_OP("maxpool+relu 15x10x10 forward", 0, rt_op_maxpool2_forward(dev, n, 15, 10, 10, 1, a, b));
    TIME_OP("maxpool+relu 15x10x10 backward", 0,
            rt_op_maxpool2_backward(dev, n, 15, 10, 10, 1, a, b, b, c));
    TIME_OP("add_relu 20x12x12 forward", 0, rt_op_add_relu_forward(dev, (size_t)n * 2880, a, b, c));
    TIME_OP("add_relu 20x12x12 backward", 0, rt_op_add_relu_backward(dev, (size_t)n * 2880, a, b, c));
    TIME_OP("linear forward", 2.0 * n * 3750, rt_op_linear_forward(dev, n, 375, 10, a, w, bias, b));
    TIME_OP("linear backward data", 2.0 * n * 3750, rt_op_linear_backward_data(dev, n, 375, 10, b, w, c));
    TIME_OP("linear backward params", 2.0 * n * 3750,
            rt_op_linear_backward_params(dev, n, 375, 10, a, b, dw, bias));
    rt_step_state st0 = {0};
    st0.lr = 1e-3f;
    st0.nonfinite_step = -1;
    rt_device_upload(dev, state, &st0, sizeof st0);
    TIME_OP("softmax cross-entropy", 0,
            rt_op_softmax_cross_entropy(dev, n, 10, rt_model_logits(m), rt_model_labels(m),
                                        rt_model_dlogits(m), state));
    TIME_OP("adam (flat buffer)", 0,
            rt_op_adam(dev, rt_network_params_size(net), rt_model_params(m), rt_model_grads(m),
                       rt_model_adam_m(m), rt_model_adam_v(m), &adam, state));
    rt_device_upload(dev, state, &st0, sizeof st0);
    TIME_OP("forward (whole model)", 0, rt_model_forward(m, n, 1));
    TIME_OP("backward (whole model)", 0, rt_model_backward(m, n));

    double peak = strcmp(rt_device_kind(dev), "cpu") == 0 ? peak_gflops(rt_device_threads(dev)) : 0.0;
    double step = rows[nrows - 1].seconds + rows[nrows - 2].seconds;
    if (json) {
        for (int i = 0; i < nrows; i++)
            printf("{\"device\": \"%s\", \"threads\": %d, \"batch_size\": %d, \"op\": \"%s\", "
                   "\"ms\": %.4f, \"gflops\": %.2f}\n",
                   rt_device_kind(dev), rt_device_threads(dev), n, rows[i].name,
                   1e3 * rows[i].seconds, rows[i].flops / rows[i].seconds / 1e9);
        printf("{\"device\": \"%s\", \"threads\": %d, \"batch_size\": %d, \"op\": \"all convolutions\", "
               "\"ms\": %.4f, \"gflops\": %.2f, \"peak_gflops\": %.1f}\n",
               rt_device_kind(dev), rt_device_threads(dev), n, 1e3 * conv_seconds,
               conv_flops / conv_seconds / 1e9, peak);
    } else {
        printf("%s, batch %d, %d repeats\n", rt_device_description(dev), n, repeats);
        printf("%-36s %10s %8s %9s\n", "op", "ms/call", "% step", "GFLOP/s");
        for (int i = 0; i < nrows; i++)
            printf("%-36s %10.4f %7.1f%% %9.2f\n", rows[i].name, 1e3 * rows[i].seconds,
                   100.0 * rows[i].seconds / step, rows[i].flops / rows[i].seconds / 1e9);
        printf("all convolutions: %.3f ms, %.1f GFLOP/s", 1e3 * conv_seconds,
               conv_flops / conv_seconds / 1e9);
        if (peak > 0)
            printf(" = %.1f%% of the measured FP32 peak %.1f GFLOP/s (%d threads)", 100.0 *
                   conv_flops / conv_seconds / 1e9 / peak, peak, rt_device_threads(dev));
        printf("\nforward + backward: %.3f ms = %.0f images/s (Adam and batch loading excluded)\n",
               1e3 * step, n / step);
    }
    free(x);
    free(labels);
    rt_model_destroy(m);
    rt_network_free(net);
    rt_device_close(dev);
    return 0;
}
