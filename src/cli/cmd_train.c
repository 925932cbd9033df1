/* resnet-train [train]: the seed's program, natively. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"
#include "resnet/checkpoint.h"
#include "resnet/dist.h"
#include "train_curves.h"

static volatile sig_atomic_t stop_signal = 0;

static void on_stop_signal(int sig) { stop_signal = sig; }

typedef struct train_ctx {
    cli_report report;
    rt_trainer *trainer;
    const char *save_path;
    const char *best_path; /* --save-best */
    double best;           /* the best test accuracy so far, -1 before the first */
    rt_error save_err; /* a failed save stops the run with this */
    rt_dist *dist;     /* the ranks; rank 0 alone reports and saves */
    cli_curves curves; /* --metrics and --tensorboard (rank 0) */
    int agreed_failure; /* every rank knows of the failure: exit without aborting */
} train_ctx;

static int on_event(void *vctx, const rt_train_event *ev)
{
    train_ctx *c = vctx;
    if (rt_dist_rank(c->dist) != 0)
        return 0;
    if (ev->kind == RT_EVENT_CHECKPOINT) {
        if (!c->save_path)
            return 0;
        if (rt_trainer_save(c->trainer, c->save_path, &c->save_err) != RT_OK)
            return 1;
        return 0;
    }
    cli_curves_event(&c->curves, ev, c->report.top5);
    cli_report_event(&c->report, ev);
    if (ev->kind == RT_EVENT_EVAL && c->best_path && ev->eval.accuracy > c->best) {
        c->best = ev->eval.accuracy;
        if (rt_trainer_save(c->trainer, c->best_path, &c->save_err) != RT_OK)
            return 1;
        fprintf(c->report.out, "Best so far: %s (test accuracy %.2f%%)\n", c->best_path,
                ev->eval.accuracy);
    }
    return 0;
}

/* The recipe of a resumed run: the checkpoint's, with --epochs (and any
 * other recipe option the user gave, which must then agree). */
static rt_status resume_config(const cli_options *o, const rt_checkpoint *ck, rt_train_config *cfg,
                               rt_error *err)
{
    *cfg = ck->config;
    cfg->eval_every = o->train.eval_every;
    cfg->sync_bn = o->train.sync_bn;
    cfg->bucket_mb = o->train.bucket_mb;
    cfg->log_every = o->train.log_every;
    cli_apply_given(o, cfg);
    const char *field = rt_train_config_conflict(cfg, &ck->config);
    if (field)
        return rt_error_set(err, RT_ERR_USAGE,
                            "%s: %s differs from the recipe the checkpoint was saved with",
                            o->resume_path, field);
    return rt_train_config_check(cfg, err);
}

/* A failure: under several ranks it names the rank and ends them all (the
 * others may be waiting for this one in a collective). A failure every
 * rank knows of (ranks with other recipes) is rank 0's to report, and all
 * exit. Otherwise rank 0 reports and aborts at once; another rank waits 2 s
 * first, so that a failure all ranks meet (the same bad file) is reported
 * once and by rank 0, and Open MPI's launcher is not handed two aborts at
 * once (its 4.1 series can crash on them). */
static int train_fail(const train_ctx *c, rt_error *err)
{
    if (rt_dist_size(c->dist) == 1)
        return cli_fail(err);
    int rank = rt_dist_rank(c->dist);
    if (c->agreed_failure)
        return rank == 0 ? cli_fail(err) : (err->status == RT_ERR_USAGE ? 2 : 1);
    if (rank != 0)
        sleep(2);
    rt_error_prefix(err, "rank %d", rank);
    int status = cli_fail(err);
    rt_dist_abort(c->dist, status);
    return status;
}

/* The ranks must run one recipe on one data set: compared as a checksum of
 * the recipe as printed, the network and the sets' sizes. */
static rt_status check_same_recipe(train_ctx *c, const rt_train_config *cfg,
                                   const rt_network *net, int train_count, int test_count,
                                   rt_error *err)
{
    if (rt_dist_size(c->dist) == 1)
        return RT_OK;
    char *text = NULL;
    size_t length = 0;
    FILE *f = open_memstream(&text, &length);
    if (!f)
        return rt_error_set(err, RT_ERR_NOMEM, "out of host memory for the recipe's checksum");
    rt_train_config shown = *cfg;
    shown.dist = NULL;
    cli_print_recipe(f, &shown, "");
    /* the bucket size too: it sets how many sums a step has */
    fprintf(f, "%s %zu %d %d sync_bn %d bucket_mb %.17g\n", rt_network_name(net),
            rt_network_params_size(net), train_count, test_count, cfg->sync_bn, cfg->bucket_mb);
    fclose(f);
    uint64_t mine = rt_dist_checksum(text, length, 0), theirs;
    free(text);
    int other;
    rt_status st = rt_dist_compare(c->dist, mine, &other, &theirs, "recipe comparison", err);
    if (st != RT_OK)
        return st;
    c->agreed_failure = other >= 0;
    if (other >= 0)
        return rt_error_set(err, RT_ERR_USAGE,
                            "rank %d was started with another recipe, network or data set than "
                            "rank 0: every rank needs the same options", other);
    return RT_OK;
}

static int train(const cli_options *o, rt_dist *dist)
{
    rt_error err = {0};
    train_ctx c;
    memset(&c, 0, sizeof c);
    c.dist = dist;
    cli_report_init(&c.report, stdout);
    c.report.ranks = rt_dist_size(dist);
    if (c.report.ranks > 1)
        c.report.tty = 0; /* mpirun gives ranks a terminal of their own whatever its output is */
    c.save_path = o->save_path;
    c.best_path = o->save_best_path;
    c.best = -1.0;

    if (o->print_recipe && !o->resume_path) {
        rt_train_config shown = o->train;
        cli_default_normalization(o, &shown);
        cli_print_recipe(stdout, &shown, o->recipe);
        return 0;
    }
    if (o->save_path && cli_check_writable("--save", o->save_path, &err) != RT_OK)
        return train_fail(&c, &err);
    if (o->save_best_path && cli_check_writable("--save-best", o->save_best_path, &err) != RT_OK)
        return train_fail(&c, &err);
    if (rt_dist_rank(dist) == 0 && cli_curves_check(o, &err) != RT_OK)
        return train_fail(&c, &err);
    rt_checkpoint ck;
    memset(&ck, 0, sizeof ck);
    rt_network *own_net = NULL;
    const rt_network *net = NULL;
    const char *ck_path = o->resume_path ? o->resume_path : o->init_path;
    if (ck_path) {
        if (cli_load_checkpoint(o, ck_path, &ck, &err) != RT_OK)
            return train_fail(&c, &err);
        net = ck.network; /* the checkpoint's, which --model (if given) matches */
    } else if (!cli_is_folder(o)) {
        if (cli_network(o, &own_net, &err) != RT_OK)
            return train_fail(&c, &err);
        net = own_net;
    } /* an image folder's input and classes are known once it is read */
    rt_train_config cfg = o->train;
    if (o->resume_path && !ck.has_training_state) {
        rt_checkpoint_free(&ck);
        rt_network_free(own_net);
        rt_error_set(&err, RT_ERR_USAGE,
                     "%s holds weights only, no training state to resume: use --init to start "
                     "from its weights", o->resume_path);
        return train_fail(&c, &err);
    }
    if (o->resume_path && resume_config(o, &ck, &cfg, &err) != RT_OK) {
        rt_checkpoint_free(&ck);
        rt_network_free(own_net);
        return train_fail(&c, &err);
    }
    if (o->init_path)
        ck.has_training_state = 0; /* weights only: a fresh run from them */
    if (!o->resume_path)
        cli_default_normalization(o, &cfg);
    /* a preset or any newer recipe option shows the recipe in full; the
     * seed's own log stays as it was */
    const unsigned legacy = CLI_GIVEN_EPOCHS | CLI_GIVEN_BATCH_SIZE | CLI_GIVEN_LR |
                            CLI_GIVEN_SHUFFLE | CLI_GIVEN_SEED | CLI_GIVEN_LR_STEP_SIZE |
                            CLI_GIVEN_LR_GAMMA;
    int show_recipe = o->print_recipe || o->recipe || (o->given & ~legacy) ||
                      (o->resume_path && !rt_schedule_is_constant(&cfg));
    if (o->print_recipe) {
        cli_print_recipe(stdout, &cfg, "of the checkpoint");
        rt_checkpoint_free(&ck);
        rt_network_free(own_net);
        return 0;
    }

    rt_device *dev = NULL;
    if (cli_open_device(o, &dev, &err) != RT_OK) {
        rt_checkpoint_free(&ck);
        rt_network_free(own_net);
        return train_fail(&c, &err);
    }
    rt_dataset train = {0}, test = {0};
    rt_status loaded = cli_load_data(o, cfg.resized_crop, &c.report, &train, &test, &err);
    if (loaded == RT_OK && !net) {
        /* the evaluation images have the input's size (the training ones
         * may be kept larger for random resized crops) */
        rt_network_input in = {test.channels, test.rows, test.cols, train.classes};
        loaded = rt_network_load(o->model ? o->model : "seed", &in, &own_net, &err);
        net = own_net;
        if (loaded == RT_OK && !o->resume_path) {
            cli_folder_normalization(o, train.channels, &cfg);
            if (!cfg.shuffle)
                fprintf(stderr, "resnet-train: warning: an image folder is read class by class; "
                                "without --shuffle each epoch trains one class after another\n");
        }
    }
    if (loaded != RT_OK) {
        rt_dataset_free(&train);
        rt_dataset_free(&test);
        rt_checkpoint_free(&ck);
        rt_network_free(own_net);
        rt_device_close(dev);
        return train_fail(&c, &err);
    }

    cfg.progress_interval = c.report.tty && !o->quiet ? 0.25 : 0.0;
    cfg.stop_flag = &stop_signal;
    cfg.dist = dist;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    rt_status st = rt_trainer_create(dev, net, &train, &test, &cfg, &c.trainer, &err);
    /* the curves' files are made once nothing else can refuse the options,
     * and before any output */
    if (st == RT_OK && rt_dist_rank(dist) == 0)
        st = cli_curves_open(&c.curves, o, &err);
    if (st == RT_OK) {
        /* after the trainer took the data and the recipe: a refusal prints nothing */
        if (show_recipe)
            cli_print_recipe(stdout, &cfg, o->resume_path ? "of the checkpoint" : o->recipe);
        printf("%d\n%d\n", train.count, test.count);
        cli_print_device(dev);
        cli_print_model(net);
        if (rt_dist_size(dist) > 1) {
            int offset, share;
            rt_dist_slice(cfg.batch_size, rt_dist_size(dist), rt_dist_size(dist) - 1, &offset,
                          &share);
            char sums[112] = "MPI through the host";
            int buckets = rt_trainer_gradient_buckets(c.trainer);
            if (rt_trainer_device_sums(c.trainer))
                rt_device_collectives_version(dev, sums, sizeof sums);
            else if (buckets > 0)
                snprintf(sums, sizeof sums, "MPI in %d bucket%s of up to %g MB overlapping backward",
                         buckets, buckets == 1 ? "" : "s", cfg.bucket_mb);
            printf("Data-parallel over %d ranks (%s; gradients summed by %s): each step's batch "
                   "of %d split %d to %d per rank\n",
                   rt_dist_size(dist), rt_dist_library(dist), sums, cfg.batch_size,
                   (cfg.batch_size + rt_dist_size(dist) - 1) / rt_dist_size(dist), share);
        }
        c.report.top5 = strcmp(rt_network_name(net), "seed") != 0;
    }
    if (st == RT_OK)
        st = check_same_recipe(&c, &cfg, net, train.count, test.count, &err);
    rt_dataset_free(&train);
    rt_dataset_free(&test);
    if (st == RT_OK && ck_path) {
        st = rt_trainer_restore(c.trainer, &ck, &err);
        if (st != RT_OK)
            rt_error_prefix(&err, "%s", ck_path);
        else if (o->resume_path) {
            rt_train_position pos = rt_trainer_position(c.trainer);
            printf("Resuming %s: epoch %d, %d images into it, %lld steps done\n", o->resume_path,
                   pos.epoch + 1, pos.cursor, (long long)pos.steps);
            if (ck.position.ranks != rt_dist_size(dist))
                printf("Note: saved by %d rank%s, resumed by %d: the same batch of %d a step, "
                       "but its sums are taken in another order and BatchNorm's statistics over "
                       "other shares of it, so the run goes on close to, not bit for bit as, "
                       "it would have\n",
                       ck.position.ranks, ck.position.ranks == 1 ? "" : "s", rt_dist_size(dist),
                       cfg.batch_size);
        }
    }
    if (st == RT_OK)
        st = rt_trainer_run(c.trainer, o->save_every, on_event, &c, &err);
    cli_report_clear(&c.report);
    cli_curves_close(&c.curves);
    if (c.save_err.status != RT_OK)
        err = c.save_err;
    rt_trainer_destroy(c.trainer);
    rt_checkpoint_free(&ck); /* after the trainer: it runs the checkpoint's network */
    rt_network_free(own_net);
    rt_device_close(dev);
    if (st == RT_ERR_INTERRUPTED && !stop_signal && rt_dist_size(dist) > 1 &&
        c.save_err.status == RT_OK) {
        /* another rank was signalled: all stopped together */
        if (rt_dist_rank(dist) == 0)
            fprintf(stderr, "resnet-train: %s by a signal to another rank%s%s\n", err.message,
                    o->save_path ? "; saved " : "", o->save_path ? o->save_path : "");
        return 128 + SIGTERM;
    }
    if (st == RT_ERR_INTERRUPTED && stop_signal && c.save_err.status == RT_OK) {
        /* under several ranks each signalled rank says so; rank 0 saved */
        char who[32] = "";
        if (rt_dist_size(dist) > 1)
            snprintf(who, sizeof who, "rank %d: ", rt_dist_rank(dist));
        const char *saved = !o->save_path              ? ""
                            : rt_dist_rank(dist) == 0 ? "; saved "
                                                      : "; rank 0 saved ";
        fprintf(stderr, "resnet-train: %s%s by signal %d%s%s\n", who, err.message,
                (int)stop_signal, saved, o->save_path ? o->save_path : "");
        return 128 + stop_signal;
    }
    return st == RT_OK ? 0 : train_fail(&c, &err);
}

int cli_train(const cli_options *o)
{
    rt_error err = {0};
    rt_dist *dist = NULL;
    if (rt_dist_open(&dist, &err) != RT_OK) {
        int status = cli_fail(&err);
        rt_dist_close(dist);
        return status;
    }
    rt_dist_set_timeout(dist, o->comm_timeout);
    int status;
    if (rt_dist_size(dist) == 1) {
        status = train(o, dist);
    } else {
        /* each rank its share of the machine: its GPU, or its cores */
        cli_options mine = *o;
        int cores = (int)sysconf(_SC_NPROCESSORS_ONLN);
        if (!mine.device_cfg.threads && !getenv("OMP_NUM_THREADS") && cores > 0) {
            int share = cores / rt_dist_local_size(dist);
            mine.device_cfg.threads = share > 0 ? share : 1;
        }
        mine.device_cfg.gpu_index = rt_dist_local_rank(dist);
        if (rt_dist_rank(dist) != 0 && !freopen("/dev/null", "w", stdout))
            fprintf(stderr, "resnet-train: rank %d: cannot silence its output\n",
                    rt_dist_rank(dist));
        status = train(&mine, dist);
    }
    rt_dist_close(dist);
    return status;
}
