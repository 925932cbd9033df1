#include "base64.h"

#include <stdint.h>

static const char ALPHABET[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t rt_base64_encoded_size(size_t n) { return (n + 2) / 3 * 4; }

void rt_base64_encode(const void *data, size_t n, char *out)
{
    const unsigned char *s = data;
    size_t o = 0, i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8 | s[i + 2];
        out[o++] = ALPHABET[v >> 18];
        out[o++] = ALPHABET[(v >> 12) & 63];
        out[o++] = ALPHABET[(v >> 6) & 63];
        out[o++] = ALPHABET[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)s[i] << 16;
        out[o++] = ALPHABET[v >> 18];
        out[o++] = ALPHABET[(v >> 12) & 63];
        out[o++] = '=';
        out[o++] = '=';
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8;
        out[o++] = ALPHABET[v >> 18];
        out[o++] = ALPHABET[(v >> 12) & 63];
        out[o++] = ALPHABET[(v >> 6) & 63];
        out[o++] = '=';
    }
    out[o] = '\0';
}

static int value_of(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

size_t rt_base64_decoded_size(const char *text, size_t len)
{
    if (len % 4)
        return (size_t)-1;
    size_t n = len / 4 * 3;
    if (len && text[len - 1] == '=')
        n--;
    if (len >= 2 && text[len - 2] == '=')
        n--;
    return n;
}

int rt_base64_decode(const char *text, size_t len, void *out, size_t *bad)
{
    unsigned char *o = out;
    const unsigned char *t = (const unsigned char *)text;
    if (len % 4) {
        *bad = len;
        return -1;
    }
    for (size_t i = 0; i < len; i += 4) {
        int last = i + 4 == len;
        int v[4];
        int pad = 0;
        for (int k = 0; k < 4; k++) {
            if (t[i + k] == '=' && last && k >= 2) {
                /* '=' only in the last two places, and "x=y" is not padding */
                if (k == 2 && t[i + 3] != '=') {
                    *bad = i + k;
                    return -1;
                }
                v[k] = 0;
                pad++;
                continue;
            }
            v[k] = value_of(t[i + k]);
            if (v[k] < 0) {
                *bad = i + k;
                return -1;
            }
        }
        uint32_t w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | (uint32_t)v[3];
        /* the bits padding drops must be zero (a canonical encoding) */
        if ((pad == 2 && (w & 0xffff)) || (pad == 1 && (w & 0xff))) {
            *bad = i + 3 - (size_t)pad;
            return -1;
        }
        *o++ = (unsigned char)(w >> 16);
        if (pad < 2)
            *o++ = (unsigned char)(w >> 8);
        if (pad < 1)
            *o++ = (unsigned char)w;
    }
    return 0;
}
