#!/usr/bin/env python3
"""The ResNet family benchmark: training throughput and peak memory of
resnet-train's networks beside PyTorch eager and torch.compile of the same
network, on the same machine, thread count and data, in one run.

Configurations (network, input, batch), by default:
    seed            1x28x28   64    the tutorial's network (its MNIST benchmark,
                                    with the tutorial's own program as a peer,
                                    is bench/run_bench.py)
    resnet20        3x32x32   128
    resnet18-cifar  3x32x32   128
    resnet50        3x224x224 32    (a few steps)
The data is synthetic (random bytes, 10 classes) on both sides: the data
set readers for CIFAR and ImageNet come with the next issue, and the speed
does not depend on the pixel values. The peers (bench/pytorch_family.py)
build the same network with tools/torch_models.py; on CUDA they run with
cudnn.benchmark and channels_last. Each configuration runs ours, eager and
compiled one after another, --rounds times (interleaved, so a noisy machine
hurts all three alike), each run the median of --repeats timed runs.

Writes --out/results.jsonl (every run) and --out/results.md (the table).

  python3 bench/family_bench.py --devices cpu --threads 2 --out bench/results/cpu-family
  python3 bench/family_bench.py --devices cuda --out bench/results/h100-family
"""
import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIGS = [
    # name, input, batch, steps, warmup (ours), samples
    ('seed', '1x28x28', 64, 100, 10, 1024),
    ('resnet20', '3x32x32', 128, 10, 3, 512),
    ('resnet18-cifar', '3x32x32', 128, 3, 1, 256),
    ('resnet50', '3x224x224', 32, 2, 1, 64),
]


def log(msg):
    print(f'[family {time.strftime("%H:%M:%S")}] {msg}', file=sys.stderr, flush=True)


def run_json(cmd, timeout):
    log(' '.join(cmd))
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if r.returncode != 0:
        log(f'failed ({r.returncode}): {r.stderr.strip()[-800:]}')
        return None
    lines = [l for l in r.stdout.splitlines() if l.startswith('{')]
    return json.loads(lines[-1]) if lines else None


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--build', default=os.path.join(REPO, 'build'))
    p.add_argument('--devices', default='cpu')
    p.add_argument('--threads', type=int, default=os.cpu_count())
    p.add_argument('--repeats', type=int, default=3)
    p.add_argument('--rounds', type=int, default=1)
    p.add_argument('--only', nargs='*', help='network names to run')
    p.add_argument('--no-compile', action='store_true')
    p.add_argument('--timeout', type=int, default=1800)
    p.add_argument('--out', required=True)
    a = p.parse_args()
    os.makedirs(a.out, exist_ok=True)
    bench = os.path.join(a.build, 'bench', 'bench_train')
    rows = []
    for device in a.devices.split(','):
        gpu = device == 'cuda'
        for name, shape, batch, steps, warmup, samples in CONFIGS:
            if a.only and name not in a.only:
                continue
            if gpu:  # the GPU is fast: more steps for a stable figure
                steps, warmup, samples = steps * 10, warmup * 5, samples * 4
            for rnd in range(a.rounds):
                ours = [bench, '--device', device, '--threads', str(a.threads), '--model', name,
                        '--input', shape, '--synthetic', str(samples), '--batch-size', str(batch),
                        '--max-steps', str(steps), '--warmup-steps', str(warmup),
                        '--repeats', str(a.repeats)]
                peer = [sys.executable, os.path.join(REPO, 'bench', 'pytorch_family.py'),
                        '--model', name, '--input', shape, '--batch-size', str(batch),
                        '--device', device, '--threads', str(a.threads), '--steps', str(steps),
                        '--warmup', str(warmup + 2), '--repeats', str(a.repeats),
                        '--samples', str(samples)]
                runs = [('resnet-train', ours), ('pytorch-eager', peer)]
                if not a.no_compile:
                    runs.append(('pytorch-compile', peer + ['--compile']))
                for impl, cmd in runs:
                    r = run_json(cmd, a.timeout)
                    if r is None:
                        continue
                    r.update({'impl': impl, 'round': rnd, 'model': name, 'input': shape,
                              'device': device})
                    rows.append(r)
                    with open(os.path.join(a.out, 'results.jsonl'), 'a') as f:
                        f.write(json.dumps(r) + '\n')
    report(rows, a)


def report(rows, a):
    lines = ['# The ResNet family against PyTorch', '',
             f'{datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}, '
             f'{platform.machine()}, {os.cpu_count()} CPUs, {a.threads} threads for everyone; '
             'synthetic data (random bytes, 10 classes) on both sides; training images/s, the '
             f'median of {a.repeats} timed runs per run, {a.rounds} round(s) interleaved (the '
             'median over rounds is shown); Adam, FP32.', '',
             '```', 'python3 ' + ' '.join(sys.argv), '```', '',
             '| device | network | input | batch | resnet-train | PyTorch eager | torch.compile '
             '| ours / eager | ours / compile | peak memory ours / PyTorch eager (MiB) |',
             '|---|---|---|---|---|---|---|---|---|---|']
    keys = []
    for r in rows:
        k = (r['device'], r['model'], r['input'], r['batch_size'])
        if k not in keys:
            keys.append(k)

    def pick(k, impl, field='value'):
        v = [r[field] for r in rows if (r['device'], r['model'], r['input'], r['batch_size']) == k
             and r['impl'] == impl and field in r]
        return statistics.median(v) if v else None

    for k in keys:
        ours, eager, comp = (pick(k, i) for i in ('resnet-train', 'pytorch-eager',
                                                   'pytorch-compile'))
        mem_field = 'peak_device_mib' if k[0] == 'cuda' else 'peak_host_rss_mib'
        mo, me = pick(k, 'resnet-train', mem_field), pick(k, 'pytorch-eager', mem_field)

        def f(x, d=1):
            return '-' if x is None else f'{x:,.{d}f}'

        def ratio(x, y):
            return '-' if x is None or y is None else f'{x / y:.2f}x'
        lines.append(f'| {k[0]} | {k[1]} | {k[2]} | {k[3]} | {f(ours)} | {f(eager)} | {f(comp)} | '
                     f'{ratio(ours, eager)} | {ratio(ours, comp)} | {f(mo, 0)} / {f(me, 0)} |')
    lines += ['', 'Peak memory: on the CPU the peak resident set of each process (PyTorch\'s '
              'includes its libraries, ~1 GB before any tensor; ours the model\'s buffers, '
              'activations and gradients, and the data); on a GPU the peak device memory '
              'allocated.', '']
    with open(os.path.join(a.out, 'results.md'), 'w') as fh:
        fh.write('\n'.join(lines) + '\n')
    print('\n'.join(lines))


if __name__ == '__main__':
    main()
