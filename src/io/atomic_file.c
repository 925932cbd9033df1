#include "atomic_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void release(rt_atomic_file *af)
{
    free(af->target);
    free(af->temp);
    free(af->dir);
    af->target = af->temp = af->dir = NULL;
    af->fd = -1;
}

rt_status rt_atomic_open(rt_atomic_file *af, const char *path, rt_error *err)
{
    af->fd = -1;
    af->target = af->temp = af->dir = NULL;
    size_t len = strlen(path);
    if (len == 0)
        return rt_error_set(err, RT_ERR_USAGE, "cannot save: the file name is empty");
    if (path[len - 1] == '/')
        return rt_error_set(err, RT_ERR_USAGE, "%s: cannot save: the name ends in '/' (a folder)",
                            path);
    const char *slash = strrchr(path, '/');
    af->target = strdup(path);
    if (slash == path)
        af->dir = strdup("/");
    else if (slash)
        af->dir = strndup(path, (size_t)(slash - path));
    else
        af->dir = strdup(".");
    af->temp = malloc(len + 64);
    if (!af->target || !af->dir || !af->temp) {
        release(af);
        return rt_error_set(err, RT_ERR_NOMEM, "%s: out of memory", path);
    }
    static atomic_uint counter;
    for (int attempt = 0;; attempt++) {
        /* the temporary lies beside the target, so rename() stays in one file system */
        snprintf(af->temp, len + 64, "%s.tmp-%ld-%u", path, (long)getpid(),
                 atomic_fetch_add(&counter, 1u));
        af->fd = open(af->temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (af->fd >= 0)
            return RT_OK;
        if (errno != EEXIST || attempt >= 100) {
            int e = errno;
            rt_status st = rt_error_set(err, RT_ERR_IO,
                                        "%s: cannot create a temporary file in folder '%s': %s",
                                        path, af->dir, strerror(e));
            release(af);
            return st;
        }
    }
}

rt_status rt_atomic_write(rt_atomic_file *af, const void *data, size_t n, rt_error *err)
{
    const char *p = data;
    while (n > 0) {
        size_t chunk = n > (1u << 30) ? (1u << 30) : n;
        ssize_t k = write(af->fd, p, chunk);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            return rt_error_set(err, RT_ERR_IO, "%s: write failed: %s", af->target,
                                strerror(errno));
        }
        if (k == 0)
            return rt_error_set(err, RT_ERR_IO, "%s: write failed: no progress", af->target);
        p += k;
        n -= (size_t)k;
    }
    return RT_OK;
}

void rt_atomic_abort(rt_atomic_file *af)
{
    if (af->fd >= 0)
        close(af->fd);
    if (af->temp)
        unlink(af->temp);
    release(af);
}

rt_status rt_atomic_commit(rt_atomic_file *af, rt_error *err)
{
    rt_status st = RT_OK;
    if (fsync(af->fd) != 0) {
        st = rt_error_set(err, RT_ERR_IO, "%s: fsync failed: %s", af->target, strerror(errno));
        rt_atomic_abort(af);
        return st;
    }
    int fd = af->fd;
    af->fd = -1;
    if (close(fd) != 0) {
        st = rt_error_set(err, RT_ERR_IO, "%s: close failed: %s", af->target, strerror(errno));
        rt_atomic_abort(af);
        return st;
    }
    if (rename(af->temp, af->target) != 0) {
        st = rt_error_set(err, RT_ERR_IO, "%s: cannot replace the file: %s", af->target,
                          strerror(errno));
        rt_atomic_abort(af);
        return st;
    }
    /* The rename is durable once the folder is flushed. Some file systems
     * refuse fsync on a folder (EINVAL); the new file is in place anyway. */
    int dfd = open(af->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        if (fsync(dfd) != 0 && errno != EINVAL && errno != EROFS)
            st = rt_error_set(err, RT_ERR_IO, "%s: fsync of folder '%s' failed: %s", af->target,
                              af->dir, strerror(errno));
        close(dfd);
    }
    release(af);
    return st;
}
