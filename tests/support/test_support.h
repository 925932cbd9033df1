/* Small helpers shared by the C tests: checks that count failures, random
 * data, error measures, and where the real MNIST files are. A test's main
 * returns rt_test_finish(): 0 when every check passed, 1 otherwise, and 77
 * (meson's "skipped") when it called rt_test_skip(). */
#ifndef RT_TEST_SUPPORT_H
#define RT_TEST_SUPPORT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "resnet/network.h"
#include "resnet/rng.h"

#define RT_TEST_SKIP 77

extern int rt_test_failures;
extern int rt_test_checks;

/* Records one check; prints the failing expression with file and line. */
int rt_test_check(int ok, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#define CHECK(cond) rt_test_check(!!(cond), __FILE__, __LINE__, "%s", #cond)
#define CHECKF(cond, ...) rt_test_check(!!(cond), __FILE__, __LINE__, __VA_ARGS__)

/* Prints a summary and returns the process exit status. */
int rt_test_finish(const char *name);
/* Prints why and returns 77. */
int rt_test_skip(const char *why);

/* Fills x with uniform values in [lo, hi). */
void rt_test_fill(rt_rng *rng, float *x, size_t n, float lo, float hi);
/* Normalised mean squared error sum (a-b)^2 / sum a^2 (a is the reference);
 * returns +inf when any value of b is NaN or Inf. */
double rt_test_nmse(const float *ref, const float *got, size_t n);
/* Largest |a - b|. */
double rt_test_max_abs_diff(const float *a, const float *b, size_t n);
/* 1 when every value is finite. */
int rt_test_all_finite(const float *x, size_t n);

/* A network for MNIST's input (1x28x28, 10 classes): a built-in's name or
 * a description file's path. Exits with a message when it cannot be made. */
rt_network *rt_test_network(const char *model);
/* The worked example of docs/networks.md (docs/examples/small_resnet.json,
 * found from the source root the tests are given in RESNET_TRAIN_SOURCE):
 * a small network with every layer kind. */
rt_network *rt_test_small_resnet(void);

/* The folder with the four MNIST files (RESNET_TRAIN_DATA), NULL if unset. */
const char *rt_test_mnist_dir(void);

/* A fresh empty temporary folder (mkdtemp), its path written into buf. */
int rt_test_tempdir(char *buf, size_t size);

#endif
