#include "report.h"

#include <string.h>
#include <unistd.h>

#include "pyfloat.h"

void cli_report_init(cli_report *r, FILE *out)
{
    r->out = out;
    r->tty = isatty(fileno(out));
    r->progress_open = 0;
    memset(&r->progress, 0, sizeof r->progress);
    r->ranks = 1;
}

/* The bar, drawn over the previous one. */
static void draw_progress(cli_report *r, const rt_train_event *ev)
{
    char line[1024];
    int width = cli_terminal_width(r->out);
    if (width > (int)sizeof line)
        width = (int)sizeof line;
    cli_progress_format(line, sizeof line, ev, &r->progress, width);
    fprintf(r->out, "\r\033[K%s", line);
    r->progress_open = 1;
}

void cli_report_clear(cli_report *r)
{
    if (r->progress_open) {
        fputs("\r\033[K", r->out);
        r->progress_open = 0;
    }
}

void cli_report_test_result(cli_report *r, const rt_eval_result *res)
{
    char acc[64], loss[64];
    rt_format_python_float(res->accuracy, acc, sizeof acc);
    rt_format_python_float(res->avg_loss, loss, sizeof loss);
    cli_report_clear(r);
    /* the seed's f-string, trailing space after the colon included */
    fprintf(r->out, "Test result: \n Accuracy:%s%%,Avg loss:%s\n", acc, loss);
    if (r->top5) {
        rt_format_python_float(res->accuracy5, acc, sizeof acc);
        fprintf(r->out, " Top-5 accuracy:%s%%\n", acc);
    }
    fflush(r->out);
}

void cli_report_event(cli_report *r, const rt_train_event *ev)
{
    switch (ev->kind) {
    case RT_EVENT_EPOCH_BEGIN:
        cli_report_clear(r);
        fprintf(r->out, "epoch%d\n--------------------\n", ev->epoch);
        r->progress.first_step = ev->step;
        break;
    case RT_EVENT_STEP_LOG:
        cli_report_clear(r);
        fprintf(r->out, "loss:%7f  [number:%d]\n", (double)ev->loss, ev->step);
        r->progress.loss = ev->loss; /* the bar shows the latest logged loss */
        r->progress.have_loss = 1;
        break;
    case RT_EVENT_PROGRESS:
        if (!r->tty)
            return;
        draw_progress(r, ev);
        break;
    case RT_EVENT_EPOCH_END:
        cli_report_clear(r);
        if (r->ranks > 1)
            fprintf(r->out, "epoch_time_s:%.3f train_images_per_s:%.1f all_reduce_s:%.3f\n",
                    ev->seconds, ev->images_per_second, ev->reduce_seconds);
        else
            fprintf(r->out, "epoch_time_s:%.3f train_images_per_s:%.1f\n", ev->seconds,
                    ev->images_per_second);
        break;
    case RT_EVENT_EVAL:
        if (ev->final_eval) {
            cli_report_clear(r);
            fputs("Done!\n", r->out);
        }
        cli_report_test_result(r, &ev->eval);
        break;
    case RT_EVENT_CHECKPOINT:
        break;
    }
    fflush(r->out);
}
