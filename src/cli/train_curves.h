/* --metrics and --tensorboard of a training run: checked before any work,
 * opened on rank 0 just before training, fed every event. */
#ifndef RT_CLI_TRAIN_CURVES_H
#define RT_CLI_TRAIN_CURVES_H

#include "options.h"
#include "resnet/metrics.h"

typedef struct cli_curves {
    rt_metrics_jsonl *jsonl; /* --metrics, NULL when not asked or after a failed write */
    rt_tfevents *tb;         /* --tensorboard, the same */
    double start;            /* the monotonic clock when opened: wall_s counts from it */
} cli_curves;

/* The checks that need no file created: names not empty, --metrics not a
 * folder nor the file of --save, --save-best, --resume or --init,
 * --tensorboard not a file and this build able to write event files. */
rt_status cli_curves_check(const cli_options *o, rt_error *err);
/* Creates the files (--metrics truncated, or appended to under --resume);
 * on failure nothing is left created. */
rt_status cli_curves_open(cli_curves *c, const cli_options *o, rt_error *err);
/* Writes the event's records. A failed write prints one warning and stops
 * that writer: the run goes on. */
void cli_curves_event(cli_curves *c, const rt_train_event *ev, int top5);
/* Closes the files (a failure is a warning). */
void cli_curves_close(cli_curves *c);

#endif
