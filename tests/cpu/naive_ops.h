/* Reference implementations written for clarity, not speed: straight loops
 * over the definitions, accumulating in double. The CPU backend is checked
 * against these. */
#ifndef RT_NAIVE_OPS_H
#define RT_NAIVE_OPS_H

#include <stddef.h>
#include <stdint.h>

#include "resnet/device.h"

void naive_conv_forward(const rt_conv_shape *s, const float *x, const float *w, const float *b,
                        float *y);
void naive_conv_backward_data(const rt_conv_shape *s, const float *dy, const float *w, float *dx);
void naive_conv_backward_filter(const rt_conv_shape *s, const float *x, const float *dy,
                                float *dw);
void naive_conv_backward_bias(const rt_conv_shape *s, const float *dy, float *db);
void naive_maxpool2_forward(int n, int c, int h, int w, int relu, const float *x, float *y);
void naive_maxpool2_backward(int n, int c, int h, int w, int relu, const float *x,
                             const float *dy, float *dx);
void naive_linear_forward(int n, int in, int out, const float *x, const float *w,
                          const float *b, float *y);
void naive_linear_backward(int n, int in, int out, const float *x, const float *w,
                           const float *dy, float *dx, float *dw, float *db);
/* General max pooling; argmax (may be NULL) receives each output's winner
 * as an index into x. */
void naive_maxpool_forward(const rt_pool_shape *s, const float *x, float *y, size_t *argmax);
void naive_maxpool_backward(const rt_pool_shape *s, const float *x, const float *dy, float *dx);
/* BatchNorm in double; mean_out/var_out (may be NULL) receive the batch
 * mean and biased variance per channel. Running statistics are not
 * updated. */
void naive_batchnorm_forward(const rt_batchnorm *bn, int training, const float *x, float *y,
                             double *mean_out, double *var_out);
/* Gradients of a training-mode forward, statistics recomputed from x. */
void naive_batchnorm_backward(const rt_batchnorm *bn, const float *x, const float *y,
                              const float *dy, float *dx, float *dweight, float *dbias);
/* Returns the mean loss; counts correct predictions; dlogits may be NULL. */
double naive_softmax_cross_entropy(int n, int classes, const float *logits,
                                   const int32_t *labels, float *dlogits, int *correct);

#endif
