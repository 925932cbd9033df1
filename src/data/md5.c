/* MD5 as specified by RFC 1321, written from the RFC's description. */
#include "md5.h"

#include <string.h>

#include "resnet/data.h"

#define F(x, y, z) (((x) & (y)) | (~(x) & (z)))
#define G(x, y, z) (((x) & (z)) | ((y) & ~(z)))
#define H(x, y, z) ((x) ^ (y) ^ (z))
#define I(x, y, z) ((y) ^ ((x) | ~(z)))

static uint32_t rotl(uint32_t x, unsigned n)
{
    return (x << n) | (x >> (32u - n));
}

/* The per-step shift amounts, and T[i] = floor(2^32 * |sin(i + 1)|). */
static const unsigned shifts[64] = {
    7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22,
    5, 9,  14, 20, 5, 9,  14, 20, 5, 9,  14, 20, 5, 9,  14, 20,
    4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23,
    6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21,
};

static const uint32_t sines[64] = {
    0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613,
    0xfd469501, 0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193,
    0xa679438e, 0x49b40821, 0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d,
    0x02441453, 0xd8a1e681, 0xe7d3fbc8, 0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed,
    0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a, 0xfffa3942, 0x8771f681, 0x6d9d6122,
    0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70, 0x289b7ec6, 0xeaa127fa,
    0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665, 0xf4292244,
    0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
    0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb,
    0xeb86d391,
};

static void transform(uint32_t state[4], const uint8_t block[64])
{
    uint32_t x[16];
    for (int i = 0; i < 16; i++)
        x[i] = (uint32_t)block[4 * i] | (uint32_t)block[4 * i + 1] << 8 |
               (uint32_t)block[4 * i + 2] << 16 | (uint32_t)block[4 * i + 3] << 24;

    uint32_t a = state[0], b = state[1], c = state[2], d = state[3];
    for (int i = 0; i < 64; i++) {
        uint32_t f;
        int k;
        switch (i / 16) {
        case 0: f = F(b, c, d); k = i; break;
        case 1: f = G(b, c, d); k = (5 * i + 1) % 16; break;
        case 2: f = H(b, c, d); k = (3 * i + 5) % 16; break;
        default: f = I(b, c, d); k = (7 * i) % 16; break;
        }
        uint32_t next = b + rotl(a + f + sines[i] + x[k], shifts[i]);
        a = d;
        d = c;
        c = b;
        b = next;
    }
    state[0] += a;
    state[1] += b;
    state[2] += c;
    state[3] += d;
}

void rt_md5_init(rt_md5 *md5)
{
    md5->state[0] = 0x67452301;
    md5->state[1] = 0xefcdab89;
    md5->state[2] = 0x98badcfe;
    md5->state[3] = 0x10325476;
    md5->length = 0;
    md5->used = 0;
}

void rt_md5_update(rt_md5 *md5, const void *data, size_t size)
{
    const uint8_t *p = data;
    md5->length += size;
    if (md5->used > 0) {
        size_t take = 64 - md5->used;
        if (take > size)
            take = size;
        memcpy(md5->block + md5->used, p, take);
        md5->used += take;
        p += take;
        size -= take;
        if (md5->used < 64)
            return;
        transform(md5->state, md5->block);
        md5->used = 0;
    }
    for (; size >= 64; p += 64, size -= 64)
        transform(md5->state, p);
    if (size > 0) {
        memcpy(md5->block, p, size);
        md5->used = size;
    }
}

void rt_md5_final(rt_md5 *md5, uint8_t digest[16])
{
    uint64_t bits = md5->length * 8u; /* the length modulo 2^64, as the RFC says */
    uint8_t pad[72] = {0x80};
    /* pad to 56 bytes modulo 64, then the 8-byte little-endian bit count */
    size_t padlen = md5->used < 56 ? 56 - md5->used : 120 - md5->used;
    for (int i = 0; i < 8; i++)
        pad[padlen + (size_t)i] = (uint8_t)(bits >> (8 * i));
    uint64_t length = md5->length;
    rt_md5_update(md5, pad, padlen + 8);
    md5->length = length;
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++)
            digest[4 * i + j] = (uint8_t)(md5->state[i] >> (8 * j));
}

void rt_md5_digest_hex(const uint8_t digest[16], char out[33])
{
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < 16; i++) {
        out[2 * i] = hex[digest[i] >> 4];
        out[2 * i + 1] = hex[digest[i] & 15];
    }
    out[32] = '\0';
}

void rt_md5_hex(const void *data, size_t size, char out[33])
{
    rt_md5 md5;
    uint8_t digest[16];
    rt_md5_init(&md5);
    rt_md5_update(&md5, data, size);
    rt_md5_final(&md5, digest);
    rt_md5_digest_hex(digest, out);
}
