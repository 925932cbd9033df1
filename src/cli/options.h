/* The command line: subcommands and their options, parsed strictly. */
#ifndef RT_CLI_OPTIONS_H
#define RT_CLI_OPTIONS_H

#include <stdio.h>

#include "resnet/device.h"
#include "resnet/error.h"
#include "resnet/train.h"

#define CLI_MAX_MIRRORS 8

typedef enum cli_command { CMD_TRAIN, CMD_EVALUATE, CMD_PREDICT, CMD_MODELS } cli_command;

typedef struct cli_options {
    cli_command command;
    /* device */
    const char *device;
    rt_device_config device_cfg;
    /* data */
    const char *data_dir;
    int download;
    const char *mirrors[CLI_MAX_MIRRORS + 1];
    int mirror_count;
    /* the network: --model NAME or FILE.json (NULL: the seed's, or the
     * checkpoint's) */
    const char *model;
    /* models: the input and classes to show the figures for (0: MNIST's) */
    int show_channels, show_height, show_width, show_classes;
    /* training */
    rt_train_config train;
    int train_limit;          /* use only the first N training images; 0 = all */
    int test_limit;           /* test on the first N test images only; 0 = all */
    const char *save_path;    /* --save */
    int save_every;           /* --save-every N steps */
    const char *resume_path;  /* --resume */
    const char *init_path;    /* --init */
    /* evaluate / predict: the checkpoint; models: the network to show */
    const char *checkpoint;   /* their first argument */
    const char **images;      /* predict's images */
    int image_count;
    int json;
    /* which recipe options the user gave (CLI_GIVEN_* bits), so that
     * --resume takes the others from the checkpoint */
    unsigned given;
} cli_options;

enum {
    CLI_GIVEN_EPOCHS = 1u << 0,
    CLI_GIVEN_BATCH_SIZE = 1u << 1,
    CLI_GIVEN_LR = 1u << 2,
    CLI_GIVEN_SHUFFLE = 1u << 3,
    CLI_GIVEN_SEED = 1u << 4,
    CLI_GIVEN_LR_STEP_SIZE = 1u << 5,
    CLI_GIVEN_LR_GAMMA = 1u << 6,
};

/* cfg with the recipe options the user gave on the command line. */
void cli_apply_given(const cli_options *o, rt_train_config *cfg);

void cli_options_default(cli_options *o);

/* Parses argv (a subcommand first, or train's options). Returns RT_OK,
 * RT_ERR_USAGE with a one-line message, or -1 when --help or --version was
 * printed. images points into argv. */
int cli_parse(int argc, char **argv, cli_options *o, rt_error *err);

void cli_usage(FILE *out);

#endif
