/* The libpng callbacks and limits shared by the PNG readers. */
#include "image_png_io.h"

#ifdef RT_HAVE_PNG

#include <errno.h>
#include <stdarg.h>
#include <string.h>

void rt_png_on_error(png_structp png, png_const_charp msg)
{
    rt_png_io *io = png_get_error_ptr(png);
    if (io->message[0] == '\0') {
        if (io->warning[0])
            snprintf(io->message, sizeof io->message, "%s (%s)", msg, io->warning);
        else
            snprintf(io->message, sizeof io->message, "%s", msg);
    }
    png_longjmp(png, 1);
}

void rt_png_on_warning(png_structp png, png_const_charp msg)
{
    rt_png_io *io = png_get_error_ptr(png);
    if (io->warning[0] == '\0')
        snprintf(io->warning, sizeof io->warning, "%s", msg);
}

void rt_png_on_read(png_structp png, png_bytep data, png_size_t n)
{
    rt_png_io *io = png_get_io_ptr(png);
    if (fread(data, 1, n, io->fp) != n) {
        if (ferror(io->fp))
            snprintf(io->message, sizeof io->message, "read failed: %s", strerror(errno));
        else
            snprintf(io->message, sizeof io->message, "unexpected end of file (truncated)");
        png_error(png, io->message);
    }
}

void rt_png_start(png_structp png, rt_png_io *io)
{
    png_set_read_fn(png, io, rt_png_on_read);
    png_set_user_limits(png, 1u << 20, 1u << 20);
    png_set_chunk_cache_max(png, 1000);
    png_set_chunk_malloc_max(png, 8u << 20);
}

void rt_png_fail(png_structp png, rt_png_io *io, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(io->message, sizeof io->message, fmt, ap);
    va_end(ap);
    png_error(png, io->message);
}

#endif
