/* The training driver: epochs of batches over a device, the seed's recipe
 * by default (batch 64 in file order, Adam lr 1e-3, 26 epochs, the last
 * partial batch kept, constant learning rate), evaluation, and the events a
 * front end turns into log lines. It never asks which device it runs on. */
#ifndef RESNET_TRAIN_H
#define RESNET_TRAIN_H

#include <signal.h>
#include <stdint.h>

#include "resnet/data.h"
#include "resnet/device.h"
#include "resnet/dist.h"
#include "resnet/error.h"
#include "resnet/model.h"
#include "resnet/rng.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum rt_optimizer {
    RT_OPTIMIZER_ADAM = 0, /* torch.optim.Adam (the seed's); weight decay coupled */
    RT_OPTIMIZER_ADAMW,    /* torch.optim.AdamW: decay decoupled */
    RT_OPTIMIZER_SGD,      /* torch.optim.SGD: momentum, dampening, Nesterov, coupled decay */
} rt_optimizer;

/* The learning rate's course (src/train/schedule.c), each as the
 * torch.optim.lr_scheduler of the same name, counted in epochs or in steps
 * (schedule_per_step), after an optional linear warm-up in the same unit
 * (LinearLR then the schedule, as SequentialLR chains them). */
typedef enum rt_schedule {
    RT_SCHEDULE_CONSTANT = 0, /* the seed's */
    RT_SCHEDULE_STEP,         /* StepLR(lr_step_size, lr_gamma) */
    RT_SCHEDULE_MULTISTEP,    /* MultiStepLR(milestones, lr_gamma) */
    RT_SCHEDULE_COSINE,       /* CosineAnnealingLR(T_max = the run after warm-up, eta_min) */
    RT_SCHEDULE_ONECYCLE,     /* OneCycleLR(max_lr = lr, the run's steps, pct_start,
                                 div_factor, final_div_factor, cos, no momentum cycling) */
} rt_schedule;

#define RT_MAX_MILESTONES 16

typedef struct rt_train_config {
    int epochs;            /* 26 */
    int batch_size;        /* 64 */
    float lr;              /* 1e-3 */
    rt_optimizer optimizer; /* Adam */
    /* Adam's betas and eps; adam.weight_decay is the weight decay of every
     * optimiser (coupled for Adam and SGD, decoupled for AdamW) */
    rt_adam_config adam;   /* betas (0.9, 0.999), eps 1e-8, no weight decay */
    float momentum;        /* SGD: 0 */
    float dampening;       /* SGD: 0 */
    int nesterov;          /* SGD: 0 */
    int no_decay_norm_bias; /* no weight decay on 1-D parameters (BatchNorm's, biases) */
    int shuffle;           /* 0: file order, as the seed */
    uint64_t seed;         /* initial weights and shuffling */
    rt_schedule schedule;  /* constant */
    int schedule_per_step; /* 0: the schedule counts epochs, 1: steps */
    int lr_step_size;      /* StepLR's step (also selects it when schedule is constant) */
    float lr_gamma;        /* StepLR/MultiStepLR factor, 0.1 */
    int milestones[RT_MAX_MILESTONES]; /* MultiStepLR's, increasing */
    int milestone_count;
    float eta_min;         /* cosine: 0 */
    float pct_start, div_factor, final_div_factor; /* one-cycle: 0.3, 25, 1e4 */
    int warmup;            /* linear warm-up length in the schedule's unit; 0 = none */
    float warmup_start;    /* its first factor (LinearLR's start_factor), 0.01 */
    float label_smoothing; /* CrossEntropyLoss(label_smoothing=), 0 */
    int crop_pad;          /* training: random crop after zero padding by this; 0 = none */
    int flip;              /* training: random horizontal flip, p = 0.5 */
    int resized_crop;      /* training: RandomResizedCrop (not with crop_pad); the training
                              set may be stored larger than the network's input */
    float crop_scale[2];   /* its area share bounds, 0.08 and 1 as torchvision's */
    int normalize;         /* (x - mean) / std per channel after the 0..1 scaling */
    float mean[RT_MAX_CHANNELS], std[RT_MAX_CHANNELS];
    int eval_every;        /* evaluate on the test set every N epochs; 0 = only at the end */
    int log_every;         /* a loss line every N steps of an epoch, 100 */
    double progress_interval; /* seconds between progress events; 0 = none */
    int detect_anomaly;    /* check every step; on NaN/Inf name the first op that made it */
    const volatile sig_atomic_t *stop_flag; /* non-zero asks the run to stop after the current step */
    rt_dist *dist;         /* the ranks training together (resnet/dist.h); NULL: this process alone */
    int sync_bn;           /* with several ranks: BatchNorm's statistics over the whole batch
                              (SyncBatchNorm), not each rank's share (the default, as DDP) */
    double bucket_mb;      /* with several ranks on the CPU: the gradients summed in buckets of
                              this many MB (2^20 bytes) as backward finishes each (DDP's
                              bucket_cap_mb is 25); 0 (the default): one sum after backward */
} rt_train_config;

void rt_train_config_default(rt_train_config *cfg);
/* Checks every field; errors name the option (--batch-size, --lr, ...). */
rt_status rt_train_config_check(const rt_train_config *cfg, rt_error *err);

/* ---- schedules and names (src/train/schedule.c) ---- */
const char *rt_schedule_name(rt_schedule s);
const char *rt_optimizer_name(rt_optimizer o);
/* 1 and *out set when name is one of them ("constant", "step", "multistep",
 * "cosine", "onecycle"; "adam", "adamw", "sgd"), else 0. */
int rt_schedule_parse(const char *name, rt_schedule *out);
int rt_optimizer_parse(const char *name, rt_optimizer *out);
/* The schedule in force: a constant schedule with --lr-step-size is StepLR
 * (the option predates --schedule). */
rt_schedule rt_schedule_effective(const rt_train_config *cfg);
/* 1 when the rate never changes (the seed's recipe). */
int rt_schedule_is_constant(const rt_train_config *cfg);
/* The learning rate of optimiser step `step` (0-based) of the run cfg
 * describes, epochs of steps_per_epoch steps. */
double rt_schedule_lr(const rt_train_config *cfg, int64_t step, int steps_per_epoch);
/* Checks the schedule against the run's length: warm-up shorter than the
 * run, onecycle's phases not empty, the step sizes and milestones there. */
rt_status rt_schedule_check(const rt_train_config *cfg, int steps_per_epoch, rt_error *err);

/* ---- recipes (src/train/recipes.c) ---- */
/* Sets every recipe field of cfg to the named preset's ("seed", ...);
 * RT_ERR_USAGE naming the known ones when there is none of that name. */
rt_status rt_recipe_apply(const char *name, rt_train_config *cfg, rt_error *err);
/* "seed, cifar-resnet, ..." */
const char *rt_recipe_names(void);

/* Where a run stands: enough to continue it exactly. */
typedef struct rt_train_position {
    int32_t epoch;       /* the epoch in progress, 0-based */
    int32_t cursor;      /* samples of that epoch already trained */
    int64_t steps;       /* optimiser steps taken in all */
    rt_rng epoch_rng;    /* the shuffle generator as it was when this epoch began */
    int32_t ranks;       /* how many ranks trained it (data-parallel), 1 alone */
} rt_train_position;

typedef enum rt_event_kind {
    RT_EVENT_EPOCH_BEGIN, /* epoch; step: the steps of it already done (a resumed run), else 0 */
    RT_EVENT_STEP_LOG,    /* every log_every steps: step, loss, lr, and seconds and
                             images_per_second so far this epoch */
    RT_EVENT_PROGRESS,    /* every progress_interval seconds: step, images_per_second */
    RT_EVENT_EPOCH_END,   /* epoch, seconds, images_per_second */
    RT_EVENT_EVAL,        /* after an epoch (eval_every) or at the end: the eval fields */
    RT_EVENT_CHECKPOINT,  /* the trainer's owner should save now (see rt_trainer_run) */
} rt_event_kind;

typedef struct rt_eval_result {
    int correct, total;
    double accuracy;  /* 100 * correct / total */
    int correct5;     /* labels among the five highest logits */
    double accuracy5; /* 100 * correct5 / total */
    double avg_loss;  /* sum of batch-mean losses / batches, as the seed */
    int batches;
} rt_eval_result;

typedef struct rt_train_event {
    rt_event_kind kind;
    int epoch;           /* 1-based */
    int epochs;
    int step;            /* 1-based step within the epoch */
    int steps_per_epoch;
    int64_t global_step; /* optimiser steps taken so far */
    float loss;
    double lr;           /* STEP_LOG: the learning rate the last step used (read with the loss) */
    double seconds;      /* epoch wall time (EPOCH_END) or time into the epoch */
    double images_per_second;
    double reduce_seconds; /* EPOCH_END under several ranks: of `seconds`, those in the
                              gradient all-reduce (0 for one rank) */
    int final_eval;      /* EVAL: 1 for the test pass after the last epoch */
    rt_eval_result eval;
} rt_train_event;

/* Return non-zero from an event to stop the run cleanly (rt_trainer_run then
 * returns RT_ERR_INTERRUPTED). */
typedef int (*rt_train_callback)(void *ctx, const rt_train_event *event);

typedef struct rt_trainer rt_trainer;

/* Uploads both datasets to the device once (as bytes) and builds the
 * model of net (which must outlive the trainer) with parameters from
 * cfg->seed. The datasets may be freed afterwards. train may be NULL for a
 * trainer that only evaluates (its model then has no gradients). */
rt_status rt_trainer_create(rt_device *dev, const rt_network *net, const rt_dataset *train,
                            const rt_dataset *test, const rt_train_config *cfg, rt_trainer **out,
                            rt_error *err);
void rt_trainer_destroy(rt_trainer *t);

rt_model *rt_trainer_model(rt_trainer *t);
/* 1 when the ranks' gradients are summed by the device's own library
 * (NCCL), 0 when through the host (MPI). */
int rt_trainer_device_sums(const rt_trainer *t);
/* How many buckets the gradient sums overlapping backward take (0: one
 * sum after backward: one rank, the GPU, --bucket-mb 0). */
int rt_trainer_gradient_buckets(const rt_trainer *t);
const rt_train_config *rt_trainer_config(const rt_trainer *t);
rt_train_position rt_trainer_position(const rt_trainer *t);

/* Continues from a saved position (after loading parameters and Adam
 * moments into the model). */
rt_status rt_trainer_set_position(rt_trainer *t, const rt_train_position *pos, rt_error *err);

/* Trains from the current position to cfg->epochs, then evaluates on the
 * test set. The callback sees every event. RT_EVENT_CHECKPOINT is raised
 * after every epoch, every `save_every` steps (0 = never) and when stopped
 * by cfg->stop_flag, at a point where the model and position are
 * consistent. */
rt_status rt_trainer_run(rt_trainer *t, int save_every, rt_train_callback cb, void *cb_ctx,
                         rt_error *err);

/* One pass over the test set with the current parameters. */
rt_status rt_trainer_evaluate(rt_trainer *t, rt_eval_result *out, rt_error *err);
/* The same, keeping every test image's logits in `logits` (test images x
 * classes, host memory; one rank only). */
rt_status rt_trainer_evaluate_logits(rt_trainer *t, float *logits, rt_eval_result *out,
                                     rt_error *err);

/* Saves the model (parameters, running statistics, counters), the Adam
 * moments, the position, the recipe and the network's description to path
 * (atomically: a file already there survives any failure). */
rt_status rt_trainer_save(rt_trainer *t, const char *path, rt_error *err);

/* Puts a loaded checkpoint into the trainer: its parameters and running
 * statistics, and when it carries training state, the Adam moments and
 * the position to continue from. The checkpoint's network must be the
 * trainer's, and its recipe the trainer's (see rt_train_config_conflict). */
struct rt_checkpoint;
rt_status rt_trainer_restore(rt_trainer *t, const struct rt_checkpoint *ck, rt_error *err);

/* Names the first field (as its command-line option) where two recipes
 * differ in a way that would change the run, or returns NULL when they
 * agree. The number of epochs may differ: a run can be extended. */
const char *rt_train_config_conflict(const rt_train_config *a, const rt_train_config *b);

/* Trains one step on the next batch of the epoch (for tests and benchmarks:
 * no events, no checks). Wraps to the start of the epoch at its end. */
rt_status rt_trainer_step(rt_trainer *t, rt_error *err);

#ifdef __cplusplus
}
#endif
#endif
