/* resnet-train predict CHECKPOINT IMAGE...: classify pictures of digits. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "json_out.h"
#include "resnet/checkpoint.h"
#include "resnet/image.h"
#include "resnet/model.h"

/* Reads every image, preprocesses it as MNIST's digits were made (28x28 in
 * [0,1]) and fits that to the network's input. */
static rt_status read_images(const cli_options *o, const rt_network *net, float *x,
                             int *inverted, rt_error *err)
{
    rt_network_input in = rt_network_input_of(net);
    size_t size = rt_network_input_size(net);
    for (int i = 0; i < o->image_count; i++) {
        rt_image img;
        float digit[784];
        rt_status st = rt_image_read(o->images[i], &img, err);
        if (st == RT_OK) {
            st = rt_image_to_mnist(&img, digit, &inverted[i], err);
            rt_image_free(&img);
            if (st != RT_OK)
                rt_error_prefix(err, "%s", o->images[i]);
        }
        if (st != RT_OK)
            return st;
        rt_image_fit_input(digit, in.channels, in.height, in.width, x + (size_t)i * size);
    }
    return RT_OK;
}

static int argmax(const float *p, int classes)
{
    int best = 0;
    for (int j = 1; j < classes; j++)
        if (p[j] > p[best])
            best = j;
    return best;
}

static void print_results(const cli_options *o, const rt_device *dev, const float *probs,
                          const int *inverted, int classes)
{
    if (o->json) {
        printf("{\"checkpoint\": ");
        json_print_string(stdout, o->checkpoint);
        printf(", \"device\": \"%s\", \"predictions\": [", rt_device_kind(dev));
        for (int i = 0; i < o->image_count; i++) {
            const float *p = probs + (size_t)i * classes;
            printf("%s\n  {\"file\": ", i ? "," : "");
            json_print_string(stdout, o->images[i]);
            printf(", \"digit\": %d, \"inverted\": %s, \"probabilities\": [", argmax(p, classes),
                   inverted[i] ? "true" : "false");
            for (int j = 0; j < classes; j++)
                printf("%s%.6g", j ? ", " : "", (double)p[j]);
            printf("]}");
        }
        printf("\n]}\n");
        return;
    }
    for (int i = 0; i < o->image_count; i++) {
        const float *p = probs + (size_t)i * classes;
        int d = argmax(p, classes);
        printf("%s: %d (probability %.4f%s)\n ", o->images[i], d, (double)p[d],
               inverted[i] ? ", dark on light: inverted" : "");
        for (int j = 0; j < classes; j++)
            printf(" %d:%.4f", j, (double)p[j]);
        printf("\n");
    }
}

int cli_predict(const cli_options *o)
{
    rt_error err = {0};
    int n = o->image_count;
    rt_checkpoint ck;
    memset(&ck, 0, sizeof ck);
    float *x = NULL, *probs = NULL;
    int *inverted = NULL;
    rt_device *dev = NULL;
    rt_model *model = NULL;
    rt_status st = cli_load_checkpoint(o, o->checkpoint, &ck, &err);
    int classes = st == RT_OK ? rt_network_input_of(ck.network).classes : 0;
    if (st == RT_OK) {
        x = calloc((size_t)n * rt_network_input_size(ck.network), sizeof *x);
        probs = calloc((size_t)n * classes, sizeof *probs);
        inverted = calloc((size_t)n, sizeof *inverted);
        if (!x || !probs || !inverted)
            st = rt_error_set(&err, RT_ERR_NOMEM, "out of host memory for %d images", n);
    }
    if (st == RT_OK)
        st = read_images(o, ck.network, x, inverted, &err);
    if (st == RT_OK && ck.has_training_state && ck.config.normalize) {
        /* the run's Normalize, as its batches were */
        rt_network_input in = rt_network_input_of(ck.network);
        size_t plane = (size_t)in.height * (size_t)in.width;
        for (int i = 0; i < n; i++)
            for (int c = 0; c < in.channels && c < RT_MAX_CHANNELS; c++) {
                float *p = x + ((size_t)i * in.channels + c) * plane;
                for (size_t j = 0; j < plane; j++)
                    p[j] = (p[j] - ck.config.mean[c]) / ck.config.std[c];
            }
    }
    if (st == RT_OK)
        st = cli_open_device(o, &dev, &err);
    if (st == RT_OK)
        st = rt_model_create(dev, ck.network, n < 64 ? n : 64, 0, &model, &err);
    if (st == RT_OK)
        st = rt_model_upload_params(model, ck.params, &err);
    if (st == RT_OK)
        st = rt_model_upload_buffers(model, ck.buffers, ck.counters, &err);
    if (st == RT_OK)
        st = rt_model_predict(model, x, n, probs, &err);
    if (st == RT_OK)
        print_results(o, dev, probs, inverted, classes);
    rt_model_destroy(model);
    rt_device_close(dev);
    rt_checkpoint_free(&ck);
    free(x);
    free(probs);
    free(inverted);
    return st == RT_OK ? 0 : cli_fail(&err);
}
