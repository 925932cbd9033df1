/* Direct convolution with the batch in the SIMD lanes.
 *
 * The model's convolutions are small (1 to 30 channels, 5x5 to 28x28
 * images), too small for im2col + GEMM to keep the vector units busy. So
 * images are taken LANES at a time and regrouped as [C][H+2p][W+2p][LANES]
 * (zero padded): every multiply-add then works on LANES images at once, the
 * padding needs no branches, and the innermost loops are plain C over
 * LANES floats that the compiler turns into vector instructions.
 *
 * Backward data is the forward kernel applied to dy with the weights
 * flipped and transposed. Backward filter sums per group of LANES images,
 * lane by lane in order, and the group partials in group order: the result
 * does not depend on the thread count. */
#include <omp.h>
#include <string.h>

#include "cpu_conv.h"
#include "cpu_simd.h" /* LANES images per group: one vector of floats */

/* The register blocks: KB output channels by PB output pixels of
 * accumulators, each one native vector of VN floats (cpu_simd.h), for one
 * part of the LANES images at a time. AVX-512 has 32 registers of 16
 * floats, room for 5 x 5 plus the inputs; AVX2 and SSE have 16, room for
 * 3 x 3. Neither the blocking nor the parts change the order of any one
 * sum, so every target computes the same bits. */
#if VN == 16
#define KB 5       /* output channels per register block */
#define PB_MAX 5   /* output pixels per register block: KB x PB accumulators */
#else
#define KB 3
#define PB_MAX 3
#endif
#define S_MAX 5    /* widest kernel the filter-gradient kernel blocks over */

#define ALWAYS_INLINE static inline __attribute__((always_inline))

typedef struct geom {
    int c, h, w;      /* input */
    int pad_h, pad_w; /* zero padding above/below and left/right */
    int hp, wp;       /* padded input */
    int k, kp;        /* output channels, rounded up to KB */
    int r, s;
    int stride;
    int oh, ow;
} geom;

static geom geom_of(int c, int h, int w, int pad_h, int pad_w, int k, int r, int s, int stride)
{
    geom g;
    g.c = c, g.h = h, g.w = w, g.pad_h = pad_h, g.pad_w = pad_w;
    g.hp = h + 2 * pad_h, g.wp = w + 2 * pad_w;
    g.k = k, g.kp = (k + KB - 1) / KB * KB;
    g.r = r, g.s = s;
    g.stride = stride;
    g.oh = (g.hp - r) / stride + 1, g.ow = (g.wp - s) / stride + 1;
    return g;
}

int cpu_conv_lanes_supported(const rt_conv_shape *s)
{
    return s->stride <= 2 && s->pad <= s->r - 1 && s->pad <= s->s - 1 && s->s <= S_MAX;
}

int cpu_conv_lanes_data_supported(const rt_conv_shape *s)
{
    /* backward data runs the forward kernel with padding r-1-pad, which is
     * a stride-1 convolution only for stride 1 */
    return s->stride == 1 && cpu_conv_lanes_supported(s);
}

/* Floats of a gathered group, with slack: a pixel block may read past the
 * end of the last row (those outputs are dropped). */
static size_t group_floats(int c, int hp, int wp)
{
    return ((size_t)c * hp * wp + 2 * PB_MAX + S_MAX) * LANES;
}

/* Images [n0, n0 + cnt) of an NCHW batch into [c][h+2ph][w+2pw][LANES].
 * Sixteen pixels of a row at a time: the LANES images' runs are loaded as
 * the rows of a 16x16 block and transposed in registers (vf_transpose16),
 * a quarter of the time of moving them one float at a time. */
static void gather(const float *src, int n0, int cnt, int c, int h, int w, int ph, int pw,
                   float *dst)
{
    int hp = h + 2 * ph, wp = w + 2 * pw;
    memset(dst, 0, group_floats(c, hp, wp) * sizeof *dst);
    size_t img = (size_t)c * h * w;
    src += (size_t)n0 * img;
    for (int ci = 0; ci < c; ci++)
        for (int y = 0; y < h; y++) {
            const float *row = src + ((size_t)ci * h + y) * w;
            float *d = dst + (((size_t)ci * hp + y + ph) * wp + pw) * LANES;
            int x = 0;
#if LANES == 16
            for (; x + 16 <= w; x += 16) {
                rt_vf r[16];
                for (int l = 0; l < 16; l++)
                    r[l] = l < cnt ? vf_load(row + (size_t)l * img + x) : vf_splat(0.0f);
                vf_transpose16(r);
                for (int t = 0; t < 16; t++)
                    vf_store(d + (size_t)(x + t) * LANES, r[t]);
            }
#endif
            for (; x < w; x++)
                for (int l = 0; l < cnt; l++)
                    d[(size_t)x * LANES + l] = row[(size_t)l * img + x];
        }
}

/* [c][h][w][LANES] back to images [n0, n0 + cnt) of an NCHW batch, adding
 * to what is there when accumulate is set. Sixteen pixels at a time,
 * transposed in registers as gather does. */
static void scatter(const float *src, int n0, int cnt, int c, int h, int w, int accumulate,
                    float *dst)
{
    size_t img = (size_t)c * h * w;
    float *d = dst + (size_t)n0 * img;
    size_t i = 0;
#if LANES == 16
    for (; i + 16 <= img; i += 16) {
        rt_vf r[16];
        for (int t = 0; t < 16; t++)
            r[t] = vf_load(src + (i + t) * LANES);
        vf_transpose16(r);
        for (int l = 0; l < cnt; l++) {
            float *o = d + (size_t)l * img + i;
            vf_store(o, accumulate ? vf_load(o) + r[l] : r[l]);
        }
    }
#endif
    for (; i < img; i++) {
        const float *v = src + i * LANES;
        for (int l = 0; l < cnt; l++) {
            if (accumulate)
                d[(size_t)l * img + i] += v[l];
            else
                d[(size_t)l * img + i] = v[l];
        }
    }
}

/* Weights [k][c][r][s] regrouped as [k/KB][c][r][s][KB], output channels
 * past k zero; flip_transpose reads w as the backward-data kernel
 * wt[c][k][r-1-i][s-1-j] instead (then k and c are the transposed ones). */
static void pack_weights(const float *w, const geom *g, int flip_transpose, float *out)
{
    for (int kb = 0; kb < g->kp; kb += KB)
        for (int c = 0; c < g->c; c++)
            for (int i = 0; i < g->r; i++)
                for (int j = 0; j < g->s; j++)
                    for (int kk = 0; kk < KB; kk++) {
                        int k = kb + kk;
                        float v = 0.0f;
                        if (k < g->k)
                            v = flip_transpose
                                    ? w[(((size_t)c * g->k + k) * g->r + (g->r - 1 - i)) * g->s +
                                        (g->s - 1 - j)]
                                    : w[(((size_t)k * g->c + c) * g->r + i) * g->s + j];
                        *out++ = v;
                    }
}

/* One register block of the forward pass: KB output channels from k0, pb
 * output pixels of row oy from ox0, the VN images of part `part`. */
ALWAYS_INLINE void forward_block(const float *restrict xb, const geom *g,
                                 const float *restrict wpk, const float *restrict bias, int k0,
                                 int oy, int ox0, const int pb, int part, float *restrict yb)
{
    rt_vn acc[KB][PB_MAX];
    for (int kk = 0; kk < KB; kk++) {
        rt_vn b0 = vn_splat((bias && k0 + kk < g->k) ? bias[k0 + kk] : 0.0f);
        for (int p = 0; p < pb; p++)
            acc[kk][p] = b0;
    }
    const float *wc = wpk + (size_t)(k0 / KB) * g->c * g->r * g->s * KB;
    for (int c = 0; c < g->c; c++)
        for (int i = 0; i < g->r; i++) {
            const int st = g->stride;
            const float *xr =
                xb + (((size_t)c * g->hp + (size_t)oy * st + i) * g->wp + (size_t)ox0 * st) * LANES +
                (size_t)part * VN;
            const float *wr = wc + ((size_t)c * g->r + i) * g->s * KB;
            for (int j = 0; j < g->s; j++) {
                rt_vn x[PB_MAX];
                for (int p = 0; p < pb; p++)
                    x[p] = vn_load(xr + (p * st + j) * LANES);
                for (int kk = 0; kk < KB; kk++) {
                    float wv = wr[j * KB + kk];
                    for (int p = 0; p < pb; p++)
                        acc[kk][p] += wv * x[p];
                }
            }
        }
    for (int kk = 0; kk < KB && k0 + kk < g->k; kk++)
        for (int p = 0; p < pb; p++)
            vn_store(yb + (((size_t)(k0 + kk) * g->oh + oy) * g->ow + ox0 + p) * LANES +
                         (size_t)part * VN,
                     acc[kk][p]);
}

/* Every part of the LANES images through one pixel block. */
ALWAYS_INLINE void forward_parts(const float *restrict xb, const geom *g,
                                 const float *restrict wpk, const float *restrict bias, int k0,
                                 int oy, int ox0, const int pb, float *restrict yb)
{
    for (int part = 0; part < VPARTS; part++)
        forward_block(xb, g, wpk, bias, k0, oy, ox0, pb, part, yb);
}

/* Output rows per band: every output channel block runs over a band of
 * rows before the next band, so the band's input rows (rows + r - 1 of
 * them, all channels) stay in L2 while every block of output channels
 * reads them. A 64-channel 32x32 group is 4.7 MB; read again from L3 for
 * each of its 13 blocks of output channels, it held the kernel at a third
 * of its speed. The band is sized for ~384 KB of input. */
#define BAND_BYTES (384 * 1024)

static int band_rows(const geom *g)
{
    size_t row = (size_t)g->wp * g->c * LANES * sizeof(float);
    long rows = (long)(BAND_BYTES / row) - (g->r - 1);
    return rows < 1 ? 1 : rows > g->oh ? g->oh : (int)rows;
}
/* yb[k][oh][ow][LANES] = conv(xb, weights) + bias for one group. */
static void forward_group(const float *xb, const geom *g, const float *wpk, const float *bias,
                          float *yb)
{
    /* the widest block that tiles the row, the rest in a narrower one */
    int pb = PB_MAX < 5 ? PB_MAX : g->ow % 5 == 0 ? 5 : 4;
    int rows = band_rows(g);
    for (int oy0 = 0; oy0 < g->oh; oy0 += rows)
    for (int k0 = 0; k0 < g->kp; k0 += KB)
        for (int oy = oy0; oy < g->oh && oy < oy0 + rows; oy++) {
            int ox = 0;
            for (; ox + pb <= g->ow; ox += pb) {
                if (pb == PB_MAX)
                    forward_parts(xb, g, wpk, bias, k0, oy, ox, PB_MAX, yb);
                else
                    forward_parts(xb, g, wpk, bias, k0, oy, ox, PB_MAX - 1, yb);
            }
            switch (g->ow - ox) {
#if PB_MAX >= 5
            case 4: forward_parts(xb, g, wpk, bias, k0, oy, ox, 4, yb); break;
            case 3: forward_parts(xb, g, wpk, bias, k0, oy, ox, 3, yb); break;
#endif
            case 2: forward_parts(xb, g, wpk, bias, k0, oy, ox, 2, yb); break;
            case 1: forward_parts(xb, g, wpk, bias, k0, oy, ox, 1, yb); break;
            default: break;
            }
        }
}

static rt_status no_memory(cpu_ctx *ctx, const char *op)
{
    return rt_error_set(ctx->err, RT_ERR_NOMEM, "%s: out of host memory for scratch", op);
}

/* Shared body of forward and backward data: out = conv(in, packed weights)
 * over every group of the batch, written or added (accumulate) as NCHW. */
static rt_status run_forward(cpu_ctx *ctx, int n, const geom *g, const float *in,
                             const float *wpk, const float *bias, float *out, int accumulate,
                             const char *op)
{
    int groups = (n + LANES - 1) / LANES;
    size_t in_floats = group_floats(g->c, g->hp, g->wp);
    size_t out_floats = (size_t)g->k * g->oh * g->ow * LANES;
    int failed = 0;
    double work = (double)n * g->k * g->oh * g->ow * g->c * g->r * g->s;
    #pragma omp parallel num_threads(cpu_team(ctx, work))
    {
        float *xb = cpu_scratch(ctx, omp_get_thread_num(), in_floats + out_floats);
        if (!xb) {
            #pragma omp atomic write
            failed = 1;
        }
        #pragma omp for schedule(static)
        for (int grp = 0; grp < groups; grp++) {
            if (!xb)
                continue;
            int n0 = grp * LANES, cnt = n - n0 < LANES ? n - n0 : LANES;
            float *yb = xb + in_floats;
            gather(in, n0, cnt, g->c, g->h, g->w, g->pad_h, g->pad_w, xb);
            forward_group(xb, g, wpk, bias, yb);
            scatter(yb, n0, cnt, g->k, g->oh, g->ow, accumulate, out);
        }
    }
    return failed ? no_memory(ctx, op) : RT_OK;
}

rt_status cpu_conv_lanes_forward(void *vctx, const rt_conv_shape *s, const float *x,
                                 const float *w, const float *b, float *y)
{
    cpu_ctx *ctx = vctx;
    geom g = geom_of(s->c, s->h, s->w, s->pad, s->pad, s->k, s->r, s->s, s->stride);
    float *wpk = cpu_scratch(ctx, CPU_SHARED_SLOT, (size_t)g.kp * g.c * g.r * g.s);
    if (!wpk)
        return no_memory(ctx, "conv forward");
    pack_weights(w, &g, 0, wpk);
    return run_forward(ctx, s->n, &g, x, wpk, b, y, 0, "conv forward");
}

rt_status cpu_conv_lanes_backward_data(void *vctx, const rt_conv_shape *s, const float *dy,
                                       const float *w, float *dx, float beta)
{
    cpu_ctx *ctx = vctx;
    /* dx = conv(dy padded by r-1-pad and s-1-pad, w flipped with in/out swapped) */
    geom g = geom_of(s->k, rt_conv_out_h(s), rt_conv_out_w(s), s->r - 1 - s->pad,
                     s->s - 1 - s->pad, s->c, s->r, s->s, 1);
    float *wpk = cpu_scratch(ctx, CPU_SHARED_SLOT, (size_t)g.kp * g.c * g.r * g.s);
    if (!wpk)
        return no_memory(ctx, "conv backward data");
    pack_weights(w, &g, 1, wpk);
    return run_forward(ctx, s->n, &g, dy, wpk, NULL, dx, beta != 0.0f, "conv backward data");
}

/* Filter gradient of one register block: KB output channels from k0, input
 * channel c, kernel row i, all sw kernel columns, summed over every output
 * pixel of the group for the VN images of part `part`, then over their
 * lanes in order, continuing the previous parts' sum: 0 + l0 + l1 + ...
 * + l(LANES-1) whatever VN is. */
ALWAYS_INLINE void filter_block(const float *restrict xb, const float *restrict dyb,
                                const geom *g, int k0, int c, int i, const int sw, int part,
                                float *restrict partial)
{
    rt_vn acc[KB][S_MAX];
    for (int kk = 0; kk < KB; kk++)
        for (int j = 0; j < sw; j++)
            acc[kk][j] = vn_splat(0.0f);
    size_t plane = (size_t)g->oh * g->ow * LANES;
    for (int oy = 0; oy < g->oh; oy++)
        for (int ox = 0; ox < g->ow; ox++) {
            const float *xr = xb + (((size_t)c * g->hp + (size_t)oy * g->stride + i) * g->wp +
                                     (size_t)ox * g->stride) *
                                        LANES +
                              (size_t)part * VN;
            const float *dr =
                dyb + (size_t)k0 * plane + ((size_t)oy * g->ow + ox) * LANES + (size_t)part * VN;
            /* the sw inputs in registers, each dy loaded once and used sw
             * times (the other loop order had the compiler reload dy for
             * every input, from L2, for a third less speed) */
            rt_vn x[S_MAX];
            for (int j = 0; j < sw; j++)
                x[j] = vn_load(xr + j * LANES);
            for (int kk = 0; kk < KB; kk++) {
                rt_vn d = vn_load(dr + kk * plane);
                /* keeps d in a register: without it the compiler folds the
                 * load into each multiply-add, loading it sw times */
                RT_IN_REGISTER(d);
                for (int j = 0; j < sw; j++)
                    acc[kk][j] += d * x[j];
            }
        }
#if VN == 16 && LANES == 16
    /* each accumulator's lanes summed in lane order, 0 + l0 + l1 + ... +
     * l15: up to 16 accumulators at once as the columns of a transposed
     * block, the same adds in the same order as one lane at a time */
    (void)part;
    for (int first = 0; first < KB * sw; first += 16) {
        int count = KB * sw - first < 16 ? KB * sw - first : 16;
        rt_vf r[16];
        for (int t = 0; t < 16; t++)
            r[t] = t < count ? acc[(first + t) / sw][(first + t) % sw] : vf_splat(0.0f);
        vf_transpose16(r);
        rt_vf sum = vf_splat(0.0f);
        for (int l = 0; l < 16; l++)
            sum += r[l];
        for (int t = 0; t < count; t++) {
            int kk = (first + t) / sw, j = (first + t) % sw;
            partial[(((size_t)(k0 + kk) * g->c + c) * g->r + i) * g->s + j] = sum[t];
        }
    }
#else
    for (int kk = 0; kk < KB; kk++)
        for (int j = 0; j < sw; j++) {
            float *out = &partial[(((size_t)(k0 + kk) * g->c + c) * g->r + i) * g->s + j];
            float sum = part == 0 ? 0.0f : *out;
            for (int l = 0; l < VN; l++)
                sum += acc[kk][j][l];
            *out = sum;
        }
#endif
}

ALWAYS_INLINE void filter_parts(const float *restrict xb, const float *restrict dyb,
                                const geom *g, int k0, int c, int i, const int sw,
                                float *restrict partial)
{
    for (int part = 0; part < VPARTS; part++)
        filter_block(xb, dyb, g, k0, c, i, sw, part, partial);
}

rt_status cpu_conv_lanes_backward_filter(void *vctx, const rt_conv_shape *s, const float *x,
                                         const float *dy, float *dw)
{
    cpu_ctx *ctx = vctx;
    geom g = geom_of(s->c, s->h, s->w, s->pad, s->pad, s->k, s->r, s->s, s->stride);
    int groups = (s->n + LANES - 1) / LANES;
    size_t wsize = (size_t)g.kp * g.c * g.r * g.s; /* per group, channels padded to KB */
    float *partial = cpu_scratch(ctx, CPU_SHARED_SLOT, (size_t)groups * wsize);
    if (!partial)
        return no_memory(ctx, "conv backward filter");
    size_t x_floats = group_floats(g.c, g.hp, g.wp);
    size_t dy_floats = group_floats(g.kp, g.oh, g.ow); /* >= what gather() clears */
    int failed = 0;
    double work = (double)s->n * g.k * g.oh * g.ow * g.c * g.r * g.s;
    #pragma omp parallel num_threads(cpu_team(ctx, work))
    {
        float *xb = cpu_scratch(ctx, omp_get_thread_num(), x_floats + dy_floats);
        if (!xb) {
            #pragma omp atomic write
            failed = 1;
        }
        #pragma omp for schedule(static)
        for (int grp = 0; grp < groups; grp++) {
            if (!xb)
                continue;
            int n0 = grp * LANES, cnt = s->n - n0 < LANES ? s->n - n0 : LANES;
            float *dyb = xb + x_floats;
            gather(x, n0, cnt, g.c, g.h, g.w, g.pad_h, g.pad_w, xb);
            /* dy channels past k stay zero, so padded blocks add nothing */
            memset(dyb, 0, dy_floats * sizeof *dyb);
            gather(dy, n0, cnt, g.k, g.oh, g.ow, 0, 0, dyb);
            float *part = partial + (size_t)grp * wsize;
            for (int k0 = 0; k0 < g.kp; k0 += KB)
                for (int c = 0; c < g.c; c++)
                    for (int i = 0; i < g.r; i++)
                        switch (g.s) {
                        case 5: filter_parts(xb, dyb, &g, k0, c, i, 5, part); break;
                        case 4: filter_parts(xb, dyb, &g, k0, c, i, 4, part); break;
                        case 3: filter_parts(xb, dyb, &g, k0, c, i, 3, part); break;
                        case 2: filter_parts(xb, dyb, &g, k0, c, i, 2, part); break;
                        default: filter_parts(xb, dyb, &g, k0, c, i, 1, part); break;
                        }
        }
    }
    if (failed)
        return no_memory(ctx, "conv backward filter");
    size_t count = (size_t)g.k * g.c * g.r * g.s; /* the real channels come first */
    #pragma omp parallel for num_threads(cpu_team(ctx, (double)count * groups)) schedule(static)
    for (size_t i = 0; i < count; i++) {
        float sum = partial[i];
        for (int grp = 1; grp < groups; grp++)
            sum += partial[(size_t)grp * wsize + i];
        dw[i] = sum;
    }
    return RT_OK;
}
