/* Convolution ops of the CPU backend: 1x1 convolutions as GEMMs on the
 * images (the bottlenecks' and projections' shapes: 2-4x faster than either
 * other way, measured in bench/conv_profile.c), the direct batch-in-lanes
 * kernels for the shapes they cover (all of the seed's, the ResNets' 3x3
 * convolutions; strided ones forward and for the filter gradient), im2col +
 * SGEMM for the rest (the strided ones' data gradient, the 7x7 stem). */
#include "cpu_conv.h"

#include <stddef.h>

rt_status cpu_conv_forward(void *ctx, const rt_conv_shape *s, const float *x, const float *w,
                           const float *b, float *y)
{
    if (cpu_conv_pointwise_supported(s))
        return cpu_conv_pointwise_forward(ctx, s, x, w, b, y);
    return cpu_conv_lanes_supported(s) ? cpu_conv_lanes_forward(ctx, s, x, w, b, y)
                                       : cpu_conv_im2col_forward(ctx, s, x, w, b, y);
}

rt_status cpu_conv_backward_data(void *ctx, const rt_conv_shape *s, const float *dy,
                                 const float *w, float *dx, float beta)
{
    if (cpu_conv_pointwise_supported(s))
        return cpu_conv_pointwise_backward_data(ctx, s, dy, w, dx, beta);
    return cpu_conv_lanes_data_supported(s) ? cpu_conv_lanes_backward_data(ctx, s, dy, w, dx, beta)
                                       : cpu_conv_im2col_backward_data(ctx, s, dy, w, dx, beta);
}

rt_status cpu_conv_backward_filter(void *ctx, const rt_conv_shape *s, const float *x,
                                   const float *dy, float *dw)
{
    if (cpu_conv_pointwise_supported(s))
        return cpu_conv_pointwise_backward_filter(ctx, s, x, dy, dw);
    return cpu_conv_lanes_supported(s) ? cpu_conv_lanes_backward_filter(ctx, s, x, dy, dw)
                                       : cpu_conv_im2col_backward_filter(ctx, s, x, dy, dw);
}

rt_status cpu_conv_backward_bias(void *vctx, const rt_conv_shape *s, const float *dy, float *db)
{
    cpu_ctx *ctx = vctx;
    size_t p = (size_t)rt_conv_out_h(s) * rt_conv_out_w(s), out_img = (size_t)s->k * p;
    #pragma omp parallel for num_threads(cpu_team(ctx, (double)s->n * s->k * p)) schedule(static)
    for (int k = 0; k < s->k; k++) {
        /* eight running sums in double, each over a fixed subset of pixels,
         * so the loop vectorises and the order never changes */
        double part[8] = {0};
        for (int n = 0; n < s->n; n++) {
            const float *row = dy + (size_t)n * out_img + (size_t)k * p;
            size_t i = 0;
            for (; i + 8 <= p; i += 8)
                for (int j = 0; j < 8; j++)
                    part[j] += row[i + j];
            for (; i < p; i++)
                part[i % 8] += row[i];
        }
        double sum = 0.0;
        for (int j = 0; j < 8; j++)
            sum += part[j];
        db[k] = (float)sum;
    }
    return RT_OK;
}
