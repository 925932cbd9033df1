/* The trainer across several ranks (cfg.dist): NCCL or the host for the
 * gradient sums, synchronised BatchNorm, the ranks' agreement to stop, the
 * whole batch's loss, the model compared at each epoch's end. */
#include <stdlib.h>
#include <string.h>

#include "trainer.h"

/* The device's own collectives (NCCL): rank 0's id to every rank, then
 * every rank joins the communicator. */
static rt_status open_device_sums(rt_trainer *t, rt_error *err)
{
    unsigned char id[RT_COMM_ID_BYTES];
    memset(id, 0, sizeof id);
    if (t->rank == 0 && rt_device_comm_unique_id(t->dev, id) != RT_OK)
        return trainer_device_failed(t, err);
    TRY(rt_dist_broadcast(t->cfg.dist, id, sizeof id, "broadcast of the NCCL id", err));
    if (rt_device_comm_init(t->dev, t->rank, t->ranks, id) != RT_OK)
        return trainer_device_failed(t, err);
    t->device_sums = 1;
    return RT_OK;
}

int rt_trainer_device_sums(const rt_trainer *t) { return t->device_sums; }

static rt_status sum_batchnorm(void *ctx, double *values, int count, rt_error *err)
{
    rt_trainer *t = ctx;
    return rt_dist_sum_f64(t->cfg.dist, values, count, "synchronised BatchNorm's sums", err);
}

/* --sync-bn: every rank must take part in every step's BatchNorm sums. */
static rt_status open_batchnorm_sync(rt_trainer *t, rt_error *err)
{
    if (strcmp(rt_device_kind(t->dev), "cpu") != 0)
        return rt_error_set(err, RT_ERR_USAGE,
                            "--sync-bn runs on the CPU backend only so far (not on %s)",
                            rt_device_kind(t->dev));
    if (t->cfg.batch_size < t->ranks)
        return rt_error_set(err, RT_ERR_USAGE,
                            "--sync-bn: a batch of %d images leaves some of the %d ranks without "
                            "images", t->cfg.batch_size, t->ranks);
    int last = t->train_count % t->cfg.batch_size;
    if (last > 0 && last < t->ranks)
        return rt_error_set(err, RT_ERR_USAGE,
                            "--sync-bn: the last batch of each epoch, of %d image%s, would leave "
                            "some of the %d ranks without images; change --batch-size or "
                            "--train-limit", last, last == 1 ? "" : "s", t->ranks);
    t->bn_sync.sum = sum_batchnorm;
    t->bn_sync.ctx = t;
    t->bn_sync.share = 1.0;
    rt_model_set_batchnorm_sync(t->model, &t->bn_sync);
    return RT_OK;
}

/* The model's backward pass says how far its gradients are final: the
 * buckets lying there start their sums. */
static rt_status gradients_ready(void *ctx, size_t from)
{
    rt_trainer *t = ctx;
    if (rt_dist_buckets_ready(t->buckets, from, &t->sum_err) != RT_OK) {
        t->sum_failed = 1;
        return t->sum_err.status;
    }
    return RT_OK;
}

/* The gradient sums overlapping backward, where the gradients are in host
 * memory (the CPU backend): --bucket-mb, 0 for one sum after backward. */
static rt_status open_buckets(rt_trainer *t, rt_error *err)
{
    if (t->cfg.bucket_mb <= 0.0 || t->cfg.detect_anomaly || t->device_sums ||
        strcmp(rt_device_kind(t->dev), "cpu") != 0)
        return RT_OK;
    size_t floats = (size_t)(t->cfg.bucket_mb * (double)(1 << 20) / sizeof(float));
    TRY(rt_dist_buckets_open(t->cfg.dist, rt_network_params_size(rt_model_network(t->model)),
                             floats > 0 ? floats : 1, &t->buckets, err));
    rt_model_on_gradients_ready(t->model, gradients_ready, t);
    return RT_OK;
}

int rt_trainer_gradient_buckets(const rt_trainer *t) { return rt_dist_buckets_count(t->buckets); }

void trainer_begin_sums(rt_trainer *t)
{
    t->sum_failed = 0;
    if (t->buckets)
        rt_dist_buckets_begin(t->buckets, rt_model_grads(t->model),
                              (float)t->local_n / (float)t->step_n);
}

rt_status trainer_gradients_failed(rt_trainer *t, rt_error *err)
{
    if (!t->sum_failed)
        return trainer_device_failed(t, err);
    *err = t->sum_err;
    return err->status;
}

/* The ranks' gradients summed, each weighted by its share of the batch, so
 * every rank holds the gradient of the whole batch's mean loss. */
rt_status trainer_reduce_gradients(rt_trainer *t, rt_error *err)
{
    rt_model *m = t->model;
    size_t count = rt_network_params_size(rt_model_network(m));
    float *g = rt_model_grads(m), *host = t->grads_host ? t->grads_host : g;
    double start = trainer_now();
    float share = (float)t->local_n / (float)t->step_n;
    if (t->buckets) {
        rt_status st = rt_dist_buckets_finish(t->buckets, err);
        t->reduce_seconds += rt_dist_buckets_waited(t->buckets);
        return st;
    }
    if (t->device_sums) {
        if (rt_device_allreduce_weighted(t->dev, g, count, share,
                                         rt_dist_timeout(t->cfg.dist)) != RT_OK)
            return trainer_device_failed(t, err);
        t->reduce_seconds += trainer_now() - start;
        return RT_OK;
    }
    if (rt_device_synchronize(t->dev) != RT_OK ||
        (t->grads_host && rt_device_download(t->dev, host, g, count * sizeof *host) != RT_OK))
        return trainer_device_failed(t, err);
    for (size_t i = 0; i < count; i++)
        host[i] *= share;
    TRY(rt_dist_sum_f32(t->cfg.dist, host, count, "gradient all-reduce", err));
    if (t->grads_host && rt_device_upload(t->dev, g, host, count * sizeof *host) != RT_OK)
        return trainer_device_failed(t, err);
    t->reduce_seconds += trainer_now() - start;
    return RT_OK;
}

/* Several ranks stop together or not at all: a stop asked of one (a
 * signal, a failed save on rank 0) is every rank's. timeout: how long the
 * others may wait for the slowest (rank 0 saving a checkpoint). */
rt_status trainer_agree_stop(rt_trainer *t, int *stop, double timeout, rt_error *err)
{
    if (t->ranks == 1)
        return RT_OK;
    *stop |= t->cfg.stop_flag && *t->cfg.stop_flag;
    return rt_dist_any(t->cfg.dist, stop, timeout, "agreement to stop or go on", err);
}

/* The loss of the whole last batch: each rank's mean weighted by its share. */
rt_status trainer_batch_loss(rt_trainer *t, const rt_step_state *s, float *loss, rt_error *err)
{
    *loss = s->loss;
    if (t->ranks == 1)
        return RT_OK;
    double part = t->local_n ? (double)s->loss * t->local_n / t->step_n : 0.0;
    TRY(rt_dist_sum_f64(t->cfg.dist, &part, 1, "loss's sum", err));
    *loss = (float)part;
    return RT_OK;
}

/* At an epoch's end the ranks take rank 0's BatchNorm statistics (each
 * computed its own from its share of the batches, as DDP with
 * broadcast_buffers), then check that they hold the same parameters. */
rt_status trainer_agree_on_model(rt_trainer *t, int epoch, rt_error *err)
{
    if (t->ranks == 1)
        return RT_OK;
    const rt_network *net = rt_model_network(t->model);
    size_t nparams = rt_network_params_size(net), nbuf = rt_network_buffers_size(net);
    size_t ncount = rt_network_counter_count(net);
    float *host = malloc((nparams + nbuf + 1) * sizeof *host);
    int64_t *counters = malloc((ncount + 1) * sizeof *counters);
    rt_status st = RT_OK;
    if (!host || !counters)
        st = rt_error_set(err, RT_ERR_NOMEM, "out of host memory comparing the ranks' models");
    if (st == RT_OK && nbuf + ncount > 0) {
        st = rt_model_download_buffers(t->model, host + nparams, counters, err);
        if (st == RT_OK)
            st = rt_dist_broadcast(t->cfg.dist, host + nparams, nbuf * sizeof *host,
                                   "BatchNorm statistics' broadcast", err);
        if (st == RT_OK)
            st = rt_dist_broadcast(t->cfg.dist, counters, ncount * sizeof *counters,
                                   "BatchNorm counters' broadcast", err);
        if (st == RT_OK)
            st = rt_model_upload_buffers(t->model, host + nparams, counters, err);
    }
    if (st == RT_OK)
        st = rt_model_download_params(t->model, host, err);
    if (st == RT_OK) {
        uint64_t mine = rt_dist_checksum(host, nparams * sizeof *host, 0), theirs;
        int other;
        st = rt_dist_compare(t->cfg.dist, mine, &other, &theirs, "parameters' checksums", err);
        if (st == RT_OK && other >= 0)
            st = rt_error_set(err, RT_ERR_NUMERIC,
                              "after epoch %d the parameters of rank %d differ from rank 0's "
                              "(checksums %016llx and %016llx): the ranks no longer train one "
                              "model; stopping",
                              epoch, other, (unsigned long long)theirs,
                              (unsigned long long)(t->rank == 0 ? mine : 0));
    }
    free(host);
    free(counters);
    return st;
}

rt_status trainer_ranks_open(rt_trainer *t, int training, rt_error *err)
{
    if (rt_device_has_collectives(t->dev))
        TRY(open_device_sums(t, err));
    if (t->cfg.sync_bn && training)
        TRY(open_batchnorm_sync(t, err));
    if (training)
        TRY(open_buckets(t, err));
    if (!t->device_sums && strcmp(rt_device_kind(t->dev), "cpu") != 0) {
        size_t count = rt_network_params_size(rt_model_network(t->model));
        t->grads_host = malloc(count * sizeof *t->grads_host);
        if (!t->grads_host)
            return rt_error_set(err, RT_ERR_NOMEM,
                                "out of host memory for the gradient all-reduce");
    }
    return RT_OK;
}

rt_status trainer_eval_sums(rt_trainer *t, rt_step_state *s, rt_error *err)
{
    if (t->ranks == 1)
        return RT_OK;
    double sums[4] = {s->loss_sum, s->correct, s->correct5, s->batches};
    TRY(rt_dist_sum_f64(t->cfg.dist, sums, 4, "evaluation's sums", err));
    s->loss_sum = sums[0];
    s->correct = (int32_t)sums[1];
    s->correct5 = (int32_t)sums[2];
    s->batches = (int32_t)sums[3];
    return RT_OK;
}
