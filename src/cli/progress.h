/* The progress bar of a run on a terminal, one per epoch:
 *   epoch 3/26 [#########.........] 412/938 44% 3,512 img/s loss 0.1234 ETA 0:12
 * fitted to the terminal's width. */
#ifndef RT_CLI_PROGRESS_H
#define RT_CLI_PROGRESS_H

#include <stddef.h>
#include <stdio.h>

#include "resnet/train.h"

typedef struct cli_progress_state {
    int first_step; /* the epoch's steps done before this run (resumed), for the ETA */
    int have_loss;  /* a step was logged: loss is the latest logged loss */
    float loss;
} cli_progress_state;

/* The terminal's columns (TIOCGWINSZ), 80 when unknown. */
int cli_terminal_width(FILE *out);
/* The bar for a progress event into buf, at most width - 1 characters (the
 * last column is left free so that no terminal wraps). */
void cli_progress_format(char *buf, size_t size, const rt_train_event *ev,
                         const cli_progress_state *s, int width);

#endif
