/* The command line: subcommands and their options, parsed strictly. */
#ifndef RT_CLI_OPTIONS_H
#define RT_CLI_OPTIONS_H

#include <stdio.h>

#include "resnet/device.h"
#include "resnet/error.h"
#include "resnet/train.h"

#define CLI_MAX_MIRRORS 8

typedef enum cli_command { CMD_TRAIN, CMD_EVALUATE, CMD_PREDICT, CMD_MODELS, CMD_EXPORT } cli_command;

typedef struct cli_options {
    cli_command command;
    /* device */
    const char *device;
    rt_device_config device_cfg;
    /* data */
    const char *dataset;      /* --dataset NAME (NULL: mnist) */
    int coarse_labels;        /* --coarse-labels (cifar100) */
    int grayscale;            /* --grayscale (folder) */
    int image_size;           /* --image-size S (folder; 0: the images' own) */
    int skip_bad_images;      /* --skip-bad-images (folder) */
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
    float comm_timeout;       /* --comm-timeout S: how long a rank waits for the others, 60 */
    const char *save_best_path; /* --save-best */
    const char *resume_path;  /* --resume */
    const char *init_path;    /* --init */
    const char *metrics_path; /* --metrics FILE: JSON lines of the run's curves */
    const char *tensorboard_dir; /* --tensorboard DIR: a TensorBoard event file in DIR */
    int quiet;                /* --quiet: no progress bar */
    /* evaluate / predict: the checkpoint; models: the network to show */
    const char *checkpoint;   /* their first argument */
    const char **images;      /* predict's images */
    int image_count;
    int json;
    const char *logits_path;  /* evaluate --logits FILE */
    const char *onnx_path;    /* export --onnx FILE */
    const char *weights_path; /* export --weights-only FILE */
    /* which recipe options the user gave (CLI_GIVEN_* bits), so that
     * --resume takes the others from the checkpoint, and --recipe's preset
     * yields to them */
    unsigned given;
    const char *recipe;       /* --recipe NAME */
    int print_recipe;         /* --print-recipe: print it and stop */
    int normalize_default;    /* normalise with the data set's usual values */
    int normalize_channels;   /* values given per channel (1: one for all) */
} cli_options;

enum {
    CLI_GIVEN_EPOCHS = 1u << 0,
    CLI_GIVEN_BATCH_SIZE = 1u << 1,
    CLI_GIVEN_LR = 1u << 2,
    CLI_GIVEN_SHUFFLE = 1u << 3,
    CLI_GIVEN_SEED = 1u << 4,
    CLI_GIVEN_LR_STEP_SIZE = 1u << 5,
    CLI_GIVEN_LR_GAMMA = 1u << 6,
    CLI_GIVEN_OPTIMIZER = 1u << 7,
    CLI_GIVEN_MOMENTUM = 1u << 8,
    CLI_GIVEN_DAMPENING = 1u << 9,
    CLI_GIVEN_NESTEROV = 1u << 10,
    CLI_GIVEN_WEIGHT_DECAY = 1u << 11,
    CLI_GIVEN_NO_DECAY_NORM_BIAS = 1u << 12,
    CLI_GIVEN_SCHEDULE = 1u << 13,
    CLI_GIVEN_SCHEDULE_PER = 1u << 14,
    CLI_GIVEN_MILESTONES = 1u << 15,
    CLI_GIVEN_ETA_MIN = 1u << 16,
    CLI_GIVEN_PCT_START = 1u << 17,
    CLI_GIVEN_DIV_FACTOR = 1u << 18,
    CLI_GIVEN_FINAL_DIV_FACTOR = 1u << 19,
    CLI_GIVEN_WARMUP = 1u << 20,
    CLI_GIVEN_WARMUP_START = 1u << 21,
    CLI_GIVEN_LABEL_SMOOTHING = 1u << 22,
    CLI_GIVEN_CROP_PAD = 1u << 23,
    CLI_GIVEN_FLIP = 1u << 24,
    CLI_GIVEN_NORMALIZE = 1u << 25,
    CLI_GIVEN_RESIZED_CROP = 1u << 26,
    CLI_GIVEN_CROP_SCALE = 1u << 27,
};

/* cfg with the recipe options the user gave on the command line. */
void cli_apply_given(const cli_options *o, rt_train_config *cfg);

/* src/cli/recipe_options.c: parses argv[*i] when it is a recipe option
 * (moving *i past its value) and returns 1 with *st set, else returns 0. */
int cli_is_recipe_option(const char *a);
int cli_parse_recipe_option(int argc, char **argv, int *i, cli_options *o, rt_error *err,
                            rt_status *st);
/* Applies --recipe's preset under the options given beside it. */
rt_status cli_finish_recipe(cli_options *o, rt_error *err);
/* Every field of the recipe, as --print-recipe and a training run show it. */
void cli_print_recipe(FILE *out, const rt_train_config *c, const char *name);

void cli_options_default(cli_options *o);

/* Parses argv (a subcommand first, or train's options). Returns RT_OK,
 * RT_ERR_USAGE with a one-line message, or -1 when --help or --version was
 * printed. images points into argv. */
int cli_parse(int argc, char **argv, cli_options *o, rt_error *err);

void cli_usage(FILE *out);

#endif
