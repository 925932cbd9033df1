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
    ck.has_training_state = 0; /* only the weights matter here */
    rt_device *dev = NULL;
    if (cli_open_device(o, &dev, &err) != RT_OK) {
        rt_checkpoint_free(&ck);
        return cli_fail(&err);
    }
    rt_dataset train = {0}, test = {0};
    rt_trainer *t = NULL;
    rt_eval_result r;
    rt_status st = cli_load_mnist(o, &report, &train, &test, &err);
    if (st == RT_OK) {
        rt_dataset_free(&train); /* evaluation needs the test set only */
        if (!o->json) {
            cli_print_device(dev);
            cli_print_model(ck.network);
        }
        st = rt_trainer_create(dev, ck.network, NULL, &test, &o->train, &t, &err);
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
                   "\"avg_loss\": %.17g, \"batch_size\": %d, \"model\": ",
                   rt_device_kind(dev), r.total, r.correct, r.accuracy, r.avg_loss,
                   o->train.batch_size);
            json_print_string(stdout, rt_network_name(ck.network));
            printf("}\n");
        } else {
            cli_report_test_result(&report, &r);
        }
    }
    rt_trainer_destroy(t);
    rt_dataset_free(&test);
    rt_checkpoint_free(&ck);
    rt_device_close(dev);
    return st == RT_OK ? 0 : cli_fail(&err);
}
