#!/usr/bin/env python3
"""The PyTorch side of bench/recipe_mnist.sh: the same network (built by
tools/torch_models.py) trained on the real MNIST files with the same
recipe as resnet-train's `--recipe small-onecycle --no-flip --crop-pad 2`:
SGD lr 0.2 with Nesterov momentum 0.9, weight decay 5e-4 on all but 1-D
parameters, OneCycleLR per step (pct_start 0.25, cycle_momentum=False),
CrossEntropyLoss(label_smoothing=0.1), RandomCrop(28, padding=2) on the
uint8 images, shuffled batches of 128, ToTensor scaling. Prints one JSON
line per epoch: test accuracy (eval mode) and the training seconds so far.

  python3 bench/recipe_torch.py --data DIR --model resnet20 --epochs 6 --threads 2
"""
import argparse
import gzip
import json
import os
import struct
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                'tools'))
import torch_models  # noqa: E402


def idx(path):
    for p in (path, path + '.gz'):
        if os.path.exists(p):
            raw = open(p, 'rb').read()
            if raw[:2] == b'\x1f\x8b':
                raw = gzip.decompress(raw)
            magic, = struct.unpack('>I', raw[:4])
            nd = magic & 0xff
            dims = struct.unpack('>' + 'I' * nd, raw[4:4 + 4 * nd])
            return torch.frombuffer(bytearray(raw[4 + 4 * nd:]), dtype=torch.uint8).reshape(dims)
    raise SystemExit(f'{path}: not found')


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--data', required=True)
    p.add_argument('--model', default='resnet20')
    p.add_argument('--epochs', type=int, default=6)
    p.add_argument('--threads', type=int, default=2)
    p.add_argument('--seed', type=int, default=0)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    xtr = idx(os.path.join(a.data, 'train-images-idx3-ubyte')).unsqueeze(1)
    ytr = idx(os.path.join(a.data, 'train-labels-idx1-ubyte')).long()
    xte = idx(os.path.join(a.data, 't10k-images-idx3-ubyte')).unsqueeze(1).float() / 255
    yte = idx(os.path.join(a.data, 't10k-labels-idx1-ubyte')).long()
    model = torch_models.build(a.model, 1, 10)
    decay = [q for q in model.parameters() if q.ndim > 1]
    no_decay = [q for q in model.parameters() if q.ndim <= 1]
    opt = torch.optim.SGD([{'params': decay, 'weight_decay': 5e-4},
                           {'params': no_decay, 'weight_decay': 0.0}],
                          lr=0.2, momentum=0.9, nesterov=True)
    batch = 128
    steps = (len(xtr) + batch - 1) // batch
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.2, total_steps=a.epochs * steps,
                                                pct_start=0.25, cycle_momentum=False)
    loss_fn = torch.nn.CrossEntropyLoss(label_smoothing=0.1)
    padded = torch.nn.functional.pad(xtr, (2, 2, 2, 2))
    trained = 0.0
    for epoch in range(a.epochs):
        model.train()
        t0 = time.perf_counter()
        order = torch.randperm(len(xtr))
        for s in range(steps):
            idxs = order[s * batch:(s + 1) * batch]
            n = len(idxs)
            dy = torch.randint(0, 5, (n,))
            dx = torch.randint(0, 5, (n,))
            rows = (dy[:, None] + torch.arange(28))[:, :, None]
            cols = (dx[:, None] + torch.arange(28))[:, None, :]
            xb = padded[idxs][torch.arange(n)[:, None, None], 0, rows, cols].unsqueeze(1)
            xb = xb.float() / 255
            loss = loss_fn(model(xb), ytr[idxs])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
        trained += time.perf_counter() - t0
        model.eval()
        correct = 0
        with torch.no_grad():
            for s in range(0, len(xte), 500):
                correct += (model(xte[s:s + 500]).argmax(1) == yte[s:s + 500]).sum().item()
        print(json.dumps({'peer': 'pytorch', 'model': a.model, 'epoch': epoch + 1,
                          'accuracy': 100.0 * correct / len(xte),
                          'train_seconds': round(trained, 1)}), flush=True)


if __name__ == '__main__':
    main()
