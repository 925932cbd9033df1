/* NaN and Inf stop training with a message naming the step, and with
 * --detect-anomaly the first op that produced them; no checkpoint event
 * follows a bad step. Huge first-layer weights make conv1's output
 * overflow to Inf on the first step. */
#include <stdlib.h>
#include <string.h>

#include "resnet/model.h"
#include "resnet/train.h"
#include "test_support.h"

static int checkpoints;

static int on_event(void *ctx, const rt_train_event *ev)
{
    (void)ctx;
    checkpoints += ev->kind == RT_EVENT_CHECKPOINT;
    return 0;
}

static void run(rt_device *dev, const rt_network *net, const rt_dataset *set, int detect)
{
    rt_train_config cfg;
    rt_train_config_default(&cfg);
    cfg.epochs = 2;
    cfg.detect_anomaly = detect;
    rt_trainer *t;
    rt_error err;
    CHECK(rt_trainer_create(dev, net, set, set, &cfg, &t, &err) == RT_OK);
    rt_model *m = rt_trainer_model(t);
    size_t flat = rt_network_params_size(net);
    float *params = malloc(flat * sizeof *params);
    CHECK(rt_model_download_params(m, params, &err) == RT_OK);
    /* conv1's 25 weights of one filter at 3e38: a window with a few bright
     * pixels sums past FLT_MAX, to Inf */
    for (int i = 0; i < 25; i++)
        params[rt_network_tensor(net, 0)->offset + i] = 3e38f;
    CHECK(rt_model_upload_params(m, params, &err) == RT_OK);
    checkpoints = 0;
    rt_status st = rt_trainer_run(t, 1, on_event, NULL, &err);
    CHECKF(st == RT_ERR_NUMERIC, "detect=%d: status %d (%s)", detect, st, err.message);
    CHECKF(strstr(err.message, "at step 1 (epoch 1, batch 1)") != NULL,
           "detect=%d: the message names the step: %s", detect, err.message);
    if (detect)
        CHECKF(strstr(err.message, "the output of conv1 (forward)") != NULL,
               "--detect-anomaly names the op: %s", err.message);
    else
        CHECKF(strstr(err.message, "--detect-anomaly") != NULL, "suggests --detect-anomaly: %s",
               err.message);
    CHECKF(checkpoints == 0, "detect=%d: %d checkpoint events after a bad step", detect,
           checkpoints);
    printf("detect=%d: %s\n", detect, err.message);
    free(params);
    rt_trainer_destroy(t);
}

int main(void)
{
    rt_device *dev;
    rt_error err;
    rt_device_config cfg;
    rt_device_config_default(&cfg);
    if (rt_device_open("cpu", &cfg, &dev, &err) != RT_OK)
        return 1;
    enum { COUNT = 200 };
    rt_dataset set = {COUNT, 28, 28, 1, malloc(COUNT * 784), malloc(COUNT), 10};
    rt_rng rng;
    rt_rng_seed(&rng, 4);
    for (int i = 0; i < COUNT * 784; i++)
        set.images[i] = (uint8_t)rt_rng_below(&rng, 256);
    for (int i = 0; i < COUNT; i++)
        set.labels[i] = (uint8_t)rt_rng_below(&rng, 10);
    rt_network *net = rt_test_network("seed");
    run(dev, net, &set, 0);
    run(dev, net, &set, 1);
    rt_network_free(net);
    rt_dataset_free(&set);
    rt_device_close(dev);
    return rt_test_finish("test_anomaly");
}
