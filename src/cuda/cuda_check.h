/* Checks for every CUDA runtime, cuDNN and cuBLAS call of the backend.
 *
 *   CUDA_TRY(ctx, cudaMemcpyAsync(...));
 *
 * On failure the macro records "cudaMemcpyAsync failed at FILE:LINE: <the
 * library's message>" in the backend's rt_error and returns from the
 * calling function with RT_ERR_DEVICE (RT_ERR_NOMEM for an allocation that
 * ran out of memory, with the free and total bytes). */
#ifndef RT_CUDA_CHECK_H
#define RT_CUDA_CHECK_H

#include "cuda_backend.h"

rt_status cuda_fail(cuda_ctx *ctx, cudaError_t e, const char *call, const char *file, int line);
rt_status cudnn_fail(cuda_ctx *ctx, cudnnStatus_t s, const char *call, const char *file,
                     int line);
rt_status cublas_fail(cuda_ctx *ctx, cublasStatus_t s, const char *call, const char *file,
                      int line);

#define CUDA_TRY(ctx, call)                                                 \
    do {                                                                    \
        cudaError_t cuda_try_e_ = (call);                                   \
        if (cuda_try_e_ != cudaSuccess)                                     \
            return cuda_fail((ctx), cuda_try_e_, #call, __FILE__, __LINE__); \
    } while (0)

#define CUDNN_TRY(ctx, call)                                                  \
    do {                                                                      \
        cudnnStatus_t cudnn_try_s_ = (call);                                  \
        if (cudnn_try_s_ != CUDNN_STATUS_SUCCESS)                             \
            return cudnn_fail((ctx), cudnn_try_s_, #call, __FILE__, __LINE__); \
    } while (0)

#define CUBLAS_TRY(ctx, call)                                                   \
    do {                                                                        \
        cublasStatus_t cublas_try_s_ = (call);                                  \
        if (cublas_try_s_ != CUBLAS_STATUS_SUCCESS)                             \
            return cublas_fail((ctx), cublas_try_s_, #call, __FILE__, __LINE__); \
    } while (0)

/* Propagates a failure already recorded. */
#define RT_TRY(call)                     \
    do {                                 \
        rt_status rt_try_s_ = (call);    \
        if (rt_try_s_ != RT_OK)          \
            return rt_try_s_;            \
    } while (0)

#endif
