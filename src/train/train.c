/* The training driver. Everything a step needs lives on the device: the
 * datasets as bytes, the pass order, and an rt_step_state per pass. A step
 * is one rt_device_run_step() call, so devices with graphs replay it; the
 * host only reads the state back when it reports. */
#include "resnet/train.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "resnet/augment.h"
#include "trainer.h"



double trainer_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

rt_status trainer_device_failed(rt_trainer *t, rt_error *err)
{
    return rt_device_take_error(t->dev, err);
}

/* resizable: the set is cropped and resized to the input (training under
 * resized_crop), so only its channels must match. */
static rt_status upload_dataset(rt_trainer *t, const rt_dataset *set, int resizable,
                                uint8_t **images, uint8_t **labels, rt_error *err)
{
    size_t pixels = (size_t)set->channels * (size_t)set->rows * (size_t)set->cols;
    rt_network_input in = rt_network_input_of(rt_model_network(t->model));
    if (in.channels != set->channels ||
        (!resizable && (set->rows != in.height || set->cols != in.width)))
        return rt_error_set(err, RT_ERR_USAGE,
                            "the images are %dx%dx%d, network '%s' takes %dx%dx%d", set->channels,
                            set->rows, set->cols, rt_network_name(rt_model_network(t->model)),
                            in.channels, in.height, in.width);
    if (resizable && (set->rows > RT_MAX_IMAGE_SIDE || set->cols > RT_MAX_IMAGE_SIDE))
        return rt_error_set(err, RT_ERR_USAGE,
                            "--random-resized-crop: %dx%d training images, larger than %d a side",
                            set->rows, set->cols, RT_MAX_IMAGE_SIDE);
    if (set->count < 1)
        return rt_error_set(err, RT_ERR_FORMAT, "a dataset has no images");
    for (int32_t i = 0; i < set->count; i++)
        if (set->labels[i] >= in.classes)
            return rt_error_set(err, RT_ERR_USAGE,
                                "label %d of image %d is past the %d classes of network '%s'",
                                set->labels[i], (int)i, in.classes,
                                rt_network_name(rt_model_network(t->model)));
    *images = rt_device_alloc(t->dev, (size_t)set->count * pixels);
    *labels = rt_device_alloc(t->dev, (size_t)set->count);
    if (!*images || !*labels)
        return trainer_device_failed(t, err);
    if (rt_device_upload(t->dev, *images, set->images, (size_t)set->count * pixels) != RT_OK ||
        rt_device_upload(t->dev, *labels, set->labels, (size_t)set->count) != RT_OK)
        return trainer_device_failed(t, err);
    return RT_OK;
}

static int steps_per_epoch(const rt_trainer *t)
{
    return (t->train_count + t->cfg.batch_size - 1) / t->cfg.batch_size;
}

/* Each step's learning rate, computed once and kept on the device. */
static rt_status build_lr_table(rt_trainer *t, rt_error *err)
{
    int per_epoch = steps_per_epoch(t);
    TRY(rt_schedule_check(&t->cfg, per_epoch, err));
    if (rt_schedule_is_constant(&t->cfg))
        return RT_OK;
    int64_t length = (int64_t)t->cfg.epochs * per_epoch;
    if (length < 1)
        length = 1;
    float *host = malloc((size_t)length * sizeof *host);
    if (!host)
        return rt_error_set(err, RT_ERR_NOMEM, "out of host memory for the %lld-step schedule",
                            (long long)length);
    for (int64_t k = 0; k < length; k++)
        host[k] = (float)rt_schedule_lr(&t->cfg, k, per_epoch);
    t->lr_table = rt_device_alloc(t->dev, (size_t)length * sizeof *host);
    rt_status st = RT_OK;
    if (!t->lr_table || rt_device_upload(t->dev, t->lr_table, host,
                                         (size_t)length * sizeof *host) != RT_OK)
        st = trainer_device_failed(t, err);
    free(host);
    t->lr_table_len = length;
    return st;
}

/* Runs of the flat parameter buffer with and without weight decay
 * (--no-decay-norm-bias: none on 1-D tensors, BatchNorm's and biases);
 * each run reaches to the next run's first tensor, alignment gap included
 * (its values stay zero under either optimiser). */
static rt_status build_decay_segments(rt_trainer *t, rt_error *err)
{
    const rt_network *net = rt_model_network(t->model);
    int count = rt_network_tensor_count(net);
    t->segments = malloc(((size_t)count + 1) * sizeof *t->segments);
    if (!t->segments)
        return rt_error_set(err, RT_ERR_NOMEM, "out of host memory for the parameter groups");
    int n = 0;
    for (int i = 0; i < count; i++) {
        const rt_tensor_info *ti = rt_network_tensor(net, i);
        if (ti->role != RT_TENSOR_PARAMETER)
            continue;
        int decay = ti->ndim > 1;
        if (n > 0 && t->segments[n - 1].decay == decay)
            continue;
        if (n > 0)
            t->segments[n - 1].count = ti->offset - t->segments[n - 1].offset;
        t->segments[n].offset = n == 0 ? 0 : ti->offset;
        t->segments[n].decay = decay;
        n++;
    }
    if (n > 0)
        t->segments[n - 1].count = rt_network_params_size(net) - t->segments[n - 1].offset;
    t->segment_count = n;
    return RT_OK;
}

/* The batch transforms: augmentation for training, normalisation for both. */
static rt_status build_transforms(rt_trainer *t, rt_error *err)
{
    const rt_train_config *cfg = &t->cfg;
    t->transformed = cfg->crop_pad > 0 || cfg->flip || cfg->normalize || cfg->resized_crop;
    if (!t->transformed)
        return RT_OK;
    rt_network_input in = rt_network_input_of(rt_model_network(t->model));
    if (in.channels > RT_MAX_CHANNELS)
        return rt_error_set(err, RT_ERR_USAGE,
                            "--normalize and augmentation take at most %d channels (the input "
                            "has %d)", RT_MAX_CHANNELS, in.channels);
    if (cfg->crop_pad > in.height || cfg->crop_pad > in.width)
        return rt_error_set(err, RT_ERR_USAGE, "--crop-pad %d is larger than the %dx%d images",
                            cfg->crop_pad, in.height, in.width);
    rt_batch_transform tf;
    memset(&tf, 0, sizeof tf);
    tf.channels = in.channels, tf.height = in.height, tf.width = in.width;
    tf.normalize = cfg->normalize;
    for (int c = 0; c < RT_MAX_CHANNELS; c++) {
        tf.mean[c] = cfg->mean[c];
        tf.std[c] = cfg->normalize ? cfg->std[c] : 1.0f;
    }
    t->eval_tf = tf;
    tf.crop_pad = cfg->crop_pad;
    tf.flip = cfg->flip;
    /* the augmentation stream is independent of the others */
    tf.seed = cfg->seed ^ 0x4155474d454e54ull;
    if (cfg->resized_crop && t->train_count > 0)
        TRY(rt_batch_transform_resized_crop(&tf, t->train_rows, t->train_cols, cfg->crop_scale[0],
                                            cfg->crop_scale[1], err));
    t->train_tf = tf;
    return RT_OK;
}





static rt_status prepare_recipe(rt_trainer *t, int training, rt_error *err)
{
    TRY(build_transforms(t, err));
    if (!training)
        return RT_OK;
    TRY(build_lr_table(t, err));
    if (t->cfg.no_decay_norm_bias && t->cfg.adam.weight_decay != 0.0f)
        TRY(build_decay_segments(t, err));
    return RT_OK;
}

rt_status rt_trainer_create(rt_device *dev, const rt_network *net, const rt_dataset *train,
                            const rt_dataset *test, const rt_train_config *cfg, rt_trainer **out,
                            rt_error *err)
{
    *out = NULL;
    TRY(rt_train_config_check(cfg, err));
    rt_trainer *t = calloc(1, sizeof *t);
    if (!t)
        return rt_error_set(err, RT_ERR_NOMEM, "out of host memory creating the trainer");
    t->dev = dev;
    t->cfg = *cfg;
    t->order_epoch = -1;
    t->train_count = train ? train->count : 0;
    t->train_rows = train ? train->rows : 0;
    t->train_cols = train ? train->cols : 0;
    t->train_pixels = train ? (size_t)train->channels * (size_t)train->rows * (size_t)train->cols : 0;
    t->rank = rt_dist_rank(cfg->dist);
    t->ranks = rt_dist_size(cfg->dist);
    t->test_count = test->count;
    rt_status st = rt_model_create(dev, net, cfg->batch_size, train != NULL, &t->model, err);
    if (st == RT_OK)
        st = rt_model_init_params(t->model, cfg->seed, err);
    if (st == RT_OK && train)
        st = upload_dataset(t, train, cfg->resized_crop, &t->train_images, &t->train_labels, err);
    if (st == RT_OK)
        st = upload_dataset(t, test, 0, &t->test_images, &t->test_labels, err);
    if (st == RT_OK) {
        t->order_host = malloc(((size_t)t->train_count + 1) * sizeof *t->order_host);
        t->order = rt_device_alloc(dev, ((size_t)t->train_count + 1) * sizeof *t->order);
        t->train_state = rt_device_alloc(dev, sizeof *t->train_state);
        t->eval_state = rt_device_alloc(dev, sizeof *t->eval_state);
        if (!t->order_host)
            st = rt_error_set(err, RT_ERR_NOMEM, "out of host memory for the sample order");
        else if (!t->order || !t->train_state || !t->eval_state)
            st = trainer_device_failed(t, err);
    }
    if (st == RT_OK && t->ranks > 1)
        st = trainer_ranks_open(t, train != NULL, err);
    if (st != RT_OK) {
        rt_trainer_destroy(t);
        return st;
    }
    /* the shuffle stream is independent of the initialisation stream */
    rt_rng_seed(&t->rng, cfg->seed ^ 0x53485546464c45ull);
    t->pos.epoch_rng = t->rng;
    t->pos.ranks = t->ranks;
    rt_step_state s = {0};
    s.nonfinite_step = -1;
    s.lr = cfg->lr;
    if (rt_device_upload(dev, t->train_state, &s, sizeof s) != RT_OK)
        st = trainer_device_failed(t, err);
    if (st == RT_OK)
        st = prepare_recipe(t, train != NULL, err);
    if (st != RT_OK) {
        rt_trainer_destroy(t);
        return st;
    }
    *out = t;
    return RT_OK;
}

void rt_trainer_destroy(rt_trainer *t)
{
    if (!t)
        return;
    rt_device_free(t->dev, t->lr_table);
    free(t->segments);
    rt_device_free(t->dev, t->eval_state);
    rt_device_free(t->dev, t->train_state);
    rt_device_free(t->dev, t->order);
    rt_device_free(t->dev, t->test_labels);
    rt_device_free(t->dev, t->test_images);
    rt_device_free(t->dev, t->train_labels);
    rt_device_free(t->dev, t->train_images);
    rt_model_destroy(t->model);
    free(t->grads_host);
    rt_dist_buckets_close(t->buckets);
    free(t->order_host);
    free(t);
}

rt_model *rt_trainer_model(rt_trainer *t) { return t->model; }
const rt_train_config *rt_trainer_config(const rt_trainer *t) { return &t->cfg; }
rt_train_position rt_trainer_position(const rt_trainer *t) { return t->pos; }

/* Brings the device state to the start (or resume point) of pos.epoch:
 * draws the epoch's order and sets cursor, learning rate and counters. */
static rt_status begin_epoch(rt_trainer *t, rt_error *err)
{
    if (t->cfg.shuffle && t->order_epoch != t->pos.epoch) {
        t->rng = t->pos.epoch_rng;
        for (int32_t i = 0; i < t->train_count; i++)
            t->order_host[i] = i;
        rt_rng_shuffle(&t->rng, t->order_host, t->train_count);
        if (rt_device_upload(t->dev, t->order, t->order_host,
                             (size_t)t->train_count * sizeof *t->order) != RT_OK)
            return trainer_device_failed(t, err);
        t->order_epoch = t->pos.epoch;
    }
    rt_step_state s;
    if (rt_device_download(t->dev, &s, t->train_state, sizeof s) != RT_OK)
        return trainer_device_failed(t, err);
    s.cursor = t->pos.cursor;
    s.steps = t->pos.steps;
    s.lr = (float)rt_schedule_lr(&t->cfg, t->pos.steps, steps_per_epoch(t));
    s.correct = 0;
    s.batches = 0;
    s.loss_sum = 0.0;
    if (rt_device_upload(t->dev, t->train_state, &s, sizeof s) != RT_OK)
        return trainer_device_failed(t, err);
    return RT_OK;
}

rt_status rt_trainer_set_position(rt_trainer *t, const rt_train_position *pos, rt_error *err)
{
    if (pos->epoch < 0 || pos->cursor < 0 || pos->cursor > t->train_count || pos->steps < 0)
        return rt_error_set(err, RT_ERR_FORMAT,
                            "training position out of range (epoch %d, sample %d of %d, step %lld)",
                            pos->epoch, pos->cursor, t->train_count, (long long)pos->steps);
    if (pos->cursor % t->cfg.batch_size != 0 && pos->cursor != t->train_count)
        return rt_error_set(err, RT_ERR_FORMAT,
                            "training position %d is not a multiple of the batch size %d",
                            pos->cursor, t->cfg.batch_size);
    t->pos = *pos;
    t->pos.ranks = t->ranks; /* from here on, this world trains it */
    t->order_epoch = -1;
    if (t->pos.cursor >= t->train_count) {
        /* saved at the very end of an epoch: the next one starts afresh,
         * with the shuffle generator as that epoch's shuffle left it */
        t->rng = t->pos.epoch_rng;
        if (t->cfg.shuffle)
            rt_rng_shuffle(&t->rng, t->order_host, t->train_count);
        t->pos.epoch += 1;
        t->pos.cursor = 0;
        t->pos.epoch_rng = t->rng;
    }
    return begin_epoch(t, err);
}

/* n samples from `offset` past the pass's cursor into the model's input,
 * through tf when the recipe transforms its input, else as the seed's
 * byte / 255. stored: bytes of one stored image. A rank's share of a batch
 * starts at its offset in the order (or the file), and its augmentation
 * draws are those of its samples' places in the whole batch. */
static rt_status load_batch(rt_trainer *t, const uint8_t *images, const uint8_t *labels,
                            size_t stored, const int32_t *order, const rt_batch_transform *tf,
                            const rt_step_state *state, int n, int offset)
{
    rt_model *m = t->model;
    if (order) {
        order += offset;
    } else {
        images += (size_t)offset * stored;
        labels += offset;
    }
    if (t->transformed) {
        rt_batch_transform shifted = *tf;
        shifted.sample0 = offset;
        return rt_op_load_batch_transformed(t->dev, images, labels, order, n, &shifted, state,
                                            rt_model_input(m), rt_model_labels(m));
    }
    return rt_op_load_batch(t->dev, images, labels, order, (int)rt_model_input_size(m), n, state,
                            rt_model_input(m), rt_model_labels(m));
}

/* The gradients of the next batch (this rank's share of it): load,
 * forward, loss, backward. */
static rt_status gradients(rt_trainer *t)
{
    rt_device *d = t->dev;
    rt_model *m = t->model;
    int n = t->local_n;
    if (n == 0) /* a last batch smaller than the world: this rank adds nothing */
        return rt_device_zero(d, rt_model_grads(m),
                              rt_network_params_size(rt_model_network(m)) * sizeof(float));
    TRY(load_batch(t, t->train_images, t->train_labels, t->train_pixels,
                   t->cfg.shuffle ? t->order : NULL, &t->train_tf, t->train_state, n,
                   t->local_off));
    TRY(rt_model_forward(m, n, 1));
    TRY(rt_op_softmax_cross_entropy_smoothed(d, n, rt_model_classes(m), t->cfg.label_smoothing,
                                             rt_model_logits(m), rt_model_labels(m),
                                             rt_model_dlogits(m), t->train_state));
    return rt_model_backward(m, n);
}

/* The optimiser over one run of the flat buffers. */
static rt_status optimise(rt_trainer *t, size_t offset, size_t count, float weight_decay)
{
    rt_model *m = t->model;
    const rt_train_config *cfg = &t->cfg;
    float *p = rt_model_params(m) + offset, *m1 = rt_model_adam_m(m) + offset;
    const float *g = rt_model_grads(m) + offset;
    if (cfg->optimizer == RT_OPTIMIZER_SGD) {
        rt_sgd_config sgd = {cfg->momentum, cfg->dampening, weight_decay, cfg->nesterov};
        return rt_op_sgd(t->dev, count, p, g, m1, &sgd, t->train_state);
    }
    rt_adam_config adam = cfg->adam;
    adam.weight_decay = weight_decay;
    adam.decoupled = cfg->optimizer == RT_OPTIMIZER_ADAMW;
    return rt_op_adam(t->dev, count, p, g, m1, rt_model_adam_v(m) + offset, &adam,
                      t->train_state);
}

/* The optimiser step, and the step's end. */
static rt_status update(rt_trainer *t)
{
    rt_model *m = t->model;
    if (t->lr_table)
        TRY(rt_op_lr_from_table(t->dev, t->lr_table, t->lr_table_len, t->train_state));
    if (t->segments) {
        for (int i = 0; i < t->segment_count; i++)
            TRY(optimise(t, t->segments[i].offset, t->segments[i].count,
                         t->segments[i].decay ? t->cfg.adam.weight_decay : 0.0f));
    } else {
        TRY(optimise(t, 0, rt_network_params_size(rt_model_network(m)),
                     t->cfg.adam.weight_decay));
    }
    return rt_op_step_advance(t->dev, t->train_state, t->step_n, 1);
}

static rt_status train_step_fn(void *ctx)
{
    TRY(gradients(ctx));
    return update(ctx);
}

static rt_status gradients_fn(void *ctx) { return gradients(ctx); }
static rt_status update_fn(void *ctx) { return update(ctx); }


/* --detect-anomaly: a step run eagerly with a check between the backward
 * pass and Adam; at the first NaN or Inf the step is traced op by op (the
 * parameters are still those that produced it) to name where it began. */
static rt_status checked_train_step(rt_trainer *t, rt_error *err)
{
    rt_model *m = t->model;
    size_t flat = rt_network_params_size(rt_model_network(m));
    if (gradients(t) != RT_OK)
        return trainer_device_failed(t, err);
    rt_step_state s;
    float *grads = malloc(flat * sizeof *grads);
    if (!grads)
        return rt_error_set(err, RT_ERR_NOMEM, "out of host memory checking gradients");
    int bad = 0;
    if (rt_device_download(t->dev, &s, t->train_state, sizeof s) != RT_OK ||
        rt_device_download(t->dev, grads, rt_model_grads(m), flat * sizeof *grads) != RT_OK) {
        free(grads);
        return trainer_device_failed(t, err);
    }
    bad = !isfinite(s.loss);
    for (size_t i = 0; i < flat && !bad; i++)
        bad = !isfinite(grads[i]);
    free(grads);
    if (bad) {
        char where[256];
        rt_step_state *scratch = rt_device_alloc(t->dev, sizeof *scratch);
        if (!scratch)
            return trainer_device_failed(t, err);
        rt_status st = rt_model_trace_nonfinite(m, t->local_n, scratch, where, sizeof where, err);
        rt_device_free(t->dev, scratch);
        if (st != RT_OK)
            return st;
        int64_t step = t->pos.steps + 1;
        int per_epoch = steps_per_epoch(t);
        return rt_error_set(err, RT_ERR_NUMERIC,
                            "NaN or Inf at step %lld (epoch %lld, batch %lld): it first appears in %s",
                            (long long)step, (long long)((step - 1) / per_epoch + 1),
                            (long long)((step - 1) % per_epoch + 1),
                            where[0] ? where : "the loss (every op's output was finite when traced)");
    }
    if (t->ranks > 1)
        TRY(trainer_reduce_gradients(t, err));
    if (update(t) != RT_OK)
        return trainer_device_failed(t, err);
    return RT_OK;
}

static rt_status eval_step_fn(void *ctx)
{
    rt_trainer *t = ctx;
    rt_device *d = t->dev;
    rt_model *m = t->model;
    int n = t->step_n;
    TRY(load_batch(t, t->test_images, t->test_labels, rt_model_input_size(m), NULL, &t->eval_tf,
                   t->eval_state, n, 0));
    TRY(rt_model_forward(m, n, 0));
    TRY(rt_op_softmax_cross_entropy_smoothed(d, n, rt_model_classes(m), t->cfg.label_smoothing,
                                             rt_model_logits(m), rt_model_labels(m), NULL,
                                             t->eval_state));
    /* several ranks take every ranks-th batch */
    return rt_op_step_advance(d, t->eval_state, t->ranks > 1 ? t->cfg.batch_size * t->ranks : n, 0);
}

/* Runs the next training step of the current epoch on the device. */
static rt_status run_train_step(rt_trainer *t, rt_error *err)
{
    int remaining = t->train_count - t->pos.cursor;
    t->step_n = remaining < t->cfg.batch_size ? remaining : t->cfg.batch_size;
    rt_dist_slice(t->step_n, t->ranks, t->rank, &t->local_off, &t->local_n);
    t->bn_sync.share = (double)t->local_n / (double)t->step_n;
    if (t->cfg.detect_anomaly) {
        TRY(checked_train_step(t, err));
    } else if (t->ranks == 1) {
        if (rt_device_run_step(t->dev, KEY_TRAIN + t->step_n, train_step_fn, t) != RT_OK)
            return trainer_device_failed(t, err);
    } else {
        trainer_begin_sums(t);
        if (rt_device_run_step(t->dev, KEY_GRADIENTS + t->step_n, gradients_fn, t) != RT_OK)
            return trainer_gradients_failed(t, err);
        TRY(trainer_reduce_gradients(t, err));
        if (rt_device_run_step(t->dev, KEY_UPDATE + t->step_n, update_fn, t) != RT_OK)
            return trainer_device_failed(t, err);
    }
    t->pos.cursor += t->step_n;
    t->pos.steps += 1;
    return RT_OK;
}

rt_status rt_trainer_step(rt_trainer *t, rt_error *err)
{
    if (t->train_count == 0)
        return rt_error_set(err, RT_ERR_USAGE, "this trainer was made without a training set");
    if (t->pos.cursor >= t->train_count) {
        t->pos.epoch += 1;
        t->pos.cursor = 0;
        t->pos.epoch_rng = t->rng;
        TRY(begin_epoch(t, err));
    } else if (t->order_epoch != t->pos.epoch && t->cfg.shuffle) {
        TRY(begin_epoch(t, err));
    }
    return run_train_step(t, err);
}

rt_status rt_trainer_evaluate(rt_trainer *t, rt_eval_result *out, rt_error *err)
{
    return rt_trainer_evaluate_logits(t, NULL, out, err);
}

rt_status rt_trainer_evaluate_logits(rt_trainer *t, float *logits, rt_eval_result *out,
                                     rt_error *err)
{
    if (logits && t->ranks > 1)
        return rt_error_set(err, RT_ERR_USAGE, "the test set's logits are kept by one rank only");
    size_t classes = (size_t)rt_model_classes(t->model);
    rt_step_state s = {0};
    s.nonfinite_step = -1;
    int batch = t->cfg.batch_size;
    s.cursor = t->rank * batch; /* several ranks take every ranks-th batch */
    if (rt_device_upload(t->dev, t->eval_state, &s, sizeof s) != RT_OK)
        return trainer_device_failed(t, err);
    for (int32_t start = s.cursor; start < t->test_count; start += batch * t->ranks) {
        t->step_n = t->test_count - start < batch ? t->test_count - start : batch;
        if (rt_device_run_step(t->dev, KEY_EVAL + t->step_n, eval_step_fn, t) != RT_OK)
            return trainer_device_failed(t, err);
        if (logits && rt_device_download(t->dev, logits + (size_t)start * classes,
                                         rt_model_logits(t->model),
                                         (size_t)t->step_n * classes * sizeof *logits) != RT_OK)
            return trainer_device_failed(t, err);
    }
    if (rt_device_download(t->dev, &s, t->eval_state, sizeof s) != RT_OK)
        return trainer_device_failed(t, err);
    TRY(trainer_eval_sums(t, &s, err));
    out->correct = s.correct;
    out->correct5 = s.correct5;
    out->accuracy5 = 100.0 * ((double)s.correct5 / (double)t->test_count);
    out->total = t->test_count;
    out->batches = s.batches;
    out->accuracy = 100.0 * ((double)s.correct / (double)t->test_count);
    out->avg_loss = s.loss_sum / (double)s.batches;
    return RT_OK;
}

static rt_status check_finite(rt_trainer *t, const rt_step_state *s, rt_error *err)
{
    if (s->nonfinite_step < 0)
        return RT_OK;
    int64_t step = s->nonfinite_step + 1; /* 1-based, as the log counts */
    int per_epoch = steps_per_epoch(t);
    return rt_error_set(err, RT_ERR_NUMERIC,
                        "NaN or Inf in the loss, the gradients or Adam's state at step %lld (epoch %lld, batch "
                        "%lld); stopping (lower --lr, or rerun with --detect-anomaly to find the "
                        "layer)",
                        (long long)step, (long long)((step - 1) / per_epoch + 1),
                        (long long)((step - 1) % per_epoch + 1));
}

static int emit(rt_train_callback cb, void *ctx, const rt_train_event *ev)
{
    return cb ? cb(ctx, ev) : 0;
}




rt_status rt_trainer_run(rt_trainer *t, int save_every, rt_train_callback cb, void *cb_ctx,
                         rt_error *err)
{
    const rt_train_config *cfg = &t->cfg;
    if (t->train_count == 0)
        return rt_error_set(err, RT_ERR_USAGE, "this trainer was made without a training set");
    int per_epoch = steps_per_epoch(t);
    rt_train_event ev;
    if (t->pos.cursor >= t->train_count) {
        t->pos.epoch += 1;
        t->pos.cursor = 0;
        t->pos.epoch_rng = t->rng;
    }
    while (t->pos.epoch < cfg->epochs) {
        TRY(begin_epoch(t, err));
        memset(&ev, 0, sizeof ev);
        ev.kind = RT_EVENT_EPOCH_BEGIN;
        ev.epoch = t->pos.epoch + 1;
        ev.epochs = cfg->epochs;
        ev.step = t->pos.cursor / cfg->batch_size; /* resumed: steps already done */
        ev.steps_per_epoch = per_epoch;
        if (emit(cb, cb_ctx, &ev))
            return rt_error_set(err, RT_ERR_INTERRUPTED, "stopped");
        if (rt_device_synchronize(t->dev) != RT_OK)
            return trainer_device_failed(t, err);
        double start = trainer_now(), last_progress = start;
        t->reduce_seconds = 0.0;
        int32_t first_cursor = t->pos.cursor;
        int stop = 0; /* a signal, or a callback asking to stop */
        while (t->pos.cursor < t->train_count) {
            TRY(run_train_step(t, err));
            int step = (t->pos.cursor + cfg->batch_size - 1) / cfg->batch_size;
            ev.step = step;
            ev.global_step = t->pos.steps;
            stop |= cfg->stop_flag && *cfg->stop_flag;
            if (step % cfg->log_every == 0) {
                rt_step_state s;
                if (rt_device_download(t->dev, &s, t->train_state, sizeof s) != RT_OK)
                    return trainer_device_failed(t, err);
                TRY(check_finite(t, &s, err));
                ev.kind = RT_EVENT_STEP_LOG;
                TRY(trainer_batch_loss(t, &s, &ev.loss, err));
                /* the download waited for the device: the clock is the
                 * device's progress, without a synchronisation of its own */
                ev.lr = s.lr;
                ev.seconds = trainer_now() - start;
                ev.images_per_second =
                    ev.seconds > 0.0 ? (t->pos.cursor - first_cursor) / ev.seconds : 0.0;
                stop |= emit(cb, cb_ctx, &ev);
            }
            if (cfg->progress_interval > 0.0) {
                double now = trainer_now();
                if (now - last_progress >= cfg->progress_interval) {
                    if (rt_device_synchronize(t->dev) != RT_OK)
                        return trainer_device_failed(t, err);
                    now = trainer_now();
                    last_progress = now;
                    ev.kind = RT_EVENT_PROGRESS;
                    ev.seconds = now - start;
                    ev.images_per_second = (t->pos.cursor - first_cursor) / (now - start);
                    stop |= emit(cb, cb_ctx, &ev);
                }
            }
            TRY(trainer_agree_stop(t, &stop, 0.0, err));
            if (t->pos.cursor >= t->train_count)
                break; /* a stop now is handled where the epoch ends */
            int save_now = save_every > 0 && t->pos.steps % save_every == 0;
            if (stop || save_now) {
                rt_step_state s;
                if (rt_device_download(t->dev, &s, t->train_state, sizeof s) != RT_OK)
                    return trainer_device_failed(t, err);
                TRY(check_finite(t, &s, err));
                ev.kind = RT_EVENT_CHECKPOINT;
                stop |= emit(cb, cb_ctx, &ev);
                TRY(trainer_agree_stop(t, &stop, 3600.0, err));
            }
            if (stop)
                return rt_error_set(err, RT_ERR_INTERRUPTED,
                                    "stopped at step %d of epoch %d", step, t->pos.epoch + 1);
        }
        rt_step_state s;
        if (rt_device_download(t->dev, &s, t->train_state, sizeof s) != RT_OK)
            return trainer_device_failed(t, err);
        double seconds = trainer_now() - start;
        TRY(check_finite(t, &s, err));
        TRY(trainer_agree_on_model(t, t->pos.epoch + 1, err));
        ev.kind = RT_EVENT_EPOCH_END;
        ev.seconds = seconds;
        ev.images_per_second = (t->train_count - first_cursor) / seconds;
        ev.reduce_seconds = t->reduce_seconds;
        stop |= emit(cb, cb_ctx, &ev);
        /* the epoch is complete: the position moves to the next one */
        t->pos.epoch += 1;
        t->pos.cursor = 0;
        t->pos.epoch_rng = t->rng;
        if (cfg->eval_every > 0 && (ev.epoch % cfg->eval_every) == 0 && ev.epoch < cfg->epochs) {
            rt_eval_result r;
            TRY(rt_trainer_evaluate(t, &r, err));
            ev.kind = RT_EVENT_EVAL;
            ev.eval = r;
            ev.final_eval = 0;
            stop |= emit(cb, cb_ctx, &ev);
        }
        ev.kind = RT_EVENT_CHECKPOINT;
        stop |= emit(cb, cb_ctx, &ev);
        TRY(trainer_agree_stop(t, &stop, 3600.0, err));
        if (stop || (cfg->stop_flag && *cfg->stop_flag))
            return rt_error_set(err, RT_ERR_INTERRUPTED, "stopped after epoch %d", ev.epoch);
    }
    rt_eval_result r;
    TRY(rt_trainer_evaluate(t, &r, err));
    memset(&ev, 0, sizeof ev);
    ev.kind = RT_EVENT_EVAL;
    ev.epoch = t->pos.epoch;
    ev.epochs = cfg->epochs;
    ev.global_step = t->pos.steps;
    ev.final_eval = 1;
    ev.eval = r;
    emit(cb, cb_ctx, &ev);
    return RT_OK;
}
