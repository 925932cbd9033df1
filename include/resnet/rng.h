/* A small, fast, reproducible random number generator (xoshiro256**,
 * seeded through splitmix64). Its whole state is four words, so training
 * checkpoints can save and restore it exactly. */
#ifndef RESNET_RNG_H
#define RESNET_RNG_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct rt_rng {
    uint64_t s[4];
} rt_rng;

void rt_rng_seed(rt_rng *rng, uint64_t seed);
uint64_t rt_rng_next(rt_rng *rng);
/* Uniform in [0, 1) with 24 random bits. */
float rt_rng_uniform(rt_rng *rng);
/* Uniform integer in [0, bound), without modulo bias. */
uint32_t rt_rng_below(rt_rng *rng, uint32_t bound);
/* Fisher-Yates shuffle of order[0..count). */
void rt_rng_shuffle(rt_rng *rng, int32_t *order, int32_t count);

#ifdef __cplusplus
}
#endif
#endif
