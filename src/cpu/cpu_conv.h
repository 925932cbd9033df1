/* The CPU backend's convolution implementations; cpu_conv.c picks one per
 * shape. */
#ifndef RT_CPU_CONV_H
#define RT_CPU_CONV_H

#include "cpu_backend.h"

/* im2col + SGEMM: any shape. */
rt_status cpu_conv_im2col_forward(void *ctx, const rt_conv_shape *s, const float *x,
                                  const float *w, const float *b, float *y);
rt_status cpu_conv_im2col_backward_data(void *ctx, const rt_conv_shape *s, const float *dy,
                                        const float *w, float *dx, float beta);
rt_status cpu_conv_im2col_backward_filter(void *ctx, const rt_conv_shape *s, const float *x,
                                          const float *dy, float *dw);

/* Direct convolution with the batch in the SIMD lanes: forward and filter
 * gradient where cpu_conv_lanes_supported() is true (strides 1 and 2), the
 * data gradient where cpu_conv_lanes_data_supported() is (stride 1). */
int cpu_conv_lanes_supported(const rt_conv_shape *s);
int cpu_conv_lanes_data_supported(const rt_conv_shape *s);
rt_status cpu_conv_lanes_forward(void *ctx, const rt_conv_shape *s, const float *x,
                                 const float *w, const float *b, float *y);
rt_status cpu_conv_lanes_backward_data(void *ctx, const rt_conv_shape *s, const float *dy,
                                       const float *w, float *dx, float beta);
rt_status cpu_conv_lanes_backward_filter(void *ctx, const rt_conv_shape *s, const float *x,
                                         const float *dy, float *dw);

/* 1x1 convolutions as GEMMs on the images themselves (no im2col): shapes
 * where cpu_conv_pointwise_supported() is true. */
int cpu_conv_pointwise_supported(const rt_conv_shape *s);
rt_status cpu_conv_pointwise_forward(void *ctx, const rt_conv_shape *s, const float *x,
                                     const float *w, const float *b, float *y);
rt_status cpu_conv_pointwise_backward_data(void *ctx, const rt_conv_shape *s, const float *dy,
                                           const float *w, float *dx, float beta);
rt_status cpu_conv_pointwise_backward_filter(void *ctx, const rt_conv_shape *s, const float *x,
                                             const float *dy, float *dw);

#endif
