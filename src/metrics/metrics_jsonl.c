/* --metrics: one JSON object a line, flushed a line at a time. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "resnet/metrics.h"

struct rt_metrics_jsonl {
    FILE *f;
    char *path;
    const char *option;
    int failed; /* a write failed: errno's text kept for close */
    char why[128];
};

void rt_json_write_double(FILE *f, double v)
{
    if (isfinite(v))
        fprintf(f, "%.17g", v);
    else
        fputs("null", f); /* JSON has no NaN or Inf */
}

rt_status rt_metrics_jsonl_open(const char *option, const char *path, int append,
                                rt_metrics_jsonl **out, rt_error *err)
{
    *out = NULL;
    rt_metrics_jsonl *m = calloc(1, sizeof *m);
    char *copy = malloc(strlen(path) + 1);
    if (!m || !copy) {
        free(m);
        free(copy);
        return rt_error_set(err, RT_ERR_NOMEM, "%s: out of host memory", option);
    }
    strcpy(copy, path);
    m->f = fopen(path, append ? "a" : "w");
    if (!m->f) {
        int e = errno;
        free(m);
        free(copy);
        return rt_error_set(err, RT_ERR_USAGE, "%s: %s: cannot create the file: %s", option, path,
                            strerror(e));
    }
    m->path = copy;
    m->option = option;
    *out = m;
    return RT_OK;
}

static void field(FILE *f, const char *name, double v)
{
    fprintf(f, ",\"%s\":", name);
    rt_json_write_double(f, v);
}

static void write_record(FILE *f, const rt_train_event *ev, int top5, double wall_s)
{
    switch (ev->kind) {
    case RT_EVENT_STEP_LOG:
        fprintf(f, "{\"kind\":\"step\",\"step\":%lld,\"epoch\":%d,\"batch\":%d",
                (long long)ev->global_step, ev->epoch, ev->step);
        field(f, "loss", (double)ev->loss);
        field(f, "lr", ev->lr);
        field(f, "images_per_s", ev->images_per_second);
        break;
    case RT_EVENT_EPOCH_END:
        fprintf(f, "{\"kind\":\"epoch\",\"step\":%lld,\"epoch\":%d", (long long)ev->global_step,
                ev->epoch);
        field(f, "images_per_s", ev->images_per_second);
        field(f, "epoch_s", ev->seconds);
        break;
    default: /* RT_EVENT_EVAL */
        fprintf(f, "{\"kind\":\"test\",\"step\":%lld,\"epoch\":%d,\"final\":%s",
                (long long)ev->global_step, ev->epoch, ev->final_eval ? "true" : "false");
        field(f, "test_loss", ev->eval.avg_loss);
        field(f, "test_accuracy", ev->eval.accuracy);
        if (top5)
            field(f, "test_accuracy5", ev->eval.accuracy5);
        break;
    }
    field(f, "wall_s", wall_s);
    fputs("}\n", f);
}

rt_status rt_metrics_jsonl_event(rt_metrics_jsonl *m, const rt_train_event *ev, int top5,
                                 double wall_s, rt_error *err)
{
    if (ev->kind != RT_EVENT_STEP_LOG && ev->kind != RT_EVENT_EPOCH_END &&
        ev->kind != RT_EVENT_EVAL)
        return RT_OK;
    if (m->failed)
        return rt_error_set(err, RT_ERR_IO, "%s: %s: write failed: %s", m->option, m->path,
                            m->why);
    errno = 0;
    write_record(m->f, ev, top5, wall_s);
    if (fflush(m->f) != 0 || ferror(m->f)) {
        m->failed = 1;
        snprintf(m->why, sizeof m->why, "%s", errno ? strerror(errno) : "short write");
        return rt_error_set(err, RT_ERR_IO, "%s: %s: write failed: %s", m->option, m->path,
                            m->why);
    }
    return RT_OK;
}

rt_status rt_metrics_jsonl_close(rt_metrics_jsonl *m, rt_error *err)
{
    if (!m)
        return RT_OK;
    rt_status st = RT_OK;
    int bad = fclose(m->f) != 0;
    if (m->failed || bad)
        st = rt_error_set(err, RT_ERR_IO, "%s: %s: write failed: %s", m->option, m->path,
                          m->failed ? m->why : strerror(errno));
    free(m->path);
    free(m);
    return st;
}
