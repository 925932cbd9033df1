#include "train_curves.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double monotonic_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double unix_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* The folder part of path ("." for none). */
static void folder_of(const char *path, char out[PATH_MAX])
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        strcpy(out, ".");
    else if (slash == path)
        strcpy(out, "/");
    else
        snprintf(out, PATH_MAX, "%.*s", (int)(slash - path), path);
}

/* path with its folder resolved (the file itself may not exist yet), so
 * that "ck" and "./ck" compare equal; the path as given when that fails. */
static void resolved(const char *path, char out[PATH_MAX])
{
    char dir[PATH_MAX], real[PATH_MAX];
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    if (strlen(path) < PATH_MAX)
        folder_of(path, dir);
    if (strlen(path) >= PATH_MAX || !realpath(dir, real) ||
        snprintf(out, PATH_MAX, "%s/%s", real, base) >= PATH_MAX)
        snprintf(out, PATH_MAX, "%s", path);
}

static int same_file(const char *a, const char *b)
{
    if (!strcmp(a, b))
        return 1;
    struct stat sa, sb;
    if (stat(a, &sa) == 0 && stat(b, &sb) == 0)
        return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
    char ra[PATH_MAX], rb[PATH_MAX];
    resolved(a, ra);
    resolved(b, rb);
    return !strcmp(ra, rb);
}

/* 0 when a file can be made in folder, else errno (EROFS, EACCES, EPERM
 * for an immutable folder, ENOENT, ENOTDIR): refused before any work. */
static int cannot_create_in(const char *folder)
{
    struct stat st;
    if (stat(folder, &st) != 0)
        return errno;
    if (!S_ISDIR(st.st_mode))
        return ENOTDIR;
    return access(folder, W_OK | X_OK) == 0 ? 0 : errno;
}

static rt_status check_metrics(const cli_options *o, rt_error *err)
{
    const char *path = o->metrics_path;
    if (!*path)
        return rt_error_set(err, RT_ERR_USAGE, "--metrics: the file name is empty");
    struct stat st;
    if (path[strlen(path) - 1] == '/' || (stat(path, &st) == 0 && S_ISDIR(st.st_mode)))
        return rt_error_set(err, RT_ERR_USAGE, "--metrics: %s is a folder, not a file", path);
    const struct {
        const char *option, *path;
    } others[] = {{"--save", o->save_path},
                  {"--save-best", o->save_best_path},
                  {"--resume", o->resume_path},
                  {"--init", o->init_path}};
    for (size_t i = 0; i < sizeof others / sizeof others[0]; i++)
        if (others[i].path && same_file(path, others[i].path))
            return rt_error_set(err, RT_ERR_USAGE, "--metrics and %s name the same file '%s'",
                                others[i].option, path);
    char folder[PATH_MAX];
    folder_of(path, folder);
    int e = stat(path, &st) == 0 ? (access(path, W_OK) == 0 ? 0 : errno) : cannot_create_in(folder);
    if (e)
        return rt_error_set(err, RT_ERR_USAGE, "--metrics: %s: cannot create the file: %s", path,
                            strerror(e));
    return RT_OK;
}

rt_status cli_curves_check(const cli_options *o, rt_error *err)
{
    if (o->metrics_path && check_metrics(o, err) != RT_OK)
        return err->status;
    if (o->tensorboard_dir) {
        const char *dir = o->tensorboard_dir;
        struct stat st;
        if (!*dir)
            return rt_error_set(err, RT_ERR_USAGE, "--tensorboard: the folder name is empty");
        if (stat(dir, &st) == 0 && !S_ISDIR(st.st_mode))
            return rt_error_set(err, RT_ERR_USAGE, "--tensorboard: %s is not a folder", dir);
        char trimmed[PATH_MAX], parent[PATH_MAX];
        snprintf(trimmed, sizeof trimmed, "%s", dir);
        for (size_t n = strlen(trimmed); n > 1 && trimmed[n - 1] == '/'; n--)
            trimmed[n - 1] = '\0'; /* "tb/" is made in "." */
        folder_of(trimmed, parent);
        int exists = stat(dir, &st) == 0;
        int e = cannot_create_in(exists ? dir : parent);
        if (e)
            return rt_error_set(err, RT_ERR_USAGE, "--tensorboard: %s: cannot create %s: %s", dir,
                                exists ? "the event file" : "the folder", strerror(e));
        /* after the path's checks: a bad path reads the same in every build */
        if (!rt_tfevents_available()) {
            rt_tfevents *none;
            return rt_tfevents_open("--tensorboard", dir, &none, err); /* says why */
        }
    }
    return RT_OK;
}

rt_status cli_curves_open(cli_curves *c, const cli_options *o, rt_error *err)
{
    memset(c, 0, sizeof *c);
    if (o->tensorboard_dir &&
        rt_tfevents_open("--tensorboard", o->tensorboard_dir, &c->tb, err) != RT_OK)
        return err->status;
    /* a resumed run continues its curve: the records carry the global step */
    if (o->metrics_path && rt_metrics_jsonl_open("--metrics", o->metrics_path,
                                                 o->resume_path != NULL, &c->jsonl,
                                                 err) != RT_OK) {
        rt_tfevents_discard(c->tb);
        c->tb = NULL;
        return err->status;
    }
    c->start = monotonic_now();
    return RT_OK;
}

static void warn(const rt_error *e)
{
    fprintf(stderr, "resnet-train: warning: %s; no more records are written there\n",
            e->message);
}

void cli_curves_event(cli_curves *c, const rt_train_event *ev, int top5)
{
    if (!c->jsonl && !c->tb)
        return;
    rt_error e = {0};
    if (c->jsonl &&
        rt_metrics_jsonl_event(c->jsonl, ev, top5, monotonic_now() - c->start, &e) != RT_OK) {
        warn(&e);
        rt_metrics_jsonl_close(c->jsonl, NULL);
        c->jsonl = NULL;
    }
    if (c->tb && rt_tfevents_event(c->tb, ev, top5, unix_now(), &e) != RT_OK) {
        warn(&e);
        rt_tfevents_close(c->tb, NULL);
        c->tb = NULL;
    }
}

void cli_curves_close(cli_curves *c)
{
    rt_error e = {0};
    if (rt_metrics_jsonl_close(c->jsonl, &e) != RT_OK)
        fprintf(stderr, "resnet-train: warning: %s\n", e.message);
    if (rt_tfevents_close(c->tb, &e) != RT_OK)
        fprintf(stderr, "resnet-train: warning: %s\n", e.message);
    c->jsonl = NULL;
    c->tb = NULL;
}
