/* Results must not depend on the thread count: two training steps (forward,
 * backward, Adam) on 1, 2 and 3 threads give bit-identical parameters,
 * gradients and BatchNorm statistics, at a full batch and at a partial
 * one, for the seed's network and the small ResNet of docs/networks.md. */
#include <stdlib.h>
#include <string.h>

#include "resnet/device.h"
#include "resnet/model.h"
#include "test_support.h"

/* Runs two steps on a batch of n random images and returns the parameters
 * followed by the gradients (malloc'd). */
static float *train_two_steps(const rt_network *net, int threads, int n)
{
    rt_device_config cfg;
    rt_device_config_default(&cfg);
    cfg.threads = threads;
    rt_device *dev;
    rt_error err;
    if (rt_device_open("cpu", &cfg, &dev, &err) != RT_OK)
        return NULL;
    rt_model *m;
    CHECK(rt_model_create(dev, net, n, 1, &m, &err) == RT_OK);
    CHECK(rt_model_init_params(m, 3, &err) == RT_OK);
    rt_rng rng;
    rt_rng_seed(&rng, 5);
    rt_adam_config adam = {0.9f, 0.999f, 1e-8f, 0.0f, 0};
    rt_step_state st = {0};
    st.lr = 1e-3f;
    st.nonfinite_step = -1;
    for (int step = 0; step < 2; step++) {
        rt_test_fill(&rng, rt_model_input(m), (size_t)n * rt_model_input_size(m), 0, 1);
        for (int i = 0; i < n; i++)
            rt_model_labels(m)[i] = (int32_t)rt_rng_below(&rng, 10);
        CHECK(rt_model_forward(m, n, 1) == RT_OK);
        CHECK(rt_op_softmax_cross_entropy(dev, n, 10, rt_model_logits(m), rt_model_labels(m),
                                          rt_model_dlogits(m), &st) == RT_OK);
        CHECK(rt_model_backward(m, n) == RT_OK);
        CHECK(rt_op_adam(dev, rt_network_params_size(net), rt_model_params(m), rt_model_grads(m),
                         rt_model_adam_m(m), rt_model_adam_v(m), &adam, &st) == RT_OK);
        CHECK(rt_op_step_advance(dev, &st, n, 1) == RT_OK);
    }
    size_t flat = rt_network_params_size(net), nbuf = rt_network_buffers_size(net);
    float *out = malloc((2 * flat + nbuf) * sizeof *out);
    memcpy(out, rt_model_params(m), flat * sizeof *out);
    memcpy(out + flat, rt_model_grads(m), flat * sizeof *out);
    memcpy(out + 2 * flat, rt_model_buffers(m), nbuf * sizeof *out);
    rt_model_destroy(m);
    rt_device_close(dev);
    return out;
}

int main(void)
{
    rt_network *nets[2] = {rt_test_network("seed"), rt_test_small_resnet()};
    const int batches[] = {64, 19};
    for (int k = 0; k < 2; k++) {
        const rt_network *net = nets[k];
        size_t bytes = (2 * rt_network_params_size(net) + rt_network_buffers_size(net)) *
                       sizeof(float);
        for (int b = 0; b < 2; b++) {
            float *one = train_two_steps(net, 1, batches[b]);
            CHECK(one != NULL);
            for (int threads = 2; threads <= 3 && one; threads++) {
                float *many = train_two_steps(net, threads, batches[b]);
                CHECKF(many && memcmp(one, many, bytes) == 0,
                       "%s, batch %d: %d threads differ from 1 thread", rt_network_name(net),
                       batches[b], threads);
                free(many);
            }
            free(one);
        }
        rt_network_free(nets[k]);
    }
    return rt_test_finish("test_threads");
}
