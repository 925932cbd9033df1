#include "resnet/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

rt_status rt_error_set(rt_error *err, rt_status status, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
        err->status = status;
    }
    return status;
}

rt_status rt_error_prefix(rt_error *err, const char *fmt, ...)
{
    if (!err)
        return RT_ERR_USAGE;
    char prefix[RT_ERROR_MESSAGE_MAX / 2];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    char joined[RT_ERROR_MESSAGE_MAX];
    /* bounded so the two parts always fit */
    snprintf(joined, sizeof joined, "%.500s: %.500s", prefix, err->message);
    memcpy(err->message, joined, sizeof joined);
    return err->status;
}

void rt_error_clear(rt_error *err)
{
    if (err) {
        err->status = RT_OK;
        err->message[0] = '\0';
    }
}

const char *rt_status_name(rt_status status)
{
    switch (status) {
    case RT_OK: return "ok";
    case RT_ERR_USAGE: return "usage error";
    case RT_ERR_IO: return "I/O error";
    case RT_ERR_FORMAT: return "format error";
    case RT_ERR_NOMEM: return "out of memory";
    case RT_ERR_DEVICE: return "device error";
    case RT_ERR_NODEVICE: return "device unavailable";
    case RT_ERR_NETWORK: return "network error";
    case RT_ERR_NUMERIC: return "numerical error";
    case RT_ERR_INTERRUPTED: return "interrupted";
    }
    return "unknown error";
}
