/* Shared by the fuzz harnesses and the regression replayer: the library
 * reads files by path, so each input is written to an in-memory file
 * (memfd, or a temporary file where memfd_create is missing) and handed
 * over as /proc/self/fd/N; and the invariants every failure must keep. */
#ifndef RT_FUZZ_COMMON_H
#define RT_FUZZ_COMMON_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "resnet/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The path of a file holding exactly data[0..size); the same file is reused
 * (truncated and rewritten) on every call. */
static inline const char *fuzz_file(const uint8_t *data, size_t size)
{
    static int fd = -1;
    static char path[64];
    if (fd < 0) {
        fd = memfd_create("fuzz-input", 0);
        if (fd < 0) {
            char tmpl[] = "/tmp/fuzz-input-XXXXXX";
            fd = mkstemp(tmpl);
            if (fd < 0)
                abort();
            unlink(tmpl);
        }
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    }
    if (ftruncate(fd, 0) != 0)
        abort();
    size_t done = 0;
    while (done < size) {
        ssize_t k = pwrite(fd, data + done, size - done, (off_t)done);
        if (k <= 0)
            abort();
        done += (size_t)k;
    }
    return path;
}

/* A failure must come with its status and a message that is one non-empty
 * line (the command prints it as is). A success must leave no message. */
static inline void fuzz_check_error(rt_status st, const rt_error *err)
{
    if (st == RT_OK)
        return;
    if (err->status != st) {
        fprintf(stderr, "fuzz: returned status %d but err->status is %d\n", (int)st,
                (int)err->status);
        abort();
    }
    size_t n = strnlen(err->message, sizeof err->message);
    if (n == 0 || n >= sizeof err->message) {
        fprintf(stderr, "fuzz: failure with an empty or unterminated message\n");
        abort();
    }
    if (memchr(err->message, '\n', n) || memchr(err->message, '\r', n)) {
        fprintf(stderr, "fuzz: the error message is not one line: %s\n", err->message);
        abort();
    }
}

#endif
