/* The world of ranks (resnet/dist.h): launcher detection, and the
 * trainer's collectives on MPI, each non-blocking and waited on with a
 * deadline so that a rank that stops answering never hangs the others. */
#include "dist_internal.h"

#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>



int rt_dist_mpi_built(void)
{
#ifdef RT_HAVE_MPI
    return 1;
#else
    return 0;
#endif
}

uint64_t rt_dist_checksum(const void *data, size_t bytes, uint64_t seed)
{
    const unsigned char *p = data;
    uint64_t h = 1469598103934665603ull ^ seed;
    for (size_t i = 0; i < bytes; i++) {
        h ^= p[i];
        h *= 1099511628211ull;
    }
    return h;
}

/* The world size a launcher announces in the environment, and which
 * variable said so; 0 when none did. */
static int launcher_size(const char **name)
{
    static const char *const vars[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE",
                                       "MPI_LOCALNRANKS"};
    for (size_t i = 0; i < sizeof vars / sizeof *vars; i++) {
        const char *v = getenv(vars[i]);
        if (v && *v) {
            *name = vars[i];
            return atoi(v) > 0 ? atoi(v) : 1;
        }
    }
    /* PMIx-only launchers (prterun, srun --mpi=pmix) name the rank, not the size */
    if (getenv("PMIX_RANK")) {
        *name = "PMIX_RANK";
        return 1;
    }
    return 0;
}

static rt_dist *world_of_one(void)
{
    rt_dist *d = calloc(1, sizeof *d);
    if (d) {
        d->size = d->local_size = 1;
        d->timeout = 60.0;
    }
    return d;
}

rt_status rt_dist_open(rt_dist **out, rt_error *err)
{
    *out = NULL;
    const char *var = NULL;
    int announced = launcher_size(&var);
#ifndef RT_HAVE_MPI
    if (announced > 1)
        return rt_error_set(err, RT_ERR_USAGE,
                            "started as one of %d ranks (%s=%s), but this build has no MPI "
                            "(rebuild with meson -Dmpi=enabled)",
                            announced, var, getenv(var));
#endif
    if (announced == 0) {
        *out = world_of_one();
        return *out ? RT_OK : rt_error_set(err, RT_ERR_NOMEM, "out of host memory");
    }
#ifdef RT_HAVE_MPI
    int ready = 0;
    MPI_Initialized(&ready);
    if (!ready && MPI_Init(NULL, NULL) != MPI_SUCCESS)
        return rt_error_set(err, RT_ERR_IO, "MPI_Init failed (launched through %s)", var);
    rt_dist *d = world_of_one();
    if (!d)
        return rt_error_set(err, RT_ERR_NOMEM, "out of host memory");
    /* errors come back as codes: a failing collective is reported, not fatal */
    MPI_Comm_dup(MPI_COMM_WORLD, &d->comm);
    MPI_Comm_set_errhandler(d->comm, MPI_ERRORS_RETURN);
    MPI_Comm_rank(d->comm, &d->rank);
    MPI_Comm_size(d->comm, &d->size);
    MPI_Comm local;
    if (MPI_Comm_split_type(d->comm, MPI_COMM_TYPE_SHARED, d->rank, MPI_INFO_NULL, &local) ==
        MPI_SUCCESS) {
        MPI_Comm_rank(local, &d->local_rank);
        MPI_Comm_size(local, &d->local_size);
        MPI_Comm_free(&local);
    }
    rt_dist_built_library(d->library, sizeof d->library);
    *out = d;
    if (announced > 1 && d->size != announced) {
        rt_status st = rt_error_set(
            err, RT_ERR_USAGE,
            "the launcher started %d ranks (%s=%s), but this build's MPI (%s) sees a world of "
            "%d: the launcher is another MPI's; start it with the mpirun of %s",
            announced, var, getenv(var), d->library, d->size, d->library);
        return st;
    }
    return RT_OK;
#else
    *out = world_of_one();
    return *out ? RT_OK : rt_error_set(err, RT_ERR_NOMEM, "out of host memory");
#endif
}

void rt_dist_close(rt_dist *d)
{
    if (!d)
        return;
#ifdef RT_HAVE_MPI
    int ready = 0, done = 0;
    MPI_Initialized(&ready);
    MPI_Finalized(&done);
    if (ready && !done) {
        if (d->comm != MPI_COMM_NULL && d->comm != 0)
            MPI_Comm_free(&d->comm);
        MPI_Finalize();
    }
#endif
    free(d);
}

void rt_dist_abort(rt_dist *d, int status)
{
    fflush(stdout);
    fflush(stderr);
#ifdef RT_HAVE_MPI
    if (d && d->size > 1)
        _exit(status);
#endif
    (void)d;
    exit(status);
}

int rt_dist_rank(const rt_dist *d) { return d ? d->rank : 0; }
int rt_dist_size(const rt_dist *d) { return d ? d->size : 1; }
int rt_dist_local_rank(const rt_dist *d) { return d ? d->local_rank : 0; }
int rt_dist_local_size(const rt_dist *d) { return d ? d->local_size : 1; }
const char *rt_dist_library(const rt_dist *d) { return d ? d->library : ""; }

void rt_dist_set_timeout(rt_dist *d, double seconds)
{
    if (d && seconds > 0.0)
        d->timeout = seconds;
}

double rt_dist_timeout(const rt_dist *d) { return d ? d->timeout : 60.0; }

void rt_dist_built_library(char *text, size_t size)
{
    if (size == 0)
        return;
    text[0] = '\0';
#ifdef RT_HAVE_MPI
    /* one of the few MPI calls allowed before MPI_Init */
    char version[MPI_MAX_LIBRARY_VERSION_STRING];
    int length = 0;
    if (MPI_Get_library_version(version, &length) != MPI_SUCCESS)
        return;
    version[strcspn(version, ",\n")] = '\0';
    /* MPICH's first line is "MPICH Version:\t4.0.2": say "MPICH 4.0.2" */
    if (strncmp(version, "MPICH Version:", 14) == 0) {
        const char *number = version + 14 + strspn(version + 14, " \t");
        memmove(version + 6, number, strlen(number) + 1);
    }
    size_t kept = strlen(version) < size ? strlen(version) : size - 1;
    memcpy(text, version, kept);
    text[kept] = '\0';
#endif
}

#ifdef RT_HAVE_MPI
double dist_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

rt_status dist_mpi_failed(const rt_dist *d, int code, const char *call, const char *what,
                          rt_error *err)
{
    char text[MPI_MAX_ERROR_STRING];
    int length = 0;
    if (MPI_Error_string(code, text, &length) != MPI_SUCCESS)
        snprintf(text, sizeof text, "error %d", code);
    return rt_error_set(err, RT_ERR_IO, "rank %d: %s failed in the %s: %s", d->rank, call, what,
                        text);
}

/* Waits for a started collective until the deadline. */
rt_status dist_wait_for(rt_dist *d, MPI_Request *request, double timeout, const char *call,
                        const char *what, rt_error *err)
{
    double deadline = dist_now() + timeout;
    /* MPI moves a message on only inside its calls: poll without pausing
     * (as a blocking MPI call spins), yielding the core to any other thread */
    for (long polls = 0;; polls++) {
        int done = 0;
        int rc = MPI_Test(request, &done, MPI_STATUS_IGNORE);
        if (rc != MPI_SUCCESS)
            return dist_mpi_failed(d, rc, call, what, err);
        if (done)
            return RT_OK;
        if ((polls & 1023) == 1023 && dist_now() > deadline)
            return rt_error_set(err, RT_ERR_IO,
                                "rank %d of %d: no answer from the other ranks for %.0f s in the "
                                "%s (%s): a rank has stopped or hangs; ending the run",
                                d->rank, d->size, timeout, what, call);
        if ((polls & 63) == 63)
            sched_yield();
    }
}
#endif

/* Sums into rank 0, then rank 0's result to all: every rank the same bits. */
#ifdef RT_HAVE_MPI
/* MPI counts are ints: longer arrays go in parts of 2^30 elements. */
static int next_part(size_t done, size_t count)
{
    return count - done > (size_t)(1 << 30) ? 1 << 30 : (int)(count - done);
}

/* Rank 0's buffer to every rank, waited for against the deadline. */
static rt_status broadcast_part(rt_dist *d, void *p, int count, MPI_Datatype type,
                                const char *what, rt_error *err)
{
    MPI_Request rq;
    int rc = MPI_Ibcast(p, count, type, 0, d->comm, &rq);
    if (rc != MPI_SUCCESS)
        return dist_mpi_failed(d, rc, "MPI_Ibcast", what, err);
    return dist_wait_for(d, &rq, d->timeout, "MPI_Ibcast", what, err);
}

/* The sum over the ranks, in place: reduced to rank 0, then its bits to
 * every rank, so all ranks hold the same bits (an all-reduce need not). */
static rt_status sum_part(rt_dist *d, void *p, int count, MPI_Datatype type, const char *what,
                          rt_error *err)
{
    MPI_Request rq;
    int rc = d->rank == 0 ? MPI_Ireduce(MPI_IN_PLACE, p, count, type, MPI_SUM, 0, d->comm, &rq)
                          : MPI_Ireduce(p, NULL, count, type, MPI_SUM, 0, d->comm, &rq);
    if (rc != MPI_SUCCESS)
        return dist_mpi_failed(d, rc, "MPI_Ireduce", what, err);
    if (dist_wait_for(d, &rq, d->timeout, "MPI_Ireduce", what, err) != RT_OK)
        return err->status;
    return broadcast_part(d, p, count, type, what, err);
}
#endif

rt_status rt_dist_sum_f32(rt_dist *d, float *values, size_t count, const char *what,
                          rt_error *err)
{
    if (!d || d->size == 1 || count == 0)
        return RT_OK;
#ifdef RT_HAVE_MPI
    for (size_t done = 0; done < count;) {
        int part = next_part(done, count);
        if (sum_part(d, values + done, part, MPI_FLOAT, what, err) != RT_OK)
            return err->status;
        done += (size_t)part;
    }
    return RT_OK;
#else
    (void)values, (void)what, (void)err;
    return RT_OK;
#endif
}

rt_status rt_dist_sum_f64(rt_dist *d, double *values, int count, const char *what,
                          rt_error *err)
{
    if (!d || d->size == 1 || count == 0)
        return RT_OK;
#ifdef RT_HAVE_MPI
    return sum_part(d, values, count, MPI_DOUBLE, what, err);
#else
    (void)values, (void)what, (void)err;
    return RT_OK;
#endif
}

rt_status rt_dist_any(rt_dist *d, int *flag, double timeout, const char *what, rt_error *err)
{
    *flag = *flag != 0;
    if (!d || d->size == 1)
        return RT_OK;
#ifdef RT_HAVE_MPI
    int mine = *flag;
    MPI_Request rq;
    int rc = MPI_Iallreduce(&mine, flag, 1, MPI_INT, MPI_MAX, d->comm, &rq);
    if (rc != MPI_SUCCESS)
        return dist_mpi_failed(d, rc, "MPI_Iallreduce", what, err);
    return dist_wait_for(d, &rq, timeout > d->timeout ? timeout : d->timeout, "MPI_Iallreduce",
                         what, err);
#else
    (void)timeout, (void)what, (void)err;
    return RT_OK;
#endif
}

rt_status rt_dist_broadcast(rt_dist *d, void *data, size_t bytes, const char *what,
                            rt_error *err)
{
    if (!d || d->size == 1 || bytes == 0)
        return RT_OK;
#ifdef RT_HAVE_MPI
    for (size_t done = 0; done < bytes;) {
        int part = next_part(done, bytes);
        if (broadcast_part(d, (char *)data + done, part, MPI_BYTE, what, err) != RT_OK)
            return err->status;
        done += (size_t)part;
    }
    return RT_OK;
#else
    (void)data, (void)what, (void)err;
    return RT_OK;
#endif
}

rt_status rt_dist_compare(rt_dist *d, uint64_t value, int *first_other, uint64_t *its_value,
                          const char *what, rt_error *err)
{
    *first_other = -1;
    *its_value = value;
    if (!d || d->size == 1)
        return RT_OK;
#ifdef RT_HAVE_MPI
    uint64_t *all = malloc((size_t)d->size * sizeof *all);
    if (!all)
        return rt_error_set(err, RT_ERR_NOMEM, "out of host memory comparing ranks");
    MPI_Request rq;
    int rc = MPI_Iallgather(&value, 1, MPI_UINT64_T, all, 1, MPI_UINT64_T, d->comm, &rq);
    rt_status st = rc != MPI_SUCCESS
                       ? dist_mpi_failed(d, rc, "MPI_Iallgather", what, err)
                       : dist_wait_for(d, &rq, d->timeout, "MPI_Iallgather", what, err);
    for (int r = 1; st == RT_OK && r < d->size; r++)
        if (all[r] != all[0]) {
            *first_other = r;
            *its_value = all[r];
            break;
        }
    free(all);
    return st;
#else
    (void)what, (void)err;
    return RT_OK;
#endif
}
