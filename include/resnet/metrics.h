/* A run's curves, written as the training events come: JSON lines
 * (--metrics) and TensorBoard event files (--tensorboard). Each record is
 * flushed as soon as it is written, so a killed run keeps its curve. */
#ifndef RESNET_METRICS_H
#define RESNET_METRICS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "resnet/error.h"
#include "resnet/train.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- the scalars of an event (src/metrics/metrics_scalars.c) ---- */
typedef struct rt_metric_scalar {
    const char *tag; /* TensorBoard's tag: "train/loss", "test/accuracy", ... */
    double value;
} rt_metric_scalar;

#define RT_METRIC_SCALARS_MAX 8

/* The scalars an event gives, at its global step: a logged step's
 * train/loss, train/lr, train/images_per_s; an epoch's train/epoch_s,
 * train/epoch_images_per_s; a test's test/loss, test/accuracy (and
 * test/accuracy5 with top5). Other events give none. Returns the count. */
int rt_metric_scalars(const rt_train_event *ev, int top5, rt_metric_scalar out[RT_METRIC_SCALARS_MAX]);

/* ---- JSON lines (src/metrics/metrics_jsonl.c) ---- */
typedef struct rt_metrics_jsonl rt_metrics_jsonl;

/* Creates path (truncating it), or appends to it when append is set.
 * Errors name option and path. */
rt_status rt_metrics_jsonl_open(const char *option, const char *path, int append,
                                rt_metrics_jsonl **out, rt_error *err);
/* One line for a logged step ("kind":"step"), an epoch's end ("epoch") or
 * a test ("test"; test_accuracy5 with top5); other events write nothing.
 * wall_s: seconds since the run started. Numbers are written as %.17g
 * (they read back as the same double), NaN and Inf as null. */
rt_status rt_metrics_jsonl_event(rt_metrics_jsonl *m, const rt_train_event *ev, int top5,
                                 double wall_s, rt_error *err);
/* Closes the file; an error when a write or the close failed. NULL is a no-op. */
rt_status rt_metrics_jsonl_close(rt_metrics_jsonl *m, rt_error *err);

/* Writes v as a JSON number (%.17g) or null when it is not finite. */
void rt_json_write_double(FILE *f, double v);

/* ---- TensorBoard event files (src/metrics/tfevents.c) ---- */
/* CRC-32C (Castagnoli), as TFRecord frames its records: crc continues a
 * checksum (0 to start). rt_crc32c(0, "123456789", 9) == 0xE3069283. */
uint32_t rt_crc32c(uint32_t crc, const void *data, size_t size);
/* TFRecord's masked form: ((crc >> 15) | (crc << 17)) + 0xa282ead8. */
uint32_t rt_crc32c_mask(uint32_t crc);

/* One TFRecord: length (uint64 LE), its masked CRC, the payload, the
 * payload's masked CRC. Flushes f. */
rt_status rt_tfrecord_write(FILE *f, const void *payload, size_t size, rt_error *err);

/* 1 when this build writes event files (protobuf-c was found). */
int rt_tfevents_available(void);

typedef struct rt_tfevents rt_tfevents;

/* Creates dir when it is missing (one level) and a new event file in it,
 * named as TensorBoard's writers name theirs
 * (events.out.tfevents.<unix time>.<hostname>.<pid>.0), starting with the
 * file_version record. Nothing is left behind on failure. Errors name
 * option and path (RT_ERR_USAGE, also for a build without protobuf-c). */
rt_status rt_tfevents_open(const char *option, const char *dir, rt_tfevents **out, rt_error *err);
/* The file's path. */
const char *rt_tfevents_path(const rt_tfevents *w);
/* One Event of simple values at step, wall_time in seconds since 1970. */
rt_status rt_tfevents_scalars(rt_tfevents *w, int64_t step, double wall_time,
                              const rt_metric_scalar *values, int count, rt_error *err);
/* The event's scalars (rt_metric_scalars) as one Event; none: nothing written. */
rt_status rt_tfevents_event(rt_tfevents *w, const rt_train_event *ev, int top5, double wall_time,
                            rt_error *err);
/* Closes the file; an error when a write or the close failed. NULL is a no-op. */
rt_status rt_tfevents_close(rt_tfevents *w, rt_error *err);
/* Closes and deletes the file (and the folder when open created it):
 * undoes open when a later check refuses the run. */
void rt_tfevents_discard(rt_tfevents *w);

#ifdef __cplusplus
}
#endif
#endif
