/* The CUDA backend: opening a GPU, device memory, error reporting, and
 * steps replayed as CUDA graphs. The ops live in cuda_conv.c (cuDNN),
 * cuda_linear.c (cuBLAS) and cuda_ops.c (our kernels, the .cu files of kernels/).
 *
 * Everything runs on one non-blocking stream owned by the backend; cuDNN
 * and cuBLAS are bound to it. All state is in the cuda_ctx: no globals. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cuda_check.h"

/* cuBLAS gets a fixed workspace so that it never allocates, in particular
 * not during graph capture. Our GEMMs are tiny (64 x 375 x 10); 4 MiB is
 * cuBLAS's own default pool size. */
#define CUBLAS_WORKSPACE_BYTES ((size_t)4 << 20)

#ifndef RT_GPU_ARCHS
#define RT_GPU_ARCHS "unknown"
#endif

/* ---- failure messages ------------------------------------------------- */

/* "cudaMemcpyAsync(dst, ...)" -> "cudaMemcpyAsync"; "../src/x.c" -> "src/x.c" */
static void call_name(const char *call, char *buf, size_t size)
{
    size_t n = strcspn(call, "( ");
    if (n >= size)
        n = size - 1;
    memcpy(buf, call, n);
    buf[n] = '\0';
}

static const char *short_file(const char *file)
{
    while (strncmp(file, "../", 3) == 0)
        file += 3;
    return file;
}

rt_status cuda_fail(cuda_ctx *ctx, cudaError_t e, const char *call, const char *file, int line)
{
    char name[96];
    call_name(call, name, sizeof name);
    /* clear the runtime's last-error slot so that the next launch check
     * does not report this failure again (sticky errors stay anyway) */
    (void)cudaGetLastError();
    if (e == cudaErrorMemoryAllocation) {
        size_t free_b = 0, total_b = 0;
        if (cudaMemGetInfo(&free_b, &total_b) != cudaSuccess) {
            (void)cudaGetLastError();
            free_b = total_b = 0;
        }
        return rt_error_set(ctx->err, RT_ERR_NOMEM,
                            "%s failed at %s:%d: out of GPU memory (%zu of %zu bytes free)",
                            name, short_file(file), line, free_b, total_b);
    }
    return rt_error_set(ctx->err, RT_ERR_DEVICE, "%s failed at %s:%d: %s (%s)", name,
                        short_file(file), line, cudaGetErrorString(e), cudaGetErrorName(e));
}

rt_status cudnn_fail(cuda_ctx *ctx, cudnnStatus_t s, const char *call, const char *file,
                     int line)
{
    char name[96], detail[320];
    call_name(call, name, sizeof name);
    detail[0] = '\0';
    cudnnGetLastErrorString(detail, sizeof detail);
    (void)cudaGetLastError();
    return rt_error_set(ctx->err, RT_ERR_DEVICE, "%s failed at %s:%d: %s%s%s", name,
                        short_file(file), line, cudnnGetErrorString(s), detail[0] ? ": " : "",
                        detail);
}

rt_status cublas_fail(cuda_ctx *ctx, cublasStatus_t s, const char *call, const char *file,
                      int line)
{
    char name[96];
    call_name(call, name, sizeof name);
    (void)cudaGetLastError();
    return rt_error_set(ctx->err, RT_ERR_DEVICE, "%s failed at %s:%d: %s (%s)", name,
                        short_file(file), line, cublasGetStatusString(s),
                        cublasGetStatusName(s));
}

rt_status cuda_refuse_in_capture(cuda_ctx *ctx, const char *what)
{
    return rt_error_set(ctx->err, RT_ERR_USAGE,
                        "%s is not allowed inside a step being captured into a CUDA graph "
                        "(rt_device_run_step): a step may only run ops on memory allocated "
                        "beforehand",
                        what);
}

/* ---- memory ------------------------------------------------------------ */

static int remember_block(cuda_ctx *ctx, void *ptr, size_t bytes)
{
    if (ctx->block_count == ctx->block_cap) {
        size_t cap = ctx->block_cap ? 2 * ctx->block_cap : 64;
        cuda_block *grown = realloc(ctx->blocks, cap * sizeof *grown);
        if (!grown)
            return 0;
        ctx->blocks = grown;
        ctx->block_cap = cap;
    }
    ctx->blocks[ctx->block_count].ptr = ptr;
    ctx->blocks[ctx->block_count].bytes = bytes;
    ctx->block_count++;
    ctx->bytes_now += bytes;
    if (ctx->bytes_now > ctx->bytes_peak)
        ctx->bytes_peak = ctx->bytes_now;
    return 1;
}

void *cuda_malloc(cuda_ctx *ctx, size_t bytes, const char *what)
{
    if (ctx->capturing) {
        cuda_refuse_in_capture(ctx, "allocating device memory");
        return NULL;
    }
    void *ptr = NULL;
    cudaError_t e = cudaMalloc(&ptr, bytes);
    if (e != cudaSuccess) {
        (void)cudaGetLastError();
        size_t free_b = 0, total_b = 0;
        if (cudaMemGetInfo(&free_b, &total_b) != cudaSuccess) {
            (void)cudaGetLastError();
            free_b = total_b = 0;
        }
        if (e == cudaErrorMemoryAllocation)
            rt_error_set(ctx->err, RT_ERR_NOMEM,
                         "out of GPU memory allocating %s: asked for %zu bytes, %zu of %zu "
                         "bytes free",
                         what, bytes, free_b, total_b);
        else
            rt_error_set(ctx->err, RT_ERR_DEVICE,
                         "cudaMalloc of %zu bytes for %s failed: %s (%s)", bytes, what,
                         cudaGetErrorString(e), cudaGetErrorName(e));
        return NULL;
    }
    /* the contract: fresh device memory reads as zeros (ordered on the
     * stream before anything later that uses it) */
    e = cudaMemsetAsync(ptr, 0, bytes, ctx->stream);
    if (e != cudaSuccess) {
        cuda_fail(ctx, e, "cudaMemsetAsync", __FILE__, __LINE__);
        cudaFree(ptr);
        (void)cudaGetLastError();
        return NULL;
    }
    if (!remember_block(ctx, ptr, bytes)) {
        cudaFree(ptr);
        (void)cudaGetLastError();
        rt_error_set(ctx->err, RT_ERR_NOMEM, "out of host memory tracking a GPU allocation");
        return NULL;
    }
    return ptr;
}

void cuda_release(cuda_ctx *ctx, void *ptr)
{
    if (!ptr)
        return;
    if (ctx->capturing) {
        /* kept until close; the step fails at the end of its capture */
        cuda_refuse_in_capture(ctx, "freeing device memory");
        return;
    }
    size_t i = 0;
    while (i < ctx->block_count && ctx->blocks[i].ptr != ptr)
        i++;
    if (i == ctx->block_count) {
        rt_error_set(ctx->err, RT_ERR_USAGE,
                     "freeing %p, which this CUDA device did not allocate (or freed already)",
                     ptr);
        return;
    }
    /* the memory may still be in use by queued work */
    cudaError_t e = cudaStreamSynchronize(ctx->stream);
    if (e != cudaSuccess)
        cuda_fail(ctx, e, "cudaStreamSynchronize", __FILE__, __LINE__);
    e = cudaFree(ptr);
    if (e != cudaSuccess)
        cuda_fail(ctx, e, "cudaFree", __FILE__, __LINE__);
    ctx->bytes_now -= ctx->blocks[i].bytes;
    ctx->blocks[i] = ctx->blocks[ctx->block_count - 1];
    ctx->block_count--;
}

static void *cuda_alloc_op(void *vctx, size_t bytes)
{
    return cuda_malloc(vctx, bytes, "a device buffer");
}

static size_t cuda_peak_bytes(void *vctx) { return ((cuda_ctx *)vctx)->bytes_peak; }

/* The GPU's global memory; 0 (unknown) when the query fails, and the model
 * then finds out at allocation, with the sizes in the message. */
static size_t cuda_memory_total(void *vctx)
{
    (void)vctx;
    size_t free_bytes = 0, total = 0;
    if (cudaMemGetInfo(&free_bytes, &total) != cudaSuccess) {
        cudaGetLastError(); /* clear it: nothing is wrong with the device */
        return 0;
    }
    return total;
}

/* Drops every captured graph: they are recaptured on their next runs. */
static void drop_graphs(cuda_ctx *ctx)
{
    for (size_t i = 0; i < ctx->graph_count; i++) {
        if (ctx->graphs[i].exec) {
            cudaError_t e = cudaGraphExecDestroy(ctx->graphs[i].exec);
            if (e != cudaSuccess)
                cuda_fail(ctx, e, "cudaGraphExecDestroy", __FILE__, __LINE__);
        }
        ctx->graphs[i].exec = NULL;
        ctx->graphs[i].runs = 0;
    }
}

/* A captured step holds the addresses it was captured with, and memory given
 * back can return at the same address under another buffer (a second
 * trainer on the same device, say), where a stale capture would write.
 * So giving memory back drops every capture; that happens when a trainer
 * or model is torn down, never inside a step. */
static void cuda_free_op(void *vctx, void *ptr)
{
    cuda_ctx *ctx = vctx;
    if (!ctx->capturing && ctx->graph_count) {
        cudaError_t e = cudaStreamSynchronize(ctx->stream);
        if (e != cudaSuccess)
            cuda_fail(ctx, e, "cudaStreamSynchronize", __FILE__, __LINE__);
        drop_graphs(ctx);
    }
    cuda_release(ctx, ptr);
}

rt_status cuda_reserve_workspace(cuda_ctx *ctx, size_t bytes)
{
    if (bytes <= ctx->conv_ws_bytes)
        return RT_OK;
    if (ctx->capturing)
        return cuda_refuse_in_capture(ctx, "growing the convolution workspace (a convolution "
                                           "shape first seen during capture)");
    /* round up to 1 MiB so that a few slightly larger needs do not each
     * reallocate */
    size_t want = (bytes + ((size_t)1 << 20) - 1) & ~(((size_t)1 << 20) - 1);
    if (ctx->conv_ws) {
        /* captured graphs hold the old address */
        CUDA_TRY(ctx, cudaStreamSynchronize(ctx->stream));
        drop_graphs(ctx);
        cuda_release(ctx, ctx->conv_ws);
        ctx->conv_ws = NULL;
        ctx->conv_ws_bytes = 0;
    }
    ctx->conv_ws = cuda_malloc(ctx, want, "the convolution workspace");
    if (!ctx->conv_ws)
        return ctx->err->status;
    ctx->conv_ws_bytes = want;
    return RT_OK;
}

/* ---- kernel-side failures ------------------------------------------------ */

/* After a synchronisation: reports (once) what a kernel recorded. */
static rt_status report_kernel_error(cuda_ctx *ctx)
{
    rtk_error_record rec = *ctx->host_err;
    if (rec.code == RTK_ERROR_NONE)
        return RT_OK;
    memset(ctx->host_err, 0, sizeof *ctx->host_err);
    CUDA_TRY(ctx, cudaMemsetAsync(ctx->dev_err, 0, sizeof *ctx->dev_err, ctx->stream));
    if (rec.code == RTK_ERROR_LABEL)
        return rt_error_set(ctx->err, RT_ERR_USAGE,
                            "cross entropy: label %d of sample %d is outside 0..%d (found on "
                            "the GPU; the batch's loss was not counted)",
                            rec.value, rec.sample, rec.limit - 1);
    return rt_error_set(ctx->err, RT_ERR_DEVICE, "a GPU kernel reported failure code %d",
                        rec.code);
}

/* Queues the copy of the kernel error record to the host; the caller
 * synchronises and then calls report_kernel_error(). */
static rt_status fetch_kernel_error(cuda_ctx *ctx)
{
    CUDA_TRY(ctx, cudaMemcpyAsync(ctx->host_err, ctx->dev_err, sizeof *ctx->host_err,
                                  cudaMemcpyDeviceToHost, ctx->stream));
    return RT_OK;
}

/* ---- transfers ------------------------------------------------------------ */

static rt_status cuda_upload(void *vctx, void *dst, const void *src, size_t bytes)
{
    cuda_ctx *ctx = vctx;
    if (ctx->capturing)
        return cuda_refuse_in_capture(ctx, "rt_device_upload");
    /* from pageable memory this returns once src has been staged, so the
     * caller may reuse src at once */
    CUDA_TRY(ctx, cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, ctx->stream));
    return RT_OK;
}

static rt_status cuda_download(void *vctx, void *dst, const void *src, size_t bytes)
{
    cuda_ctx *ctx = vctx;
    if (ctx->capturing)
        return cuda_refuse_in_capture(ctx, "rt_device_download");
    CUDA_TRY(ctx, cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, ctx->stream));
    RT_TRY(fetch_kernel_error(ctx));
    CUDA_TRY(ctx, cudaStreamSynchronize(ctx->stream));
    return report_kernel_error(ctx);
}

static rt_status cuda_copy(void *vctx, void *dst, const void *src, size_t bytes)
{
    cuda_ctx *ctx = vctx;
    CUDA_TRY(ctx, cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, ctx->stream));
    return RT_OK;
}

static rt_status cuda_zero(void *vctx, void *dst, size_t bytes)
{
    cuda_ctx *ctx = vctx;
    CUDA_TRY(ctx, cudaMemsetAsync(dst, 0, bytes, ctx->stream));
    return RT_OK;
}

static rt_status cuda_synchronize(void *vctx)
{
    cuda_ctx *ctx = vctx;
    if (ctx->capturing)
        return cuda_refuse_in_capture(ctx, "rt_device_synchronize");
    RT_TRY(fetch_kernel_error(ctx));
    CUDA_TRY(ctx, cudaStreamSynchronize(ctx->stream));
    return report_kernel_error(ctx);
}

/* ---- steps and graphs ------------------------------------------------------ */

static cuda_graph_entry *graph_entry(cuda_ctx *ctx, int key)
{
    for (size_t i = 0; i < ctx->graph_count; i++)
        if (ctx->graphs[i].key == key)
            return &ctx->graphs[i];
    if (ctx->graph_count == ctx->graph_cap) {
        size_t cap = ctx->graph_cap ? 2 * ctx->graph_cap : 8;
        cuda_graph_entry *grown = realloc(ctx->graphs, cap * sizeof *grown);
        if (!grown)
            return NULL;
        ctx->graphs = grown;
        ctx->graph_cap = cap;
    }
    cuda_graph_entry *e = &ctx->graphs[ctx->graph_count++];
    e->key = key;
    e->runs = 0;
    e->exec = NULL;
    return e;
}

/* Captures fn into a graph, instantiates it and stores it in entry (the
 * captured work has not run yet). */
static rt_status capture_step(cuda_ctx *ctx, cuda_graph_entry *entry, rt_step_fn fn,
                              void *fn_ctx)
{
    CUDA_TRY(ctx, cudaStreamBeginCapture(ctx->stream, cudaStreamCaptureModeThreadLocal));
    ctx->capturing = 1;
    rt_status st = fn(fn_ctx);
    ctx->capturing = 0;
    cudaGraph_t graph = NULL;
    /* always end the capture, even after a failure, so the stream is usable */
    cudaError_t e = cudaStreamEndCapture(ctx->stream, &graph);
    if (st != RT_OK) {
        if (graph)
            cudaGraphDestroy(graph);
        (void)cudaGetLastError();
        return rt_error_prefix(ctx->err, "capturing step %d into a CUDA graph", entry->key);
    }
    if (e != cudaSuccess) {
        if (graph)
            cudaGraphDestroy(graph);
        cuda_fail(ctx, e, "cudaStreamEndCapture", __FILE__, __LINE__);
        return rt_error_prefix(ctx->err,
                               "capturing step %d into a CUDA graph (an op used a call "
                               "that cannot be captured)",
                               entry->key);
    }
    cudaGraphExec_t exec = NULL;
    e = cudaGraphInstantiate(&exec, graph, 0);
    cudaError_t destroyed = cudaGraphDestroy(graph);
    if (e != cudaSuccess)
        return cuda_fail(ctx, e, "cudaGraphInstantiate", __FILE__, __LINE__);
    if (destroyed != cudaSuccess) {
        cudaGraphExecDestroy(exec);
        return cuda_fail(ctx, destroyed, "cudaGraphDestroy", __FILE__, __LINE__);
    }
    entry->exec = exec;
    return RT_OK;
}

static rt_status cuda_run_step(void *vctx, int key, rt_step_fn fn, void *fn_ctx)
{
    cuda_ctx *ctx = vctx;
    if (ctx->in_step)
        return rt_error_set(ctx->err, RT_ERR_USAGE,
                            "rt_device_run_step called from inside a step function");
    if (!ctx->cfg.graphs) {
        ctx->in_step = 1;
        rt_status st = fn(fn_ctx);
        ctx->in_step = 0;
        return st;
    }
    cuda_graph_entry *entry = graph_entry(ctx, key);
    if (!entry)
        return rt_error_set(ctx->err, RT_ERR_NOMEM, "out of host memory recording step %d",
                            key);
    /* entry stays valid: nothing below adds graph entries */
    ctx->in_step = 1;
    rt_status st = RT_OK;
    if (!entry->exec && entry->runs == 0) {
        /* the first run is eager: it chooses convolution algorithms and
         * grows the workspace, which a capture must not do (growing it
         * drops every graph, this entry's count included) */
        st = fn(fn_ctx);
        ctx->in_step = 0;
        if (st == RT_OK)
            entry->runs = 1;
        return st;
    }
    if (!entry->exec)
        st = capture_step(ctx, entry, fn, fn_ctx);
    ctx->in_step = 0;
    RT_TRY(st);
    CUDA_TRY(ctx, cudaGraphLaunch(entry->exec, ctx->stream));
    entry->runs++;
    return RT_OK;
}

/* ---- open and close ---------------------------------------------------------- */

static void cuda_close(void *vctx)
{
    cuda_ctx *ctx = vctx;
    if (!ctx)
        return;
    if (ctx->stream && cudaStreamSynchronize(ctx->stream) != cudaSuccess)
        (void)cudaGetLastError();
#ifdef RT_HAVE_NCCL
    cuda_comm_close(ctx);
#endif
    for (size_t i = 0; i < ctx->graph_count; i++)
        if (ctx->graphs[i].exec)
            cudaGraphExecDestroy(ctx->graphs[i].exec);
    cuda_conv_destroy_plans(ctx);
    if (ctx->cublas)
        cublasDestroy(ctx->cublas);
    if (ctx->cudnn)
        cudnnDestroy(ctx->cudnn);
    /* whatever is still allocated, the workspaces included */
    for (size_t i = 0; i < ctx->block_count; i++)
        cudaFree(ctx->blocks[i].ptr);
    if (ctx->host_err)
        cudaFreeHost(ctx->host_err);
    if (ctx->stream)
        cudaStreamDestroy(ctx->stream);
    (void)cudaGetLastError();
    free(ctx->graphs);
    free(ctx->plans);
    free(ctx->blocks);
    free(ctx);
}

static const rt_backend_ops CUDA_OPS = {
    .kind = "cuda",
    .close = cuda_close,
    .alloc = cuda_alloc_op,
    .free = cuda_free_op,
    .upload = cuda_upload,
    .download = cuda_download,
    .copy = cuda_copy,
    .zero = cuda_zero,
    .synchronize = cuda_synchronize,
    .peak_bytes = cuda_peak_bytes,
    .memory_total = cuda_memory_total,
    .run_step = cuda_run_step,
    .load_batch = cuda_load_batch,
    .load_batch_transformed = cuda_load_batch_transformed,
    .conv_forward = cuda_conv_forward,
    .conv_backward_data = cuda_conv_backward_data,
    .conv_backward_filter = cuda_conv_backward_filter,
    .conv_backward_bias = cuda_conv_backward_bias,
    .maxpool2_forward = cuda_maxpool2_forward,
    .maxpool2_backward = cuda_maxpool2_backward,
    .relu_forward = cuda_relu_forward,
    .relu_backward = cuda_relu_backward,
    .add_relu_forward = cuda_add_relu_forward,
    .add_relu_backward = cuda_add_relu_backward,
    .add = cuda_add,
    .maxpool_forward = cuda_maxpool_forward,
    .maxpool_backward = cuda_maxpool_backward,
    .avgpool_forward = cuda_avgpool_forward,
    .avgpool_backward = cuda_avgpool_backward,
    .batchnorm_forward = cuda_batchnorm_forward,
    .batchnorm_backward = cuda_batchnorm_backward,
    .linear_forward = cuda_linear_forward,
    .linear_backward_data = cuda_linear_backward_data,
    .linear_backward_params = cuda_linear_backward_params,
    .softmax_cross_entropy = cuda_softmax_cross_entropy,
    .adam = cuda_adam,
    .sgd = cuda_sgd,
    .lr_from_table = cuda_lr_from_table,
    .step_advance = cuda_step_advance,
#ifdef RT_HAVE_NCCL
    .comm_unique_id = cuda_comm_unique_id,
    .comm_init = cuda_comm_init,
    .allreduce_weighted = cuda_allreduce_weighted,
    .collectives_version = rt_cuda_nccl_version,
#endif
};

/* The first calls that touch the GPU: a failure means no usable device. */
static rt_status select_device(cuda_ctx *ctx, struct cudaDeviceProp *prop)
{
    cudaError_t e = cudaSetDevice(ctx->device);
    if (e == cudaSuccess)
        e = cudaFree(NULL); /* creates the context now, so failures show here */
    if (e != cudaSuccess) {
        (void)cudaGetLastError();
        return rt_error_set(ctx->err, RT_ERR_NODEVICE,
                            "CUDA device %d is not usable: %s (%s)", ctx->device,
                            cudaGetErrorString(e), cudaGetErrorName(e));
    }
    CUDA_TRY(ctx, cudaGetDeviceProperties(prop, ctx->device));
    e = rtk_probe();
    if (e != cudaSuccess) {
        (void)cudaGetLastError();
        return rt_error_set(ctx->err, RT_ERR_NODEVICE,
                            "%s (sm_%d%d) is not supported by this build, compiled for GPU "
                            "architectures %s: %s",
                            prop->name, prop->major, prop->minor, RT_GPU_ARCHS,
                            cudaGetErrorString(e));
    }
    return RT_OK;
}

static rt_status open_libraries(cuda_ctx *ctx)
{
    CUDA_TRY(ctx, cudaStreamCreateWithFlags(&ctx->stream, cudaStreamNonBlocking));

    CUDNN_TRY(ctx, cudnnCreate(&ctx->cudnn));
    size_t cudnn_version = cudnnGetVersion();
    if (cudnn_version / 10000 != CUDNN_MAJOR)
        return rt_error_set(ctx->err, RT_ERR_DEVICE,
                            "the cuDNN library loaded is version %zu, but this build was "
                            "compiled against cuDNN %d.%d",
                            cudnn_version, CUDNN_MAJOR, CUDNN_MINOR);
    CUDNN_TRY(ctx, cudnnSetStream(ctx->cudnn, ctx->stream));

    CUBLAS_TRY(ctx, cublasCreate(&ctx->cublas));
    /* cublasSetStream resets the workspace to cuBLAS's own pool, so the
     * stream comes first and our workspace second */
    CUBLAS_TRY(ctx, cublasSetStream(ctx->cublas, ctx->stream));
    ctx->cublas_ws = cuda_malloc(ctx, CUBLAS_WORKSPACE_BYTES, "the cuBLAS workspace");
    if (!ctx->cublas_ws)
        return ctx->err->status;
    ctx->cublas_ws_bytes = CUBLAS_WORKSPACE_BYTES;
    CUBLAS_TRY(ctx, cublasSetWorkspace(ctx->cublas, ctx->cublas_ws, ctx->cublas_ws_bytes));
    /* The linear layer is always strict FP32, as PyTorch's default
     * (torch.backends.cuda.matmul.allow_tf32 = False); pedantic math also
     * keeps environment overrides (TF32, emulation) away from it. */
    CUBLAS_TRY(ctx, cublasSetMathMode(ctx->cublas, CUBLAS_PEDANTIC_MATH));

    ctx->dev_err = cuda_malloc(ctx, sizeof *ctx->dev_err, "the kernel error record");
    if (!ctx->dev_err)
        return ctx->err->status;
    CUDA_TRY(ctx, cudaMallocHost((void **)&ctx->host_err, sizeof *ctx->host_err));
    memset(ctx->host_err, 0, sizeof *ctx->host_err);
    /* surfaces any failure of the setup above now rather than later */
    CUDA_TRY(ctx, cudaStreamSynchronize(ctx->stream));
    return RT_OK;
}

static rt_status cuda_backend_open(const rt_device_config *cfg, rt_error *err, rt_backend *out)
{
    int count = 0;
    cudaError_t e = cudaGetDeviceCount(&count);
    if (e != cudaSuccess) {
        (void)cudaGetLastError();
        return rt_error_set(err, RT_ERR_NODEVICE, "no CUDA device: cudaGetDeviceCount: %s",
                            cudaGetErrorString(e));
    }
    if (count <= 0)
        return rt_error_set(err, RT_ERR_NODEVICE,
                            "no CUDA device: the driver reports no CUDA-capable device");
    if (cfg->gpu_index < 0 || cfg->gpu_index >= count)
        return rt_error_set(err, RT_ERR_USAGE,
                            "GPU index %d is out of range: this machine has %d CUDA device%s "
                            "(0..%d)",
                            cfg->gpu_index, count, count == 1 ? "" : "s", count - 1);

    cuda_ctx *ctx = calloc(1, sizeof *ctx);
    if (!ctx)
        return rt_error_set(err, RT_ERR_NOMEM, "out of host memory opening the CUDA backend");
    ctx->err = err;
    ctx->cfg = *cfg;
    ctx->device = cfg->gpu_index;
    /* cuDNN's heuristic ranking unless asked to time every algorithm, as
     * PyTorch's cudnn.benchmark; RESNET_CUDNN_ALGO=find|heuristic overrides
     * (for tests) */
    const char *algo = getenv("RESNET_CUDNN_ALGO");
    ctx->cudnn_heuristic = !cfg->cudnn_benchmark;
    if (algo && strcmp(algo, "heuristic") == 0)
        ctx->cudnn_heuristic = 1;
    else if (algo && strcmp(algo, "find") == 0)
        ctx->cudnn_heuristic = 0;

    struct cudaDeviceProp prop;
    memset(&prop, 0, sizeof prop);
    rt_status st = select_device(ctx, &prop);
    if (st == RT_OK)
        st = open_libraries(ctx);
    int driver = 0;
    if (st == RT_OK && cudaDriverGetVersion(&driver) != cudaSuccess) {
        (void)cudaGetLastError();
        driver = 0;
    }
    if (st != RT_OK) {
        cuda_close(ctx);
        return st;
    }

    size_t cudnn_version = cudnnGetVersion();
    out->ops = &CUDA_OPS;
    out->ctx = ctx;
    out->threads = 1;
    char text[1024];
    snprintf(text, sizeof text,
             "%.200s (sm_%d%d, %d SMs, %.1f GiB, driver %d.%d, cuDNN %zu.%zu.%zu%s)", prop.name,
             prop.major, prop.minor, prop.multiProcessorCount,
             (double)prop.totalGlobalMem / (double)((size_t)1 << 30), driver / 1000,
             (driver % 1000) / 10, cudnn_version / 10000, (cudnn_version / 100) % 100,
             cudnn_version % 100,
             cfg->precision == RT_PRECISION_TF32 ? ", TF32 convolutions" : "");
    size_t len = strlen(text);
    if (len >= sizeof out->description)
        len = sizeof out->description - 1;
    memcpy(out->description, text, len);
    out->description[len] = '\0';
    return RT_OK;
}

/* The plugin's one exported symbol (the build hides every other). */
__attribute__((visibility("default"))) const rt_backend_plugin rt_cuda_plugin = {
    .abi = RT_BACKEND_PLUGIN_ABI,
    .ops_size = sizeof(rt_backend_ops),
    .version = RT_VERSION,
    .open = cuda_backend_open,
};
