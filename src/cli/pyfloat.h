/* Formats a double as Python's repr() does (the shortest string that reads
 * back to the same value), so our log lines match the seed's f-strings. */
#ifndef RT_CLI_PYFLOAT_H
#define RT_CLI_PYFLOAT_H

#include <stddef.h>

void rt_format_python_float(double x, char *buf, size_t size);

#endif
