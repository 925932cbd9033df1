/* Error reporting shared by every part of the library.
 *
 * A fallible function returns an rt_status and, when it fails, fills the
 * caller's rt_error with a one-line message that names the file, option or
 * library call at fault. The library never prints and never exits. */
#ifndef RESNET_ERROR_H
#define RESNET_ERROR_H

#ifdef __cplusplus
extern "C" {
#endif

typedef enum rt_status {
    RT_OK = 0,
    RT_ERR_USAGE,       /* a bad option or argument value */
    RT_ERR_IO,          /* the file system refused something */
    RT_ERR_FORMAT,      /* a file's content is malformed */
    RT_ERR_NOMEM,       /* host or device memory exhausted */
    RT_ERR_DEVICE,      /* a CUDA, cuDNN or cuBLAS call failed */
    RT_ERR_NODEVICE,    /* the device asked for is not available */
    RT_ERR_NETWORK,     /* a download failed */
    RT_ERR_NUMERIC,     /* NaN or Inf where a finite number is needed */
    RT_ERR_INTERRUPTED, /* stopped by a signal */
} rt_status;

#define RT_ERROR_MESSAGE_MAX 1024

typedef struct rt_error {
    rt_status status;
    char message[RT_ERROR_MESSAGE_MAX];
} rt_error;

#if defined(__GNUC__)
#define RT_PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))
#else
#define RT_PRINTF_LIKE(f, a)
#endif

/* Records status and a printf-style message in err (err may be NULL) and
 * returns status, so callers can write `return rt_error_set(err, ...)`. */
rt_status rt_error_set(rt_error *err, rt_status status, const char *fmt, ...)
    RT_PRINTF_LIKE(3, 4);

/* Prefixes the message already in err with more context ("loading X: ..."). */
rt_status rt_error_prefix(rt_error *err, const char *fmt, ...) RT_PRINTF_LIKE(2, 3);

void rt_error_clear(rt_error *err);

/* A short lower-case name of a status ("format error", ...). */
const char *rt_status_name(rt_status status);

#ifdef __cplusplus
}
#endif
#endif
