/* Several trainers, one after another, on one device: each evaluates and
 * trains exactly as a trainer made on a fresh CPU device does. A device
 * keeps captured steps by key, and the second trainer's last test batch has
 * the same size (16) as the first's: its steps must not replay captures that
 * hold the first trainer's freed buffers. Skips (77) without a GPU. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "resnet/model.h"
#include "resnet/train.h"
#include "test_support.h"

enum { TRAIN = 160, TEST = 80 };

static rt_dataset make_set(int count, uint64_t seed)
{
    rt_dataset s = {count, 28, 28, 1, malloc((size_t)count * 784), malloc((size_t)count), 10};
    rt_rng rng;
    rt_rng_seed(&rng, seed);
    for (int i = 0; i < count * 784; i++)
        s.images[i] = (uint8_t)rt_rng_below(&rng, 256);
    for (int i = 0; i < count; i++)
        s.labels[i] = (uint8_t)rt_rng_below(&rng, 10);
    return s;
}

/* Two evaluations (the second replays captures), three training steps,
 * one more evaluation: the accuracy and loss of the last one. */
static rt_eval_result run(rt_device *dev, const rt_dataset *train, const rt_dataset *test,
                          int batch)
{
    rt_train_config cfg;
    rt_train_config_default(&cfg);
    cfg.batch_size = batch;
    rt_trainer *t;
    rt_error err;
    rt_eval_result r;
    memset(&r, 0, sizeof r);
    rt_network *net = rt_test_network("seed");
    if (rt_trainer_create(dev, net, train, test, &cfg, &t, &err) != RT_OK) {
        rt_network_free(net);
        CHECKF(0, "%s", err.message);
        return r;
    }
    for (int i = 0; i < 2; i++)
        CHECKF(rt_trainer_evaluate(t, &r, &err) == RT_OK, "%s", err.message);
    for (int i = 0; i < 3; i++)
        CHECKF(rt_trainer_step(t, &err) == RT_OK, "%s", err.message);
    CHECKF(rt_trainer_evaluate(t, &r, &err) == RT_OK, "%s", err.message);
    rt_trainer_destroy(t);
    rt_network_free(net);
    return r;
}

int main(void)
{
    rt_device_config cfg;
    rt_device_config_default(&cfg);
    rt_device *gpu, *cpu;
    rt_error err;
    if (rt_device_open("cuda", &cfg, &gpu, &err) != RT_OK)
        return err.status == RT_ERR_NODEVICE ? rt_test_skip(err.message) : 1;
    if (rt_device_open("cpu", &cfg, &cpu, &err) != RT_OK)
        return 1;
    rt_dataset train = make_set(TRAIN, 1), test = make_set(TEST, 2);
    const int batches[] = {64, 32, 64};
    for (int i = 0; i < 3; i++) {
        rt_eval_result g = run(gpu, &train, &test, batches[i]);
        rt_eval_result c = run(cpu, &train, &test, batches[i]);
        /* a stale capture gives garbage or a crash; two correct backends may
         * differ on one borderline image */
        CHECKF(abs(g.correct - c.correct) <= 1 && g.batches == c.batches,
               "trainer %d (batch %d): GPU %d correct in %d batches, CPU %d in %d", i,
               batches[i], g.correct, g.batches, c.correct, c.batches);
        /* three Adam steps from the same weights: the losses agree to FP32
         * rounding of the two backends' sums */
        CHECKF(fabs(g.avg_loss - c.avg_loss) <= 1e-4 * fabs(c.avg_loss),
               "trainer %d: GPU loss %.9g, CPU %.9g", i, g.avg_loss, c.avg_loss);
    }
    rt_dataset_free(&train);
    rt_dataset_free(&test);
    rt_device_close(cpu);
    rt_device_close(gpu);
    return rt_test_finish("test_gpu_trainers");
}
