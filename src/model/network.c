/* The public face of networks as data: parsing a description or loading a
 * built-in or a file, and reading the graph's figures and tensors. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../io/io_util.h"
#include "graph.h"
#include "netdesc.h"

/* A description file larger than this is refused before it is read. */
#define MAX_DESCRIPTION_BYTES ((size_t)16 << 20)

rt_status rt_network_parse(const char *json, size_t len, const char *source,
                           const rt_network_input *data, rt_network **out, rt_error *err)
{
    *out = NULL;
    net_desc d;
    rt_status st = net_desc_parse(json, len, source, &d, err);
    if (st != RT_OK)
        return st;
    rt_network *net = calloc(1, sizeof *net);
    if (!net) {
        net_desc_free(&d);
        return rt_error_set(err, RT_ERR_NOMEM, "%s: out of memory", source);
    }
    st = graph_build(&d, data, source, net, err);
    net_desc_free(&d);
    if (st != RT_OK) {
        free(net);
        return st;
    }
    *out = net;
    return RT_OK;
}

static int looks_like_path(const char *model)
{
    size_t n = strlen(model);
    return strchr(model, '/') != NULL || (n >= 5 && !strcmp(model + n - 5, ".json"));
}

rt_status rt_network_load(const char *model, const rt_network_input *data, rt_network **out,
                          rt_error *err)
{
    *out = NULL;
    if (looks_like_path(model)) {
        char *text;
        size_t len;
        rt_status st = rt_io_read_text(model, MAX_DESCRIPTION_BYTES, &text, &len, err);
        if (st != RT_OK)
            return rt_error_prefix(err, "--model");
        st = rt_network_parse(text, len, model, data, out, err);
        free(text);
        return st;
    }
    char *json = rt_network_builtin_json(model);
    if (!json) {
        char names[512] = "";
        for (int i = 0; i < rt_network_builtin_count(); i++) {
            size_t used = strlen(names);
            snprintf(names + used, sizeof names - used, "%s%s", i ? ", " : "",
                     rt_network_builtin_name(i));
        }
        char shown[80];
        rt_io_sanitize(shown, sizeof shown, model);
        return rt_error_set(err, RT_ERR_USAGE,
                            "--model: unknown network '%s' (built-ins: %s; or a description "
                            "FILE.json)",
                            shown, names);
    }
    char source[96];
    snprintf(source, sizeof source, "built-in %s", model);
    rt_status st = rt_network_parse(json, strlen(json), source, data, out, err);
    free(json);
    return st;
}

void rt_network_free(rt_network *net)
{
    if (!net)
        return;
    graph_free(net);
    free(net);
}

const char *rt_network_name(const rt_network *net) { return net->name; }
const char *rt_network_json(const rt_network *net) { return net->json; }
rt_network_input rt_network_input_of(const rt_network *net) { return net->input; }

size_t rt_network_input_size(const rt_network *net)
{
    return (size_t)net->input.channels * (size_t)net->input.height * (size_t)net->input.width;
}

size_t rt_network_parameter_count(const rt_network *net) { return net->parameter_count; }
double rt_network_forward_flops(const rt_network *net) { return net->flops; }
int rt_network_tensor_count(const rt_network *net) { return net->tensor_count; }

const rt_tensor_info *rt_network_tensor(const rt_network *net, int index)
{
    return index >= 0 && index < net->tensor_count ? &net->tensors[index] : NULL;
}

int rt_network_tensor_find(const rt_network *net, const char *name)
{
    for (int i = 0; i < net->tensor_count; i++)
        if (!strcmp(net->tensors[i].name, name))
            return i;
    return -1;
}

size_t rt_network_params_size(const rt_network *net) { return net->params_size; }
size_t rt_network_buffers_size(const rt_network *net) { return net->buffers_size; }
size_t rt_network_counter_count(const rt_network *net) { return net->counter_count; }
