/* Data-parallel training across processes: the world of ranks a launcher
 * started (mpirun, srun), and the few collectives the trainer needs.
 *
 * A process no launcher started is a world of one and never touches MPI,
 * so a single run is exactly what it is without this layer; every function
 * takes a NULL world as that world of one. With MPI (meson -Dmpi), ranks
 * talk through MPI on the host; a collective that gets no answer within
 * the world's timeout ends the run with a line saying which one waited (a
 * rank that crashed or was killed is reported by the launcher itself, which
 * then ends the others). */
#ifndef RESNET_DIST_H
#define RESNET_DIST_H

#include <stddef.h>
#include <stdint.h>

#include "resnet/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct rt_dist rt_dist;

/* 1 when this build can run several ranks (it was built with MPI). */
int rt_dist_mpi_built(void);

/* Joins the world the launcher started, or makes a world of one when the
 * environment names no launcher. Refuses, with RT_ERR_USAGE, a launcher
 * this build cannot talk to: one that says it started N > 1 ranks (PMI_SIZE,
 * OMPI_COMM_WORLD_SIZE) where this build's MPI sees a world of one (another
 * MPI's mpirun, which would silently run N separate one-rank jobs), or any
 * such launcher when the build has no MPI. */
rt_status rt_dist_open(rt_dist **out, rt_error *err);
/* Leaves the world (MPI_Finalize). */
void rt_dist_close(rt_dist *d);
/* Ends this rank after a failure the others cannot learn of by
 * themselves: it exits without MPI_Finalize, which every launcher (mpirun,
 * srun, hydra) takes as the job's failure, ending the other ranks. (Not
 * MPI_Abort: Open MPI 4.1's mpirun was seen to crash when handed aborts
 * from two ranks at once, or one while another rank was stopped.) */
void rt_dist_abort(rt_dist *d, int status);

int rt_dist_rank(const rt_dist *d);
int rt_dist_size(const rt_dist *d);
/* This rank's place among the ranks on its machine, and their count. */
int rt_dist_local_rank(const rt_dist *d);
int rt_dist_local_size(const rt_dist *d);
/* "Open MPI v4.1.4, ..." (MPI_Get_library_version's first line), "" for one rank. */
const char *rt_dist_library(const rt_dist *d);

/* "Open MPI v4.1.4" for the build's MPI (callable before any rt_dist_open),
 * "" without MPI. */
void rt_dist_built_library(char *text, size_t size);

/* Seconds a collective may wait for the other ranks (60 by default). */
void rt_dist_set_timeout(rt_dist *d, double seconds);
double rt_dist_timeout(const rt_dist *d);

/* In-place sums over the ranks, in rank order on every rank, so each rank
 * gets the same bits. `what` names the collective in a timeout message. */
rt_status rt_dist_sum_f32(rt_dist *d, float *values, size_t count, const char *what,
                          rt_error *err);
rt_status rt_dist_sum_f64(rt_dist *d, double *values, int count, const char *what,
                          rt_error *err);
/* *flag becomes 1 on every rank where any rank had it non-zero. */
rt_status rt_dist_any(rt_dist *d, int *flag, double timeout, const char *what, rt_error *err);
/* bytes from rank 0 to every rank. */
rt_status rt_dist_broadcast(rt_dist *d, void *data, size_t bytes, const char *what,
                            rt_error *err);
/* Every rank's value; *first_other is the lowest rank whose value differs
 * from rank 0's, or -1 when all agree (every rank learns the same). */
rt_status rt_dist_compare(rt_dist *d, uint64_t value, int *first_other, uint64_t *its_value,
                          const char *what, rt_error *err);

/* Gradient sums in buckets overlapping the backward pass (as PyTorch's
 * DistributedDataParallel): values[0, count) cut from the end into buckets
 * of bucket_floats (the first bucket the buffer's last floats, which the
 * backward pass finishes first). Per step: begin() names the buffer and the
 * scale each rank's part is multiplied by before the sum; ready(from) says
 * that values[from, count) are final, which starts the sum of every bucket
 * lying within and moves those in flight on (call it after each backward
 * op); finish() starts the rest and waits, with the world's timeout, until
 * values holds the sum on every rank (the same bits on each: a reduce to
 * rank 0, then its result broadcast). For 2 ranks each value is then the
 * same as rt_dist_sum_f32's of the scaled buffer. Every rank must use the
 * same count and bucket size. In a world of one, nothing is summed. */
typedef struct rt_dist_buckets rt_dist_buckets;
rt_status rt_dist_buckets_open(rt_dist *d, size_t count, size_t bucket_floats,
                               rt_dist_buckets **out, rt_error *err);
void rt_dist_buckets_close(rt_dist_buckets *b);
int rt_dist_buckets_count(const rt_dist_buckets *b);
void rt_dist_buckets_begin(rt_dist_buckets *b, float *values, float scale);
rt_status rt_dist_buckets_ready(rt_dist_buckets *b, size_t ready_from, rt_error *err);
rt_status rt_dist_buckets_finish(rt_dist_buckets *b, rt_error *err);
/* Seconds this step's sums held this rank (in ready() and finish()):
 * what the overlap did not hide. */
double rt_dist_buckets_waited(const rt_dist_buckets *b);

/* This rank's part of a global batch of n: count samples from offset; the
 * first n % size ranks take one more, so no rank's share differs from
 * another's by more than one (a rank may get none when n < size). */
static inline void rt_dist_slice(int n, int size, int rank, int *offset, int *count)
{
    int base = n / size, extra = n % size;
    *count = base + (rank < extra);
    *offset = rank * base + (rank < extra ? rank : extra);
}

/* FNV-1a over bytes: the checksum the ranks compare. */
uint64_t rt_dist_checksum(const void *data, size_t bytes, uint64_t seed);

#ifdef __cplusplus
}
#endif
#endif
