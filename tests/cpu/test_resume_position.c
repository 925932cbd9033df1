/* Resuming from any saved position continues the run exactly: a shuffled
 * run of three epochs, interrupted at every kind of position (mid-epoch,
 * at an epoch's last step before the epoch was closed, after it was
 * closed), ends with the same parameters (and BatchNorm statistics and
 * counters) as the uninterrupted run: for the seed's network and the
 * small ResNet of docs/networks.md, with the seed's recipe, and for the
 * small ResNet with two others that carry more state: SGD with Nesterov
 * momentum (its buffer), one-cycle per step, label smoothing, crops,
 * flips and normalisation; AdamW with a warm-up then cosine per epoch and
 * no decay on BatchNorm and biases. */
#include <stdlib.h>
#include <string.h>

#include "resnet/checkpoint.h"
#include "resnet/model.h"
#include "resnet/train.h"
#include "test_support.h"

enum { COUNT = 200, BATCH = 32 }; /* 7 steps an epoch, the last of 8 images */

static rt_device *dev;
static rt_dataset set;
static const rt_network *net;
static int recipe; /* 0: the seed's; 1, 2: see the top */

static rt_trainer *new_trainer(void)
{
    rt_train_config cfg;
    rt_train_config_default(&cfg);
    cfg.epochs = 3;
    cfg.batch_size = BATCH;
    cfg.shuffle = 1;
    cfg.seed = 9;
    if (recipe == 1) {
        cfg.optimizer = RT_OPTIMIZER_SGD;
        cfg.lr = 0.05f;
        cfg.momentum = 0.9f;
        cfg.nesterov = 1;
        cfg.adam.weight_decay = 5e-4f;
        cfg.schedule = RT_SCHEDULE_ONECYCLE;
        cfg.schedule_per_step = 1;
        cfg.label_smoothing = 0.1f;
        cfg.crop_pad = 2;
        cfg.flip = 1;
        cfg.normalize = 1;
        cfg.mean[0] = 0.13f;
        cfg.std[0] = 0.31f;
    } else if (recipe == 2) {
        cfg.optimizer = RT_OPTIMIZER_ADAMW;
        cfg.adam.weight_decay = 0.05f;
        cfg.no_decay_norm_bias = 1;
        cfg.schedule = RT_SCHEDULE_COSINE;
        cfg.warmup = 1;
    }
    rt_trainer *t = NULL;
    rt_error err;
    CHECK(rt_trainer_create(dev, net, &set, &set, &cfg, &t, &err) == RT_OK);
    return t;
}

/* Parameters, then running statistics, then counters (as raw bytes). */
static size_t state_bytes(void)
{
    return (rt_network_params_size(net) + rt_network_buffers_size(net)) * sizeof(float) +
           rt_network_counter_count(net) * sizeof(int64_t);
}

static float *params_of(rt_trainer *t)
{
    size_t flat = rt_network_params_size(net), nbuf = rt_network_buffers_size(net);
    float *p = malloc(state_bytes() + 8);
    rt_error err;
    CHECK(rt_model_download_params(rt_trainer_model(t), p, &err) == RT_OK);
    CHECK(rt_model_download_buffers(rt_trainer_model(t), p + flat,
                                    (int64_t *)(void *)(p + flat + nbuf), &err) == RT_OK);
    return p;
}

/* Runs `steps` steps with rt_trainer_step, saves, and resumes in a new
 * trainer that runs to the end; returns the final parameters. */
static float *interrupted(int steps, const char *path)
{
    rt_error err;
    rt_trainer *a = new_trainer();
    for (int i = 0; i < steps; i++)
        CHECK(rt_trainer_step(a, &err) == RT_OK);
    CHECK(rt_trainer_save(a, path, &err) == RT_OK);
    rt_trainer_destroy(a);
    rt_checkpoint ck;
    CHECK(rt_checkpoint_load(path, net, 1, &ck, &err) == RT_OK);
    rt_trainer *b = new_trainer();
    CHECK(rt_trainer_restore(b, &ck, &err) == RT_OK);
    rt_checkpoint_free(&ck);
    CHECKF(rt_trainer_run(b, 0, NULL, NULL, &err) == RT_OK, "%s", err.message);
    float *p = params_of(b);
    rt_trainer_destroy(b);
    return p;
}

int main(void)
{
    rt_error err;
    rt_device_config cfg;
    rt_device_config_default(&cfg);
    if (rt_device_open("cpu", &cfg, &dev, &err) != RT_OK)
        return 1;
    set.count = COUNT, set.rows = 28, set.cols = 28, set.channels = 1;
    set.images = malloc(COUNT * 784);
    set.labels = malloc(COUNT);
    rt_rng rng;
    rt_rng_seed(&rng, 1);
    for (int i = 0; i < COUNT * 784; i++)
        set.images[i] = (uint8_t)rt_rng_below(&rng, 256);
    for (int i = 0; i < COUNT; i++)
        set.labels[i] = (uint8_t)rt_rng_below(&rng, 10);
    char dir[256], path[300];
    CHECK(rt_test_tempdir(dir, sizeof dir) == 0);
    snprintf(path, sizeof path, "%s/ck.safetensors", dir);

    rt_network *nets[2] = {rt_test_network("seed"), rt_test_small_resnet()};
    const struct { int net, recipe; } runs[] = {{0, 0}, {1, 0}, {1, 1}, {1, 2}};
    for (int k = 0; k < 4; k++) {
        net = nets[runs[k].net];
        recipe = runs[k].recipe;
        rt_trainer *whole = new_trainer();
        CHECK(rt_trainer_run(whole, 0, NULL, NULL, &err) == RT_OK);
        float *expected = params_of(whole);
        rt_trainer_destroy(whole);
        /* 3: mid-epoch; 7: the first epoch's last step done, the epoch not
         * yet closed (cursor == COUNT); 8 and 10: into the second epoch */
        const int points[] = {3, 7, 8, 10, 14};
        /* the other recipes at three of them (mid-epoch, an epoch's last
         * step before it closed, into the next), which keeps the test quick
         * under the sanitizers */
        size_t npoints = recipe == 0 ? sizeof points / sizeof points[0] : 3;
        const int *at = recipe == 0 ? points : (const int[]){3, 7, 10};
        for (size_t i = 0; i < npoints; i++) {
            float *got = interrupted(at[i], path);
            CHECKF(memcmp(got, expected, state_bytes()) == 0,
                   "%s, recipe %d: saved after %d steps and resumed: parameters or statistics "
                   "differ", rt_network_name(net), recipe, at[i]);
            free(got);
        }
        free(expected);
    }
    rt_network_free(nets[0]);
    rt_network_free(nets[1]);
    remove(path);
    remove(dir);
    rt_dataset_free(&set);
    rt_device_close(dev);
    return rt_test_finish("test_resume_position");
}
