#!/usr/bin/env python3
"""The round trip between resnet-train and PyTorch, both directions.

 (a) resnet-train trains one epoch and saves A.safetensors; PyTorch loads it
     into the seed's model (load_state_dict, strict) and runs the seed's test
     pass: both must count the same correct test images (within a couple, for
     FP32 summation order) and report the same average loss.
 (b) PyTorch trains the seed's model one epoch with the seed's recipe (Adam
     lr 1e-3, batch 64, file order, torch.manual_seed(SEED) before building
     the model, as the seed program with --seed SEED) and saves
     safetensors.torch.save_file(model.state_dict(), B.safetensors); PyTorch
     tests it, then `resnet-train evaluate B.safetensors --json` must agree.
 (c) (skip with --no-init-check) `resnet-train --init B.safetensors
     --epochs 0` (no training, just the test) must report PyTorch's accuracy.

The test pass is the seed's: batches of 64 in file order, the average loss is
the mean of the 157 batch-mean losses, the accuracy correct / 10000.

Needs PyTorch and safetensors (the project's build and tests do not); runs in
a few minutes on 2 CPU cores. Prints a table and a JSON summary; exits 1 if a
direction disagrees by more than --max-diff images or the losses by more than
--loss-rtol.

  python3 tools/pytorch_roundtrip.py [--bin build/resnet-train] [--data DIR]
      [--threads N] [--workdir DIR] [--json FILE] [--markdown FILE]
"""
import argparse
import datetime
import json
import os
import platform
import re
import shlex
import subprocess
import sys
import tempfile
import time

import numpy as np
import safetensors
import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, 'tools'))
from seed_model import IMAGES_MAGIC, LABELS_MAGIC, ResNet, read_idx, to_input  # noqa: E402

DEFAULT_DATA = os.environ.get('RESNET_TRAIN_DATA') or os.path.join(REPO, '..', 'shared', 'data', 'mnist')
BATCH = 64
LR = 1e-3

log_lines = []


def say(*a):
    line = ' '.join(str(x) for x in a)
    print(line, flush=True)
    log_lines.append(line)


# --------------------------------------------------------------------------
# data

def mnist_dir(d):
    """The folder holding the .gz files: DIR itself or DIR/MNIST/raw."""
    for cand in (d, os.path.join(d, 'MNIST', 'raw')):
        if os.path.exists(os.path.join(cand, 't10k-images-idx3-ubyte.gz')):
            return cand
    sys.exit(f'no MNIST .gz files in {d} or {d}/MNIST/raw (use --data)')


def load_split(d, prefix):
    images = read_idx(os.path.join(d, f'{prefix}-images-idx3-ubyte.gz'), IMAGES_MAGIC)
    labels = read_idx(os.path.join(d, f'{prefix}-labels-idx1-ubyte.gz'), LABELS_MAGIC)
    return torch.from_numpy(images.copy()), torch.from_numpy(labels.astype(np.int64))


def batches(images, labels):
    """DataLoader(batch_size=64) without shuffling; the last batch is kept."""
    for s in range(0, len(labels), BATCH):
        yield to_input(images[s:s + BATCH]), labels[s:s + BATCH]


# --------------------------------------------------------------------------
# the seed's train and test passes

def seed_test(model, test):
    model.eval()
    loss_sum, correct, n_batches = 0.0, 0, 0
    with torch.no_grad():
        for x, y in batches(*test):
            pred = model(x)
            loss_sum += F.cross_entropy(pred, y).item()
            correct += int((pred.argmax(1) == y).sum().item())
            n_batches += 1
    n = len(test[1])
    return {'correct': correct, 'images': n, 'accuracy': 100 * (correct / n),
            'avg_loss': loss_sum / n_batches}


def seed_train_epoch(model, train):
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=LR)
    step = 0
    for x, y in batches(*train):
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        step += 1
        if step % 100 == 0:
            say(f'  pytorch loss:{loss.item():7f}  [number:{step}]')
    return step


# --------------------------------------------------------------------------
# resnet-train

def run_bin(args, cmd):
    say('$ ' + ' '.join(shlex.quote(c) for c in cmd))
    t = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True)
    dt = time.perf_counter() - t
    if p.returncode != 0:
        print(p.stdout, p.stderr, sep='\n', file=sys.stderr)
        sys.exit(f'resnet-train exited {p.returncode}')
    return p.stdout, dt


ACC_RE = re.compile(r'^ Accuracy:([0-9.]+)%,Avg loss:([0-9.eE+-]+)$', re.M)


def parse_seed_result(out):
    """The seed's closing lines: 'Test result: ' / ' Accuracy:X%,Avg loss:Y'."""
    m = ACC_RE.findall(out)
    if not m:
        sys.exit('resnet-train printed no "Accuracy:...%,Avg loss:..." line:\n' + out)
    acc, loss = m[-1]
    return {'correct': round(float(acc) * 100), 'images': 10000, 'accuracy': float(acc),
            'avg_loss': float(loss)}


def common_opts(args):
    opts = ['--device', 'cpu', '--data', args.data]
    if args.threads:
        opts += ['--threads', str(args.threads)]
    return opts


def evaluate_json(args, ckpt):
    out, dt = run_bin(args, [args.bin, 'evaluate', ckpt, '--json'] + common_opts(args))
    r = json.loads(out)
    return {k: r[k] for k in ('correct', 'images', 'accuracy', 'avg_loss')}, dt


# --------------------------------------------------------------------------

def compare(name, ours, theirs, args):
    d_correct = ours['correct'] - theirs['correct']
    d_loss = ours['avg_loss'] - theirs['avg_loss']
    rel = abs(d_loss) / max(abs(theirs['avg_loss']), 1e-30)
    ok = abs(d_correct) <= args.max_diff and rel <= args.loss_rtol
    return {'check': name, 'resnet_train': ours, 'pytorch': theirs,
            'correct_diff': d_correct, 'avg_loss_diff': d_loss, 'avg_loss_rel_diff': rel,
            'agree': ok}


def table(rows):
    head = ('check', 'side', 'correct', 'accuracy %', 'avg loss')
    body = []
    for r in rows:
        for side in ('resnet_train', 'pytorch'):
            v = r[side]
            body.append((r['check'] if side == 'resnet_train' else '',
                         v['who'], str(v['correct']), f"{v['accuracy']:.2f}",
                         f"{v['avg_loss']:.10f}"))
        body.append(('', 'difference', f"{r['correct_diff']:+d}", '',
                     f"{r['avg_loss_diff']:+.3e} (rel {r['avg_loss_rel_diff']:.1e})"
                     + ('  agree' if r['agree'] else '  DISAGREE')))
    w = [max(len(head[i]), *(len(b[i]) for b in body)) for i in range(len(head))]
    fmt = lambda cells: '| ' + ' | '.join(c.ljust(w[i]) for i, c in enumerate(cells)) + ' |'  # noqa: E731
    lines = [fmt(head), '|' + '|'.join('-' * (x + 2) for x in w) + '|'] + [fmt(b) for b in body]
    return lines


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--bin', default=os.path.join('build', 'resnet-train'),
                    help='the resnet-train executable (default: build/resnet-train)')
    ap.add_argument('--data', default=DEFAULT_DATA,
                    help='MNIST folder with the .gz files, flat or DIR/MNIST/raw '
                         '(default: $RESNET_TRAIN_DATA or ../shared/data/mnist)')
    ap.add_argument('--threads', type=int, default=None,
                    help='CPU threads for both sides (default: each one\'s default)')
    ap.add_argument('--seed', type=int, default=0, help='torch.manual_seed for (b) (0)')
    ap.add_argument('--workdir', help='keep A/B.safetensors here (default: a temporary folder)')
    ap.add_argument('--no-init-check', action='store_true', help='skip (c)')
    ap.add_argument('--max-diff', type=int, default=2,
                    help='correct counts may differ by this many images (2)')
    ap.add_argument('--loss-rtol', type=float, default=1e-4,
                    help='average losses may differ by this relative amount (1e-4)')
    ap.add_argument('--json', help='also write the JSON summary here')
    ap.add_argument('--markdown', help='write a Markdown record of the run here')
    args = ap.parse_args()
    args.bin = os.path.abspath(args.bin)
    if not os.access(args.bin, os.X_OK):
        sys.exit(f'{args.bin}: no resnet-train executable (build it, or pass --bin)')
    args.data = os.path.abspath(args.data)
    data = mnist_dir(args.data)
    if args.threads:
        torch.set_num_threads(args.threads)

    tmp = None
    if args.workdir:
        os.makedirs(args.workdir, exist_ok=True)
        work = args.workdir
    else:
        tmp = tempfile.TemporaryDirectory(prefix='roundtrip-')
        work = tmp.name
    path_a = os.path.join(work, 'A.safetensors')
    path_b = os.path.join(work, 'B.safetensors')

    version = subprocess.run([args.bin, '--version'], capture_output=True, text=True).stdout.strip()
    say(f'resnet-train: {args.bin} ({version})')
    say(f'torch {torch.__version__}, safetensors {safetensors.__version__}, numpy {np.__version__}, '
        f'Python {platform.python_version()}, {torch.get_num_threads()} torch threads')
    say(f'MNIST: {data}')
    train, test = load_split(data, 'train'), load_split(data, 't10k')
    timings = {}
    rows = []

    # ---- (a) resnet-train -> PyTorch
    say('\n(a) resnet-train trains 1 epoch, PyTorch tests its checkpoint')
    out, timings['a_resnet_train_s'] = run_bin(
        args, [args.bin, '--epochs', '1', '--save', path_a, '--no-download'] + common_opts(args))
    ours_a = parse_seed_result(out)
    say('  resnet-train printed: ' + ACC_RE.search(out).group(0).strip())
    model = ResNet()
    sd = load_file(path_a)
    model.load_state_dict(sd)  # strict: every name and shape must match
    say(f'  PyTorch: load_state_dict(load_file(A)) took all {len(sd)} tensors, strict')
    t = time.perf_counter()
    torch_a = seed_test(model, test)
    timings['a_pytorch_test_s'] = time.perf_counter() - t
    say(f"  PyTorch test: Accuracy:{torch_a['accuracy']}%,Avg loss:{torch_a['avg_loss']}")
    ours_a['who'], torch_a['who'] = 'resnet-train (its test after training)', 'PyTorch (seed test pass)'
    rows.append(compare('(a) trained by resnet-train', ours_a, torch_a, args))

    # ---- (b) PyTorch -> resnet-train
    say(f'\n(b) PyTorch trains the seed model 1 epoch (torch.manual_seed({args.seed})), '
        'resnet-train evaluates it')
    torch.manual_seed(args.seed)
    model = ResNet()
    t = time.perf_counter()
    steps = seed_train_epoch(model, train)
    timings['b_pytorch_train_s'] = time.perf_counter() - t
    say(f"  {steps} steps in {timings['b_pytorch_train_s']:.1f} s")
    torch_b = seed_test(model, test)
    say(f"  PyTorch test: Accuracy:{torch_b['accuracy']}%,Avg loss:{torch_b['avg_loss']}")
    save_file(model.state_dict(), path_b)
    say('  saved with safetensors.torch.save_file(model.state_dict(), B)')
    ours_b, timings['b_resnet_train_evaluate_s'] = evaluate_json(args, path_b)
    say(f'  resnet-train evaluate --json: {json.dumps(ours_b)}')
    ours_b['who'], torch_b['who'] = 'resnet-train evaluate --json', 'PyTorch (seed test pass)'
    rows.append(compare('(b) trained by PyTorch', ours_b, torch_b, args))

    # ---- (c) --init from the PyTorch-saved file, no training
    if not args.no_init_check:
        say('\n(c) resnet-train --init B.safetensors --epochs 0 (no training: just the test)')
        out, timings['c_resnet_train_s'] = run_bin(
            args, [args.bin, '--init', path_b, '--epochs', '0', '--no-download'] + common_opts(args))
        ours_c = parse_seed_result(out)
        say('  resnet-train printed: ' + ACC_RE.search(out).group(0).strip())
        ours_c['who'] = 'resnet-train --init B --epochs 0'
        torch_c = dict(torch_b, who='PyTorch (seed test pass)')
        rows.append(compare('(c) --init with B', ours_c, torch_c, args))

    say('')
    for line in table(rows):
        say(line)
    ok = all(r['agree'] for r in rows)
    summary = {
        'date': datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='seconds'),
        'torch': torch.__version__, 'safetensors': safetensors.__version__,
        'resnet_train': version, 'threads': torch.get_num_threads(), 'seed': args.seed,
        'max_diff': args.max_diff, 'loss_rtol': args.loss_rtol,
        'checks': rows, 'timings_s': {k: round(v, 2) for k, v in timings.items()},
        'agree': ok,
    }
    say('\nJSON summary:')
    js = json.dumps(summary, indent=2)
    say(js)
    say('\nround trip: ' + ('both directions agree' if ok else 'DISAGREEMENT'))
    if args.json:
        with open(args.json, 'w') as f:
            f.write(js + '\n')
    if args.markdown:
        write_markdown(args, summary, rows)
    if tmp:
        tmp.cleanup()
    return 0 if ok else 1


def write_markdown(args, summary, rows):
    cmd = 'python3 ' + ' '.join(shlex.quote(a) for a in sys.argv)
    with open(args.markdown, 'w') as f:
        f.write('# Round trip with PyTorch\n\n')
        f.write('Recorded by [`tools/pytorch_roundtrip.py`](../tools/pytorch_roundtrip.py): '
                '(a) resnet-train trains one epoch, PyTorch loads the checkpoint into the '
                "seed's model and runs the seed's test pass; (b) PyTorch trains the seed's "
                'model one epoch and saves its `state_dict` with safetensors, resnet-train '
                'evaluates it; (c) resnet-train starts from that PyTorch file with `--init` '
                'and `--epochs 0` (test only).\n\n')
        f.write(f"- date: {summary['date']}\n- torch {summary['torch']} (CPU), safetensors "
                f"{summary['safetensors']}, Python {platform.python_version()}, "
                f"{summary['threads']} threads\n- {summary['resnet_train']}\n"
                f'- machine: {platform.machine()}, {os.cpu_count()} CPUs\n\n')
        f.write('```\n' + cmd + '\n```\n\n')
        f.write('\n'.join(table(rows)) + '\n\n')
        worst = max(abs(r['correct_diff']) for r in rows)
        rel = max(r['avg_loss_rel_diff'] for r in rows)
        f.write(('Every check agrees: ' if summary['agree'] else '**Disagreement**: ')
                + ('the same count of correct test images on both sides' if worst == 0 else
                   f'correct counts differ by at most {worst} image(s)')
                + f'; the average losses differ by at most {rel:.1e} relative (FP32 '
                'summation order). The checkpoints are plain safetensors files of the '
                'state_dict, loaded with `strict` `load_state_dict` on the PyTorch side.\n\n')
        f.write('The run\'s output:\n\n```\n' + '\n'.join(log_lines).strip() + '\n```\n')


if __name__ == '__main__':
    sys.exit(main())
