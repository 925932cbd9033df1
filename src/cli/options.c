#include "options.h"

#include <stdlib.h>
#include <string.h>

#include "args.h"

#ifndef RT_VERSION
#define RT_VERSION "unknown"
#endif

void cli_options_default(cli_options *o)
{
    memset(o, 0, sizeof *o);
    o->command = CMD_TRAIN;
    o->device = "auto";
    rt_device_config_default(&o->device_cfg);
    const char *env_data = getenv("RESNET_TRAIN_DATA");
    o->data_dir = env_data && *env_data ? env_data : "data";
    o->download = 1;
    rt_train_config_default(&o->train);
}

void cli_usage(FILE *out)
{
    fputs(
        "usage: resnet-train [train] [options]        train, then test (the default)\n"
        "       resnet-train evaluate CHECKPOINT [options]   test a checkpoint\n"
        "       resnet-train predict CHECKPOINT IMAGE... [options]\n"
        "                                              classify digit images (PNG, PGM)\n"
        "       resnet-train models [NAME|FILE.json]   list the built-in networks, or show one\n"
        "Trains a residual network on MNIST, on a CUDA GPU or the CPU: by default the PyTorch\n"
        "MNIST tutorial's network with its recipe; then tests it.\n"
        "\n"
        "Device:\n"
        "  --device NAME        auto (default: cuda when usable, else cpu), cpu or cuda\n"
        "  --threads N          CPU threads (default: all cores)\n"
        "  --precision P        fp32 (default, strict) or tf32 (GPU convolutions)\n"
        "  --no-graphs          run GPU steps eagerly instead of replaying CUDA graphs\n"
        "  --cudnn-benchmark    time cuDNN's algorithms and take the fastest (default: cuDNN's\n"
        "                       heuristic choice, the same in every run)\n"
        "Network:\n"
        "  --model NAME|FILE    a built-in (seed, the default; resnet18..152, resnet20..110,\n"
        "                       resnet18-cifar: see 'models') or a description FILE.json\n"
        "                       (docs/networks.md); checkpoints record theirs\n"
        "  --input CxHxW, --classes N   models: show the figures for this input (MNIST's)\n"
        "Data:\n"
        "  --data DIR           MNIST folder, flat or DIR/MNIST/raw (default: $RESNET_TRAIN_DATA or data)\n"
        "  --no-download        fail instead of downloading missing files\n"
        "  --mirror URL         download from URL instead of torchvision's mirrors (repeatable)\n"
        "Training (defaults are the tutorial's):\n"
        "  --epochs N           epochs (26)\n"
        "  --batch-size N       images per step (64; also the test batch)\n"
        "  --lr X               Adam learning rate (0.001)\n"
        "  --shuffle            shuffle every epoch (seeded; default: file order)\n"
        "  --seed N             seed of the initial weights and shuffling (0)\n"
        "  --lr-step-size N     multiply the learning rate by --lr-gamma every N epochs (off)\n"
        "  --lr-gamma X         StepLR factor (0.1)\n"
        "  --eval-every N       test after every N epochs too (off: only at the end)\n"
        "  --train-limit N      train on the first N training images only (all)\n"
        "  --test-limit N       test on the first N test images only (all; train and evaluate)\n"
        "Checkpoints (safetensors; PyTorch loads them with load_state_dict):\n"
        "  --save FILE          save after every epoch, and on SIGINT/SIGTERM\n"
        "  --save-every N       also save every N steps\n"
        "  --resume FILE        continue the run saved in FILE (its recipe; --epochs may extend it)\n"
        "  --init FILE          start from the weights in FILE (ours or PyTorch's)\n"
        "  --detect-anomaly     check every step and name the first layer that produced NaN/Inf\n"
        "Evaluate and predict:\n"
        "  --json               machine-readable output\n"
        "\n"
        "  --help               this text\n"
        "  --version            the version\n"
        "Exit status: 0 done, 1 failed, 2 usage error or device unavailable, 128+N stopped by signal N.\n",
        out);
}

/* Options that only some commands take. */
static int allowed(cli_command cmd, const char *option)
{
    static const char *const train_only[] = {
        "--epochs", "--lr", "--shuffle", "--seed", "--lr-step-size", "--lr-gamma",
        "--eval-every", "--train-limit", "--save", "--save-every", "--resume", "--init",
        "--detect-anomaly", NULL};
    static const char *const not_train[] = {"--json", NULL};
    if (cmd == CMD_MODELS)
        return !strcmp(option, "--input") || !strcmp(option, "--classes");
    if (!strcmp(option, "--input") || !strcmp(option, "--classes"))
        return 0;
    const char *const *list = cmd == CMD_TRAIN ? not_train : train_only;
    for (int i = 0; list[i]; i++)
        if (!strcmp(list[i], option))
            return 0;
    if (cmd == CMD_PREDICT && (!strcmp(option, "--data") || !strcmp(option, "--no-download") ||
                               !strcmp(option, "--mirror") || !strcmp(option, "--test-limit")))
        return 0;
    return 1;
}

static const char *command_name(cli_command cmd)
{
    return cmd == CMD_TRAIN      ? "train"
           : cmd == CMD_EVALUATE ? "evaluate"
           : cmd == CMD_PREDICT  ? "predict"
                                 : "models";
}

int cli_parse(int argc, char **argv, cli_options *o, rt_error *err)
{
    int i = 1;
    if (i < argc && argv[i][0] != '-') {
        if (!strcmp(argv[i], "train"))
            o->command = CMD_TRAIN;
        else if (!strcmp(argv[i], "evaluate"))
            o->command = CMD_EVALUATE;
        else if (!strcmp(argv[i], "predict"))
            o->command = CMD_PREDICT;
        else if (!strcmp(argv[i], "models"))
            o->command = CMD_MODELS;
        else
            return rt_error_set(err, RT_ERR_USAGE,
                                "unknown command '%s' (expected train, evaluate, predict or "
                                "models)",
                                argv[i]);
        i++;
    }
    static const char *no_images[1] = {NULL};
    o->images = no_images;
    int positional = 0;
    for (; i < argc; i++) {
        const char *a = argv[i];
        const char *v = NULL;
        rt_status st = RT_OK;
        if (a[0] != '-' || !strcmp(a, "-")) {
            if (o->command == CMD_TRAIN)
                return rt_error_set(err, RT_ERR_USAGE, "unexpected argument '%s' (see --help)", a);
            if (positional++ == 0) {
                o->checkpoint = a;
            } else if (o->command == CMD_PREDICT) {
                if (o->image_count == 0)
                    o->images = (const char **)&argv[i];
                else if (o->images + o->image_count != (const char **)&argv[i])
                    return rt_error_set(err, RT_ERR_USAGE,
                                        "predict: give the images together, after the checkpoint");
                o->image_count++;
            } else if (o->command == CMD_MODELS) {
                return rt_error_set(err, RT_ERR_USAGE, "models shows one network, not '%s'", a);
            } else {
                return rt_error_set(err, RT_ERR_USAGE, "evaluate takes one checkpoint, not '%s'", a);
            }
            continue;
        }
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            cli_usage(stdout);
            return -1;
        }
        if (!strcmp(a, "--version")) {
            printf("resnet-train %s (CUDA backend: %s)\n", RT_VERSION,
                   rt_device_cuda_built() ? "built" : "not built");
            return -1;
        }
        if (!allowed(o->command, a))
            return rt_error_set(err, RT_ERR_USAGE, "%s is not an option of '%s'", a,
                                command_name(o->command));
#define VALUE()                                                                          \
    do {                                                                                 \
        if (i + 1 >= argc)                                                               \
            return rt_error_set(err, RT_ERR_USAGE, "%s needs a value", a);               \
        v = argv[++i];                                                                   \
    } while (0)
        if (!strcmp(a, "--device")) {
            VALUE();
            if (strcmp(v, "auto") && strcmp(v, "cpu") && strcmp(v, "cuda"))
                return rt_error_set(err, RT_ERR_USAGE,
                                    "--device: unknown device '%s' (expected auto, cpu or cuda)", v);
            o->device = v;
        } else if (!strcmp(a, "--threads")) {
            VALUE();
            st = rt_parse_int(a, v, 1, 256, &o->device_cfg.threads, err);
        } else if (!strcmp(a, "--precision")) {
            VALUE();
            if (!strcmp(v, "fp32"))
                o->device_cfg.precision = RT_PRECISION_FP32;
            else if (!strcmp(v, "tf32"))
                o->device_cfg.precision = RT_PRECISION_TF32;
            else
                return rt_error_set(err, RT_ERR_USAGE, "--precision: '%s' is not fp32 or tf32", v);
        } else if (!strcmp(a, "--no-graphs")) {
            o->device_cfg.graphs = 0;
        } else if (!strcmp(a, "--cudnn-benchmark")) {
            o->device_cfg.cudnn_benchmark = 1;
        } else if (!strcmp(a, "--data")) {
            VALUE();
            o->data_dir = v;
        } else if (!strcmp(a, "--no-download")) {
            o->download = 0;
        } else if (!strcmp(a, "--mirror")) {
            VALUE();
            if (o->mirror_count == CLI_MAX_MIRRORS)
                return rt_error_set(err, RT_ERR_USAGE, "--mirror: at most %d mirrors",
                                    CLI_MAX_MIRRORS);
            o->mirrors[o->mirror_count++] = v;
        } else if (!strcmp(a, "--epochs")) {
            VALUE();
            st = rt_parse_int(a, v, 0, 1000000, &o->train.epochs, err);
            o->given |= CLI_GIVEN_EPOCHS;
        } else if (!strcmp(a, "--batch-size")) {
            VALUE();
            st = rt_parse_int(a, v, 1, 65536, &o->train.batch_size, err);
            o->given |= CLI_GIVEN_BATCH_SIZE;
        } else if (!strcmp(a, "--lr")) {
            VALUE();
            st = rt_parse_float(a, v, 1e-12, 1e3, &o->train.lr, err);
            o->given |= CLI_GIVEN_LR;
        } else if (!strcmp(a, "--shuffle")) {
            o->train.shuffle = 1;
            o->given |= CLI_GIVEN_SHUFFLE;
        } else if (!strcmp(a, "--seed")) {
            VALUE();
            st = rt_parse_u64(a, v, &o->train.seed, err);
            o->given |= CLI_GIVEN_SEED;
        } else if (!strcmp(a, "--lr-step-size")) {
            VALUE();
            st = rt_parse_int(a, v, 0, 1000000, &o->train.lr_step_size, err);
            o->given |= CLI_GIVEN_LR_STEP_SIZE;
        } else if (!strcmp(a, "--lr-gamma")) {
            VALUE();
            st = rt_parse_float(a, v, 1e-12, 1e6, &o->train.lr_gamma, err);
            o->given |= CLI_GIVEN_LR_GAMMA;
        } else if (!strcmp(a, "--eval-every")) {
            VALUE();
            st = rt_parse_int(a, v, 0, 1000000, &o->train.eval_every, err);
        } else if (!strcmp(a, "--train-limit")) {
            VALUE();
            st = rt_parse_int(a, v, 1, 60000, &o->train_limit, err);
        } else if (!strcmp(a, "--test-limit")) {
            VALUE();
            st = rt_parse_int(a, v, 1, 10000, &o->test_limit, err);
        } else if (!strcmp(a, "--save")) {
            VALUE();
            o->save_path = v;
        } else if (!strcmp(a, "--save-every")) {
            VALUE();
            st = rt_parse_int(a, v, 1, 1000000000, &o->save_every, err);
        } else if (!strcmp(a, "--resume")) {
            VALUE();
            o->resume_path = v;
        } else if (!strcmp(a, "--init")) {
            VALUE();
            o->init_path = v;
        } else if (!strcmp(a, "--detect-anomaly")) {
            o->train.detect_anomaly = 1;
        } else if (!strcmp(a, "--json")) {
            o->json = 1;
        } else if (!strcmp(a, "--model")) {
            VALUE();
            if (!*v)
                return rt_error_set(err, RT_ERR_USAGE, "--model: the name is empty");
            o->model = v;
        } else if (!strcmp(a, "--input")) {
            VALUE();
            int c, h, w, used = 0;
            if (sscanf(v, "%dx%dx%d%n", &c, &h, &w, &used) != 3 || v[used] != '\0' || c < 1 ||
                h < 1 || w < 1 || c > 65536 || h > 65536 || w > 65536)
                return rt_error_set(err, RT_ERR_USAGE,
                                    "--input: '%s' is not CxHxW (three positive sizes, as 3x224x224)",
                                    v);
            o->show_channels = c, o->show_height = h, o->show_width = w;
        } else if (!strcmp(a, "--classes")) {
            VALUE();
            st = rt_parse_int(a, v, 1, 1 << 20, &o->show_classes, err);
        } else {
            return rt_error_set(err, RT_ERR_USAGE, "unknown option '%s' (see --help)", a);
        }
#undef VALUE
        if (st != RT_OK)
            return st;
    }
    if (o->command != CMD_TRAIN && o->command != CMD_MODELS && !o->checkpoint)
        return rt_error_set(err, RT_ERR_USAGE, "%s needs a checkpoint file",
                            command_name(o->command));
    if (o->command == CMD_PREDICT && o->image_count == 0)
        return rt_error_set(err, RT_ERR_USAGE, "predict needs at least one image file");
    if (o->resume_path && o->init_path)
        return rt_error_set(err, RT_ERR_USAGE, "--resume and --init cannot be used together");
    if (o->save_every && !o->save_path)
        return rt_error_set(err, RT_ERR_USAGE, "--save-every needs --save FILE");
    return rt_train_config_check(&o->train, err);
}

void cli_apply_given(const cli_options *o, rt_train_config *cfg)
{
    if (o->given & CLI_GIVEN_EPOCHS)
        cfg->epochs = o->train.epochs;
    if (o->given & CLI_GIVEN_BATCH_SIZE)
        cfg->batch_size = o->train.batch_size;
    if (o->given & CLI_GIVEN_LR)
        cfg->lr = o->train.lr;
    if (o->given & CLI_GIVEN_SHUFFLE)
        cfg->shuffle = o->train.shuffle;
    if (o->given & CLI_GIVEN_SEED)
        cfg->seed = o->train.seed;
    if (o->given & CLI_GIVEN_LR_STEP_SIZE)
        cfg->lr_step_size = o->train.lr_step_size;
    if (o->given & CLI_GIVEN_LR_GAMMA)
        cfg->lr_gamma = o->train.lr_gamma;
}
