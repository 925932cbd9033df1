/* Standard base64 (RFC 4648, '+' '/' and '=' padding), strict on decode:
 * no whitespace, padding only at the end, unused bits zero, length a
 * multiple of 4. Private to the library. */
#ifndef RT_IO_BASE64_H
#define RT_IO_BASE64_H

#include <stddef.h>

/* Characters rt_base64_encode writes for n bytes, without the NUL. */
size_t rt_base64_encoded_size(size_t n);
/* Writes rt_base64_encoded_size(n) characters and a NUL into out. */
void rt_base64_encode(const void *data, size_t n, char *out);

/* Bytes the text decodes to, or (size_t)-1 if its length is not a
 * multiple of 4 (the content is checked by rt_base64_decode). */
size_t rt_base64_decoded_size(const char *text, size_t len);
/* Decodes into out (rt_base64_decoded_size bytes). Returns 0 on success,
 * else -1 with *bad set to the offset of the first offending character. */
int rt_base64_decode(const char *text, size_t len, void *out, size_t *bad);

#endif
