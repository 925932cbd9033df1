/* Replacing a file atomically: the content goes to a temporary file in the
 * target's folder, which is flushed to disk (fsync), renamed over the target
 * and the folder flushed too. Until rt_atomic_commit succeeds the target is
 * untouched; on any failure the temporary file is removed. Private to the
 * library.
 *
 *   rt_atomic_file af;
 *   TRY(rt_atomic_open(&af, path, err));
 *   if (rt_atomic_write(&af, buf, n, err) != RT_OK) { rt_atomic_abort(&af); ... }
 *   TRY(rt_atomic_commit(&af, err));   // aborts by itself when it fails
 */
#ifndef RT_IO_ATOMIC_FILE_H
#define RT_IO_ATOMIC_FILE_H

#include <stddef.h>

#include "resnet/error.h"

typedef struct rt_atomic_file {
    int fd;
    char *target;
    char *temp;
    char *dir; /* the target's folder, for the final fsync */
} rt_atomic_file;

/* Creates the temporary file (mode 0666 less the umask, as a plain
 * fopen(path, "w") would give). */
rt_status rt_atomic_open(rt_atomic_file *af, const char *path, rt_error *err);
rt_status rt_atomic_write(rt_atomic_file *af, const void *data, size_t n, rt_error *err);
/* fsync, close, rename over the target, fsync the folder. Afterwards af is
 * closed whatever the outcome. */
rt_status rt_atomic_commit(rt_atomic_file *af, rt_error *err);
/* Closes and removes the temporary file (safe to call on a closed af). */
void rt_atomic_abort(rt_atomic_file *af);

#endif
