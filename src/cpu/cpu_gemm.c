#include "cpu_gemm.h"

#include <string.h>

/* Micro-tile: MR rows of C by NR columns. NR = 32 floats is two AVX-512 or
 * four AVX2 registers a row; MR = 6 keeps the 12 (or 24) accumulators in
 * registers with room for the B row and the broadcast A element. */
#define MR 6
#define NR 32

static size_t round_up(size_t x, size_t to) { return (x + to - 1) / to * to; }

size_t rt_sgemm_scratch_floats(int m, int n, int k)
{
    return round_up((size_t)m, MR) * (size_t)k + round_up((size_t)n, NR) * (size_t)k;
}

/* Packs A into panels of MR rows: panel p holds A[p*MR + i][kk] at
 * [kk * MR + i], rows past m zero. */
static void pack_a(int m, int k, rt_matrix_view a, float *restrict out)
{
    for (int p = 0; p < m; p += MR) {
        int rows = m - p < MR ? m - p : MR;
        for (int kk = 0; kk < k; kk++) {
            const float *src = a.data + (ptrdiff_t)p * a.row_stride + (ptrdiff_t)kk * a.col_stride;
            int i = 0;
            for (; i < rows; i++)
                out[i] = src[i * a.row_stride];
            for (; i < MR; i++)
                out[i] = 0.0f;
            out += MR;
        }
    }
}

/* Packs B into panels of NR columns: panel q holds B[kk][q*NR + j] at
 * [kk * NR + j], columns past n zero. */
static void pack_b(int k, int n, rt_matrix_view b, float *restrict out)
{
    for (int q = 0; q < n; q += NR) {
        int cols = n - q < NR ? n - q : NR;
        for (int kk = 0; kk < k; kk++) {
            const float *src = b.data + (ptrdiff_t)kk * b.row_stride + (ptrdiff_t)q * b.col_stride;
            int j = 0;
            if (b.col_stride == 1) {
                memcpy(out, src, (size_t)cols * sizeof *out);
                j = cols;
            } else {
                for (; j < cols; j++)
                    out[j] = src[j * b.col_stride];
            }
            for (; j < NR; j++)
                out[j] = 0.0f;
            out += NR;
        }
    }
}

/* acc = Apanel . Bpanel over k. */
static void micro_kernel(int k, const float *restrict a, const float *restrict b,
                         float acc[MR][NR])
{
    float t[MR][NR];
    for (int i = 0; i < MR; i++)
        for (int j = 0; j < NR; j++)
            t[i][j] = 0.0f;
    for (int kk = 0; kk < k; kk++) {
        const float *restrict brow = b + (size_t)kk * NR;
        const float *restrict acol = a + (size_t)kk * MR;
        for (int i = 0; i < MR; i++) {
            float ai = acol[i];
            for (int j = 0; j < NR; j++)
                t[i][j] += ai * brow[j];
        }
    }
    for (int i = 0; i < MR; i++)
        for (int j = 0; j < NR; j++)
            acc[i][j] = t[i][j];
}

void rt_sgemm(int m, int n, int k, rt_matrix_view a, rt_matrix_view b, float *c, ptrdiff_t ldc,
              int accumulate, float *scratch)
{
    if (m <= 0 || n <= 0)
        return;
    if (k <= 0) {
        if (!accumulate)
            for (int i = 0; i < m; i++)
                memset(c + (ptrdiff_t)i * ldc, 0, (size_t)n * sizeof *c);
        return;
    }
    float *pa = scratch;
    float *pb = scratch + round_up((size_t)m, MR) * (size_t)k;
    pack_a(m, k, a, pa);
    pack_b(k, n, b, pb);
    float acc[MR][NR];
    for (int q = 0; q < n; q += NR) {
        int cols = n - q < NR ? n - q : NR;
        const float *bp = pb + (size_t)(q / NR) * NR * (size_t)k;
        for (int p = 0; p < m; p += MR) {
            int rows = m - p < MR ? m - p : MR;
            micro_kernel(k, pa + (size_t)(p / MR) * MR * (size_t)k, bp, acc);
            for (int i = 0; i < rows; i++) {
                float *crow = c + (ptrdiff_t)(p + i) * ldc + q;
                if (accumulate)
                    for (int j = 0; j < cols; j++)
                        crow[j] += acc[i][j];
                else
                    for (int j = 0; j < cols; j++)
                        crow[j] = acc[i][j];
            }
        }
    }
}
