#include "pyfloat.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void rt_format_python_float(double x, char *buf, size_t size)
{
    if (isnan(x)) {
        snprintf(buf, size, "nan");
        return;
    }
    if (isinf(x)) {
        snprintf(buf, size, "%s", x < 0 ? "-inf" : "inf");
        return;
    }
    if (x == 0.0) {
        snprintf(buf, size, "%s", signbit(x) ? "-0.0" : "0.0");
        return;
    }
    /* the shortest %.*e that reads back exactly */
    char sci[40];
    for (int prec = 0; prec <= 17; prec++) {
        snprintf(sci, sizeof sci, "%.*e", prec, x);
        if (strtod(sci, NULL) == x)
            break;
    }
    /* split "-d.ddde+XX" into sign, digits and exponent */
    const char *p = sci;
    int negative = *p == '-';
    if (negative)
        p++;
    char digits[24];
    size_t nd = 0;
    for (; *p && *p != 'e'; p++)
        if (*p != '.')
            digits[nd++] = *p;
    while (nd > 1 && digits[nd - 1] == '0')
        nd--;
    digits[nd] = '\0';
    int exp10 = atoi(p + 1);
    char out[64];
    size_t o = 0;
    if (negative)
        out[o++] = '-';
    if (exp10 >= -4 && exp10 < 16) {
        /* Python's repr uses fixed notation for 1e-4 <= |x| < 1e16 */
        if (exp10 < 0) {
            out[o++] = '0';
            out[o++] = '.';
            for (int i = -1; i > exp10; i--)
                out[o++] = '0';
            memcpy(out + o, digits, nd);
            o += nd;
        } else {
            for (int i = 0; i <= exp10; i++)
                out[o++] = (size_t)i < nd ? digits[i] : '0';
            out[o++] = '.';
            if ((size_t)exp10 + 1 < nd) {
                memcpy(out + o, digits + exp10 + 1, nd - (size_t)exp10 - 1);
                o += nd - (size_t)exp10 - 1;
            } else {
                out[o++] = '0';
            }
        }
        out[o] = '\0';
        snprintf(buf, size, "%s", out);
        return;
    }
    out[o++] = digits[0];
    if (nd > 1) {
        out[o++] = '.';
        memcpy(out + o, digits + 1, nd - 1);
        o += nd - 1;
    }
    out[o] = '\0';
    snprintf(buf, size, "%se%c%02d", out, exp10 < 0 ? '-' : '+', abs(exp10));
}
