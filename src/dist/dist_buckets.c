/* Gradient sums in buckets that overlap the backward pass (resnet/dist.h),
 * as PyTorch's DistributedDataParallel does: the flat gradient buffer is
 * cut into buckets from its end (backward produces the last layers'
 * gradients first), and each bucket's sum starts as soon as the backward
 * pass has finished writing it, so the sums move while later layers are
 * still being differentiated.
 *
 * Each bucket's sum is a reduce to rank 0 and a broadcast of its result
 * (every rank the same bits, as rt_dist_sum_f32). MPI wants the ranks to
 * start the collectives of one communicator in one order; the reduces and
 * the broadcasts each have their own communicator, and on each they start
 * in bucket order, while a broadcast starts whenever its reduce is done on
 * this rank. MPI moves messages on only inside its calls: every call of
 * rt_dist_buckets_ready (after each backward op) tests what is in flight. */
#include <stdlib.h>
#include <string.h>

#include "dist_internal.h"

struct rt_dist_buckets {
    rt_dist *d;
    size_t count, bucket; /* floats in all, and per bucket (the last may be smaller) */
    int buckets;
    float *values;
    float scale;
    int reduces, broadcasts; /* buckets whose reduce / broadcast has started */
    double waited;
#ifdef RT_HAVE_MPI
    MPI_Comm reduce_comm, broadcast_comm;
    MPI_Request *reduce, *broadcast;
    int reduce_done; /* buckets whose reduce has been seen done, in order */
#endif
};

rt_status rt_dist_buckets_open(rt_dist *d, size_t count, size_t bucket_floats,
                               rt_dist_buckets **out, rt_error *err)
{
    *out = NULL;
    if (count == 0 || bucket_floats == 0)
        return rt_error_set(err, RT_ERR_USAGE, "gradient buckets need floats to sum");
    /* MPI counts are ints */
    if (bucket_floats > (size_t)1 << 30)
        bucket_floats = (size_t)1 << 30;
    rt_dist_buckets *b = calloc(1, sizeof *b);
    if (!b)
        return rt_error_set(err, RT_ERR_NOMEM, "out of host memory for the gradient buckets");
    b->d = d;
    b->count = count;
    b->bucket = bucket_floats;
    b->buckets = (int)((count + bucket_floats - 1) / bucket_floats);
#ifdef RT_HAVE_MPI
    b->reduce_comm = b->broadcast_comm = MPI_COMM_NULL;
    b->reduce = malloc((size_t)b->buckets * sizeof *b->reduce);
    b->broadcast = malloc((size_t)b->buckets * sizeof *b->broadcast);
    if (!b->reduce || !b->broadcast) {
        rt_dist_buckets_close(b);
        return rt_error_set(err, RT_ERR_NOMEM, "out of host memory for the gradient buckets");
    }
    if (rt_dist_size(d) > 1) {
        int rc = MPI_Comm_dup(d->comm, &b->reduce_comm);
        if (rc == MPI_SUCCESS)
            rc = MPI_Comm_dup(d->comm, &b->broadcast_comm);
        if (rc != MPI_SUCCESS) {
            rt_status st = dist_mpi_failed(d, rc, "MPI_Comm_dup", "gradient buckets' setup", err);
            rt_dist_buckets_close(b);
            return st;
        }
        MPI_Comm_set_errhandler(b->reduce_comm, MPI_ERRORS_RETURN);
        MPI_Comm_set_errhandler(b->broadcast_comm, MPI_ERRORS_RETURN);
    }
#endif
    *out = b;
    return RT_OK;
}

void rt_dist_buckets_close(rt_dist_buckets *b)
{
    if (!b)
        return;
#ifdef RT_HAVE_MPI
    if (b->reduce_comm != MPI_COMM_NULL)
        MPI_Comm_free(&b->reduce_comm);
    if (b->broadcast_comm != MPI_COMM_NULL)
        MPI_Comm_free(&b->broadcast_comm);
    free(b->reduce);
    free(b->broadcast);
#endif
    free(b);
}

int rt_dist_buckets_count(const rt_dist_buckets *b) { return b ? b->buckets : 0; }

void rt_dist_buckets_begin(rt_dist_buckets *b, float *values, float scale)
{
    b->values = values;
    b->scale = scale;
    b->reduces = b->broadcasts = 0;
    b->waited = 0.0;
#ifdef RT_HAVE_MPI
    b->reduce_done = 0;
#endif
}

double rt_dist_buckets_waited(const rt_dist_buckets *b) { return b ? b->waited : 0.0; }

#ifdef RT_HAVE_MPI
static const char *const WHAT = "gradient all-reduce";

/* Bucket k covers [lo, hi): bucket 0 the buffer's end. */
static size_t bucket_hi(const rt_dist_buckets *b, int k) { return b->count - (size_t)k * b->bucket; }
static size_t bucket_lo(const rt_dist_buckets *b, int k)
{
    size_t hi = bucket_hi(b, k);
    return hi > b->bucket ? hi - b->bucket : 0;
}

static rt_status start_reduce(rt_dist_buckets *b, rt_error *err)
{
    int k = b->reduces;
    size_t lo = bucket_lo(b, k), n = bucket_hi(b, k) - lo;
    float *p = b->values + lo;
    for (size_t i = 0; i < n; i++)
        p[i] *= b->scale;
    int rc = b->d->rank == 0
                 ? MPI_Ireduce(MPI_IN_PLACE, p, (int)n, MPI_FLOAT, MPI_SUM, 0, b->reduce_comm,
                               &b->reduce[k])
                 : MPI_Ireduce(p, NULL, (int)n, MPI_FLOAT, MPI_SUM, 0, b->reduce_comm,
                               &b->reduce[k]);
    if (rc != MPI_SUCCESS)
        return dist_mpi_failed(b->d, rc, "MPI_Ireduce", WHAT, err);
    b->reduces++;
    return RT_OK;
}

static rt_status start_broadcast(rt_dist_buckets *b, rt_error *err)
{
    int k = b->broadcasts;
    size_t lo = bucket_lo(b, k), n = bucket_hi(b, k) - lo;
    int rc = MPI_Ibcast(b->values + lo, (int)n, MPI_FLOAT, 0, b->broadcast_comm,
                        &b->broadcast[k]);
    if (rc != MPI_SUCCESS)
        return dist_mpi_failed(b->d, rc, "MPI_Ibcast", WHAT, err);
    b->broadcasts++;
    return RT_OK;
}

/* Moves what is in flight on without waiting: tests the reduces in order
 * and starts the broadcast of each that is done, then tests the oldest
 * broadcast still open (MPI_Test progresses every pending request). */
static rt_status progress(rt_dist_buckets *b, rt_error *err)
{
    while (b->reduce_done < b->reduces) {
        int done = 0;
        int rc = MPI_Test(&b->reduce[b->reduce_done], &done, MPI_STATUS_IGNORE);
        if (rc != MPI_SUCCESS)
            return dist_mpi_failed(b->d, rc, "MPI_Ireduce", WHAT, err);
        if (!done)
            break;
        b->reduce_done++;
        TRY_DIST(start_broadcast(b, err));
    }
    if (b->broadcasts > 0) {
        int done = 0;
        int rc = MPI_Test(&b->broadcast[b->broadcasts - 1], &done, MPI_STATUS_IGNORE);
        if (rc != MPI_SUCCESS)
            return dist_mpi_failed(b->d, rc, "MPI_Ibcast", WHAT, err);
    }
    return RT_OK;
}
#endif

rt_status rt_dist_buckets_ready(rt_dist_buckets *b, size_t ready_from, rt_error *err)
{
    if (!b || rt_dist_size(b->d) == 1)
        return RT_OK;
#ifdef RT_HAVE_MPI
    double start = dist_now();
    TRY_DIST(progress(b, err));
    while (b->reduces < b->buckets && bucket_lo(b, b->reduces) >= ready_from)
        TRY_DIST(start_reduce(b, err));
    b->waited += dist_now() - start;
    return RT_OK;
#else
    (void)ready_from, (void)err;
    return RT_OK;
#endif
}

rt_status rt_dist_buckets_finish(rt_dist_buckets *b, rt_error *err)
{
    if (!b || rt_dist_size(b->d) == 1)
        return RT_OK;
#ifdef RT_HAVE_MPI
    TRY_DIST(rt_dist_buckets_ready(b, 0, err));
    double start = dist_now();
    rt_dist *d = b->d;
    while (b->reduce_done < b->buckets) {
        TRY_DIST(dist_wait_for(d, &b->reduce[b->reduce_done], d->timeout, "MPI_Ireduce", WHAT,
                               err));
        b->reduce_done++;
        TRY_DIST(start_broadcast(b, err));
    }
    for (int k = 0; k < b->buckets; k++)
        TRY_DIST(dist_wait_for(d, &b->broadcast[k], d->timeout, "MPI_Ibcast", WHAT, err));
    b->waited += dist_now() - start;
    return RT_OK;
#else
    (void)err;
    return RT_OK;
#endif
}
