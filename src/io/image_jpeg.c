/* JPEG through libjpeg (libjpeg-turbo), decoded as PIL decodes it: the
 * library's defaults (accurate integer IDCT, fancy upsampling), gray and
 * YCbCr/RGB to RGB, CMYK and YCCK read as Adobe's inverted CMYK and turned
 * into RGB by PIL's formula. Warnings about corrupt data are tolerated, as
 * PIL (which silences them) does, except the end of the file arriving
 * before the image does: PIL's "image file is truncated". libjpeg reports
 * fatal errors by calling error_exit: a longjmp here, turned into one line
 * naming the file. Decompression bombs: the pixel cap from the header, at
 * most 500 scans (a progressive file of many empty scans decodes forever)
 * and a cap on libjpeg's own memory. */
#include "image_internal.h"

#ifdef RT_HAVE_JPEG

#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include <jerror.h>
#include <jpeglib.h>

#define JPEG_MAX_SCANS 500
#define JPEG_MAX_MEMORY (640L << 20) /* progressive coefficients of RT_IMAGE_MAX_PIXELS */

typedef struct jpeg_job {
    struct jpeg_error_mgr pub; /* first: libjpeg hands back a pointer to it */
    struct jpeg_progress_mgr progress;
    jmp_buf jump;
    char message[JMSG_LENGTH_MAX + 64];
    uint8_t *rgb;     /* the result */
    uint8_t *row;     /* one decoded row (CMYK or gray) */
    JDIMENSION width, height;
    int done; /* set when no longjmp came */
} jpeg_job;

static void fail(j_common_ptr cinfo)
{
    jpeg_job *j = (jpeg_job *)cinfo->err;
    if (j->message[0] == '\0')
        (*cinfo->err->format_message)(cinfo, j->message);
    longjmp(j->jump, 1);
}

/* Warnings (level -1) are ignored but for the premature end of the file;
 * trace messages (level >= 0) always. */
static void on_message(j_common_ptr cinfo, int level)
{
    if (level == -1 && cinfo->err->msg_code == JWRN_JPEG_EOF) {
        jpeg_job *j = (jpeg_job *)cinfo->err;
        snprintf(j->message, sizeof j->message, "unexpected end of file (truncated)");
        longjmp(j->jump, 1);
    }
}

static void on_progress(j_common_ptr cinfo)
{
    if (cinfo->is_decompressor &&
        ((j_decompress_ptr)cinfo)->input_scan_number > JPEG_MAX_SCANS) {
        jpeg_job *j = (jpeg_job *)cinfo->err;
        snprintf(j->message, sizeof j->message, "more than %d scans", JPEG_MAX_SCANS);
        longjmp(j->jump, 1);
    }
}

static void start(j_decompress_ptr cinfo, jpeg_job *j, FILE *fp)
{
    cinfo->err = jpeg_std_error(&j->pub);
    j->pub.error_exit = fail;
    j->pub.emit_message = on_message;
    jpeg_create_decompress(cinfo);
    j->progress.progress_monitor = on_progress;
    cinfo->progress = &j->progress;
    cinfo->mem->max_memory_to_use = JPEG_MAX_MEMORY;
    jpeg_stdio_src(cinfo, fp);
    jpeg_read_header(cinfo, TRUE);
    if ((unsigned long long)cinfo->image_width * cinfo->image_height > RT_IMAGE_MAX_PIXELS) {
        snprintf(j->message, sizeof j->message, "image too large: %lux%lu pixels (at most %u)",
                 (unsigned long)cinfo->image_width, (unsigned long)cinfo->image_height,
                 RT_IMAGE_MAX_PIXELS);
        longjmp(j->jump, 1);
    }
    j->width = cinfo->image_width;
    j->height = cinfo->image_height;
}

/* PIL's MULDIV255: a * b / 255 rounded, in integers. */
static unsigned muldiv255(unsigned a, unsigned b)
{
    unsigned t = a * b + 128;
    return ((t >> 8) + t) >> 8;
}

/* Everything after setjmp happens in these two, so no local of the
 * callers changes between setjmp and a longjmp. */
static void decode(j_decompress_ptr cinfo, jpeg_job *j, FILE *fp)
{
    start(cinfo, j, fp);
    switch (cinfo->jpeg_color_space) {
    case JCS_GRAYSCALE: cinfo->out_color_space = JCS_GRAYSCALE; break;
    case JCS_YCbCr:
    case JCS_RGB: cinfo->out_color_space = JCS_RGB; break;
    case JCS_CMYK:
    case JCS_YCCK: cinfo->out_color_space = JCS_CMYK; break;
    default:
        snprintf(j->message, sizeof j->message,
                 "unsupported colour space (%d components; PIL reads 1, 3 or 4)",
                 cinfo->num_components);
        longjmp(j->jump, 1);
    }
    jpeg_start_decompress(cinfo);
    unsigned comps = (unsigned)cinfo->output_components;
    size_t w = cinfo->output_width, h = cinfo->output_height;
    if (w != j->width || h != j->height || (comps != 1 && comps != 3 && comps != 4)) {
        snprintf(j->message, sizeof j->message, "unexpected output layout");
        longjmp(j->jump, 1);
    }
    j->rgb = malloc(w * h * 3);
    j->row = malloc(w * comps);
    if (!j->rgb || !j->row) {
        snprintf(j->message, sizeof j->message, "out of memory for %zux%zu pixels", w, h);
        longjmp(j->jump, 1);
    }
    while (cinfo->output_scanline < h) {
        size_t y = cinfo->output_scanline;
        uint8_t *d = j->rgb + y * w * 3;
        JSAMPROW row = comps == 3 ? d : j->row;
        if (jpeg_read_scanlines(cinfo, &row, 1) != 1) {
            snprintf(j->message, sizeof j->message, "unexpected end of file (truncated)");
            longjmp(j->jump, 1);
        }
        if (comps == 1) {
            for (size_t x = 0; x < w; x++)
                d[3 * x] = d[3 * x + 1] = d[3 * x + 2] = j->row[x];
        } else if (comps == 4) { /* PIL: CMYK;I raw mode, then cmyk2rgb */
            for (size_t x = 0; x < w; x++) {
                const uint8_t *s = j->row + 4 * x;
                unsigned nk = s[3]; /* 255 - K with K = 255 - s[3] */
                for (int c = 0; c < 3; c++)
                    d[3 * x + c] = (uint8_t)(nk - muldiv255(255u - s[c], nk));
            }
        }
    }
    /* What follows the last row (even a missing EOI marker) is not read,
     * as PIL stops once it has the rows. */
}

static void probe(j_decompress_ptr cinfo, jpeg_job *j, FILE *fp) { start(cinfo, j, fp); }

static rt_status run(const char *path, FILE *fp, int decoding, jpeg_job *j, rt_error *err)
{
    struct jpeg_decompress_struct cinfo;
    memset(&cinfo, 0, sizeof cinfo);
    if (setjmp(j->jump) == 0) {
        if (decoding)
            decode(&cinfo, j, fp);
        else
            probe(&cinfo, j, fp);
        j->done = 1;
    }
    rt_status st = RT_OK;
    if (!j->done) {
        st = rt_error_set(err, RT_ERR_FORMAT, "%s: bad JPEG: %s", path,
                          j->message[0] ? j->message : "libjpeg error");
        free(j->rgb);
        j->rgb = NULL;
    }
    jpeg_destroy_decompress(&cinfo);
    free(j->row);
    j->row = NULL;
    return st;
}

rt_status rt_image_decode_jpeg(const char *path, FILE *fp, rt_pixels *out, rt_error *err)
{
    jpeg_job job;
    memset(&job, 0, sizeof job);
    rt_status st = run(path, fp, 1, &job, err);
    if (st == RT_OK) {
        out->width = (int)job.width;
        out->height = (int)job.height;
        out->channels = 3;
        out->data = job.rgb;
    }
    return st;
}

rt_status rt_image_probe_jpeg(const char *path, FILE *fp, int *width, int *height, rt_error *err)
{
    jpeg_job job;
    memset(&job, 0, sizeof job);
    rt_status st = run(path, fp, 0, &job, err);
    if (st == RT_OK) {
        *width = (int)job.width;
        *height = (int)job.height;
    }
    return st;
}

#else /* !RT_HAVE_JPEG */

static rt_status no_jpeg(const char *path, rt_error *err)
{
    return rt_error_set(err, RT_ERR_USAGE,
                        "%s: is a JPEG image, but this build cannot read JPEG (libjpeg was not "
                        "found when it was configured)",
                        path);
}

rt_status rt_image_decode_jpeg(const char *path, FILE *fp, rt_pixels *out, rt_error *err)
{
    (void)fp;
    (void)out;
    return no_jpeg(path, err);
}

rt_status rt_image_probe_jpeg(const char *path, FILE *fp, int *width, int *height, rt_error *err)
{
    (void)fp;
    (void)width;
    (void)height;
    return no_jpeg(path, err);
}

#endif
