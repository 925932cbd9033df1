/* resnet-train: the command line. It parses options, and the subcommands
 * (cmd_*.c) open the device and the data and report; the library does the
 * work.
 *
 * Exit status: 0 success, 1 a failure while running, 2 a usage error or an
 * unavailable device, 128+N when stopped by signal N (after saving). */
#include "common.h"

#include <signal.h>

int main(int argc, char **argv)
{
    /* Past a file size limit (ulimit -f) write() then fails with EFBIG and
     * the save reports it and removes its temporary file, instead of
     * SIGXFSZ killing the process mid-write. */
    signal(SIGXFSZ, SIG_IGN);
    cli_options o;
    cli_options_default(&o);
    rt_error err = {0};
    int parsed = cli_parse(argc, argv, &o, &err);
    if (parsed == -1)
        return 0;
    if (parsed != RT_OK)
        return cli_fail(&err);
    switch (o.command) {
    case CMD_EVALUATE: return cli_evaluate(&o);
    case CMD_PREDICT: return cli_predict(&o);
    case CMD_MODELS: return cli_models(&o);
    case CMD_EXPORT: return cli_export(&o);
    case CMD_TRAIN: break;
    }
    return cli_train(&o);
}
