#!/usr/bin/env python3
"""A tuned eager PyTorch baseline for resnet-train's benchmarks.

The seed's network and recipe (Adam lr 1e-3, cross-entropy, sequential batches
unless --shuffle), with the usual eager-mode tuning and none of the seed's
overheads: the whole MNIST set is read once from the IDX files, converted once
to a float32 N x 1 x 28 x 28 tensor ON THE DEVICE, and batches are slices (or
index gathers with --shuffle); no DataLoader, no per-step loss.item(); Adam's
fused (default) or foreach kernels; cuDNN autotuning on CUDA. The clock is
read only after torch.cuda.synchronize() on CUDA.

Modes (one JSON line per measurement on stdout, notes on stderr):

  default           training throughput for each --batch-size:
                    --warmup-steps untimed steps (plus one on the last, partial
                    batch's shape), then --repeats timed runs of
                    --max-steps steps (or --epochs full epochs)
  --eval            inference throughput over the 10000 test images
                    (torch.inference_mode) at each --batch-size
  --accuracy-curve  train the seed recipe for --epochs (default 26) at the first
                    --batch-size; after each epoch the cumulative training
                    wall time (evaluation excluded) and the test accuracy

Examples:

  python3 bench/pytorch_baseline.py --device cpu --threads 2 --batch-size 64 256 --max-steps 50
  python3 bench/pytorch_baseline.py --device cuda --batch-size 64 1024 --epochs 1 --repeats 3
  python3 bench/pytorch_baseline.py --device cuda --eval --batch-size 1000
  python3 bench/pytorch_baseline.py --device cuda --accuracy-curve --epochs 26

Output fields: impl, device, device_name, threads, batch_size, metric, value,
unit, plus per metric: values (each repeat), steps, images, epoch_time_s
(measured, or extrapolated from the timed steps when extrapolated is true),
startup_to_first_step_s (process start to the end of the first training step,
torch import and data loading included), peak_host_rss_mib (getrusage
ru_maxrss), peak_gpu_allocated_mib (torch.cuda.max_memory_allocated), torch,
tf32, adam, shuffle.
"""
import time

PROCESS_T0 = time.perf_counter()  # before importing torch: start-up time includes the import

import argparse
import json
import os
import platform
import resource
import statistics
import sys

import numpy as np
import torch
import torch.nn.functional as F

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, 'tools'))
from seed_model import ResNet, read_idx  # noqa: E402
DEFAULT_DATA = os.environ.get('RESNET_TRAIN_DATA') or os.path.join(REPO, '..', 'shared', 'data', 'mnist')


# ---------------------------------------------------------------------------
# The model (the seed's network, the seed's module names) and the IDX reader
# are tools/seed_model.py's.

def load_split(data_dir, prefix, device):
    """(x, y): x float32 N x 1 x 28 x 28 = byte / 255 on the device, y int64."""
    images = read_idx(os.path.join(data_dir, f'{prefix}-images-idx3-ubyte.gz'))
    labels = read_idx(os.path.join(data_dir, f'{prefix}-labels-idx1-ubyte.gz'))
    x = torch.from_numpy(images.copy()).to(device).unsqueeze(1).to(torch.float32).div_(255)
    y = torch.from_numpy(labels.astype(np.int64)).to(device)
    return x, y


# ---------------------------------------------------------------------------

class Bench:
    """Device setup, clock and memory readings shared by the three modes."""

    def __init__(self, args):
        self.args = args
        self.device = torch.device(args.device)
        self.cuda = self.device.type == 'cuda'
        if args.threads:
            torch.set_num_threads(args.threads)
        if self.cuda:
            torch.backends.cudnn.allow_tf32 = args.tf32
            torch.backends.cuda.matmul.allow_tf32 = args.tf32
            torch.backends.cudnn.benchmark = args.cudnn_benchmark
        if args.seed is not None:
            torch.manual_seed(args.seed)
        self.first_step_s = None
        t = time.perf_counter()
        self.train = load_split(args.data, 'train', self.device)
        self.test = load_split(args.data, 't10k', self.device) if args.eval or args.accuracy_curve else None
        self.sync()
        self.data_load_s = time.perf_counter() - t

    def sync(self):
        if self.cuda:
            torch.cuda.synchronize(self.device)

    def now(self):
        self.sync()
        return time.perf_counter()

    def reset_peak(self):
        if self.cuda:
            torch.cuda.reset_peak_memory_stats(self.device)

    def common(self):
        a = self.args
        out = {
            'impl': 'pytorch-tuned',
            'device': self.device.type,
            'device_name': torch.cuda.get_device_name(self.device) if self.cuda else platform.processor() or platform.machine(),
            'threads': torch.get_num_threads(),
            'torch': torch.__version__,
            'tf32': bool(a.tf32) if self.cuda else False,
            'adam': a.adam,
            'shuffle': a.shuffle,
            'peak_host_rss_mib': round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            'data_load_s': round(self.data_load_s, 3),
        }
        if self.cuda:
            out['peak_gpu_allocated_mib'] = round(torch.cuda.max_memory_allocated(self.device) / 2**20, 1)
        return out

    def emit(self, **fields):
        rec = {**self.common(), **fields}
        print(json.dumps(rec), flush=True)

    def new_model(self):
        model = ResNet().to(self.device)
        kw = {'fused': True} if self.args.adam == 'fused' else {'foreach': self.args.adam == 'foreach'}
        opt = torch.optim.Adam(model.parameters(), lr=self.args.lr, **kw)
        return model, opt

    def batches(self, batch_size):
        """Endless (epoch, step, x, y) over the training set, seed order or shuffled."""
        x_all, y_all = self.train
        n = x_all.shape[0]
        epoch = 0
        while True:
            perm = torch.randperm(n, device=self.device) if self.args.shuffle else None
            for step, i in enumerate(range(0, n, batch_size)):
                if perm is None:
                    yield epoch, step, x_all[i:i + batch_size], y_all[i:i + batch_size]
                else:
                    idx = perm[i:i + batch_size]
                    yield epoch, step, x_all.index_select(0, idx), y_all.index_select(0, idx)
            epoch += 1

    def train_step(self, model, opt, x, y):
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if self.first_step_s is None:
            self.sync()
            self.first_step_s = time.perf_counter() - PROCESS_T0
        return loss


# ---------------------------------------------------------------------------

def bench_train(b, batch_size):
    a = b.args
    n_train = b.train[0].shape[0]
    steps_per_epoch = -(-n_train // batch_size)
    steps = a.max_steps or a.epochs * steps_per_epoch
    b.reset_peak()
    model, opt = b.new_model()
    model.train()
    it = b.batches(batch_size)
    for _ in range(a.warmup_steps):
        _, _, x, y = next(it)
        b.train_step(model, opt, x, y)
    rem = n_train % batch_size
    if a.warmup_steps and rem:  # the partial batch's shape too (cuDNN autotuning, oneDNN primitives)
        b.train_step(model, opt, b.train[0][-rem:], b.train[1][-rem:])
    times, images, loss = [], 0, None
    for _ in range(a.repeats):
        images = 0
        t0 = b.now()
        for _ in range(steps):
            _, _, x, y = next(it)
            loss = b.train_step(model, opt, x, y)
            images += x.shape[0]
        times.append(b.now() - t0)
    rates = [images / t for t in times]
    med = statistics.median(rates)
    b.emit(batch_size=batch_size, metric='train_images_per_s', unit='images/s',
           value=round(med, 1), values=[round(r, 1) for r in rates],
           steps=steps, images=images, warmup_steps=a.warmup_steps, repeats=a.repeats,
           epoch_time_s=round(n_train / med, 3), extrapolated=images % n_train != 0,
           step_time_ms=round(1000 * statistics.median(times) / steps, 3),
           last_loss=round(loss.item(), 6),
           startup_to_first_step_s=round(b.first_step_s, 3))


@torch.inference_mode()
def evaluate(b, model, batch_size):
    """(correct, seed-style average loss) over the test set; one sync at the end."""
    x_all, y_all = b.test
    model.eval()
    correct = torch.zeros((), dtype=torch.int64, device=b.device)
    loss_sum = torch.zeros((), dtype=torch.float32, device=b.device)
    batches = 0
    for i in range(0, x_all.shape[0], batch_size):
        x, y = x_all[i:i + batch_size], y_all[i:i + batch_size]
        logits = model(x)
        loss_sum += F.cross_entropy(logits, y)
        correct += (logits.argmax(1) == y).sum()
        batches += 1
    model.train()
    return correct, loss_sum / batches


def bench_eval(b, batch_size):
    a = b.args
    n_test = b.test[0].shape[0]
    b.reset_peak()
    model, _ = b.new_model()
    for _ in range(max(1, a.warmup_steps // 10)):
        evaluate(b, model, batch_size)
    times = []
    for _ in range(a.repeats):
        t0 = b.now()
        correct, _ = evaluate(b, model, batch_size)
        times.append(b.now() - t0)
    rates = [n_test / t for t in times]
    b.emit(batch_size=batch_size, metric='eval_images_per_s', unit='images/s',
           value=round(statistics.median(rates), 1), values=[round(r, 1) for r in rates],
           images=n_test, repeats=a.repeats, pass_time_s=round(statistics.median(times), 4),
           correct=int(correct.item()))


def accuracy_curve(b, batch_size):
    """The seed recipe, evaluated after every epoch (evaluation not timed)."""
    a = b.args
    epochs = a.epochs
    n_train, n_test = b.train[0].shape[0], b.test[0].shape[0]
    b.reset_peak()
    model, opt = b.new_model()
    model.train()
    it = b.batches(batch_size)
    steps_per_epoch = -(-n_train // batch_size)
    train_s = 0.0
    for epoch in range(1, epochs + 1):
        t0 = b.now()
        loss = None
        for _ in range(steps_per_epoch):
            _, _, x, y = next(it)
            loss = b.train_step(model, opt, x, y)
        dt = b.now() - t0
        train_s += dt
        correct, test_loss = evaluate(b, model, a.eval_batch_size)
        b.emit(batch_size=batch_size, metric='test_accuracy', unit='%', epoch=epoch,
               value=round(100.0 * correct.item() / n_test, 2), test_loss=round(test_loss.item(), 6),
               train_time_s=round(train_s, 3), epoch_time_s=round(dt, 3),
               train_images_per_s=round(n_train / dt, 1), last_loss=round(loss.item(), 6),
               startup_to_first_step_s=round(b.first_step_s, 3))


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--device', default='cpu', choices=['cpu', 'cuda'])
    p.add_argument('--threads', type=int, default=None, help='torch.set_num_threads (default: torch\'s choice)')
    p.add_argument('--batch-size', type=int, nargs='+', default=[64], help='one or more batch sizes')
    p.add_argument('--epochs', type=int, default=None, help='epochs per timed run (default 1; 26 with --accuracy-curve)')
    p.add_argument('--max-steps', type=int, default=None, help='timed steps per run instead of whole epochs')
    p.add_argument('--warmup-steps', type=int, default=20, help='untimed steps before timing (default 20)')
    p.add_argument('--repeats', type=int, default=3, help='timed runs per batch size; the median is reported')
    p.add_argument('--data', default=DEFAULT_DATA, help='folder with the four MNIST .gz files')
    p.add_argument('--tf32', action=argparse.BooleanOptionalAction, default=False,
                   help='CUDA: allow TF32 in cuDNN and matmul (default: strict FP32)')
    p.add_argument('--cudnn-benchmark', action=argparse.BooleanOptionalAction, default=True,
                   help='CUDA: cudnn.benchmark autotuning (default on)')
    p.add_argument('--adam', choices=['fused', 'foreach', 'single'], default='fused',
                   help='Adam implementation (default fused)')
    p.add_argument('--lr', type=float, default=1e-3)
    p.add_argument('--shuffle', action='store_true', help='reshuffle the training set every epoch (index gathers)')
    p.add_argument('--seed', type=int, default=None, help='torch.manual_seed')
    p.add_argument('--eval', action='store_true', help='measure inference throughput over the test set')
    p.add_argument('--eval-batch-size', type=int, default=64, help='test batch size for --accuracy-curve (seed: 64)')
    p.add_argument('--accuracy-curve', action='store_true', help='train and report test accuracy after each epoch')
    a = p.parse_args(argv)
    if a.epochs is None:
        a.epochs = 26 if a.accuracy_curve else 1
    if a.device == 'cuda' and not torch.cuda.is_available():
        p.error('--device cuda: no CUDA device')
    return a


def main(argv=None):
    args = parse_args(argv)
    b = Bench(args)
    for bs in args.batch_size:
        if args.accuracy_curve:
            accuracy_curve(b, bs)
            break
        if args.eval:
            bench_eval(b, bs)
        else:
            bench_train(b, bs)


if __name__ == '__main__':
    sys.exit(main())
