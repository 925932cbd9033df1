/* A vector of LANES floats for the CPU backend's inner loops, through the
 * GCC/Clang vector extension: plain arithmetic operators that the compiler
 * lowers to whatever the target has (one AVX-512 register, two AVX2, four
 * SSE or NEON registers). Unlike loops over float arrays, the compiler keeps
 * arrays of these in registers, which doubles the speed of the convolution
 * kernels (measured: 53 -> 118 GFLOP/s for the filter gradient). */
#ifndef RT_CPU_SIMD_H
#define RT_CPU_SIMD_H

#if !defined(__GNUC__)
#error "the CPU backend needs the GCC/Clang vector extension"
#endif

#include <string.h>

#define LANES 16
typedef float rt_vf __attribute__((vector_size(LANES * sizeof(float))));
/* The same type at float alignment, for loads and stores anywhere. */
typedef float rt_vf_unaligned __attribute__((vector_size(LANES * sizeof(float)), aligned(4)));

/* The widest vector the target holds in one register (VN floats): the
 * inner loops of the convolutions work on LANES / VN of these at a time,
 * because GCC keeps a vector wider than the target's registers in memory
 * and lowers every operation on it through the stack (30 times slower
 * with AVX2, measured). */
#if defined(__AVX512F__)
#define VN 16
#elif defined(__AVX__)
#define VN 8
#else
#define VN 4
#endif
#define VPARTS (LANES / VN)
typedef float rt_vn __attribute__((vector_size(VN * sizeof(float))));
typedef float rt_vn_unaligned __attribute__((vector_size(VN * sizeof(float)), aligned(4)));
static inline rt_vn vn_load(const float *p) { return *(const rt_vn_unaligned *)p; }
static inline void vn_store(float *p, rt_vn v) { *(rt_vn_unaligned *)p = v; }
static inline rt_vn vn_splat(float x) { return (rt_vn){0} + x; }

static inline rt_vf vf_load(const float *p) { return *(const rt_vf_unaligned *)p; }
static inline void vf_store(float *p, rt_vf v) { *(rt_vf_unaligned *)p = v; }
static inline rt_vf vf_splat(float x) { return (rt_vf){0} + x; }

/* Makes the compiler hold v (an rt_vn) in a vector register from here (an
 * empty asm that "changes" it), so a value meant for reuse is not reloaded
 * from memory by every instruction that reads it. */
#if VN == 16 || (VN == 8 && defined(__AVX__))
#define RT_IN_REGISTER(v) __asm__("" : "+v"(v))
#else
#define RT_IN_REGISTER(v) ((void)(v))
#endif

#if LANES == 16
/* One stage of a 16x16 transpose: rows i and i+S exchange their S-wide
 * off-diagonal blocks (new_i[k] = k & S ? b[k - S] : a[k], new_j[k] =
 * k & S ? b[k] : a[k + S]). Four stages (S = 8, 4, 2, 1) transpose. */
#define RT_T_LO(S, k) (((k) & (S)) ? 16 + (k) - (S) : (k))
#define RT_T_HI(S, k) (((k) & (S)) ? 16 + (k) : (k) + (S))
#define RT_T_IDX(F, S)                                                                     \
    F(S, 0), F(S, 1), F(S, 2), F(S, 3), F(S, 4), F(S, 5), F(S, 6), F(S, 7), F(S, 8),        \
        F(S, 9), F(S, 10), F(S, 11), F(S, 12), F(S, 13), F(S, 14), F(S, 15)
#define RT_T_STAGE(r, S)                                                                   \
    for (int i_ = 0; i_ < 16; i_++)                                                        \
        if (!(i_ & (S))) {                                                                 \
            rt_vf a_ = r[i_], b_ = r[i_ + (S)];                                            \
            r[i_] = __builtin_shufflevector(a_, b_, RT_T_IDX(RT_T_LO, S));                 \
            r[i_ + (S)] = __builtin_shufflevector(a_, b_, RT_T_IDX(RT_T_HI, S));           \
        }

/* Transposes the 16x16 matrix of floats held in r[0..15] (row i in r[i]). */
static inline void vf_transpose16(rt_vf r[16])
{
    RT_T_STAGE(r, 8)
    RT_T_STAGE(r, 4)
    RT_T_STAGE(r, 2)
    RT_T_STAGE(r, 1)
}
#endif

#endif
