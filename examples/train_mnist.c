/* Trains the PyTorch MNIST tutorial's network through libresnet's public
 * API alone (the headers installed under <prefix>/include/resnet), then
 * tests it:
 *
 *   train_mnist [DATA_DIR [TRAIN_IMAGES [DEVICE]]]
 *
 * DATA_DIR holds the four MNIST files (flat or in MNIST/raw, raw or .gz;
 * default $RESNET_TRAIN_DATA, else ./data; missing files are downloaded
 * when the library has libcurl). TRAIN_IMAGES: train one epoch on the
 * first N training images (default 6400), as resnet-train --train-limit.
 * DEVICE: auto (default), cpu or cuda. Prints a loss line every 5 steps and
 * ends with "accuracy: A% (C/T)" on the whole test set.
 *
 * Build it against an installed library:
 *   cc train_mnist.c $(pkg-config --cflags --libs --static resnet-train) -o train_mnist
 */
#include <stdio.h>
#include <stdlib.h>

#include "resnet/data.h"
#include "resnet/device.h"
#include "resnet/error.h"
#include "resnet/network.h"
#include "resnet/train.h"

/* The trainer's events: the library never prints, its caller does. */
static int on_event(void *ctx, const rt_train_event *ev)
{
    rt_eval_result *final = ctx;
    switch (ev->kind) {
    case RT_EVENT_STEP_LOG:
        printf("step %d/%d: loss %.6f\n", ev->step, ev->steps_per_epoch, (double)ev->loss);
        break;
    case RT_EVENT_EPOCH_END:
        printf("epoch %d/%d: %.2f s, %.0f images/s\n", ev->epoch, ev->epochs, ev->seconds,
               ev->images_per_second);
        break;
    case RT_EVENT_EVAL:
        if (ev->final_eval)
            *final = ev->eval;
        break;
    default:
        break;
    }
    return 0; /* non-zero would stop the run */
}

static int fail(const char *what, const rt_error *err)
{
    fprintf(stderr, "train_mnist: %s: %s\n", what, err->message);
    return 1;
}

int main(int argc, char **argv)
{
    const char *env = getenv("RESNET_TRAIN_DATA");
    const char *dir = argc > 1 ? argv[1] : env && *env ? env : "data";
    int limit = argc > 2 ? atoi(argv[2]) : 6400;
    const char *device = argc > 3 ? argv[3] : "auto";
    if (argc > 4 || limit < 1) {
        fprintf(stderr, "usage: train_mnist [DATA_DIR [TRAIN_IMAGES [auto|cpu|cuda]]]\n");
        return 2;
    }

    rt_error err = {0};
    int status = 1;
    rt_device *dev = NULL;
    rt_network *net = NULL;
    rt_trainer *trainer = NULL;
    rt_dataset train = {0}, test = {0};

    /* 1. a device: cuda when usable, else the CPU (all cores) */
    rt_device_config dev_cfg;
    rt_device_config_default(&dev_cfg);
    if (rt_device_open(device, &dev_cfg, &dev, &err) != RT_OK) {
        status = fail("opening the device", &err);
        goto done;
    }
    printf("device: %s (%s)\n", rt_device_kind(dev), rt_device_description(dev));

    /* 2. MNIST: 60000 training and 10000 test images */
    rt_mnist_options data = {.dir = dir, .download = 1};
    if (rt_mnist_load(&data, &train, &test, &err) != RT_OK) {
        status = fail("loading MNIST", &err);
        goto done;
    }
    if (train.count > limit)
        train.count = limit; /* the first `limit` images, as --train-limit */

    /* 3. the tutorial's network for 1x28x28 inputs and 10 classes */
    rt_network_input input = {test.channels, test.rows, test.cols, train.classes};
    if (rt_network_load("seed", &input, &net, &err) != RT_OK) {
        status = fail("building the network", &err);
        goto done;
    }
    printf("network: %s, %zu parameters\n", rt_network_name(net),
           rt_network_parameter_count(net));

    /* 4. the tutorial's recipe (Adam, lr 1e-3, batches of 64), one epoch */
    rt_train_config cfg;
    rt_train_config_default(&cfg);
    cfg.epochs = 1;
    cfg.log_every = 5;
    if (rt_train_config_check(&cfg, &err) != RT_OK ||
        rt_trainer_create(dev, net, &train, &test, &cfg, &trainer, &err) != RT_OK) {
        status = fail("creating the trainer", &err);
        goto done;
    }
    printf("training on %d images, testing on %d\n", train.count, test.count);

    /* 5. train, then the test pass the run ends with */
    rt_eval_result result = {0};
    if (rt_trainer_run(trainer, 0, on_event, &result, &err) != RT_OK) {
        status = fail("training", &err);
        goto done;
    }
    printf("accuracy: %.2f%% (%d/%d), average loss %.6f\n", result.accuracy, result.correct,
           result.total, result.avg_loss);
    status = 0;

done:
    rt_trainer_destroy(trainer);
    rt_network_free(net);
    rt_dataset_free(&train);
    rt_dataset_free(&test);
    rt_device_close(dev);
    return status;
}
