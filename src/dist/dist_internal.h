/* The world of ranks' insides, shared by dist.c (the world and its
 * collectives) and dist_buckets.c (gradient sums overlapping backward).
 * Not a public header. */
#ifndef RT_DIST_INTERNAL_H
#define RT_DIST_INTERNAL_H

#include "resnet/dist.h"

#ifdef RT_HAVE_MPI
#include <mpi.h>
#endif

struct rt_dist {
    int rank, size, local_rank, local_size;
    double timeout;
    char library[160];
#ifdef RT_HAVE_MPI
    MPI_Comm comm;
#endif
};

#define TRY_DIST(call)                   \
    do {                                 \
        rt_status st_ = (call);          \
        if (st_ != RT_OK)                \
            return st_;                  \
    } while (0)

#ifdef RT_HAVE_MPI
/* Monotonic seconds. */
double dist_now(void);
/* err = "rank R: CALL failed in the WHAT: MPI's reason". */
rt_status dist_mpi_failed(const rt_dist *d, int code, const char *call, const char *what,
                          rt_error *err);
/* Waits for a started collective, giving up after timeout seconds with a
 * line naming it (a rank has stopped or hangs). */
rt_status dist_wait_for(rt_dist *d, MPI_Request *request, double timeout, const char *call,
                        const char *what, rt_error *err);
#endif

#endif
