/* The parameter tensors of the seed's network, in PyTorch state_dict order,
 * laid out in one flat buffer with every tensor starting on a 64-float
 * (256-byte) boundary so device libraries get aligned pointers. */
#include <string.h>

#include "resnet/model.h"

#define ALIGN64(x) ((((x) + 63) / 64) * 64)

enum {
    C1W = 0, C1W_N = 20 * 1 * 5 * 5,
    C1B = ALIGN64(C1W + C1W_N), C1B_N = 20,
    C2W = ALIGN64(C1B + C1B_N), C2W_N = 15 * 20 * 3 * 3,
    C2B = ALIGN64(C2W + C2W_N), C2B_N = 15,
    R11W = ALIGN64(C2B + C2B_N), R11W_N = 30 * 20 * 5 * 5,
    R11B = ALIGN64(R11W + R11W_N), R11B_N = 30,
    R12W = ALIGN64(R11B + R11B_N), R12W_N = 20 * 30 * 3 * 3,
    R12B = ALIGN64(R12W + R12W_N), R12B_N = 20,
    R21W = ALIGN64(R12B + R12B_N), R21W_N = 30 * 15 * 5 * 5,
    R21B = ALIGN64(R21W + R21W_N), R21B_N = 30,
    R22W = ALIGN64(R21B + R21B_N), R22W_N = 15 * 30 * 3 * 3,
    R22B = ALIGN64(R22W + R22W_N), R22B_N = 15,
    FCW = ALIGN64(R22B + R22B_N), FCW_N = 10 * 375,
    FCB = ALIGN64(FCW + FCW_N), FCB_N = 10,
    FLAT_SIZE = ALIGN64(FCB + FCB_N),
};

static const rt_param_info PARAMS[RT_MODEL_TENSORS] = {
    {"conv1.weight", 4, {20, 1, 5, 5}, C1W_N, C1W, 25},
    {"conv1.bias", 1, {20, 0, 0, 0}, C1B_N, C1B, 25},
    {"conv2.weight", 4, {15, 20, 3, 3}, C2W_N, C2W, 180},
    {"conv2.bias", 1, {15, 0, 0, 0}, C2B_N, C2B, 180},
    {"resblock1.conv1.weight", 4, {30, 20, 5, 5}, R11W_N, R11W, 500},
    {"resblock1.conv1.bias", 1, {30, 0, 0, 0}, R11B_N, R11B, 500},
    {"resblock1.conv2.weight", 4, {20, 30, 3, 3}, R12W_N, R12W, 270},
    {"resblock1.conv2.bias", 1, {20, 0, 0, 0}, R12B_N, R12B, 270},
    {"resblock2.conv1.weight", 4, {30, 15, 5, 5}, R21W_N, R21W, 375},
    {"resblock2.conv1.bias", 1, {30, 0, 0, 0}, R21B_N, R21B, 375},
    {"resblock2.conv2.weight", 4, {15, 30, 3, 3}, R22W_N, R22W, 270},
    {"resblock2.conv2.bias", 1, {15, 0, 0, 0}, R22B_N, R22B, 270},
    {"full_c.weight", 2, {10, 375, 0, 0}, FCW_N, FCW, 375},
    {"full_c.bias", 1, {10, 0, 0, 0}, FCB_N, FCB, 375},
};

const rt_param_info *rt_model_param_info(int index)
{
    if (index < 0 || index >= RT_MODEL_TENSORS)
        return NULL;
    return &PARAMS[index];
}

int rt_model_param_find(const char *name)
{
    for (int i = 0; i < RT_MODEL_TENSORS; i++)
        if (strcmp(PARAMS[i].name, name) == 0)
            return i;
    return -1;
}

size_t rt_model_flat_size(void) { return FLAT_SIZE; }
