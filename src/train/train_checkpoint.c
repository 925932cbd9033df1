/* Between a trainer and a checkpoint file: gathering the model (parameters,
 * running statistics, counters), the Adam moments and the position from the
 * device into a checkpoint, and back. */
#include <stdlib.h>
#include <string.h>

#include "resnet/checkpoint.h"
#include "resnet/train.h"

#define TRY(call)                        \
    do {                                 \
        rt_status st_ = (call);          \
        if (st_ != RT_OK)                \
            return st_;                  \
    } while (0)

const char *rt_train_config_conflict(const rt_train_config *a, const rt_train_config *b)
{
    if (a->batch_size != b->batch_size)
        return "--batch-size";
    if (a->lr != b->lr)
        return "--lr";
    if (a->shuffle != b->shuffle)
        return "--shuffle";
    if (a->seed != b->seed)
        return "--seed";
    if (a->lr_step_size != b->lr_step_size)
        return "--lr-step-size";
    if (a->lr_gamma != b->lr_gamma)
        return "--lr-gamma";
    if (a->adam.beta1 != b->adam.beta1 || a->adam.beta2 != b->adam.beta2 ||
        a->adam.eps != b->adam.eps)
        return "Adam's betas or eps";
    if (a->adam.weight_decay != b->adam.weight_decay)
        return "--weight-decay";
    if (a->optimizer != b->optimizer)
        return "--optimizer";
    if (a->momentum != b->momentum)
        return "--momentum";
    if (a->dampening != b->dampening)
        return "--dampening";
    if (a->nesterov != b->nesterov)
        return "--nesterov";
    if (a->no_decay_norm_bias != b->no_decay_norm_bias)
        return "--no-decay-norm-bias";
    if (a->schedule != b->schedule)
        return "--schedule";
    if (a->schedule_per_step != b->schedule_per_step)
        return "--schedule-per";
    if (a->milestone_count != b->milestone_count ||
        memcmp(a->milestones, b->milestones, sizeof a->milestones[0] * (size_t)a->milestone_count))
        return "--milestones";
    if (a->eta_min != b->eta_min)
        return "--eta-min";
    if (a->pct_start != b->pct_start || a->div_factor != b->div_factor ||
        a->final_div_factor != b->final_div_factor)
        return "--pct-start, --div-factor or --final-div-factor";
    if (a->warmup != b->warmup || a->warmup_start != b->warmup_start)
        return "--warmup or --warmup-start";
    if (a->label_smoothing != b->label_smoothing)
        return "--label-smoothing";
    if (a->crop_pad != b->crop_pad)
        return "--crop-pad";
    if (a->flip != b->flip)
        return "--flip";
    if (a->resized_crop != b->resized_crop ||
        (a->resized_crop && memcmp(a->crop_scale, b->crop_scale, sizeof a->crop_scale)))
        return "--random-resized-crop or --crop-scale";
    if (a->normalize != b->normalize || memcmp(a->mean, b->mean, sizeof a->mean) ||
        memcmp(a->std, b->std, sizeof a->std))
        return "--normalize";
    /* a schedule that spans the run changes with its length */
    if (a->epochs != b->epochs &&
        (a->schedule == RT_SCHEDULE_COSINE || a->schedule == RT_SCHEDULE_ONECYCLE))
        return "--epochs (the cosine and onecycle schedules span the whole run)";
    return NULL;
}

rt_status rt_trainer_save(rt_trainer *t, const char *path, rt_error *err)
{
    rt_model *m = rt_trainer_model(t);
    rt_device *dev = rt_model_device(m);
    const rt_network *net = rt_model_network(m);
    size_t flat = rt_network_params_size(net), nbuf = rt_network_buffers_size(net);
    size_t ncount = rt_network_counter_count(net);
    rt_checkpoint ck;
    memset(&ck, 0, sizeof ck);
    ck.network = net;
    ck.params = malloc((3 * flat + nbuf + 1) * sizeof(float));
    ck.counters = malloc((ncount + 1) * sizeof(int64_t));
    if (!ck.params || !ck.counters) {
        free(ck.params);
        free(ck.counters);
        return rt_error_set(err, RT_ERR_NOMEM, "%s: out of host memory to save", path);
    }
    ck.adam_m = ck.params + flat;
    ck.adam_v = ck.params + 2 * flat;
    ck.buffers = ck.params + 3 * flat;
    ck.has_training_state = 1;
    ck.position = rt_trainer_position(t);
    ck.config = *rt_trainer_config(t);
    rt_status st = RT_OK;
    if (rt_device_download(dev, ck.params, rt_model_params(m), flat * sizeof(float)) != RT_OK ||
        rt_device_download(dev, ck.adam_m, rt_model_adam_m(m), flat * sizeof(float)) != RT_OK ||
        rt_device_download(dev, ck.adam_v, rt_model_adam_v(m), flat * sizeof(float)) != RT_OK)
        st = rt_device_take_error(dev, err);
    if (st == RT_OK)
        st = rt_model_download_buffers(m, ck.buffers, ck.counters, err);
    if (st == RT_OK)
        st = rt_checkpoint_save(path, &ck, err);
    free(ck.params);
    free(ck.counters);
    return st;
}

rt_status rt_trainer_restore(rt_trainer *t, const rt_checkpoint *ck, rt_error *err)
{
    rt_model *m = rt_trainer_model(t);
    rt_device *dev = rt_model_device(m);
    const rt_network *net = rt_model_network(m);
    if (strcmp(rt_network_json(ck->network), rt_network_json(net)) != 0)
        return rt_error_set(err, RT_ERR_USAGE,
                            "the checkpoint holds a '%s' network, the trainer runs '%s'",
                            rt_network_name(ck->network), rt_network_name(net));
    size_t bytes = rt_network_params_size(net) * sizeof(float);
    if (ck->has_training_state) {
        const char *field = rt_train_config_conflict(rt_trainer_config(t), &ck->config);
        if (field)
            return rt_error_set(err, RT_ERR_USAGE,
                                "%s differs from the checkpoint's: resume with the recipe it "
                                "was saved with", field);
    }
    if (rt_device_upload(dev, rt_model_params(m), ck->params, bytes) != RT_OK)
        return rt_device_take_error(dev, err);
    TRY(rt_model_upload_buffers(m, ck->buffers, ck->counters, err));
    if (!ck->has_training_state || !rt_model_adam_m(m))
        return RT_OK;
    if (rt_device_upload(dev, rt_model_adam_m(m), ck->adam_m, bytes) != RT_OK ||
        rt_device_upload(dev, rt_model_adam_v(m), ck->adam_v, bytes) != RT_OK)
        return rt_device_take_error(dev, err);
    return rt_trainer_set_position(t, &ck->position, err);
}
