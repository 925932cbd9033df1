/* Writing JSON strings safely (file names can hold anything). */
#ifndef RT_CLI_JSON_OUT_H
#define RT_CLI_JSON_OUT_H

#include <stdio.h>

void json_print_string(FILE *out, const char *s);

#endif
