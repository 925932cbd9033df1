/* The portable C backend: device memory is host memory, ops run on the
 * calling thread plus OpenMP workers, and a step is simply run. */
#include "cpu_backend.h"

#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Every block carries its size in a 64-byte header, for the peak count. */
#define HEADER 64

static void *cpu_alloc(void *vctx, size_t bytes)
{
    cpu_ctx *ctx = vctx;
    size_t total = (bytes + HEADER + 63) / 64 * 64;
    unsigned char *block = aligned_alloc(64, total);
    if (!block) {
        rt_error_set(ctx->err, RT_ERR_NOMEM, "out of host memory: asked for %zu bytes", bytes);
        return NULL;
    }
    memcpy(block, &bytes, sizeof bytes);
    memset(block + HEADER, 0, bytes);
    #pragma omp atomic
    ctx->bytes_now += bytes;
    if (ctx->bytes_now > ctx->bytes_peak)
        ctx->bytes_peak = ctx->bytes_now;
    return block + HEADER;
}

static void cpu_free(void *vctx, void *ptr)
{
    cpu_ctx *ctx = vctx;
    unsigned char *block = (unsigned char *)ptr - HEADER;
    size_t bytes;
    memcpy(&bytes, block, sizeof bytes);
    #pragma omp atomic
    ctx->bytes_now -= bytes;
    free(block);
}

float *cpu_scratch(cpu_ctx *ctx, int slot, size_t floats)
{
    if (ctx->scratch_floats[slot] >= floats)
        return ctx->scratch[slot];
    if (ctx->scratch[slot])
        cpu_free(ctx, ctx->scratch[slot]);
    ctx->scratch_floats[slot] = 0;
    ctx->scratch[slot] = cpu_alloc(ctx, floats * sizeof(float));
    if (ctx->scratch[slot])
        ctx->scratch_floats[slot] = floats;
    return ctx->scratch[slot];
}

static void cpu_close(void *vctx)
{
    cpu_ctx *ctx = vctx;
    for (int i = 0; i <= RT_CPU_MAX_THREADS; i++)
        if (ctx->scratch[i])
            cpu_free(ctx, ctx->scratch[i]);
    free(ctx);
}

static rt_status cpu_memcpy(void *ctx, void *dst, const void *src, size_t bytes)
{
    (void)ctx;
    memmove(dst, src, bytes);
    return RT_OK;
}

static rt_status cpu_zero(void *ctx, void *dst, size_t bytes)
{
    (void)ctx;
    memset(dst, 0, bytes);
    return RT_OK;
}

static rt_status cpu_synchronize(void *ctx)
{
    (void)ctx;
    return RT_OK;
}

static size_t cpu_peak_bytes(void *vctx) { return ((cpu_ctx *)vctx)->bytes_peak; }

static size_t cpu_memory_total(void *vctx)
{
    (void)vctx;
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
    return pages > 0 && page > 0 ? (size_t)pages * (size_t)page : 0;
}

static rt_status cpu_run_step(void *ctx, int key, rt_step_fn fn, void *fn_ctx)
{
    (void)ctx;
    (void)key;
    return fn(fn_ctx);
}

rt_status cpu_step_advance(void *ctx, rt_step_state *state, int n, int optimizer_step)
{
    (void)ctx;
    state->cursor += n;
    if (optimizer_step)
        state->steps += 1;
    return RT_OK;
}

static const rt_backend_ops CPU_OPS = {
    .kind = "cpu",
    .close = cpu_close,
    .alloc = cpu_alloc,
    .free = cpu_free,
    .upload = cpu_memcpy,
    .download = cpu_memcpy,
    .copy = cpu_memcpy,
    .zero = cpu_zero,
    .synchronize = cpu_synchronize,
    .peak_bytes = cpu_peak_bytes,
    .memory_total = cpu_memory_total,
    .run_step = cpu_run_step,
    .load_batch = cpu_load_batch,
    .load_batch_transformed = cpu_load_batch_transformed,
    .conv_forward = cpu_conv_forward,
    .conv_backward_data = cpu_conv_backward_data,
    .conv_backward_filter = cpu_conv_backward_filter,
    .conv_backward_bias = cpu_conv_backward_bias,
    .maxpool2_forward = cpu_maxpool2_forward,
    .maxpool2_backward = cpu_maxpool2_backward,
    .relu_forward = cpu_relu_forward,
    .relu_backward = cpu_relu_backward,
    .add_relu_forward = cpu_add_relu_forward,
    .add_relu_backward = cpu_add_relu_backward,
    .add = cpu_add,
    .maxpool_forward = cpu_maxpool_forward,
    .maxpool_backward = cpu_maxpool_backward,
    .avgpool_forward = cpu_avgpool_forward,
    .avgpool_backward = cpu_avgpool_backward,
    .batchnorm_forward = cpu_batchnorm_forward,
    .batchnorm_backward = cpu_batchnorm_backward,
    .linear_forward = cpu_linear_forward,
    .linear_backward_data = cpu_linear_backward_data,
    .linear_backward_params = cpu_linear_backward_params,
    .softmax_cross_entropy = cpu_softmax_cross_entropy,
    .adam = cpu_adam,
    .sgd = cpu_sgd,
    .lr_from_table = cpu_lr_from_table,
    .step_advance = cpu_step_advance,
};

rt_status rt_cpu_backend_open(const rt_device_config *cfg, rt_error *err, rt_backend *out)
{
    int threads = cfg->threads > 0 ? cfg->threads : omp_get_num_procs();
    if (threads > RT_CPU_MAX_THREADS)
        return rt_error_set(err, RT_ERR_USAGE, "--threads %d is more than the %d supported",
                            threads, RT_CPU_MAX_THREADS);
    cpu_ctx *ctx = calloc(1, sizeof *ctx);
    if (!ctx)
        return rt_error_set(err, RT_ERR_NOMEM, "out of host memory opening the CPU backend");
    ctx->threads = threads;
    ctx->err = err;
    out->ops = &CPU_OPS;
    out->ctx = ctx;
    out->threads = threads;
    snprintf(out->description, sizeof out->description, "CPU, %d thread%s", threads,
             threads == 1 ? "" : "s");
    return RT_OK;
}
