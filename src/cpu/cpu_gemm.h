/* A small single-threaded SGEMM for the CPU backend: C = A . B (+ C).
 * Operands are addressed through row and column strides, so transposed and
 * strided views need no copies; both are packed into panels and multiplied
 * by a register-blocked micro-kernel the compiler vectorises. Callers
 * parallelise over independent products, so every element of C is always
 * summed in the same order whatever the thread count. */
#ifndef RT_CPU_GEMM_H
#define RT_CPU_GEMM_H

#include <stddef.h>

typedef struct rt_matrix_view {
    const float *data;
    ptrdiff_t row_stride; /* element (i, j) is data[i * row_stride + j * col_stride] */
    ptrdiff_t col_stride;
} rt_matrix_view;

/* Floats of scratch rt_sgemm needs for these sizes. */
size_t rt_sgemm_scratch_floats(int m, int n, int k);

/* C[m x n] (row stride ldc) = A[m x k] . B[k x n], plus the old C when
 * accumulate is non-zero. scratch holds rt_sgemm_scratch_floats() floats,
 * 64-byte aligned. */
void rt_sgemm(int m, int n, int k, rt_matrix_view a, rt_matrix_view b, float *c, ptrdiff_t ldc,
              int accumulate, float *scratch);

#endif
