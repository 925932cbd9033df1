/* Internal helpers of the data module: paths and folders, notices, names
 * made printable for one-line messages, and downloads (one URL with a size
 * cap, or each mirror in turn). */
#ifndef RT_DATA_UTIL_H
#define RT_DATA_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "resnet/data.h"

#define RT_DATA_PATH_MAX 4096
/* rt_download_verified's cap (the biggest MNIST file is under 10 MB) */
#define RT_DOWNLOAD_DEFAULT_MAX ((uint64_t)64 << 20)

/* snprintf(out, RT_DATA_PATH_MAX, fmt, dir, name) for a fmt with two %s;
 * RT_ERR_USAGE "DIR: path too long" when it does not fit. */
rt_status rt_data_path(char *out, const char *fmt, const char *dir, const char *name,
                       rt_error *err);
int rt_data_is_file(const char *path); /* exists and is not a folder */
int rt_data_is_dir(const char *path);
/* mkdir -p */
rt_status rt_data_make_dirs(const char *dir, rt_error *err);

/* Formats a notice and hands it to fn (nothing when fn is NULL). */
void rt_data_notify(rt_notice_fn fn, void *ctx, const char *fmt, ...) RT_PRINTF_LIKE(3, 4);

/* Copies in into out (size bytes, truncated with "..." when longer), every
 * control or non-ASCII byte replaced by '?': a name read from an untrusted
 * file can go into a one-line message. */
void rt_data_printable(const char *in, char *out, size_t size);

/* rt_download_verified with a cap of max_bytes instead of 64 MiB. */
rt_status rt_download_verified_max(const char *base_url, const char *name, const char *md5_hex,
                                   const char *path, uint64_t max_bytes, rt_error *err);

/* Downloads file (base URL + file) into dest from each mirror in turn until
 * one succeeds, with the notices "downloading URL", "saved DEST (N bytes, MD5
 * ok)" and, before trying the next mirror, why one failed. Fails with
 * "FILE: download failed from every mirror: ..." (or "no mirror given"). */
rt_status rt_data_download(rt_notice_fn fn, void *ctx, const char *const *mirrors,
                           const char *file, const char *md5_hex, const char *dest,
                           uint64_t max_bytes, rt_error *err);

#endif
