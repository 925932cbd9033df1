/* The built-in networks against PyTorch's own: for MNIST's input and for
 * each network's reference input, the trainable parameter count and the
 * whole state_dict (names, shapes, dtypes, order) equal what torchvision
 * (or tools/torch_models.py, for the CIFAR ResNets) builds, as recorded in
 * tests/fixtures/family_layouts.json by tools/make_family_fixtures.py.
 * Also: each built-in's canonical description parses back to itself, the
 * forward FLOPs of the ImageNet ResNets are torchvision's published
 * figures, and the worked example of docs/networks.md builds.
 *
 *   test_networks LAYOUTS_JSON */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "io_util.h"
#include "json.h"
#include "resnet/network.h"
#include "test_support.h"

static const rt_json *layouts;

static void check_layout(const char *name, const char *tag, rt_network_input in)
{
    char key[96];
    snprintf(key, sizeof key, "%s/%s", name, tag);
    const rt_json *ref = rt_json_get(rt_json_get(layouts, "networks"), key);
    if (!CHECKF(ref != NULL, "%s: not in the layouts fixture", key))
        return;
    rt_network *net;
    rt_error err;
    if (!CHECKF(rt_network_load(name, &in, &net, &err) == RT_OK, "%s: %s", key, err.message))
        return;
    const rt_json *params = rt_json_get(ref, "parameters");
    CHECKF(params && (size_t)params->u.integer == rt_network_parameter_count(net),
           "%s: %zu parameters, PyTorch counts %lld", key, rt_network_parameter_count(net),
           params ? (long long)params->u.integer : -1LL);
    const rt_json *sd = rt_json_get(ref, "state_dict");
    CHECKF(sd && (int)sd->u.array.count == rt_network_tensor_count(net),
           "%s: %d state_dict entries, PyTorch has %zu", key, rt_network_tensor_count(net),
           sd ? sd->u.array.count : 0);
    int bad = 0;
    for (int i = 0; sd && i < rt_network_tensor_count(net) && i < (int)sd->u.array.count; i++) {
        const rt_tensor_info *t = rt_network_tensor(net, i);
        const rt_json *e = &sd->u.array.items[i];
        const char *want_name = e->u.array.items[0].u.str.text;
        const rt_json *shape = &e->u.array.items[1];
        const char *dtype = e->u.array.items[2].u.str.text;
        int same = !strcmp(t->name, want_name) && (int)shape->u.array.count == t->ndim &&
                   !strcmp(dtype, t->role == RT_TENSOR_COUNTER ? "int64" : "float32");
        for (int d = 0; same && d < t->ndim; d++)
            same = shape->u.array.items[d].u.integer == t->shape[d];
        if (!same && bad++ < 3)
            CHECKF(0, "%s: state_dict entry %d is %s (%dD), PyTorch's is %s", key, i, t->name,
                   t->ndim, want_name);
    }
    CHECKF(bad == 0, "%s: %d state_dict entries differ from PyTorch's", key, bad);
    /* the canonical description is a fixed point of parse-and-write */
    rt_network *again;
    const char *json = rt_network_json(net);
    if (CHECKF(rt_network_parse(json, strlen(json), key, NULL, &again, &err) == RT_OK, "%s: %s",
               key, err.message)) {
        CHECKF(!strcmp(rt_network_json(again), json), "%s: canonical form changes when reparsed",
               key);
        rt_network_free(again);
    }
    printf("%-28s %12zu parameters, %4d tensors, %10.1f MFLOPs: as PyTorch\n", key,
           rt_network_parameter_count(net), rt_network_tensor_count(net),
           rt_network_forward_flops(net) / 1e6);
    rt_network_free(net);
}

/* torchvision's documented GFLOPS (multiply-adds, its convention) at
 * 3x224x224: ours count 2 FLOPs per multiply-add. */
static void check_flops(void)
{
    static const struct {
        const char *name;
        double gmacs;
    } DOCS[] = {{"resnet18", 1.81}, {"resnet34", 3.66}, {"resnet50", 4.09},
                {"resnet101", 7.80}, {"resnet152", 11.51}};
    rt_network_input in = {3, 224, 224, 1000};
    for (size_t i = 0; i < sizeof DOCS / sizeof DOCS[0]; i++) {
        rt_network *net;
        rt_error err;
        if (!CHECKF(rt_network_load(DOCS[i].name, &in, &net, &err) == RT_OK, "%s", err.message))
            continue;
        double g = rt_network_forward_flops(net) / 2e9;
        CHECKF(fabs(g - DOCS[i].gmacs) <= 0.01, "%s: %.3f GMACs, torchvision's documentation %.2f",
               DOCS[i].name, g, DOCS[i].gmacs);
        rt_network_free(net);
    }
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: test_networks LAYOUTS_JSON\n");
        return 2;
    }
    char *text;
    size_t len;
    rt_error err;
    if (rt_io_read_text(argv[1], 64u << 20, &text, &len, &err) != RT_OK) {
        fprintf(stderr, "%s\n", err.message);
        return 1;
    }
    rt_json root;
    if (rt_json_parse(text, len, &root, &err) != RT_OK) {
        fprintf(stderr, "%s: %s\n", argv[1], err.message);
        return 1;
    }
    layouts = &root;
    for (int i = 0; i < rt_network_builtin_count(); i++) {
        const char *name = rt_network_builtin_name(i);
        rt_network_input mnist = {1, 28, 28, 10};
        check_layout(name, "mnist", mnist);
        if (!strcmp(name, "seed"))
            continue;
        int imagenet = !strncmp(rt_network_builtin_reference_input(i), "3x224", 5);
        rt_network_input ref = {3, imagenet ? 224 : 32, imagenet ? 224 : 32, imagenet ? 1000 : 10};
        check_layout(name, "reference", ref);
    }
    check_flops();
    rt_network *small = rt_test_small_resnet();
    CHECK(rt_network_parameter_count(small) > 0);
    rt_network_free(small);
    rt_json_free(&root);
    free(text);
    return rt_test_finish("test_networks");
}
