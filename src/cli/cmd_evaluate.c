/* resnet-train evaluate CHECKPOINT: the seed's test pass on saved weights
 * (BatchNorm in evaluation mode: its running statistics). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "json_out.h"
#include "../io/atomic_file.h"
#include "resnet/checkpoint.h"

/* --logits FILE: float32, little-endian (the host's order on every machine
 * we build for), images x classes, written atomically. */
static rt_status write_logits(const char *path, const float *logits, size_t count, rt_error *err)
{
    rt_atomic_file af;
    rt_status st = rt_atomic_open(&af, path, err);
    if (st == RT_OK && (st = rt_atomic_write(&af, logits, count * sizeof *logits, err)) != RT_OK)
        rt_atomic_abort(&af);
    else if (st == RT_OK)
        st = rt_atomic_commit(&af, err);
    if (st != RT_OK)
        rt_error_prefix(err, "--logits");
    return st;
}

int cli_evaluate(const cli_options *o)
{
    rt_error err = {0};
    cli_report report;
    cli_report_init(&report, o->json ? stderr : stdout);
    if (o->logits_path && cli_check_writable("--logits", o->logits_path, &err) != RT_OK)
        return cli_fail(&err);
    rt_checkpoint ck;
    if (cli_load_checkpoint(o, o->checkpoint, &ck, &err) != RT_OK)
        return cli_fail(&err);
    /* the test pass scales the input and counts the loss as the run did */
    rt_train_config cfg = o->train;
    if (ck.has_training_state) {
        cfg.normalize = ck.config.normalize;
        memcpy(cfg.mean, ck.config.mean, sizeof cfg.mean);
        memcpy(cfg.std, ck.config.std, sizeof cfg.std);
        cfg.label_smoothing = ck.config.label_smoothing;
        if (!(o->given & CLI_GIVEN_BATCH_SIZE))
            cfg.batch_size = ck.config.batch_size; /* the average loss is over its batches */
    }
    ck.has_training_state = 0; /* only the weights matter from here */
    rt_device *dev = NULL;
    if (cli_open_device(o, &dev, &err) != RT_OK) {
        rt_checkpoint_free(&ck);
        return cli_fail(&err);
    }
    rt_dataset train = {0}, test = {0};
    rt_trainer *t = NULL;
    rt_eval_result r;
    rt_status st = cli_load_data(o, 0, &report, &train, &test, &err);
    if (st == RT_OK) {
        rt_dataset_free(&train); /* evaluation needs the test set only */
        if (!o->json) {
            cli_print_device(dev);
            cli_print_model(ck.network);
        }
        st = rt_trainer_create(dev, ck.network, NULL, &test, &cfg, &t, &err);
    }
    if (st == RT_OK && (st = rt_trainer_restore(t, &ck, &err)) != RT_OK)
        rt_error_prefix(&err, "%s", o->checkpoint);
    float *logits = NULL;
    size_t logit_count = (size_t)test.count * (size_t)rt_network_input_of(ck.network).classes;
    if (st == RT_OK && o->logits_path && !(logits = malloc(logit_count * sizeof *logits)))
        st = rt_error_set(&err, RT_ERR_NOMEM, "--logits: out of host memory for %zu logits",
                          logit_count);
    if (st == RT_OK)
        st = rt_trainer_evaluate_logits(t, logits, &r, &err);
    if (st == RT_OK && logits)
        st = write_logits(o->logits_path, logits, logit_count, &err);
    free(logits);
    if (st == RT_OK) {
        if (o->json) {
            printf("{\"checkpoint\": ");
            json_print_string(stdout, o->checkpoint);
            printf(", \"device\": \"%s\", \"images\": %d, \"correct\": %d, \"accuracy\": %.17g, "
                   "\"avg_loss\": %.17g, \"correct5\": %d, \"accuracy5\": %.17g, \"batch_size\": %d, "
                   "\"model\": ",
                   rt_device_kind(dev), r.total, r.correct, r.accuracy, r.avg_loss, r.correct5,
                   r.accuracy5,
                   o->train.batch_size);
            json_print_string(stdout, rt_network_name(ck.network));
            printf("}\n");
        } else {
            report.top5 = strcmp(rt_network_name(ck.network), "seed") != 0;
            cli_report_test_result(&report, &r);
        }
    }
    rt_trainer_destroy(t);
    rt_dataset_free(&test);
    rt_checkpoint_free(&ck);
    rt_device_close(dev);
    return st == RT_OK ? 0 : cli_fail(&err);
}
