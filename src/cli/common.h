/* What the subcommands share: opening the device and the data, failing
 * with the right exit status, checking an output folder up front. */
#ifndef RT_CLI_COMMON_H
#define RT_CLI_COMMON_H

#include "options.h"
#include "report.h"
#include "resnet/checkpoint.h"
#include "resnet/data.h"
#include "resnet/device.h"
#include "resnet/network.h"

/* Prints "resnet-train: MESSAGE" and returns the exit status for it:
 * 2 for usage errors and an unavailable device, 1 otherwise. */
int cli_fail(const rt_error *err);

/* Opens o->device; on "auto" falling back to the CPU, *note says why. */
rt_status cli_open_device(const cli_options *o, rt_device **dev, rt_error *err);
/* Prints the seed's "Using X device" line (and the fallback note). */
void cli_print_device(const rt_device *dev);

/* Loads the data set (--dataset, MNIST by default) from o->data_dir
 * (downloading when allowed), with notices
 * through the report, keeping the first --train-limit / --test-limit
 * images of each set; train_room: an image folder's training images are
 * kept larger, for random resized crops (rt_folder_options). */
rt_status cli_load_data(const cli_options *o, int train_room, cli_report *report,
                        rt_dataset *train, rt_dataset *test, rt_error *err);

/* What MNIST gives a network: 1x28x28 images, 10 classes. */
extern const rt_network_input CLI_MNIST_INPUT;

/* The network of --model for MNIST (the seed's when --model is not given). */
rt_status cli_network(const cli_options *o, rt_network **net, rt_error *err);
/* --dataset folder: an ImageFolder tree, whose input is known once read. */
int cli_is_folder(const cli_options *o);
/* --normalize default on an image folder: ImageNet's values for RGB. */
void cli_folder_normalization(const cli_options *o, int channels, rt_train_config *cfg);
/* The network input of the chosen data set (--dataset, --coarse-labels). */
rt_network_input cli_data_input(const cli_options *o);
/* With --normalize default (or a preset that normalises), the data set's
 * usual mean and deviation. */
void cli_default_normalization(const cli_options *o, rt_train_config *cfg);

/* Loads a checkpoint: its own network, or for a file without a description
 * (PyTorch's weights) the one of --model; a --model given must match. */
rt_status cli_load_checkpoint(const cli_options *o, const char *path, rt_checkpoint *ck,
                              rt_error *err);

/* Prints "Model: NAME (N parameters)" unless the network is the seed's,
 * whose log stays the tutorial's. */
void cli_print_model(const rt_network *net);

/* Checks that a file can be created next to path (its folder exists and
 * is writable), so a run does not find out only when it first saves. */
rt_status cli_check_writable(const char *option, const char *path, rt_error *err);

int cli_train(const cli_options *o);
int cli_evaluate(const cli_options *o);
int cli_export(const cli_options *o);
int cli_predict(const cli_options *o);
int cli_models(const cli_options *o);

#endif
