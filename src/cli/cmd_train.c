/* resnet-train [train]: the seed's program, natively. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "common.h"
#include "resnet/checkpoint.h"

static volatile sig_atomic_t stop_signal = 0;

static void on_stop_signal(int sig) { stop_signal = sig; }

typedef struct train_ctx {
    cli_report report;
    rt_trainer *trainer;
    const char *save_path;
    const char *best_path; /* --save-best */
    double best;           /* the best test accuracy so far, -1 before the first */
    rt_error save_err; /* a failed save stops the run with this */
} train_ctx;

static int on_event(void *vctx, const rt_train_event *ev)
{
    train_ctx *c = vctx;
    if (ev->kind == RT_EVENT_CHECKPOINT) {
        if (!c->save_path)
            return 0;
        if (rt_trainer_save(c->trainer, c->save_path, &c->save_err) != RT_OK)
            return 1;
        return 0;
    }
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
    cfg->log_every = o->train.log_every;
    cli_apply_given(o, cfg);
    const char *field = rt_train_config_conflict(cfg, &ck->config);
    if (field)
        return rt_error_set(err, RT_ERR_USAGE,
                            "%s: %s differs from the recipe the checkpoint was saved with",
                            o->resume_path, field);
    return rt_train_config_check(cfg, err);
}

int cli_train(const cli_options *o)
{
    rt_error err = {0};
    train_ctx c;
    memset(&c, 0, sizeof c);
    cli_report_init(&c.report, stdout);
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
        return cli_fail(&err);
    if (o->save_best_path && cli_check_writable("--save-best", o->save_best_path, &err) != RT_OK)
        return cli_fail(&err);
    rt_checkpoint ck;
    memset(&ck, 0, sizeof ck);
    rt_network *own_net = NULL;
    const rt_network *net = NULL;
    const char *ck_path = o->resume_path ? o->resume_path : o->init_path;
    if (ck_path) {
        if (cli_load_checkpoint(o, ck_path, &ck, &err) != RT_OK)
            return cli_fail(&err);
        net = ck.network; /* the checkpoint's, which --model (if given) matches */
    } else if (!cli_is_folder(o)) {
        if (cli_network(o, &own_net, &err) != RT_OK)
            return cli_fail(&err);
        net = own_net;
    } /* an image folder's input and classes are known once it is read */
    rt_train_config cfg = o->train;
    if (o->resume_path && !ck.has_training_state) {
        rt_checkpoint_free(&ck);
        rt_network_free(own_net);
        rt_error_set(&err, RT_ERR_USAGE,
                     "%s holds weights only, no training state to resume: use --init to start "
                     "from its weights", o->resume_path);
        return cli_fail(&err);
    }
    if (o->resume_path && resume_config(o, &ck, &cfg, &err) != RT_OK) {
        rt_checkpoint_free(&ck);
        rt_network_free(own_net);
        return cli_fail(&err);
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
        return cli_fail(&err);
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
        return cli_fail(&err);
    }

    cfg.progress_interval = c.report.tty ? 0.25 : 0.0;
    cfg.stop_flag = &stop_signal;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    rt_status st = rt_trainer_create(dev, net, &train, &test, &cfg, &c.trainer, &err);
    if (st == RT_OK) {
        /* after the trainer took the data and the recipe: a refusal prints nothing */
        if (show_recipe)
            cli_print_recipe(stdout, &cfg, o->resume_path ? "of the checkpoint" : o->recipe);
        printf("%d\n%d\n", train.count, test.count);
        cli_print_device(dev);
        cli_print_model(net);
        c.report.top5 = strcmp(rt_network_name(net), "seed") != 0;
    }
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
        }
    }
    if (st == RT_OK)
        st = rt_trainer_run(c.trainer, o->save_every, on_event, &c, &err);
    cli_report_clear(&c.report);
    if (c.save_err.status != RT_OK)
        err = c.save_err;
    rt_trainer_destroy(c.trainer);
    rt_checkpoint_free(&ck); /* after the trainer: it runs the checkpoint's network */
    rt_network_free(own_net);
    rt_device_close(dev);
    if (st == RT_ERR_INTERRUPTED && stop_signal && c.save_err.status == RT_OK) {
        fprintf(stderr, "resnet-train: %s by signal %d%s%s\n", err.message, (int)stop_signal,
                o->save_path ? "; saved " : "", o->save_path ? o->save_path : "");
        return 128 + stop_signal;
    }
    return st == RT_OK ? 0 : cli_fail(&err);
}
