#include "args.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>

rt_status rt_parse_int(const char *option, const char *text, long min, long max, int *out,
                       rt_error *err)
{
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (end == text || *end != '\0' || isspace((unsigned char)*text))
        return rt_error_set(err, RT_ERR_USAGE, "%s: '%s' is not an integer", option, text);
    if (errno == ERANGE || v < min || v > max)
        return rt_error_set(err, RT_ERR_USAGE, "%s: %s is out of range (%ld..%ld)", option, text,
                            min, max);
    *out = (int)v;
    return RT_OK;
}

rt_status rt_parse_u64(const char *option, const char *text, uint64_t *out, rt_error *err)
{
    char *end;
    errno = 0;
    if (*text == '-' || isspace((unsigned char)*text))
        return rt_error_set(err, RT_ERR_USAGE, "%s: '%s' is not a non-negative integer", option,
                            text);
    unsigned long long v = strtoull(text, &end, 10);
    if (end == text || *end != '\0')
        return rt_error_set(err, RT_ERR_USAGE, "%s: '%s' is not a non-negative integer", option,
                            text);
    if (errno == ERANGE)
        return rt_error_set(err, RT_ERR_USAGE, "%s: %s is too large", option, text);
    *out = (uint64_t)v;
    return RT_OK;
}

rt_status rt_parse_float(const char *option, const char *text, double min, double max,
                         float *out, rt_error *err)
{
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (end == text || *end != '\0' || isspace((unsigned char)*text))
        return rt_error_set(err, RT_ERR_USAGE, "%s: '%s' is not a number", option, text);
    if (!isfinite(v) || isnan(v))
        return rt_error_set(err, RT_ERR_USAGE, "%s: '%s' is not a finite number", option, text);
    if (v < min || v > max)
        return rt_error_set(err, RT_ERR_USAGE, "%s: %s is out of range (%g..%g)", option, text,
                            min, max);
    *out = (float)v;
    return RT_OK;
}
