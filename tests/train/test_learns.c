/* End to end, in the library: resnet20 with a short modern recipe (SGD
 * with Nesterov momentum, one-cycle per step, label smoothing, no decay on
 * BatchNorm and biases, 4-pixel crops, flips, normalisation) on a small
 * synthetic colour set of 32x32 images learns far above chance: four
 * classes, each a square of its own colour at a random place on noise
 * (chance: 25%). Two epochs of 768 images; the test images are others. */
#include <stdlib.h>
#include <string.h>

#include "resnet/network.h"
#include "resnet/train.h"
#include "test_support.h"

enum { TRAIN = 768, TEST = 256, SIDE = 32, PIXELS = 3 * SIDE * SIDE };

static void make_set(rt_dataset *set, int count, uint64_t seed)
{
    static const uint8_t colour[4][3] = {{230, 40, 40}, {40, 210, 40}, {50, 60, 230}, {220, 210, 40}};
    rt_rng rng;
    rt_rng_seed(&rng, seed);
    set->count = count, set->rows = SIDE, set->cols = SIDE, set->channels = 3, set->classes = 4;
    set->images = malloc((size_t)count * PIXELS);
    set->labels = malloc((size_t)count);
    for (int i = 0; i < count; i++) {
        int k = (int)rt_rng_below(&rng, 4);
        uint8_t *img = set->images + (size_t)i * PIXELS;
        for (int j = 0; j < PIXELS; j++)
            img[j] = (uint8_t)(60 + rt_rng_below(&rng, 80));
        int r0 = (int)rt_rng_below(&rng, SIDE - 10), c0 = (int)rt_rng_below(&rng, SIDE - 10);
        for (int c = 0; c < 3; c++)
            for (int r = r0; r < r0 + 10; r++)
                for (int q = c0; q < c0 + 10; q++)
                    img[(c * SIDE + r) * SIDE + q] = colour[k][c];
        set->labels[i] = (uint8_t)k;
    }
}

int main(void)
{
    rt_device *dev;
    rt_error err;
    rt_device_config dc;
    rt_device_config_default(&dc);
    if (rt_device_open("cpu", &dc, &dev, &err) != RT_OK)
        return 1;
    rt_network_input in = {3, SIDE, SIDE, 4};
    rt_network *net = NULL;
    CHECK(rt_network_load("resnet20", &in, &net, &err) == RT_OK);
    rt_dataset train, test;
    make_set(&train, TRAIN, 1);
    make_set(&test, TEST, 2);
    rt_train_config cfg;
    rt_train_config_default(&cfg);
    CHECK(rt_recipe_apply("small-onecycle", &cfg, &err) == RT_OK);
    cfg.epochs = 2;
    cfg.batch_size = 64;
    for (int c = 0; c < 3; c++)
        cfg.mean[c] = 0.4f, cfg.std[c] = 0.25f;
    rt_trainer *t = NULL;
    CHECKF(rt_trainer_create(dev, net, &train, &test, &cfg, &t, &err) == RT_OK, "%s", err.message);
    rt_eval_result before, after;
    CHECK(rt_trainer_evaluate(t, &before, &err) == RT_OK);
    CHECKF(rt_trainer_run(t, 0, NULL, NULL, &err) == RT_OK, "%s", err.message);
    CHECK(rt_trainer_evaluate(t, &after, &err) == RT_OK);
    printf("resnet20, small-onecycle, 2 epochs of %d images: test accuracy %.1f%% (before %.1f%%), "
           "top-5 %.1f%%\n", TRAIN, after.accuracy, before.accuracy, after.accuracy5);
    CHECKF(after.accuracy >= 90.0, "accuracy %.1f%%: the recipe did not learn", after.accuracy);
    CHECK(after.accuracy5 == 100.0); /* four classes: always among the top five */
    rt_trainer_destroy(t);
    rt_dataset_free(&train);
    rt_dataset_free(&test);
    rt_network_free(net);
    rt_device_close(dev);
    return rt_test_finish("a short recipe learns");
}
