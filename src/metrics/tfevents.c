/* --tensorboard: Event records (protobuf-c) in TFRecord frames, in a file
 * named as TensorBoard's own writers name theirs. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "resnet/metrics.h"
#include "tensorboard_event.pb-c.h"

struct rt_tfevents {
    FILE *f;
    char *path, *dir;
    const char *option;
    int made_dir; /* open created the folder: discard removes it */
    int failed;
    char why[RT_ERROR_MESSAGE_MAX];
};

int rt_tfevents_available(void) { return 1; }

const char *rt_tfevents_path(const rt_tfevents *w) { return w->path; }

static double unix_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Packs ev and writes it as one record. */
static rt_status write_event(rt_tfevents *w, const Tensorboard__Event *ev, rt_error *err)
{
    if (w->failed)
        return rt_error_set(err, RT_ERR_IO, "%s: %s: %s", w->option, w->path, w->why);
    size_t size = tensorboard__event__get_packed_size(ev);
    uint8_t *buf = malloc(size ? size : 1);
    if (!buf)
        return rt_error_set(err, RT_ERR_NOMEM, "%s: out of host memory for an event", w->option);
    tensorboard__event__pack(ev, buf);
    rt_error werr = {0};
    rt_status st = rt_tfrecord_write(w->f, buf, size, &werr);
    free(buf);
    if (st != RT_OK) {
        w->failed = 1;
        snprintf(w->why, sizeof w->why, "%s", werr.message);
        return rt_error_set(err, st, "%s: %s: %s", w->option, w->path, w->why);
    }
    return RT_OK;
}

/* Creates dir unless it is a folder already; *made says whether it did. */
static rt_status ensure_dir(const char *option, const char *dir, int *made, rt_error *err)
{
    struct stat st;
    *made = 0;
    if (!*dir)
        return rt_error_set(err, RT_ERR_USAGE, "%s: the folder name is empty", option);
    if (stat(dir, &st) == 0) {
        if (!S_ISDIR(st.st_mode))
            return rt_error_set(err, RT_ERR_USAGE, "%s: %s is not a folder", option, dir);
        return RT_OK;
    }
    if (mkdir(dir, 0777) != 0)
        return rt_error_set(err, RT_ERR_USAGE, "%s: %s: cannot create the folder: %s", option,
                            dir, strerror(errno));
    *made = 1;
    return RT_OK;
}

static char *event_file_name(const char *dir)
{
    char host[256] = "localhost";
    if (gethostname(host, sizeof host) != 0 || !host[0])
        strcpy(host, "localhost");
    host[sizeof host - 1] = '\0';
    for (char *p = host; *p; p++)
        if (*p == '/')
            *p = '_'; /* never a path separator in the file name */
    size_t len = strlen(dir) + strlen(host) + 96;
    char *path = malloc(len);
    if (path)
        snprintf(path, len, "%s/events.out.tfevents.%010lld.%s.%ld.0", dir,
                 (long long)time(NULL), host, (long)getpid());
    return path;
}

rt_status rt_tfevents_open(const char *option, const char *dir, rt_tfevents **out, rt_error *err)
{
    *out = NULL;
    rt_tfevents *w = calloc(1, sizeof *w);
    char *dir_copy = malloc(strlen(dir) + 1);
    if (!w || !dir_copy) {
        free(w);
        free(dir_copy);
        return rt_error_set(err, RT_ERR_NOMEM, "%s: out of host memory", option);
    }
    strcpy(dir_copy, dir);
    w->dir = dir_copy;
    w->option = option;
    rt_status st = ensure_dir(option, dir, &w->made_dir, err);
    if (st == RT_OK) {
        w->path = event_file_name(dir);
        if (!w->path)
            st = rt_error_set(err, RT_ERR_NOMEM, "%s: out of host memory", option);
    }
    if (st == RT_OK) {
        /* a new file, never one already there */
        int fd = open(w->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd < 0 || !(w->f = fdopen(fd, "wb"))) {
            st = rt_error_set(err, RT_ERR_USAGE, "%s: %s: cannot create the event file: %s",
                              option, dir, strerror(errno));
            if (fd >= 0) {
                close(fd);
                unlink(w->path);
            }
        }
    }
    if (st == RT_OK) {
        Tensorboard__Event ev = TENSORBOARD__EVENT__INIT;
        ev.wall_time = unix_now();
        ev.what_case = TENSORBOARD__EVENT__WHAT_FILE_VERSION;
        ev.file_version = (char *)"brain.Event:2";
        st = write_event(w, &ev, err);
    }
    if (st != RT_OK) {
        rt_tfevents_discard(w);
        return st;
    }
    *out = w;
    return RT_OK;
}

rt_status rt_tfevents_scalars(rt_tfevents *w, int64_t step, double wall_time,
                              const rt_metric_scalar *values, int count, rt_error *err)
{
    Tensorboard__Summary__Value items[RT_METRIC_SCALARS_MAX];
    Tensorboard__Summary__Value *list[RT_METRIC_SCALARS_MAX];
    if (count > RT_METRIC_SCALARS_MAX)
        return rt_error_set(err, RT_ERR_USAGE, "%s: more than %d values in one event", w->option,
                            RT_METRIC_SCALARS_MAX);
    for (int i = 0; i < count; i++) {
        tensorboard__summary__value__init(&items[i]);
        items[i].tag = (char *)values[i].tag;
        items[i].value_case = TENSORBOARD__SUMMARY__VALUE__VALUE_SIMPLE_VALUE;
        items[i].simple_value = (float)values[i].value; /* TensorBoard keeps floats */
        list[i] = &items[i];
    }
    Tensorboard__Summary summary = TENSORBOARD__SUMMARY__INIT;
    summary.n_value = (size_t)count;
    summary.value = list;
    Tensorboard__Event ev = TENSORBOARD__EVENT__INIT;
    ev.wall_time = wall_time;
    ev.step = step;
    ev.what_case = TENSORBOARD__EVENT__WHAT_SUMMARY;
    ev.summary = &summary;
    return write_event(w, &ev, err);
}

rt_status rt_tfevents_event(rt_tfevents *w, const rt_train_event *ev, int top5, double wall_time,
                            rt_error *err)
{
    rt_metric_scalar values[RT_METRIC_SCALARS_MAX];
    int n = rt_metric_scalars(ev, top5, values);
    if (n == 0)
        return RT_OK;
    return rt_tfevents_scalars(w, ev->global_step, wall_time, values, n, err);
}

static void free_writer(rt_tfevents *w)
{
    free(w->path);
    free(w->dir);
    free(w);
}

rt_status rt_tfevents_close(rt_tfevents *w, rt_error *err)
{
    if (!w)
        return RT_OK;
    rt_status st = RT_OK;
    int bad = fclose(w->f) != 0;
    if (w->failed || bad)
        st = rt_error_set(err, RT_ERR_IO, "%s: %s: %s", w->option, w->path,
                          w->failed ? w->why : strerror(errno));
    free_writer(w);
    return st;
}

void rt_tfevents_discard(rt_tfevents *w)
{
    if (!w)
        return;
    if (w->f) {
        fclose(w->f);
        unlink(w->path);
    }
    if (w->made_dir)
        rmdir(w->dir);
    free_writer(w);
}
