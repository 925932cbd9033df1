/* Strict parsing of option values: the whole text must be a number in
 * range, or the user gets a one-line message naming the option. */
#ifndef RT_CLI_ARGS_H
#define RT_CLI_ARGS_H

#include <stdint.h>

#include "resnet/error.h"

rt_status rt_parse_int(const char *option, const char *text, long min, long max, int *out,
                       rt_error *err);
rt_status rt_parse_u64(const char *option, const char *text, uint64_t *out, rt_error *err);
rt_status rt_parse_float(const char *option, const char *text, double min, double max,
                         float *out, rt_error *err);

#endif
