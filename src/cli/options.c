#include "options.h"
#include "resnet/dist.h"

#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "resnet/datasets.h"

#ifndef RT_VERSION
#define RT_VERSION "unknown"
#endif

void cli_options_default(cli_options *o)
{
    memset(o, 0, sizeof *o);
    o->command = CMD_TRAIN;
    o->device = "auto";
    o->comm_timeout = 60.0f;
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
        "       resnet-train export CHECKPOINT --onnx FILE | --weights-only FILE\n"
        "                                              the weights for other tools\n"
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
        "  --dataset NAME       mnist (default), fashion-mnist, kmnist, cifar10, cifar100\n"
        "                       (docs/datasets.md)\n"
        "  --data DIR           the data folder, as torchvision lays it out (MNIST: flat or\n"
        "                       DIR/MNIST/raw; default: $RESNET_TRAIN_DATA or data)\n"
        "  --coarse-labels      cifar100: the 20 superclasses instead of the 100 classes\n"
        "  --dataset folder     DIR/train/<class>/* and DIR/val/<class>/* (PNG, JPEG), as\n"
        "                       torchvision's ImageFolder (docs/image_folder.md); with\n"
        "  --image-size S       the input size (default: the images' own, else 224)\n"
        "  --grayscale          one channel instead of RGB\n"
        "  --skip-bad-images    count and report unreadable images instead of failing\n"
        "  --no-download        fail instead of downloading missing files\n"
        "  --mirror URL         download from URL instead of torchvision's mirrors (repeatable)\n"
        "Training (defaults are the tutorial's; docs/recipes.md):\n"
        "  --recipe NAME        a preset: seed (default), cifar-resnet, small-onecycle; the\n"
        "                       options below override it\n"
        "  --print-recipe       print the recipe in full and stop\n"
        "  --epochs N           epochs (26)\n"
        "  --batch-size N       images per step (64; also the test batch)\n"
        "  --lr X               learning rate (0.001; onecycle's maximum)\n"
        "  --shuffle, --no-shuffle   shuffle every epoch (seeded; default: file order)\n"
        "  --seed N             seed of the initial weights, shuffling and augmentation (0)\n"
        "  --optimizer NAME     adam (default), adamw or sgd, as torch.optim's\n"
        "  --momentum X, --dampening X, --nesterov   SGD's (0, 0, off)\n"
        "  --weight-decay X     coupled for adam and sgd, decoupled for adamw (0)\n"
        "  --no-decay-norm-bias no weight decay on BatchNorm parameters and biases\n"
        "  --schedule NAME      constant (default), step, multistep, cosine or onecycle\n"
        "  --schedule-per U     the schedule counts epochs (default) or steps\n"
        "  --lr-step-size N     step: multiply the rate by --lr-gamma every N units\n"
        "  --lr-gamma X         step and multistep factor (0.1)\n"
        "  --milestones N,N..   multistep: where the rate is multiplied by --lr-gamma\n"
        "  --eta-min X          cosine: the last rate (0)\n"
        "  --pct-start X, --div-factor X, --final-div-factor X   onecycle's (0.3, 25, 1e4)\n"
        "  --warmup N           linear warm-up over the first N units (off)\n"
        "  --warmup-start X     the warm-up's first factor (0.01)\n"
        "  --label-smoothing X  as CrossEntropyLoss's (0)\n"
        "  --crop-pad N         random crops after zero padding by N pixels (off)\n"
        "  --flip, --no-flip    random horizontal flips (off)\n"
        "  --random-resized-crop, --no-random-resized-crop   RandomResizedCrop (off; an\n"
        "                       image folder's training images are then kept larger)\n"
        "  --crop-scale LO,HI   its share of the image's area (0.08,1)\n"
        "  --normalize M,S|M1,..,S1,..|default, --no-normalize   per-channel normalisation\n"
        "                       after scaling to 0..1 (default: the data set's values)\n"
        "  --eval-every N       test after every N epochs too (off: only at the end)\n"
        "  --train-limit N      train on the first N training images only (all)\n"
        "  --test-limit N       test on the first N test images only (all; train and evaluate)\n"
        "Checkpoints (safetensors; PyTorch loads them with load_state_dict):\n"
        "  --save FILE          save after every epoch, and on SIGINT/SIGTERM\n"
        "  --save-every N       also save every N steps\n"
        "  --save-best FILE     keep the checkpoint of the best test accuracy seen (each test:\n"
        "                       --eval-every N and the last)\n"
        "  --resume FILE        continue the run saved in FILE (its recipe; --epochs may extend it)\n"
        "  --init FILE          start from the weights in FILE (ours or PyTorch's)\n"
        "  --detect-anomaly     check every step and name the first layer that produced NaN/Inf\n"
        "Curves and progress:\n"
        "  --metrics FILE       JSON lines: every logged step, epoch and test (appended to\n"
        "                       with --resume)\n"
        "  --tensorboard DIR    the same scalars in a TensorBoard event file in DIR\n"
        "  --quiet              no progress bar on a terminal\n"
        "Several ranks (under mpirun or srun; docs/distributed.md):\n"
        "  --comm-timeout S     end the run when the other ranks give no answer for S\n"
        "                       seconds (60)\n"
        "  --sync-bn            BatchNorm's statistics over the whole batch, not each rank's\n"
        "                       share (CPU)\n"
        "  --bucket-mb MB       sum the gradients in buckets of MB as backward finishes each\n"
        "                       (CPU; 0, the default: one sum after backward)\n"
        "Evaluate and predict:\n"
        "  --json               machine-readable output\n"
        "  --logits FILE        evaluate: every test image's logits, float32 little-endian,\n"
        "                       images x classes\n"
        "Export (docs/export.md; --model for a checkpoint without a network description):\n"
        "  --onnx FILE          an ONNX model (opset 17, BatchNorm in inference form)\n"
        "  --weights-only FILE  a safetensors file of the state_dict, no training state\n"
        "\n"
        "  --help               this text\n"
        "  --version            the version\n"
        "Exit status: 0 done, 1 failed, 2 usage error or device unavailable, 128+N stopped by signal N.\n",
        out);
}

/* Options that only some commands take. */
static int allowed(cli_command cmd, const char *option)
{
    if (cmd == CMD_EXPORT)
        return !strcmp(option, "--onnx") || !strcmp(option, "--weights-only") ||
               !strcmp(option, "--model");
    if (!strcmp(option, "--onnx") || !strcmp(option, "--weights-only"))
        return 0;
    if (!strcmp(option, "--logits"))
        return cmd == CMD_EVALUATE;
    static const char *const train_only[] = {
        "--epochs", "--lr", "--shuffle", "--seed", "--lr-step-size", "--lr-gamma",
        "--eval-every", "--train-limit", "--save", "--save-every", "--save-best", "--resume",
        "--init", "--metrics", "--tensorboard", "--quiet",
        "--detect-anomaly", "--comm-timeout", "--sync-bn", "--bucket-mb", NULL};
    static const char *const not_train[] = {"--json", NULL};
    if (cmd == CMD_MODELS)
        return !strcmp(option, "--input") || !strcmp(option, "--classes");
    if (cmd != CMD_TRAIN && cli_is_recipe_option(option))
        return 0;
    if (!strcmp(option, "--input") || !strcmp(option, "--classes"))
        return 0;
    const char *const *list = cmd == CMD_TRAIN ? not_train : train_only;
    for (int i = 0; list[i]; i++)
        if (!strcmp(list[i], option))
            return 0;
    if (cmd == CMD_PREDICT && (!strcmp(option, "--data") || !strcmp(option, "--no-download") ||
                               !strcmp(option, "--dataset") || !strcmp(option, "--coarse-labels") ||
                               !strcmp(option, "--grayscale") || !strcmp(option, "--image-size") ||
                               !strcmp(option, "--skip-bad-images") ||
                               !strcmp(option, "--mirror") || !strcmp(option, "--test-limit")))
        return 0;
    return 1;
}

static const char *command_name(cli_command cmd)
{
    return cmd == CMD_TRAIN      ? "train"
           : cmd == CMD_EVALUATE ? "evaluate"
           : cmd == CMD_PREDICT  ? "predict"
           : cmd == CMD_EXPORT   ? "export"
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
        else if (!strcmp(argv[i], "export"))
            o->command = CMD_EXPORT;
        else
            return rt_error_set(err, RT_ERR_USAGE,
                                "unknown command '%s' (expected train, evaluate, predict, "
                                "models or export)",
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
                return rt_error_set(err, RT_ERR_USAGE, "%s takes one checkpoint, not '%s'",
                                    command_name(o->command), a);
            }
            continue;
        }
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            cli_usage(stdout);
            return -1;
        }
        if (!strcmp(a, "--version")) {
            /* says where the CUDA plugin is without loading it: --version
             * stays as light as a CPU-only build's */
            char plugin[8192], mpi[160];
            rt_device_cuda_plugin(plugin, sizeof plugin);
            printf("resnet-train %s (CUDA backend: %s)\n", RT_VERSION, plugin);
            rt_dist_built_library(mpi, sizeof mpi);
            const char *nccl = rt_device_collectives_headers();
            printf("Several ranks: %s%s%s\n", *mpi ? mpi : "not built (no MPI)",
                   *nccl ? "; GPU sums by " : "", nccl);
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
        } else if (!strcmp(a, "--dataset")) {
            VALUE();
            if (strcmp(v, "folder") && !rt_dataset_spec_find(v))
                return rt_error_set(err, RT_ERR_USAGE,
                                    "--dataset: unknown data set '%s' (expected %s or folder)", v,
                                    rt_dataset_names());
            o->dataset = v;
        } else if (!strcmp(a, "--coarse-labels")) {
            o->coarse_labels = 1;
        } else if (!strcmp(a, "--grayscale")) {
            o->grayscale = 1;
        } else if (!strcmp(a, "--skip-bad-images")) {
            o->skip_bad_images = 1;
        } else if (!strcmp(a, "--image-size")) {
            VALUE();
            st = rt_parse_int(a, v, 1, 8192, &o->image_size, err);
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
            st = rt_parse_int(a, v, 1, 1 << 30, &o->train_limit, err);
        } else if (!strcmp(a, "--test-limit")) {
            VALUE();
            st = rt_parse_int(a, v, 1, 1 << 30, &o->test_limit, err);
        } else if (!strcmp(a, "--save")) {
            VALUE();
            o->save_path = v;
        } else if (!strcmp(a, "--save-best")) {
            VALUE();
            o->save_best_path = v;
        } else if (!strcmp(a, "--save-every")) {
            VALUE();
            st = rt_parse_int(a, v, 1, 1000000000, &o->save_every, err);
        } else if (!strcmp(a, "--resume")) {
            VALUE();
            o->resume_path = v;
        } else if (!strcmp(a, "--init")) {
            VALUE();
            o->init_path = v;
        } else if (!strcmp(a, "--metrics")) {
            VALUE();
            o->metrics_path = v;
        } else if (!strcmp(a, "--tensorboard")) {
            VALUE();
            o->tensorboard_dir = v;
        } else if (!strcmp(a, "--quiet")) {
            o->quiet = 1;
        } else if (!strcmp(a, "--sync-bn")) {
            o->train.sync_bn = 1;
        } else if (!strcmp(a, "--bucket-mb")) {
            VALUE();
            float mb = 0.0f;
            st = rt_parse_float(a, v, 0.0, 4096.0, &mb, err);
            o->train.bucket_mb = mb;
        } else if (!strcmp(a, "--comm-timeout")) {
            VALUE();
            st = rt_parse_float(a, v, 1.0, 86400.0, &o->comm_timeout, err);
        } else if (!strcmp(a, "--detect-anomaly")) {
            o->train.detect_anomaly = 1;
        } else if (!strcmp(a, "--json")) {
            o->json = 1;
        } else if (!strcmp(a, "--logits")) {
            VALUE();
            o->logits_path = v;
        } else if (!strcmp(a, "--onnx")) {
            VALUE();
            o->onnx_path = v;
        } else if (!strcmp(a, "--weights-only")) {
            VALUE();
            o->weights_path = v;
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
        } else if (!cli_parse_recipe_option(argc, argv, &i, o, err, &st)) {
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
    if (o->save_best_path && o->save_path && !strcmp(o->save_best_path, o->save_path))
        return rt_error_set(err, RT_ERR_USAGE, "--save-best and --save name the same file '%s'",
                            o->save_path);
    if (o->save_every && !o->save_path)
        return rt_error_set(err, RT_ERR_USAGE, "--save-every needs --save FILE");
    if ((o->grayscale || o->image_size || o->skip_bad_images) &&
        !(o->dataset && !strcmp(o->dataset, "folder")))
        return rt_error_set(err, RT_ERR_USAGE,
                            "--grayscale, --image-size and --skip-bad-images are for --dataset folder");
    if ((o->given & CLI_GIVEN_CROP_SCALE) && !o->train.resized_crop)
        return rt_error_set(err, RT_ERR_USAGE, "--crop-scale is for --random-resized-crop");
    if (o->recipe && o->resume_path)
        return rt_error_set(err, RT_ERR_USAGE,
                            "--recipe and --resume cannot be used together (the checkpoint "
                            "keeps its recipe)");
    if (cli_finish_recipe(o, err) != RT_OK)
        return RT_ERR_USAGE;
    return rt_train_config_check(&o->train, err);
}
