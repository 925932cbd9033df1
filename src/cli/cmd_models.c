/* resnet-train models [NAME|FILE.json]: the built-in networks with their
 * figures, or one network's description in canonical form. */
#include <stdio.h>
#include <string.h>

#include "common.h"

/* The input the figures are for: --input/--classes, else MNIST's. The
 * seed's network takes only its own. */
static rt_network_input shown_input(const cli_options *o)
{
    rt_network_input in = CLI_MNIST_INPUT;
    if (o->show_channels)
        in.channels = o->show_channels, in.height = o->show_height, in.width = o->show_width;
    if (o->show_classes)
        in.classes = o->show_classes;
    return in;
}

int cli_models(const cli_options *o)
{
    rt_error err = {0};
    rt_network_input in = shown_input(o);
    if (o->checkpoint) {
        rt_network *net;
        if (rt_network_load(o->checkpoint, &in, &net, &err) != RT_OK)
            return cli_fail(&err);
        fputs(rt_network_json(net), stdout);
        rt_network_free(net);
        return 0;
    }
    printf("%-16s %12s %14s  %-10s %-10s %s\n", "network", "parameters", "forward MFLOPs",
           "input", "reference", "what");
    for (int i = 0; i < rt_network_builtin_count(); i++) {
        const char *name = rt_network_builtin_name(i);
        rt_network *net;
        if (rt_network_load(name, !strcmp(name, "seed") ? &CLI_MNIST_INPUT : &in, &net, &err) !=
            RT_OK)
            return cli_fail(&err);
        rt_network_input ni = rt_network_input_of(net);
        char shape[48];
        snprintf(shape, sizeof shape, "%dx%dx%d", ni.channels, ni.height, ni.width);
        printf("%-16s %12zu %14.1f  %-10s %-10s %s\n", name, rt_network_parameter_count(net),
               rt_network_forward_flops(net) / 1e6, shape, rt_network_builtin_reference_input(i),
               rt_network_builtin_summary(i));
        rt_network_free(net);
    }
    printf("Figures for %dx%dx%d inputs and %d classes (--input CxHxW, --classes N; the seed "
           "takes only 1x28x28); FLOPs = 2 x multiply-adds of convolutions and linear layers.\n"
           "resnet-train models NAME prints a network's description (docs/networks.md).\n",
           in.channels, in.height, in.width, in.classes);
    return 0;
}
