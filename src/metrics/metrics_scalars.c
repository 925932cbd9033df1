/* Which numbers of a training event make a curve, under TensorBoard's tags. */
#include "resnet/metrics.h"

int rt_metric_scalars(const rt_train_event *ev, int top5, rt_metric_scalar out[RT_METRIC_SCALARS_MAX])
{
    int n = 0;
    switch (ev->kind) {
    case RT_EVENT_STEP_LOG:
        out[n++] = (rt_metric_scalar){"train/loss", (double)ev->loss};
        out[n++] = (rt_metric_scalar){"train/lr", ev->lr};
        out[n++] = (rt_metric_scalar){"train/images_per_s", ev->images_per_second};
        break;
    case RT_EVENT_EPOCH_END:
        out[n++] = (rt_metric_scalar){"train/epoch_s", ev->seconds};
        out[n++] = (rt_metric_scalar){"train/epoch_images_per_s", ev->images_per_second};
        break;
    case RT_EVENT_EVAL:
        out[n++] = (rt_metric_scalar){"test/loss", ev->eval.avg_loss};
        out[n++] = (rt_metric_scalar){"test/accuracy", ev->eval.accuracy};
        if (top5)
            out[n++] = (rt_metric_scalar){"test/accuracy5", ev->eval.accuracy5};
        break;
    default:
        break;
    }
    return n;
}
