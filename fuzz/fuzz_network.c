/* The network description parser and graph builder: rt_network_parse on
 * the input as JSON text, for MNIST's input. What it accepts must be a
 * consistent graph: its canonical form parses back to itself, every tensor
 * lies inside its flat buffer, and the counts add up. */
#include "fuzz_common.h"
#include "resnet/network.h"

static void check(const rt_network *net)
{
    size_t params = 0;
    for (int i = 0; i < rt_network_tensor_count(net); i++) {
        const rt_tensor_info *t = rt_network_tensor(net, i);
        size_t limit = t->role == RT_TENSOR_PARAMETER ? rt_network_params_size(net)
                       : t->role == RT_TENSOR_BUFFER  ? rt_network_buffers_size(net)
                                                      : rt_network_counter_count(net);
        size_t end = t->role == RT_TENSOR_COUNTER ? t->offset + 1 : t->offset + t->count;
        if (end > limit || t->count == 0)
            abort();
        if (t->role == RT_TENSOR_PARAMETER)
            params += t->count;
        if (rt_network_tensor_find(net, t->name) != i) /* names are unique */
            abort();
    }
    if (params != rt_network_parameter_count(net))
        abort();
    rt_network_input in = rt_network_input_of(net);
    if (in.channels < 1 || in.height < 1 || in.width < 1 || in.classes < 1)
        abort();
    const char *json = rt_network_json(net);
    rt_network *again;
    rt_error err;
    if (rt_network_parse(json, strlen(json), "canonical", NULL, &again, &err) != RT_OK)
        abort();
    if (strcmp(rt_network_json(again), json) != 0 ||
        rt_network_parameter_count(again) != rt_network_parameter_count(net))
        abort();
    rt_network_free(again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* a copy exactly size bytes long, so ASan sees any read past the end */
    char *text = malloc(size ? size : 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    rt_network_input mnist = {1, 28, 28, 10};
    rt_network *net;
    rt_error err;
    rt_error_clear(&err);
    rt_status st = rt_network_parse(text, size, "fuzz", &mnist, &net, &err);
    fuzz_check_error(st, &err);
    if (st == RT_OK) {
        check(net);
        rt_network_free(net);
    }
    free(text);
    return 0;
}
