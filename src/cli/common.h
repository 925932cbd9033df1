/* What the subcommands share: opening the device and the data, failing
 * with the right exit status, checking an output folder up front. */
#ifndef RT_CLI_COMMON_H
#define RT_CLI_COMMON_H

#include "options.h"
#include "report.h"
#include "resnet/data.h"
#include "resnet/device.h"

/* Prints "resnet-train: MESSAGE" and returns the exit status for it:
 * 2 for usage errors and an unavailable device, 1 otherwise. */
int cli_fail(const rt_error *err);

/* Opens o->device; on "auto" falling back to the CPU, *note says why. */
rt_status cli_open_device(const cli_options *o, rt_device **dev, rt_error *err);
/* Prints the seed's "Using X device" line (and the fallback note). */
void cli_print_device(const rt_device *dev);

/* Loads MNIST from o->data_dir (downloading when allowed), with notices
 * through the report, keeping the first --train-limit / --test-limit
 * images of each set. */
rt_status cli_load_mnist(const cli_options *o, cli_report *report, rt_dataset *train,
                         rt_dataset *test, rt_error *err);

/* Checks that a file can be created next to path (its folder exists and
 * is writable), so a run does not find out only when it first saves. */
rt_status cli_check_writable(const char *path, rt_error *err);

int cli_train(const cli_options *o);
int cli_evaluate(const cli_options *o);
int cli_predict(const cli_options *o);

#endif
