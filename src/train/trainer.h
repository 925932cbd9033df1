/* The trainer's insides, shared by the driver (train.c) and its
 * data-parallel part (train_ranks.c). Not a public header. */
#ifndef RT_TRAINER_H
#define RT_TRAINER_H

#include "resnet/train.h"

#define TRY(call)                        \
    do {                                 \
        rt_status st_ = (call);          \
        if (st_ != RT_OK)                \
            return st_;                  \
    } while (0)

/* Keys of the captured steps: the batch size is baked into a capture. */
enum { KEY_TRAIN = 1 << 24, KEY_EVAL = 2 << 24, KEY_GRADIENTS = 3 << 24, KEY_UPDATE = 4 << 24 };

struct rt_trainer {
    rt_device *dev;
    rt_model *model;
    rt_train_config cfg;
    int32_t train_count, test_count;
    int32_t train_rows, train_cols; /* the stored training images' size */
    size_t train_pixels;            /* bytes of one stored training image */
    uint8_t *train_images, *train_labels, *test_images, *test_labels; /* device */
    int32_t *order;        /* device: the epoch's sample order (shuffle only) */
    int32_t *order_host;
    rt_step_state *train_state, *eval_state; /* device */
    rt_train_position pos;
    rt_rng rng;            /* the shuffle generator */
    int order_epoch;       /* the epoch `order` was drawn for, -1 for none */
    int step_n;            /* the batch size of the step being run */
    /* data-parallel training (cfg.dist): this rank's share of each batch */
    int rank, ranks;
    int local_n, local_off; /* the samples of the step's batch this rank computes */
    float *grads_host;      /* the all-reduce's host copy where device memory is not the host's */
    int device_sums;        /* the device sums the ranks' gradients itself (NCCL) */
    rt_batchnorm_sync bn_sync; /* --sync-bn: BatchNorm's sums over the ranks */
    double reduce_seconds;  /* spent in the gradient all-reduce this epoch */
    rt_dist_buckets *buckets; /* the gradient sums overlapping backward (CPU), NULL for none */
    rt_error sum_err;       /* why a bucket's sum failed inside the backward pass */
    int sum_failed;
    float *lr_table;       /* device: each step's rate, for schedules that change it */
    int64_t lr_table_len;
    int transformed;       /* load through train_tf/eval_tf (else the seed's byte / 255) */
    rt_batch_transform train_tf, eval_tf;
    int segment_count;     /* parameter runs with and without weight decay */
    struct decay_segment { size_t offset, count; int decay; } *segments;
};

double trainer_now(void);
rt_status trainer_device_failed(rt_trainer *t, rt_error *err);

/* ---- train_ranks.c: several ranks (t->ranks > 1) ---- */
/* At creation: NCCL's communicator where the device has one, --sync-bn,
 * the host copy for the gradient sum. */
rt_status trainer_ranks_open(rt_trainer *t, int training, rt_error *err);
/* A step's start: the gradient buckets (if any) told the step's share. */
void trainer_begin_sums(rt_trainer *t);
/* A failed gradients pass: a bucket's sum's error, else the device's. */
rt_status trainer_gradients_failed(rt_trainer *t, rt_error *err);
/* The ranks' gradients summed, each weighted by its share of the batch
 * (the buckets' sums finished, where they overlap backward). */
rt_status trainer_reduce_gradients(rt_trainer *t, rt_error *err);
/* A stop asked of one rank is every rank's (no-op for one rank). */
rt_status trainer_agree_stop(rt_trainer *t, int *stop, double timeout, rt_error *err);
/* The whole last batch's loss. */
rt_status trainer_batch_loss(rt_trainer *t, const rt_step_state *s, float *loss, rt_error *err);
/* Epoch end: rank 0's BatchNorm statistics to all, parameters compared. */
rt_status trainer_agree_on_model(rt_trainer *t, int epoch, rt_error *err);
/* The evaluation's counts and losses summed over the ranks. */
rt_status trainer_eval_sums(rt_trainer *t, rt_step_state *s, rt_error *err);

#endif
