/* resnet-train predict CHECKPOINT IMAGE...: classify pictures of digits. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "json_out.h"
#include "resnet/checkpoint.h"
#include "resnet/image.h"
#include "resnet/model.h"

/* Reads and preprocesses every image (MNIST-style, 28x28 in [0,1]). */
static rt_status read_images(const cli_options *o, float *x, int *inverted, rt_error *err)
{
    for (int i = 0; i < o->image_count; i++) {
        rt_image img;
        rt_status st = rt_image_read(o->images[i], &img, err);
        if (st == RT_OK) {
            st = rt_image_to_mnist(&img, x + (size_t)i * RT_MODEL_PIXELS, &inverted[i], err);
            rt_image_free(&img);
            if (st != RT_OK)
                rt_error_prefix(err, "%s", o->images[i]);
        }
        if (st != RT_OK)
            return st;
    }
    return RT_OK;
}

static int argmax(const float *p)
{
    int best = 0;
    for (int j = 1; j < RT_MODEL_CLASSES; j++)
        if (p[j] > p[best])
            best = j;
    return best;
}

static void print_results(const cli_options *o, const rt_device *dev, const float *probs,
                          const int *inverted)
{
    if (o->json) {
        printf("{\"checkpoint\": ");
        json_print_string(stdout, o->checkpoint);
        printf(", \"device\": \"%s\", \"predictions\": [", rt_device_kind(dev));
        for (int i = 0; i < o->image_count; i++) {
            const float *p = probs + (size_t)i * RT_MODEL_CLASSES;
            printf("%s\n  {\"file\": ", i ? "," : "");
            json_print_string(stdout, o->images[i]);
            printf(", \"digit\": %d, \"inverted\": %s, \"probabilities\": [", argmax(p),
                   inverted[i] ? "true" : "false");
            for (int j = 0; j < RT_MODEL_CLASSES; j++)
                printf("%s%.6g", j ? ", " : "", (double)p[j]);
            printf("]}");
        }
        printf("\n]}\n");
        return;
    }
    for (int i = 0; i < o->image_count; i++) {
        const float *p = probs + (size_t)i * RT_MODEL_CLASSES;
        int d = argmax(p);
        printf("%s: %d (probability %.4f%s)\n ", o->images[i], d, (double)p[d],
               inverted[i] ? ", dark on light: inverted" : "");
        for (int j = 0; j < RT_MODEL_CLASSES; j++)
            printf(" %d:%.4f", j, (double)p[j]);
        printf("\n");
    }
}

int cli_predict(const cli_options *o)
{
    rt_error err = {0};
    int n = o->image_count;
    float *x = calloc((size_t)n * RT_MODEL_PIXELS, sizeof *x);
    float *probs = calloc((size_t)n * RT_MODEL_CLASSES, sizeof *probs);
    int *inverted = calloc((size_t)n, sizeof *inverted);
    rt_checkpoint ck;
    memset(&ck, 0, sizeof ck);
    rt_device *dev = NULL;
    rt_model *model = NULL;
    rt_status st = RT_OK;
    if (!x || !probs || !inverted)
        st = rt_error_set(&err, RT_ERR_NOMEM, "out of host memory for %d images", n);
    if (st == RT_OK)
        st = rt_checkpoint_load(o->checkpoint, &ck, &err);
    if (st == RT_OK)
        st = read_images(o, x, inverted, &err);
    if (st == RT_OK)
        st = cli_open_device(o, &dev, &err);
    if (st == RT_OK)
        st = rt_model_create(dev, n < 64 ? n : 64, &model, &err);
    if (st == RT_OK)
        st = rt_model_upload_params(model, ck.params, &err);
    for (int start = 0; st == RT_OK && start < n; start += 64) {
        int count = n - start < 64 ? n - start : 64;
        st = rt_model_predict(model, x + (size_t)start * RT_MODEL_PIXELS, count,
                              probs + (size_t)start * RT_MODEL_CLASSES, &err);
    }
    if (st == RT_OK)
        print_results(o, dev, probs, inverted);
    rt_model_destroy(model);
    rt_device_close(dev);
    rt_checkpoint_free(&ck);
    free(x);
    free(probs);
    free(inverted);
    return st == RT_OK ? 0 : cli_fail(&err);
}
