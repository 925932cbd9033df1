/* Launch-shape helpers shared by the kernels (CUDA C++ only). */
#ifndef RT_LAUNCH_CUH
#define RT_LAUNCH_CUH

#include <stddef.h>

#define RTK_THREADS 256
/* Enough blocks to fill an H100 several times over; grid-stride loops
 * cover anything larger. */
#define RTK_MAX_BLOCKS 4096

static inline unsigned rtk_blocks(size_t count)
{
    size_t blocks = (count + RTK_THREADS - 1) / RTK_THREADS;
    if (blocks < 1)
        blocks = 1;
    return blocks > RTK_MAX_BLOCKS ? RTK_MAX_BLOCKS : (unsigned)blocks;
}

/* The first index and the stride of a grid-stride loop. */
#define RTK_FIRST ((size_t)blockIdx.x * blockDim.x + threadIdx.x)
#define RTK_STRIDE ((size_t)gridDim.x * blockDim.x)

#endif
