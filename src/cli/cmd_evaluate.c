/* resnet-train evaluate CHECKPOINT: the seed's test pass on saved weights
 * (BatchNorm in evaluation mode: its running statistics). */
#include <stdio.h>
#include <string.h>

#include "common.h"
#include "json_out.h"
#include "resnet/checkpoint.h"

int cli_evaluate(const cli_options *o)
{
    rt_error err = {0};
    cli_report report;
    cli_report_init(&report, o->json ? stderr : stdout);
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
    if (st == RT_OK)
        st = rt_trainer_evaluate(t, &r, &err);
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
