/* MD5 (RFC 1321), private to the data module: a streaming context for
 * checking downloads as they arrive and files as they are read. The public
 * one-shot form is rt_md5_hex in resnet/data.h. MD5 is used only to check
 * that a download matches its published sum, not for security. */
#ifndef RT_DATA_MD5_H
#define RT_DATA_MD5_H

#include <stddef.h>
#include <stdint.h>

typedef struct rt_md5 {
    uint32_t state[4];
    uint64_t length; /* bytes hashed so far */
    uint8_t block[64];
    size_t used; /* bytes waiting in block */
} rt_md5;

void rt_md5_init(rt_md5 *md5);
void rt_md5_update(rt_md5 *md5, const void *data, size_t size);
/* Finishes the sum: 16 bytes into digest. */
void rt_md5_final(rt_md5 *md5, uint8_t digest[16]);
/* Writes 32 lower-case hex digits and a NUL. */
void rt_md5_digest_hex(const uint8_t digest[16], char out[33]);

#endif
