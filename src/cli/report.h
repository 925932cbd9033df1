/* Turns training events into the seed's log lines, plus a live progress
 * line when stdout is a terminal. */
#ifndef RT_CLI_REPORT_H
#define RT_CLI_REPORT_H

#include <stdio.h>

#include "progress.h"
#include "resnet/train.h"

typedef struct cli_report {
    FILE *out;
    int tty;           /* stdout is a terminal: show progress */
    int progress_open; /* a progress line is on screen */
    cli_progress_state progress; /* what the bar shows besides the event's figures */
    int top5;          /* also print the top-5 accuracy (not the seed's log) */
    int ranks;         /* > 1: data-parallel, the epoch line adds the all-reduce's time */
} cli_report;

void cli_report_init(cli_report *r, FILE *out);
/* Prints what the seed prints for this event (and progress on a tty). */
void cli_report_event(cli_report *r, const rt_train_event *ev);
/* The seed's "Test result" lines. */
void cli_report_test_result(cli_report *r, const rt_eval_result *res);
/* Clears a progress line before other output. */
void cli_report_clear(cli_report *r);

#endif
