/* --tensorboard in a build without protobuf-c: refused at the start. */
#include "resnet/metrics.h"

int rt_tfevents_available(void) { return 0; }

rt_status rt_tfevents_open(const char *option, const char *dir, rt_tfevents **out, rt_error *err)
{
    (void)dir;
    *out = NULL;
    return rt_error_set(err, RT_ERR_USAGE,
                        "%s: this resnet-train was built without protobuf-c, which TensorBoard "
                        "event files need (install libprotobuf-c-dev and protobuf-c-compiler, "
                        "then rebuild)",
                        option);
}

const char *rt_tfevents_path(const rt_tfevents *w)
{
    (void)w;
    return "";
}

rt_status rt_tfevents_scalars(rt_tfevents *w, int64_t step, double wall_time,
                              const rt_metric_scalar *values, int count, rt_error *err)
{
    (void)w, (void)step, (void)wall_time, (void)values, (void)count;
    return rt_error_set(err, RT_ERR_USAGE, "TensorBoard event files need protobuf-c");
}

rt_status rt_tfevents_event(rt_tfevents *w, const rt_train_event *ev, int top5, double wall_time,
                            rt_error *err)
{
    (void)w, (void)ev, (void)top5, (void)wall_time;
    return rt_error_set(err, RT_ERR_USAGE, "TensorBoard event files need protobuf-c");
}

rt_status rt_tfevents_close(rt_tfevents *w, rt_error *err)
{
    (void)w, (void)err;
    return RT_OK;
}

void rt_tfevents_discard(rt_tfevents *w) { (void)w; }
