/* NCCL for the CUDA backend: one communicator per device across the ranks,
 * and the gradient sum on the backend's stream, waited on with a deadline
 * so that a rank that stops answering ends the run instead of hanging it
 * (the communicator is then aborted). Built with -Dnccl (RT_HAVE_NCCL). */
#include <nccl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cuda_check.h"

_Static_assert(sizeof(ncclUniqueId) == RT_COMM_ID_BYTES, "the device layer's id size is NCCL's");

static rt_status nccl_fail(cuda_ctx *ctx, ncclResult_t r, const char *call, const char *file,
                           int line)
{
    const char *detail = ctx->nccl ? ncclGetLastError(ctx->nccl) : "";
    return rt_error_set(ctx->err, RT_ERR_DEVICE, "%s failed at %s:%d: %s%s%s", call, file, line,
                        ncclGetErrorString(r), detail && *detail ? ": " : "",
                        detail ? detail : "");
}

#define NCCL_TRY(ctx, call)                                                  \
    do {                                                                     \
        ncclResult_t nccl_try_r_ = (call);                                   \
        if (nccl_try_r_ != ncclSuccess)                                      \
            return nccl_fail((ctx), nccl_try_r_, #call, __FILE__, __LINE__); \
    } while (0)

void rt_cuda_nccl_version(char *text, size_t size)
{
    int code = 0;
    if (ncclGetVersion(&code) != ncclSuccess)
        code = 0;
    /* NCCL_VERSION_CODE: major * 10000 + minor * 100 + patch since 2.9 */
    snprintf(text, size, "NCCL %d.%d.%d (headers %d.%d.%d)", code / 10000, code / 100 % 100,
             code % 100, NCCL_MAJOR, NCCL_MINOR, NCCL_PATCH);
}

rt_status cuda_comm_unique_id(void *vctx, void *id)
{
    cuda_ctx *ctx = vctx;
    ncclUniqueId u;
    NCCL_TRY(ctx, ncclGetUniqueId(&u));
    memcpy(id, &u, sizeof u);
    return RT_OK;
}

rt_status cuda_comm_init(void *vctx, int rank, int size, const void *id)
{
    cuda_ctx *ctx = vctx;
    ncclUniqueId u;
    memcpy(&u, id, sizeof u);
    CUDA_TRY(ctx, cudaSetDevice(ctx->device));
    if (!ctx->comm_done)
        CUDA_TRY(ctx, cudaEventCreateWithFlags(&ctx->comm_done, cudaEventDisableTiming));
    NCCL_TRY(ctx, ncclCommInitRank(&ctx->nccl, size, u, rank));
    return RT_OK;
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

rt_status cuda_allreduce_weighted(void *vctx, float *values, size_t count, float weight,
                                  double timeout)
{
    cuda_ctx *ctx = vctx;
    if (!ctx->nccl)
        return rt_error_set(ctx->err, RT_ERR_DEVICE, "the NCCL communicator is not open");
    ncclRedOp_t op;
    NCCL_TRY(ctx, ncclRedOpCreatePreMulSum(&op, &weight, ncclFloat, ncclScalarHostImmediate,
                                           ctx->nccl));
    ncclResult_t r = ncclAllReduce(values, values, count, ncclFloat, op, ctx->nccl, ctx->stream);
    ncclResult_t d = ncclRedOpDestroy(op, ctx->nccl);
    if (r != ncclSuccess)
        return nccl_fail(ctx, r, "ncclAllReduce", __FILE__, __LINE__);
    if (d != ncclSuccess)
        return nccl_fail(ctx, d, "ncclRedOpDestroy", __FILE__, __LINE__);
    CUDA_TRY(ctx, cudaEventRecord(ctx->comm_done, ctx->stream));
    double start = now_seconds(), deadline = start + timeout;
    struct timespec pause = {0, 10000}; /* once the sum has taken over 2 ms */
    for (;;) {
        cudaError_t e = cudaEventQuery(ctx->comm_done);
        if (e == cudaSuccess)
            return RT_OK;
        if (e != cudaErrorNotReady)
            return cuda_fail(ctx, e, "cudaEventQuery (after ncclAllReduce)", __FILE__, __LINE__);
        ncclResult_t async = ncclSuccess;
        NCCL_TRY(ctx, ncclCommGetAsyncError(ctx->nccl, &async));
        if (async != ncclSuccess && async != ncclInProgress)
            return nccl_fail(ctx, async, "ncclAllReduce (asynchronous error)", __FILE__, __LINE__);
        if (now_seconds() > deadline) {
            ncclCommAbort(ctx->nccl);
            ctx->nccl = NULL;
            return rt_error_set(ctx->err, RT_ERR_IO,
                                "no answer from the other ranks for %.0f s in the gradient "
                                "all-reduce (ncclAllReduce): a rank has stopped or hangs; ending "
                                "the run", timeout);
        }
        if (now_seconds() - start > 2e-3)
            nanosleep(&pause, NULL);
    }
}

void cuda_comm_close(cuda_ctx *ctx)
{
    if (ctx->nccl)
        ncclCommDestroy(ctx->nccl);
    ctx->nccl = NULL;
    if (ctx->comm_done)
        cudaEventDestroy(ctx->comm_done);
    ctx->comm_done = NULL;
}
