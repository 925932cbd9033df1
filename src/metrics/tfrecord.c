/* TFRecord framing: what TensorBoard's readers expect around every Event. */
#include <errno.h>
#include <string.h>

#include "resnet/metrics.h"

static void put_le32(unsigned char *out, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        out[i] = (unsigned char)(v >> (8 * i));
}

rt_status rt_tfrecord_write(FILE *f, const void *payload, size_t size, rt_error *err)
{
    unsigned char head[12], tail[4];
    uint64_t length = size;
    for (int i = 0; i < 8; i++)
        head[i] = (unsigned char)(length >> (8 * i));
    put_le32(head + 8, rt_crc32c_mask(rt_crc32c(0, head, 8)));
    put_le32(tail, rt_crc32c_mask(rt_crc32c(0, payload, size)));
    errno = 0;
    if (fwrite(head, 1, sizeof head, f) != sizeof head ||
        (size && fwrite(payload, 1, size, f) != size) ||
        fwrite(tail, 1, sizeof tail, f) != sizeof tail || fflush(f) != 0)
        return rt_error_set(err, RT_ERR_IO, "write failed: %s",
                            errno ? strerror(errno) : "short write");
    return RT_OK;
}
