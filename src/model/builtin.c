/* The built-in networks, written as descriptions (the JSON of
 * docs/networks.md) and parsed like a user's file: the seed's network, the
 * ResNets of torchvision (models/resnet.py: ImageNet stem, BasicBlock or
 * Bottleneck stages), the CIFAR ResNets of He et al. 2016 section 4.2, and
 * ResNet-18 with a CIFAR stem. Input channels and classes come from the
 * data; only the seed pins its input (its linear layer takes 375 = 15x5x5
 * features, so 1x28x28). */
#include <stdlib.h>
#include <string.h>

#include "../core/strbuf.h"
#include "resnet/network.h"

/* The seed's network, listed in its state_dict order (conv1, conv2,
 * resblock1, resblock2, full_c: the order the tutorial's __init__ makes
 * them), each layer naming its input. */
static const char SEED[] =
    "{\"name\": \"seed\", \"input\": {\"channels\": 1, \"height\": 28, \"width\": 28},\n"
    " \"init\": \"pytorch\", \"layers\": [\n"
    "  {\"name\": \"conv1\", \"type\": \"conv2d\", \"from\": \"input\", \"out_channels\": 20, "
    "\"kernel_size\": 5},\n"
    "  {\"name\": \"pool1\", \"type\": \"maxpool2d\", \"kernel_size\": 2},\n"
    "  {\"name\": \"relu1\", \"type\": \"relu\"},\n"
    "  {\"name\": \"conv2\", \"type\": \"conv2d\", \"from\": \"resblock1\", \"out_channels\": 15, "
    "\"kernel_size\": 3},\n"
    "  {\"name\": \"pool2\", \"type\": \"maxpool2d\", \"kernel_size\": 2},\n"
    "  {\"name\": \"relu2\", \"type\": \"relu\"},\n"
    "  {\"name\": \"resblock1.conv1\", \"type\": \"conv2d\", \"from\": \"relu1\", "
    "\"out_channels\": 30, \"kernel_size\": 5, \"padding\": 2},\n"
    "  {\"name\": \"resblock1.conv2\", \"type\": \"conv2d\", \"out_channels\": 20, "
    "\"kernel_size\": 3, \"padding\": 1},\n"
    "  {\"name\": \"resblock1\", \"type\": \"add\", \"from\": [\"resblock1.conv2\", \"relu1\"], "
    "\"relu\": true},\n"
    "  {\"name\": \"resblock2.conv1\", \"type\": \"conv2d\", \"from\": \"relu2\", "
    "\"out_channels\": 30, \"kernel_size\": 5, \"padding\": 2},\n"
    "  {\"name\": \"resblock2.conv2\", \"type\": \"conv2d\", \"out_channels\": 15, "
    "\"kernel_size\": 3, \"padding\": 1},\n"
    "  {\"name\": \"resblock2\", \"type\": \"add\", \"from\": [\"resblock2.conv2\", \"relu2\"], "
    "\"relu\": true},\n"
    "  {\"name\": \"flatten\", \"type\": \"flatten\"},\n"
    "  {\"name\": \"full_c\", \"type\": \"linear\"}\n"
    " ]}\n";

typedef enum family { SEED_NET, IMAGENET, CIFAR, IMAGENET_CIFAR_STEM } family;

typedef struct builtin {
    const char *name;
    family kind;
    int bottleneck;
    int blocks[4]; /* per stage; the CIFAR ResNets have three stages */
    const char *summary;
    const char *reference;
} builtin;

static const builtin BUILTINS[] = {
    {"seed", SEED_NET, 0, {0}, "the PyTorch MNIST tutorial's network (the default)", "1x28x28"},
    {"resnet18", IMAGENET, 0, {2, 2, 2, 2}, "torchvision resnet18: BasicBlock [2,2,2,2]",
     "3x224x224"},
    {"resnet34", IMAGENET, 0, {3, 4, 6, 3}, "torchvision resnet34: BasicBlock [3,4,6,3]",
     "3x224x224"},
    {"resnet50", IMAGENET, 1, {3, 4, 6, 3}, "torchvision resnet50: Bottleneck [3,4,6,3]",
     "3x224x224"},
    {"resnet101", IMAGENET, 1, {3, 4, 23, 3}, "torchvision resnet101: Bottleneck [3,4,23,3]",
     "3x224x224"},
    {"resnet152", IMAGENET, 1, {3, 8, 36, 3}, "torchvision resnet152: Bottleneck [3,8,36,3]",
     "3x224x224"},
    {"resnet20", CIFAR, 0, {3, 3, 3, 0}, "He et al. 2016 CIFAR ResNet, 3x3 blocks (16/32/64)",
     "3x32x32"},
    {"resnet32", CIFAR, 0, {5, 5, 5, 0}, "He et al. 2016 CIFAR ResNet, 5x3 blocks (16/32/64)",
     "3x32x32"},
    {"resnet44", CIFAR, 0, {7, 7, 7, 0}, "He et al. 2016 CIFAR ResNet, 7x3 blocks (16/32/64)",
     "3x32x32"},
    {"resnet56", CIFAR, 0, {9, 9, 9, 0}, "He et al. 2016 CIFAR ResNet, 9x3 blocks (16/32/64)",
     "3x32x32"},
    {"resnet110", CIFAR, 0, {18, 18, 18, 0},
     "He et al. 2016 CIFAR ResNet, 18x3 blocks (16/32/64)", "3x32x32"},
    {"resnet18-cifar", IMAGENET_CIFAR_STEM, 0, {2, 2, 2, 2},
     "resnet18 with a 3x3/1 stem and no max pool, for 32x32 images", "3x32x32"},
};
#define BUILTIN_COUNT ((int)(sizeof BUILTINS / sizeof BUILTINS[0]))

int rt_network_builtin_count(void) { return BUILTIN_COUNT; }

const char *rt_network_builtin_name(int i)
{
    return i >= 0 && i < BUILTIN_COUNT ? BUILTINS[i].name : NULL;
}

const char *rt_network_builtin_summary(int i)
{
    return i >= 0 && i < BUILTIN_COUNT ? BUILTINS[i].summary : NULL;
}

const char *rt_network_builtin_reference_input(int i)
{
    return i >= 0 && i < BUILTIN_COUNT ? BUILTINS[i].reference : NULL;
}

static char *copy_text(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

/* The ResNets: a stem, stages of blocks named layerS.B as torchvision
 * names them (the first block of a stage after the first has stride 2),
 * global average pooling, flatten, fc. */
static char *family_json(const builtin *b)
{
    rt_strbuf t;
    rt_strbuf_init(&t);
    rt_strbuf_printf(&t, "{\"name\": \"%s\", \"init\": \"torchvision\", \"layers\": [\n", b->name);
    if (b->kind == IMAGENET)
        rt_strbuf_printf(&t, "  {\"name\": \"conv1\", \"type\": \"conv2d\", \"out_channels\": 64, "
                             "\"kernel_size\": 7, \"stride\": 2, \"padding\": 3, \"bias\": false},\n"
                             "  {\"name\": \"bn1\", \"type\": \"batchnorm2d\"},\n"
                             "  {\"name\": \"relu\", \"type\": \"relu\"},\n"
                             "  {\"name\": \"maxpool\", \"type\": \"maxpool2d\", \"kernel_size\": 3, "
                             "\"stride\": 2, \"padding\": 1},\n");
    else
        rt_strbuf_printf(&t, "  {\"name\": \"conv1\", \"type\": \"conv2d\", \"out_channels\": %d, "
                             "\"kernel_size\": 3, \"stride\": 1, \"padding\": 1, \"bias\": false},\n"
                             "  {\"name\": \"bn1\", \"type\": \"batchnorm2d\"},\n"
                             "  {\"name\": \"relu\", \"type\": \"relu\"},\n",
                         b->kind == CIFAR ? 16 : 64);
    int stages = b->kind == CIFAR ? 3 : 4;
    int base = b->kind == CIFAR ? 16 : 64;
    for (int s = 0; s < stages; s++)
        for (int k = 0; k < b->blocks[s]; k++)
            rt_strbuf_printf(&t,
                             "  {\"name\": \"layer%d.%d\", \"type\": \"%s\", \"planes\": %d, "
                             "\"stride\": %d},\n",
                             s + 1, k, b->bottleneck ? "bottleneck" : "basic_block", base << s,
                             s > 0 && k == 0 ? 2 : 1);
    rt_strbuf_printf(&t, "  {\"name\": \"avgpool\", \"type\": \"adaptive_avgpool2d\"},\n"
                         "  {\"name\": \"flatten\", \"type\": \"flatten\"},\n"
                         "  {\"name\": \"fc\", \"type\": \"linear\"}\n ]}\n");
    return rt_strbuf_take(&t);
}

char *rt_network_builtin_json(const char *name)
{
    for (int i = 0; i < BUILTIN_COUNT; i++)
        if (!strcmp(BUILTINS[i].name, name))
            return BUILTINS[i].kind == SEED_NET ? copy_text(SEED) : family_json(&BUILTINS[i]);
    return NULL;
}
