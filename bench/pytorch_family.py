#!/usr/bin/env python3
"""PyTorch's side of the family benchmark (bench/family_bench.py): training
throughput of one of resnet-train's built-in networks, built in PyTorch by
tools/torch_models.py, on synthetic data of a given shape, eager or under
torch.compile, as one JSON line.

The recipe is resnet-train's default (Adam lr 1e-3, cross-entropy), the data
synthetic like bench_train --synthetic (random bytes / 255, 10 classes),
already on the device as a tensor; batches are slices; no per-step
loss.item(). On CUDA: cudnn.benchmark and channels_last (the fast settings
for convolutions), TF32 off (strict FP32, as resnet-train's default).

  python3 bench/pytorch_family.py --model resnet20 --input 3x32x32 --batch-size 128 \\
      --threads 2 [--compile] [--device cpu|cuda] [--steps 20 --warmup 5 --repeats 3]
"""
import time

PROCESS_T0 = time.perf_counter()

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import resource  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402

import torch  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                'tools'))
import torch_models  # noqa: E402


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--model', required=True)
    p.add_argument('--input', required=True, help='CxHxW')
    p.add_argument('--batch-size', type=int, required=True)
    p.add_argument('--device', default='cpu')
    p.add_argument('--threads', type=int, default=0)
    p.add_argument('--compile', action='store_true')
    p.add_argument('--steps', type=int, default=20)
    p.add_argument('--warmup', type=int, default=5)
    p.add_argument('--repeats', type=int, default=3)
    p.add_argument('--samples', type=int, default=0, help='synthetic images (default 4 batches)')
    a = p.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    dev = torch.device(a.device)
    if dev.type == 'cuda':
        torch.backends.cudnn.benchmark = True
        torch.backends.cudnn.allow_tf32 = False
        torch.backends.cuda.matmul.allow_tf32 = False
    c, h, w = (int(v) for v in a.input.split('x'))
    n = a.samples or 4 * a.batch_size
    g = torch.Generator().manual_seed(1)
    images = torch.randint(0, 256, (n, c, h, w), generator=g, dtype=torch.uint8)
    x_all = (images.to(torch.float32) / 255).to(dev)
    y_all = torch.randint(0, 10, (n,), generator=g).to(dev)
    model = torch_models.build(a.model, c, 10).to(dev)
    if dev.type == 'cuda':
        model = model.to(memory_format=torch.channels_last)
        x_all = x_all.contiguous(memory_format=torch.channels_last)
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = torch.nn.CrossEntropyLoss()

    def step(xb, yb):
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(xb), yb)
        loss.backward()
        opt.step()
        return loss

    run = torch.compile(step) if a.compile else step
    b = a.batch_size
    batches = n // b
    k = 0

    def one():
        nonlocal k
        s = (k % batches) * b
        k += 1
        run(x_all[s:s + b], y_all[s:s + b])

    def sync():
        if dev.type == 'cuda':
            torch.cuda.synchronize()

    t_first = None
    for i in range(a.warmup):
        one()
        if i == 0:
            sync()
            t_first = time.perf_counter() - PROCESS_T0
    rates = []
    for _ in range(a.repeats):
        sync()
        t0 = time.perf_counter()
        for _ in range(a.steps):
            one()
        sync()
        rates.append(a.steps * b / (time.perf_counter() - t0))
    out = {
        'impl': 'pytorch-compile' if a.compile else 'pytorch-eager',
        'device': dev.type, 'threads': torch.get_num_threads(), 'model': a.model,
        'input': a.input, 'batch_size': b, 'metric': 'train_images_per_s', 'unit': 'images/s',
        'value': round(statistics.median(rates), 2), 'min': round(min(rates), 2),
        'max': round(max(rates), 2), 'values': [round(r, 2) for r in rates],
        'steps': a.steps, 'startup_to_first_step_s': round(t_first, 3),
        'peak_host_rss_mib': round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        'torch': torch.__version__, 'data': 'synthetic',
    }
    if dev.type == 'cuda':
        out['peak_device_mib'] = round(torch.cuda.max_memory_allocated() / 2**20, 1)
        out['device_name'] = torch.cuda.get_device_name()
    print(json.dumps(out), flush=True)


if __name__ == '__main__':
    main()
