#!/usr/bin/env python3
"""The benchmark: resnet-train beside its PyTorch peers, in one run, on one machine.

For each device asked for (cpu, and cuda when a GPU is usable):
  - training throughput (images/s) and epoch time at batch 64 (the seed's
    recipe), 256 and 1024, and inference throughput over the test set, for
      resnet-train        (bench_train, the library)
      pytorch-tuned       (bench/pytorch_baseline.py: data already in tensors on the device)
      pytorch-seed        (the seed's program as written, DataLoader and all; batch 64 only)
    each as median/min/max of --repeats runs, with the ratios ours/peer;
  - start-up time to the first step, peak host memory, peak GPU memory;
  - test accuracy against training wall time over the seed's recipe
    (evaluated after every epoch, the evaluation not counted) and the time to
    reach 98.5% and 99.0% (--curve-epochs, 26 by default; --no-curve skips it);
  - where the time goes: per-op time of one training step (bench/op_profile).
Same thread count for everyone (--threads). Without PyTorch the peers are
skipped, and the report says so.

Writes into --out (default bench/results/<host-kind>): results.jsonl (every
measurement, one JSON object a line), results.md (tables), throughput.svg and
accuracy.svg (when matplotlib is there).

  python3 bench/run_bench.py --devices cpu --threads 2
  python3 bench/run_bench.py --devices cuda --out bench/results/h100
"""
import argparse
import datetime
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MNIST_FILES = ['train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz',
               't10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz']


def log(msg):
    print(f'[bench {time.strftime("%H:%M:%S")}] {msg}', file=sys.stderr, flush=True)


def run(cmd, env=None, timeout=None):
    """Runs cmd; returns (stdout, peak RSS of the child in MiB, wall seconds)."""
    log(' '.join(cmd))
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        raise RuntimeError(f'{cmd[0]} timed out after {timeout} s')
    wall = time.perf_counter() - t0
    # ru_maxrss of the whole child tree is only available cumulatively; the
    # tools report their own peak where it matters.
    if proc.returncode != 0:
        raise RuntimeError(f'{" ".join(cmd)} exited {proc.returncode}:\n{err[-2000:]}')
    return out, err, wall


def json_lines(text):
    rows = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith('{'):
            rows.append(json.loads(line))
    return rows


def torch_info():
    try:
        import torch  # noqa: F401
    except Exception as e:  # PyTorch is optional
        return None, f'PyTorch is not installed ({e.__class__.__name__}): peers skipped'
    import torch
    return torch, None


def machine_info(build):
    info = {'kind': 'machine', 'date': datetime.datetime.now().isoformat(timespec='seconds'),
            'host': platform.node(), 'os': platform.platform(), 'python': platform.python_version(),
            'omp_wait_policy': os.environ.get('OMP_WAIT_POLICY', '(default)')}
    try:
        lscpu = subprocess.run(['lscpu'], capture_output=True, text=True).stdout
        m = re.search(r'Model name:\s*(.+)', lscpu)
        info['cpu'] = m.group(1).strip() if m else platform.processor()
    except OSError:
        info['cpu'] = platform.processor()
    info['cpus'] = os.cpu_count()
    try:
        with open('/proc/meminfo') as f:
            info['memory_gib'] = round(int(f.readline().split()[1]) / 2**20, 1)
    except OSError:
        pass
    try:
        smi = subprocess.run(['nvidia-smi', '--query-gpu=name,driver_version,memory.total',
                              '--format=csv,noheader'], capture_output=True, text=True, timeout=30)
        if smi.returncode == 0 and smi.stdout.strip():
            info['gpu'] = smi.stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        pass
    try:
        info['resnet_train'] = subprocess.run([os.path.join(build, 'resnet-train'), '--version'],
                                              capture_output=True, text=True).stdout.strip()
        info['commit'] = subprocess.run(['git', '-C', REPO, 'rev-parse', '--short', 'HEAD'],
                                        capture_output=True, text=True).stdout.strip()
        info['cc'] = subprocess.run(['cc', '--version'], capture_output=True,
                                    text=True).stdout.splitlines()[0]
    except (OSError, IndexError):
        pass
    torch, _ = torch_info()
    if torch is not None:
        info['torch'] = torch.__version__
    return info


def seed_root(data):
    """torchvision wants DIR/MNIST/raw/*.gz: a temporary folder of links."""
    root = tempfile.mkdtemp(prefix='seed-mnist-')
    raw = os.path.join(root, 'MNIST', 'raw')
    os.makedirs(raw)
    for name in MNIST_FILES:
        os.symlink(os.path.abspath(os.path.join(data, name)), os.path.join(raw, name))
    return root


def parse_seed_epochs(text):
    """epoch_time_s / train_images_per_s lines and Test result accuracies of the seed program."""
    epochs = [(float(a), float(b)) for a, b in
              re.findall(r'epoch_time_s:([0-9.]+) train_images_per_s:([0-9.]+)', text)]
    accs = [float(a) for a in re.findall(r'Accuracy:([0-9.]+)%', text)]
    return epochs, accs


def stats(values):
    return {'value': statistics.median(values), 'min': min(values), 'max': max(values),
            'values': values}


class Bench:
    def __init__(self, args):
        self.args = args
        self.rows = []
        self.notes = []
        self.build = os.path.abspath(args.build)
        self.env = dict(os.environ, RESNET_TRAIN_DATA=os.path.abspath(args.data))
        self.torch, note = torch_info()
        if note:
            self.notes.append(note)

    def add(self, rows):
        for r in rows:
            r.setdefault('kind', 'measurement')
            vals = r.get('values')
            if vals:
                r.setdefault('min', min(vals))
                r.setdefault('max', max(vals))
            if 'precision' not in r and 'tf32' in r:
                r['precision'] = 'tf32' if r['tf32'] else 'fp32'
            self.rows.append(r)

    # -- throughput -------------------------------------------------------
    def ours(self, device, precision='fp32', cudnn_benchmark=False):
        a = self.args
        cmd = [os.path.join(self.build, 'bench', 'bench_train'), '--device', device,
               '--threads', str(a.threads), '--precision', precision,
               '--batch-size', *map(str, a.batch_sizes), '--repeats', str(a.repeats),
               '--warmup-steps', str(a.warmup_steps), '--eval', '--data', a.data]
        if a.max_steps:
            cmd += ['--max-steps', str(a.max_steps)]
        if cudnn_benchmark:
            cmd += ['--cudnn-benchmark']
        out, _, _ = run(cmd, env=self.env)
        rows = json_lines(out)
        if cudnn_benchmark:
            for r in rows:
                r['impl'] = 'resnet-train-cudnn-benchmark'
        self.add(rows)

    def tuned(self, device, tf32=False):
        a = self.args
        base = [sys.executable, os.path.join(REPO, 'bench', 'pytorch_baseline.py'),
                '--device', device, '--threads', str(a.threads), '--data', a.data,
                '--batch-size', *map(str, a.batch_sizes), '--repeats', str(a.repeats),
                '--warmup-steps', str(a.warmup_steps), '--tf32' if tf32 else '--no-tf32']
        train = base + (['--max-steps', str(a.peer_max_steps)] if a.peer_max_steps else ['--epochs', '1'])
        out, _, _ = run(train, env=self.env)
        self.add(json_lines(out))
        out, _, _ = run(base + ['--eval'], env=self.env)
        self.add(json_lines(out))

    def seed(self, device):
        """The seed's program as written: batch 64, DataLoader, loss.item() every step."""
        a = self.args
        if not os.path.exists(a.seed_program):
            self.notes.append(f'the seed program is not at {a.seed_program}: pytorch-seed skipped')
            return
        root = seed_root(a.data)
        try:
            rates, epoch_times = [], []
            for _ in range(a.repeats):
                cmd = [sys.executable, a.seed_program, '--root', root, '--device', device,
                       '--threads', str(a.threads), '--epochs', '1']
                if a.peer_max_steps:
                    cmd += ['--max-batches', str(a.peer_max_steps)]
                out, _, _ = run(cmd, env=self.env)
                (dt, ips), = parse_seed_epochs(out)[0][:1]
                rates.append(ips)
                epoch_times.append(60000 / ips if a.peer_max_steps else dt)
            row = {'impl': 'pytorch-seed', 'device': device, 'threads': a.threads, 'batch_size': 64,
                   'metric': 'train_images_per_s', 'unit': 'images/s', **stats(rates),
                   'epoch_time_s': statistics.median(epoch_times),
                   'extrapolated': bool(a.peer_max_steps), 'steps': a.peer_max_steps or 938}
            if self.torch is not None:
                row['torch'] = self.torch.__version__
            self.add([row])
        finally:
            shutil.rmtree(root, ignore_errors=True)

    def op_profile(self, device):
        cmd = [os.path.join(self.build, 'bench', 'op_profile'), '--device', device,
               '--threads', str(self.args.threads), '--batch-size', '64', '--json']
        out, _, _ = run(cmd, env=self.env)
        rows = json_lines(out)
        for r in rows:
            r['kind'] = 'op_profile'
        self.rows.extend(rows)

    # -- accuracy against time --------------------------------------------
    def curve_ours(self, device):
        a = self.args
        cmd = [os.path.join(self.build, 'resnet-train'), '--device', device, '--threads',
               str(a.threads), '--epochs', str(a.curve_epochs), '--eval-every', '1',
               '--data', a.data, '--no-download']
        out, _, _ = run(cmd, env=self.env)
        epochs, accs = parse_seed_epochs(out)
        self.add_curve('resnet-train', device, epochs, accs)

    def curve_tuned(self, device):
        a = self.args
        cmd = [sys.executable, os.path.join(REPO, 'bench', 'pytorch_baseline.py'), '--device',
               device, '--threads', str(a.threads), '--data', a.data, '--accuracy-curve',
               '--epochs', str(a.peer_curve_epochs or a.curve_epochs), '--batch-size', '64']
        out, _, _ = run(cmd, env=self.env)
        rows = [r for r in json_lines(out) if r.get('metric') == 'test_accuracy']
        cum = [r['train_time_s'] for r in rows]
        epochs = [(t - (cum[i - 1] if i else 0.0), 0.0) for i, t in enumerate(cum)]
        self.add_curve('pytorch-tuned', device, epochs, [r['value'] for r in rows])

    def curve_seed(self, device):
        a = self.args
        root = seed_root(a.data)
        try:
            cmd = [sys.executable, a.seed_program, '--root', root, '--device', device, '--threads',
                   str(a.threads), '--epochs', str(a.curve_epochs), '--test-every-epoch']
            out, _, _ = run(cmd, env=self.env)
            epochs, accs = parse_seed_epochs(out)
            # --test-every-epoch tests after each epoch and once more at the end
            self.add_curve('pytorch-seed', device, epochs, accs[:len(epochs)])
        finally:
            shutil.rmtree(root, ignore_errors=True)

    def add_curve(self, impl, device, epochs, accs):
        t = 0.0
        first = {}
        for i, ((dt, _), acc) in enumerate(zip(epochs, accs)):
            t += dt
            self.rows.append({'kind': 'curve', 'impl': impl, 'device': device, 'epoch': i + 1,
                              'train_time_s': round(t, 4), 'test_accuracy': acc})
            for target in (98.5, 99.0):
                if acc >= target and target not in first:
                    first[target] = t
        for target in (98.5, 99.0):
            self.rows.append({'kind': 'time_to_accuracy', 'impl': impl, 'device': device,
                              'target': target, 'train_time_s': first.get(target),
                              'epochs_run': len(accs)})

    def run_device(self, device):
        a = self.args
        self.ours(device)
        if device == 'cuda':
            self.ours(device, precision='tf32')
            self.ours(device, cudnn_benchmark=True)
        if self.torch is not None and not a.no_peers:
            usable = device == 'cpu' or self.torch.cuda.is_available()
            if usable:
                self.tuned(device)
                if device == 'cuda' and a.peer_tf32:
                    self.tuned(device, tf32=True)
                self.seed(device)
            else:
                self.notes.append('PyTorch sees no CUDA device: GPU peers skipped')
        self.op_profile(device)
        if not a.no_curve:
            self.curve_ours(device)
            if self.torch is not None and not a.no_peers:
                self.curve_tuned(device)
                if a.curve_seed:
                    self.curve_seed(device)


# -- the report ---------------------------------------------------------------
def fmt(x, digits=1):
    return '-' if x is None else f'{x:,.{digits}f}'


def report(rows, notes, info, args):
    meas = [r for r in rows if r.get('kind') == 'measurement']
    lines = [f'# resnet-train benchmark: {info.get("gpu") or info.get("cpu")}', '',
             f'Run {info["date"]} on {info.get("cpu")} ({info.get("cpus")} CPUs, '
             f'{info.get("memory_gib")} GiB)' + (f', GPU {info["gpu"]}' if info.get('gpu') else '') +
             f'; {info.get("resnet_train", "")} at commit {info.get("commit", "?")}, '
             f'{info.get("cc", "")}; PyTorch {info.get("torch", "not installed")}.', '',
             f'Command: `python3 bench/run_bench.py {" ".join(args.argv)}` '
             f'(OMP_WAIT_POLICY={info.get("omp_wait_policy")}, for every implementation)', '',
             f'Every figure is the median of {args.repeats} runs (min..max beside it); '
             f'{args.threads} threads for every implementation. Epoch times marked * are '
             f'extrapolated from runs of {args.max_steps} steps (resnet-train) and '
             f'{args.peer_max_steps} steps (PyTorch) as 60000 / images per second; '
             f'the others are whole epochs.', '']
    for n in notes:
        lines += [f'> note: {n}', '']

    def pick(impl, device, metric, batch, precision=None):
        for r in meas:
            if (r.get('impl') == impl and r.get('device') == device and r.get('metric') == metric
                    and r.get('batch_size') == batch and (precision is None or
                                                          r.get('precision', 'tf32' if r.get('tf32') else 'fp32') == precision)):
                return r
        return None

    devices = sorted({r['device'] for r in meas}, key=lambda d: d != 'cpu')
    for device in devices:
        lines += [f'## {device}: training', '',
                  '| batch | implementation | images/s (min..max) | epoch time s | ours / this |',
                  '| --- | --- | --- | --- | --- |']
        for batch in args.batch_sizes:
            for precision in (['fp32', 'tf32'] if device == 'cuda' else ['fp32']):
                ours = pick('resnet-train', device, 'train_images_per_s', batch, precision)
                for impl in ('resnet-train', 'resnet-train-cudnn-benchmark', 'pytorch-tuned',
                             'pytorch-seed'):
                    r = pick(impl, device, 'train_images_per_s', batch,
                             precision if impl != 'pytorch-seed' else None)
                    if r is None or (impl in ('pytorch-seed', 'resnet-train-cudnn-benchmark')
                                     and precision != 'fp32'):
                        continue
                    ratio = '' if impl == 'resnet-train' or not ours else f'{ours["value"] / r["value"]:.2f}x'
                    et = r.get('epoch_time_s')
                    star = '*' if r.get('extrapolated') else ''
                    lines.append(f'| {batch} | {impl} {precision if device == "cuda" else ""} | '
                                 f'{fmt(r["value"])} ({fmt(r["min"])}..{fmt(r["max"])}) | '
                                 f'{fmt(et, 3)}{star} | {ratio} |')
        lines += ['', f'## {device}: inference over the test set', '',
                  '| batch | implementation | images/s (min..max) | ours / this |', '| --- | --- | --- | --- |']
        for batch in args.batch_sizes:
            ours = pick('resnet-train', device, 'eval_images_per_s', batch, 'fp32')
            for impl in ('resnet-train', 'pytorch-tuned'):
                r = pick(impl, device, 'eval_images_per_s', batch, 'fp32')
                if r is None:
                    continue
                ratio = '' if impl == 'resnet-train' or not ours else f'{ours["value"] / r["value"]:.2f}x'
                lines.append(f'| {batch} | {impl} | {fmt(r["value"])} ({fmt(r["min"])}..{fmt(r["max"])}) | {ratio} |')
        lines += ['', f'## {device}: start-up and memory (batch 64)', '',
                  '| implementation | start-up to first step s | peak host RSS MiB | peak device MiB |',
                  '| --- | --- | --- | --- |']
        for impl in ('resnet-train', 'pytorch-tuned'):
            r = pick(impl, device, 'train_images_per_s', 64, 'fp32')
            if r:
                dev_mem = r.get('peak_device_mib', r.get('peak_gpu_allocated_mib'))
                lines.append(f'| {impl} | {fmt(r.get("startup_to_first_step_s"), 2)} | '
                             f'{fmt(r.get("peak_host_rss_mib"))} | {fmt(dev_mem)} |')
        curve = [r for r in rows if r.get('kind') == 'time_to_accuracy' and r['device'] == device]
        if curve:
            lines += ['', f'## {device}: time to accuracy (seed recipe, evaluation not counted)', '',
                      '| implementation | epochs run | to 98.5% s | to 99.0% s | final accuracy % |',
                      '| --- | --- | --- | --- | --- |']
            for impl in ('resnet-train', 'pytorch-tuned', 'pytorch-seed'):
                rs = {r['target']: r for r in curve if r['impl'] == impl}
                if not rs:
                    continue
                final = [r['test_accuracy'] for r in rows if r.get('kind') == 'curve'
                         and r['impl'] == impl and r['device'] == device][-1:]
                lines.append(f'| {impl} | {rs[98.5]["epochs_run"]} | {fmt(rs[98.5]["train_time_s"], 2)} | '
                             f'{fmt(rs[99.0]["train_time_s"], 2)} | {fmt(final[0], 2) if final else "-"} |')
        ops = [r for r in rows if r.get('kind') == 'op_profile' and r['device'] == device]
        if ops:
            lines += ['', f'## {device}: where the time goes (one training step, batch 64)', '',
                      '| op | ms | GFLOP/s |', '| --- | --- | --- |']
            for r in ops:
                lines.append(f'| {r["op"]} | {r["ms"]:.4f} | {r["gflops"]:.1f} |')
            peak = [r for r in ops if r.get('peak_gflops')]
            if peak and peak[0]['peak_gflops']:
                p = peak[0]
                lines += ['', f'All convolutions together: {p["gflops"]:.1f} GFLOP/s, '
                              f'{100 * p["gflops"] / p["peak_gflops"]:.1f}% of this CPU\'s measured FP32 '
                              f'peak of {p["peak_gflops"]:.1f} GFLOP/s on {p["threads"]} threads (a loop of '
                              f'independent vector fused multiply-adds, 2 FLOP each; see bench/op_profile.c).']
        lines.append('')
    return '\n'.join(lines)


def plots(rows, out, batch_sizes):
    try:
        import matplotlib
        matplotlib.use('Agg')
        import matplotlib.pyplot as plt
    except ImportError:
        return 'matplotlib is not installed: no plots'
    meas = [r for r in rows if r.get('kind') == 'measurement' and r.get('metric') == 'train_images_per_s']
    fig, ax = plt.subplots(figsize=(7, 4.5))
    series = {}
    for r in meas:
        prec = r.get('precision', 'tf32' if r.get('tf32') else 'fp32')
        key = f'{r["impl"]} ({r["device"]}{", tf32" if prec == "tf32" else ""})'
        series.setdefault(key, []).append((r['batch_size'], r['value']))
    for key, pts in sorted(series.items()):
        pts.sort()
        ax.plot([p[0] for p in pts], [p[1] for p in pts], marker='o', label=key)
    ax.set_xscale('log', base=2)
    ax.set_yscale('log')
    ax.set_xticks(batch_sizes, [str(b) for b in batch_sizes])
    ax.set_xlabel('batch size')
    ax.set_ylabel('training images / s')
    ax.set_title('Training throughput')
    ax.grid(True, which='both', alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(os.path.join(out, 'throughput.svg'))
    plt.close(fig)
    curve = [r for r in rows if r.get('kind') == 'curve']
    if curve:
        fig, ax = plt.subplots(figsize=(7, 4.5))
        for key in sorted({(r['impl'], r['device']) for r in curve}):
            pts = [r for r in curve if (r['impl'], r['device']) == key]
            ax.plot([r['train_time_s'] for r in pts], [r['test_accuracy'] for r in pts],
                    marker='.', label=f'{key[0]} ({key[1]})')
        ax.set_xscale('log')
        ax.set_xlabel('training wall time, s (evaluation excluded)')
        ax.set_ylabel('test accuracy, %')
        ax.set_ylim(96, 99.6)
        ax.axhline(98.5, color='gray', lw=0.5)
        ax.axhline(99.0, color='gray', lw=0.5)
        ax.set_title('Test accuracy against training time (seed recipe)')
        ax.grid(True, which='both', alpha=0.3)
        ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(os.path.join(out, 'accuracy.svg'))
        plt.close(fig)
    return None


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--build', default=os.path.join(REPO, 'build'), help='the Meson build folder')
    p.add_argument('--devices', default='cpu', help='comma-separated: cpu, cuda')
    p.add_argument('--threads', type=int, default=os.cpu_count())
    p.add_argument('--batch-sizes', type=int, nargs='+', default=[64, 256, 1024])
    p.add_argument('--repeats', type=int, default=3)
    p.add_argument('--warmup-steps', type=int, default=10)
    p.add_argument('--max-steps', type=int, default=200,
                   help='resnet-train: timed steps per run (0: whole epochs); epoch times are then '
                        'extrapolated (60000 / images per second)')
    p.add_argument('--peer-max-steps', type=int, default=200,
                   help='the same for the PyTorch peers (0: whole epochs)')
    p.add_argument('--seed-program', default=os.path.join(REPO, '..', 'shared', 'reference',
                                                          'seed_resnet_mnist.py'))
    p.add_argument('--curve-epochs', type=int, default=26)
    p.add_argument('--peer-curve-epochs', type=int, default=0,
                   help='epochs of the tuned PyTorch curve (default: --curve-epochs)')
    p.add_argument('--peer-tf32', action='store_true', help='also time the tuned PyTorch baseline in TF32')
    p.add_argument('--no-curve', action='store_true', help='skip accuracy against time')
    p.add_argument('--curve-seed', action='store_true', help='also the seed program\'s curve (slow)')
    p.add_argument('--no-peers', action='store_true', help='measure resnet-train alone')
    p.add_argument('--data', default=os.environ.get('RESNET_TRAIN_DATA') or
                   os.path.join(REPO, '..', 'shared', 'data', 'mnist'))
    p.add_argument('--out', default=None, help='results folder (default bench/results/<devices>)')
    args = p.parse_args(argv)
    args.argv = argv
    args.data = os.path.abspath(args.data)
    out = args.out or os.path.join(REPO, 'bench', 'results', args.devices.replace(',', '-'))
    os.makedirs(out, exist_ok=True)
    info = machine_info(os.path.abspath(args.build))
    bench = Bench(args)
    for device in args.devices.split(','):
        try:
            bench.run_device(device.strip())
        except RuntimeError as e:
            bench.notes.append(f'{device}: {e}'.splitlines()[0])
            log(str(e))
    rows = [info] + bench.rows
    with open(os.path.join(out, 'results.jsonl'), 'w') as f:
        for r in rows:
            f.write(json.dumps(r) + '\n')
    note = plots(bench.rows, out, args.batch_sizes)
    if note:
        bench.notes.append(note)
    md = report(bench.rows, bench.notes, info, args)
    with open(os.path.join(out, 'results.md'), 'w') as f:
        f.write(md)
    print(md)
    log(f'results in {out}')


if __name__ == '__main__':
    main()
