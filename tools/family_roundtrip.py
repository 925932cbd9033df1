#!/usr/bin/env python3
"""The round trip between resnet-train and torchvision for the ResNet family.

For each network asked for (default resnet18 and resnet20):
 (a) resnet-train trains it briefly on MNIST (--train-limit images, one
     epoch) and saves A.safetensors; PyTorch builds the same network
     (torchvision's resnet18(num_classes=10) with a 1-channel conv1, or
     tools/torch_models.py for the CIFAR ResNets), loads A with
     load_state_dict(strict=True), and tests it in evaluation mode on the
     first --test-limit test images: the same images right, the same
     average loss (to FP32 summation order) as `resnet-train evaluate A`;
 (b) PyTorch trains its own copy on the same --train-limit images (Adam,
     batch 64, file order) and saves safetensors.torch.save_file(
     model.state_dict(), B.safetensors); `resnet-train evaluate B --model
     NAME --json` must agree with PyTorch's test of it, and
 (c) `resnet-train --init B --model NAME --epochs 0` starts from it (test
     only) with the same result.

Needs PyTorch, torchvision and safetensors (the build and tests do not).

  python3 tools/family_roundtrip.py [--bin build/resnet-train] [--data DIR]
      [--nets resnet18 resnet20] [--markdown FILE]
"""
import argparse
import datetime
import json
import os
import platform
import re
import subprocess
import sys
import tempfile

import numpy as np
import torch
import torch.nn.functional as F
import torchvision
from safetensors.torch import load_file, save_file

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, 'tools'))
import torch_models  # noqa: E402
from seed_model import IMAGES_MAGIC, LABELS_MAGIC, read_idx  # noqa: E402

DEFAULT_DATA = os.environ.get('RESNET_TRAIN_DATA') or os.path.join(REPO, '..', 'shared', 'data',
                                                                   'mnist')
log = []


def say(*a):
    line = ' '.join(str(x) for x in a)
    print(line, flush=True)
    log.append(line)


def run(cmd):
    say('$', ' '.join(cmd))
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        say(r.stdout, r.stderr)
        sys.exit(f'failed: {" ".join(cmd)}')
    return r.stdout


def test_pass(model, images, labels, batch=64):
    """The seed's test pass in evaluation mode: correct count, mean of batch losses."""
    model.eval()
    correct, losses = 0, []
    with torch.no_grad():
        for s in range(0, len(images), batch):
            x = images[s:s + batch].to(torch.float32).div(255).unsqueeze(1)
            y = labels[s:s + batch]
            z = model(x)
            losses.append(float(F.cross_entropy(z, y)))
            correct += int((z.argmax(1) == y).sum())
    return correct, sum(losses) / len(losses)


def evaluate_json(out):
    d = json.loads(out.strip().splitlines()[-1])
    return d['correct'], d['avg_loss']


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--bin', default=os.path.join(REPO, 'build', 'resnet-train'))
    p.add_argument('--data', default=DEFAULT_DATA)
    p.add_argument('--nets', nargs='+', default=['resnet18', 'resnet20'])
    p.add_argument('--train-limit', type=int, default=3200)
    p.add_argument('--test-limit', type=int, default=2000)
    p.add_argument('--threads', type=int, default=2)
    p.add_argument('--markdown')
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    test_x = torch.from_numpy(read_idx(os.path.join(a.data, 't10k-images-idx3-ubyte.gz'),
                                       IMAGES_MAGIC)[:a.test_limit].copy())
    test_y = torch.from_numpy(read_idx(os.path.join(a.data, 't10k-labels-idx1-ubyte.gz'),
                                       LABELS_MAGIC)[:a.test_limit].astype(np.int64))
    train_x = torch.from_numpy(read_idx(os.path.join(a.data, 'train-images-idx3-ubyte.gz'),
                                        IMAGES_MAGIC)[:a.train_limit].copy())
    train_y = torch.from_numpy(read_idx(os.path.join(a.data, 'train-labels-idx1-ubyte.gz'),
                                        LABELS_MAGIC)[:a.train_limit].astype(np.int64))
    work = tempfile.mkdtemp(prefix='family-roundtrip-')
    say(f'torch {torch.__version__}, torchvision {torchvision.__version__}, {a.threads} threads; '
        f'resnet-train {a.bin}')
    rows, ok = [], True
    common = ['--device', 'cpu', '--threads', str(a.threads), '--data', a.data, '--no-download',
              '--test-limit', str(a.test_limit)]
    for name in a.nets:
        say(f'\n== {name}')
        # (a) ours -> torchvision
        ck = os.path.join(work, f'{name}_A.safetensors')
        run([a.bin, '--model', name, '--epochs', '1', '--train-limit', str(a.train_limit),
             '--save', ck] + common)
        ours = evaluate_json(run([a.bin, 'evaluate', ck, '--json'] + common))
        model = torch_models.build(name, 1, 10)
        missing = model.load_state_dict(load_file(ck), strict=True)
        say(f'  PyTorch load_state_dict(strict=True): {missing}')
        theirs = test_pass(model, test_x, test_y)
        rows.append((name, '(a) trained by resnet-train', ours, theirs))
        # (b) torchvision -> ours
        model = torch_models.build(name, 1, 10)
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        model.train()
        for s in range(0, a.train_limit, 64):
            opt.zero_grad()
            x = train_x[s:s + 64].to(torch.float32).div(255).unsqueeze(1)
            F.cross_entropy(model(x), train_y[s:s + 64]).backward()
            opt.step()
        b = os.path.join(work, f'{name}_B.safetensors')
        save_file(model.state_dict(), b)
        theirs = test_pass(model, test_x, test_y)
        ours = evaluate_json(run([a.bin, 'evaluate', b, '--model', name, '--json'] + common))
        rows.append((name, '(b) trained by PyTorch', ours, theirs))
        out = run([a.bin, '--init', b, '--model', name, '--epochs', '0'] + common)
        m = re.search(r'Accuracy:([0-9.]+)%,Avg loss:([0-9.eE+-]+)', out)
        init = (round(float(m.group(1)) * a.test_limit / 100), float(m.group(2)))
        rows.append((name, '(c) --init B --epochs 0', init, theirs))
    say('\n| network | check | resnet-train correct | PyTorch correct | resnet-train avg loss '
        '| PyTorch avg loss | relative difference |')
    say('|---|---|---|---|---|---|---|')
    for name, what, ours, theirs in rows:
        rel = abs(ours[1] - theirs[1]) / abs(theirs[1])
        agree = abs(ours[0] - theirs[0]) <= 1 and rel <= 1e-4
        ok &= agree
        say(f'| {name} | {what} | {ours[0]} | {theirs[0]} | {ours[1]:.9f} | {theirs[1]:.9f} | '
            f'{rel:.2g}{"" if agree else " DISAGREE"} |')
    if a.markdown:
        with open(a.markdown, 'w') as f:
            f.write('# Round trip with torchvision: the ResNet family\n\n'
                    'Recorded by [`tools/family_roundtrip.py`](../tools/family_roundtrip.py) '
                    f'on {datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}'
                    f', {platform.machine()}, torch {torch.__version__}, torchvision '
                    f'{torchvision.__version__}. Checks (see the script): (a) resnet-train trains '
                    'and saves, PyTorch loads the file with `load_state_dict(strict=True)` into '
                    'its own model and tests it; (b) PyTorch trains its model a few steps and '
                    'saves its `state_dict` with `safetensors.torch.save_file`, `resnet-train '
                    'evaluate --model NAME` tests it; (c) `--init` from that file. Evaluation '
                    'mode (BatchNorm running statistics) on both sides, the first '
                    f'{a.test_limit} test images.\n\n```\n' + '\n'.join(log) + '\n```\n')
    sys.exit(0 if ok else 1)


if __name__ == '__main__':
    main()
