#!/usr/bin/env python3
"""Record PyTorch reference values for resnet-train's parity tests.

Builds the seed's residual network (same module names, so the same state_dict
names, and the same construction order, so torch.manual_seed(0) draws the same
initial weights as the seed program run with --seed 0), then records into ONE
safetensors file, all in strict FP32 on the CPU with one thread and
deterministic algorithms:

  init.<param>            the 14 initial parameter tensors (PyTorch default init)
  first.* / last.*        training batch 0 (images 0..63) and the last, partial
                          batch (images 59968..59999): raw images (U8), labels
                          (I64), logits, loss and the gradient of every parameter,
                          all from the initial weights; first.x is the F32 input
  adam5.<param>           parameters after 5 Adam steps (lr 1e-3, defaults,
                          single-tensor path: foreach=False, fused=False) on
                          training batches 0..4 in file order, from init.*
  adam5.losses            the loss of each of those 5 steps
  adam5.grad<k>.<param>   the gradient PyTorch's step k (1..4) used (step 0's is
                          first.grad.*): the tests feed them to our optimiser
  adam5.images/.labels    the 320 images and labels of those 5 batches, so the
                          Adam test needs no MNIST files

and, beside it, pytorch_init.safetensors: the initial weights alone, as
safetensors.torch.save_file(model.state_dict()) writes them.

PyTorch is needed only to regenerate the file; the build and the tests read the
committed output. Usage (from the repository root):

  python3 tools/make_fixtures.py                  # writes tests/fixtures/pytorch_seed.safetensors
  python3 tools/make_fixtures.py --check          # re-verifies the committed file
  python3 tools/make_fixtures.py --check --seed-program ../shared/reference/seed_resnet_mnist.py
"""
import argparse
import ast
import json
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from seed_model import IMAGES_MAGIC, LABELS_MAGIC, ResNet, read_idx, to_input  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_DATA = os.path.join(REPO, '..', 'shared', 'data', 'mnist')
DEFAULT_OUT = os.path.join(REPO, 'tests', 'fixtures', 'pytorch_seed.safetensors')

SEED = 0
BATCH = 64
N_TRAIN = 60000
FIRST = (0, 64)                 # images [0, 64)
LAST = (937 * BATCH, N_TRAIN)   # images [59968, 60000): 32 images
ADAM_STEPS = 5
ADAM_LR = 1e-3


# --------------------------------------------------------------------------
# Data: the IDX files, parsed directly.

def load_train(data_dir):
    images = read_idx(os.path.join(data_dir, 'train-images-idx3-ubyte.gz'), IMAGES_MAGIC)
    labels = read_idx(os.path.join(data_dir, 'train-labels-idx1-ubyte.gz'), LABELS_MAGIC)
    if images.shape != (N_TRAIN, 28, 28) or labels.shape != (N_TRAIN,):
        raise ValueError('unexpected MNIST training set shape')
    return images, labels


# The model and the input conversion: tools/seed_model.py.


def strict_cpu():
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    torch.set_default_dtype(torch.float32)


def make_adam(model):
    return torch.optim.Adam(model.parameters(), lr=ADAM_LR, foreach=False, fused=False)


def batch_grads(model, images_u8, labels):
    """Logits, loss and parameter gradients of one batch at the model's weights."""
    model.zero_grad(set_to_none=True)
    logits = model(to_input(images_u8))
    loss = F.cross_entropy(logits, labels)
    loss.backward()
    grads = {n: p.grad.detach().clone() for n, p in model.named_parameters()}
    model.zero_grad(set_to_none=True)
    return logits.detach().clone(), loss.detach().reshape(1).clone(), grads


def adam_steps(model, images_u8, labels):
    """The seed's loop for ADAM_STEPS batches of 64; returns the losses and
    the gradient each step used (for the tests that feed PyTorch's own
    gradients to our optimiser)."""
    opt = make_adam(model)
    losses, step_grads = [], []
    for s in range(ADAM_STEPS):
        xb = images_u8[s * BATCH:(s + 1) * BATCH]
        yb = labels[s * BATCH:(s + 1) * BATCH]
        loss = F.cross_entropy(model(to_input(xb)), yb)
        opt.zero_grad()
        loss.backward()
        step_grads.append({n: p.grad.detach().clone() for n, p in model.named_parameters()})
        opt.step()
        losses.append(loss.detach().reshape(()))
    return torch.stack(losses), step_grads


# --------------------------------------------------------------------------

def generate(data_dir, out):
    strict_cpu()
    images, labels = load_train(data_dir)
    images = torch.from_numpy(images.copy())
    labels = torch.from_numpy(labels.astype(np.int64))

    torch.manual_seed(SEED)
    model = ResNet()
    init = {n: p.detach().clone() for n, p in model.state_dict().items()}
    tensors = {f'init.{n}': t for n, t in init.items()}

    for tag, (a, b) in (('first', FIRST), ('last', LAST)):
        xb, yb = images[a:b].clone(), labels[a:b].clone()
        logits, loss, grads = batch_grads(model, xb, yb)
        tensors[f'{tag}.images'] = xb
        tensors[f'{tag}.labels'] = yb
        if tag == 'first':
            tensors[f'{tag}.x'] = to_input(xb).contiguous()
        tensors[f'{tag}.logits'] = logits
        tensors[f'{tag}.loss'] = loss
        for n, g in grads.items():
            tensors[f'{tag}.grad.{n}'] = g

    n5 = ADAM_STEPS * BATCH
    xa, ya = images[:n5].clone(), labels[:n5].clone()
    losses, step_grads = adam_steps(model, xa, ya)
    # step 0's gradient is first.grad.*; steps 1..4 are stored
    for k in range(1, ADAM_STEPS):
        for n, g in step_grads[k].items():
            tensors[f'adam5.grad{k}.{n}'] = g
    tensors['adam5.images'] = xa
    tensors['adam5.labels'] = ya
    tensors['adam5.losses'] = losses
    for n, p in model.state_dict().items():
        tensors[f'adam5.{n}'] = p.detach().clone()

    meta = {
        'description': 'PyTorch reference values for the seed ResNet on MNIST (see tests/fixtures/README.md)',
        'generator': 'tools/make_fixtures.py',
        'torch': torch.__version__,
        'numpy': np.__version__,
        'seed': str(SEED),
        'init': 'torch.manual_seed(0); PyTorch default Conv2d/Linear init in module construction order',
        'dtype': 'float32',
        'device': 'cpu',
        'threads': '1',
        'deterministic_algorithms': 'true',
        'mkldnn_enabled': str(torch.backends.mkldnn.enabled).lower(),
        'input': 'x = uint8 / 255 (float32 division), N x 1 x 28 x 28',
        'first_batch': f'train images [{FIRST[0]}, {FIRST[1]})',
        'last_batch': f'train images [{LAST[0]}, {LAST[1]})',
        'loss': 'CrossEntropyLoss, mean over the batch; stored with shape [1]',
        'adam5_batches': f'train batches 0..{ADAM_STEPS - 1} of {BATCH} in file order (images [0, {n5}))',
        'adam5_optimizer': f'torch.optim.Adam(lr={ADAM_LR}, betas=(0.9, 0.999), eps=1e-08, '
                           'weight_decay=0, amsgrad=False, foreach=False, fused=False); '
                           'optimizer.zero_grad() before each backward',
    }
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    save_file(tensors, out, metadata=meta)
    canonicalise_header(out)
    print(f'wrote {out}: {len(tensors)} tensors, {os.path.getsize(out)} bytes')
    # The initial weights alone, as PyTorch saves a state_dict: resnet-train
    # loads it with --init (the end-to-end test trains from it).
    init_out = os.path.join(os.path.dirname(os.path.abspath(out)), 'pytorch_init.safetensors')
    save_file(init, init_out, metadata={'format': 'pt'})
    print(f'wrote {init_out}: the 14 initial weights (torch.manual_seed({SEED}))')


def canonicalise_header(path):
    """Rewrites the JSON header with sorted keys, so that regenerating gives the
    same bytes (safetensors writes __metadata__ in hash-map order). The data
    offsets are relative to the end of the header and do not change."""
    with open(path, 'rb') as f:
        blob = f.read()
    n = int.from_bytes(blob[:8], 'little')
    header = json.loads(blob[8:8 + n])
    text = json.dumps(header, sort_keys=True, separators=(',', ':')).encode()
    text += b' ' * (-len(text) % 8)
    with open(path, 'wb') as f:
        f.write(len(text).to_bytes(8, 'little') + text + blob[8 + n:])


# --------------------------------------------------------------------------
# Verification of a written file against itself (and, optionally, the data
# files and the seed program).

def functional_forward(p, x):
    """The network written a second way, from the formula in seed-semantics.md."""
    a1 = F.relu(F.max_pool2d(F.conv2d(x, p['conv1.weight'], p['conv1.bias']), 2))
    r = F.conv2d(a1, p['resblock1.conv1.weight'], p['resblock1.conv1.bias'], padding=2)
    b1 = F.relu(F.conv2d(r, p['resblock1.conv2.weight'], p['resblock1.conv2.bias'], padding=1) + a1)
    a2 = F.relu(F.max_pool2d(F.conv2d(b1, p['conv2.weight'], p['conv2.bias']), 2))
    r = F.conv2d(a2, p['resblock2.conv1.weight'], p['resblock2.conv1.bias'], padding=2)
    b2 = F.relu(F.conv2d(r, p['resblock2.conv2.weight'], p['resblock2.conv2.bias'], padding=1) + a2)
    return F.linear(b2.reshape(b2.shape[0], -1), p['full_c.weight'], p['full_c.bias'])


def functional_grads(p, images_u8, labels, dtype):
    q = {n: t.to(dtype).clone().requires_grad_(True) for n, t in p.items()}
    x = (images_u8.to(torch.float32) / 255).unsqueeze(1).to(dtype)
    logits = functional_forward(q, x)
    loss = F.cross_entropy(logits, labels)
    loss.backward()
    return logits.detach(), loss.detach().reshape(1), {n: t.grad for n, t in q.items()}


def manual_adam(p, grads_fn, steps, dtype):
    """Adam written from the formula (PyTorch's single-tensor order of operations)."""
    b1, b2, eps, lr = 0.9, 0.999, 1e-8, ADAM_LR
    p = {n: t.to(dtype).clone() for n, t in p.items()}
    m = {n: torch.zeros_like(t) for n, t in p.items()}
    v = {n: torch.zeros_like(t) for n, t in p.items()}
    for t in range(1, steps + 1):
        g = grads_fn(t - 1, p)
        for n in p:
            m[n].lerp_(g[n], 1 - b1)
            v[n].mul_(b2).addcmul_(g[n], g[n], value=1 - b2)
            step_size = lr / (1 - b1 ** t)
            denom = (v[n].sqrt() / (1 - b2 ** t) ** 0.5).add_(eps)
            p[n].addcdiv_(m[n], denom, value=-step_size)
    return p


def max_rel(a, b):
    """max |a-b| / max(|b|) (a scale-relative error), as a float."""
    a, b = a.double(), b.double()
    return ((a - b).abs().max() / b.abs().max().clamp_min(1e-30)).item()


def seed_program_init(path):
    """torch.manual_seed(0) and the seed program's own ResNet class -> state_dict."""
    src = open(path).read()
    tree = ast.parse(src)
    keep = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom, ast.ClassDef))]
    keep = [n for n in keep if not (isinstance(n, ast.ImportFrom) and n.module and 'torchvision' in n.module)]
    ns = {}
    exec(compile(ast.Module(body=keep, type_ignores=[]), path, 'exec'), ns)
    torch.manual_seed(SEED)
    return ns['ResNet']().state_dict()


def check(path, data_dir, seed_program):
    strict_cpu()
    t = load_file(path)
    ok = True

    def expect(cond, what):
        nonlocal ok
        print(('ok   ' if cond else 'FAIL ') + what)
        ok = ok and bool(cond)

    names = [n for n, _ in ResNet().named_parameters()]
    init = {n: t[f'init.{n}'] for n in names}
    size = os.path.getsize(path)
    print(f'{path}: {len(t)} tensors, {size} bytes')
    # 1.9 MB, most of it the four per-step gradient sets of adam5.grad<k>
    expect(size < 2_500_000, 'file under 2.5 MB')
    expect(sum(v.numel() for v in init.values()) == 42790, '42790 parameters')
    for n, w in init.items():
        fan_in = w[0].numel() if w.dim() > 1 else None
        if fan_in is not None:
            bound = 1 / fan_in ** 0.5
            expect(w.abs().max().item() <= bound, f'init.{n} within 1/sqrt({fan_in})')

    if seed_program:
        sd = seed_program_init(seed_program)
        expect(all(torch.equal(sd[n], init[n]) for n in names),
               'init.* equal the seed program\'s weights after torch.manual_seed(0)')

    if data_dir and os.path.isdir(data_dir):
        images, labels = load_train(data_dir)
        for tag, (a, b) in (('first', FIRST), ('last', LAST)):
            expect(np.array_equal(t[f'{tag}.images'].numpy(), images[a:b]) and
                   np.array_equal(t[f'{tag}.labels'].numpy(), labels[a:b]),
                   f'{tag}.images/labels equal the IDX files [{a}, {b})')
        n5 = ADAM_STEPS * BATCH
        expect(np.array_equal(t['adam5.images'].numpy(), images[:n5]) and
               np.array_equal(t['adam5.labels'].numpy(), labels[:n5]),
               'adam5.images/labels equal the IDX files')

    x = t['first.x']
    expect(torch.equal(x, to_input(t['first.images'])), 'first.x == images / 255 (float32 division)')
    mul = t['first.images'].to(torch.float32) * (1 / torch.tensor(255, dtype=torch.float32))
    print(f'     (multiplying by 1/255.0f instead differs in {(mul.unsqueeze(1) != x).sum().item()} of {x.numel()} elements)')

    model = ResNet()
    model.load_state_dict(init)
    for tag in ('first', 'last'):
        xb, yb = t[f'{tag}.images'], t[f'{tag}.labels']
        logits, loss, grads = batch_grads(model, xb, yb)
        same = (torch.equal(logits, t[f'{tag}.logits']) and torch.equal(loss, t[f'{tag}.loss'])
                and all(torch.equal(grads[n], t[f'{tag}.grad.{n}']) for n in names))
        expect(same, f'{tag}: logits, loss, grads recomputed bit for bit (module)')
        fl, floss, fg = functional_grads(init, xb, yb, torch.float32)
        expect(torch.equal(fl, t[f'{tag}.logits']) and torch.equal(floss, t[f'{tag}.loss']),
               f'{tag}: functional forward gives the same logits and loss bit for bit')
        gmax = max(max_rel(fg[n], t[f'{tag}.grad.{n}']) for n in names)
        expect(gmax < 1e-5, f'{tag}: functional grads agree (max rel {gmax:.2e})')
        dl, dloss, dg = functional_grads(init, xb, yb, torch.float64)
        print(f'     {tag}: fp32 vs fp64: logits max rel {max_rel(t[f"{tag}.logits"], dl):.2e}, '
              f'loss rel {abs(t[f"{tag}.loss"].double() - dloss).item() / dloss.item():.2e}')
        for n in names:
            print(f'       grad {n:24s} max rel {max_rel(t[f"{tag}.grad.{n}"], dg[n]):.2e}')
        # The gradient of the loss with respect to the logits, by hand.
        z = t[f'{tag}.logits'].double()
        dz = (torch.softmax(z, 1) - F.one_hot(yb, 10).double()) / z.shape[0]
        expect(max_rel(t[f'{tag}.grad.full_c.bias'], dz.sum(0)) < 1e-5,
               f'{tag}: grad.full_c.bias == sum of (softmax - onehot) / N')

    xa, ya = t['adam5.images'], t['adam5.labels']
    model = ResNet()
    model.load_state_dict(init)
    losses, step_grads = adam_steps(model, xa, ya)
    sd = model.state_dict()
    expect(torch.equal(losses, t['adam5.losses']) and all(torch.equal(sd[n], t[f'adam5.{n}']) for n in names),
           'adam5: 5 torch.optim.Adam steps recomputed bit for bit')
    expect(all(torch.equal(step_grads[k][n], t[f'adam5.grad{k}.{n}'])
               for k in range(1, ADAM_STEPS) for n in names) and
           all(torch.equal(step_grads[0][n], t[f'first.grad.{n}']) for n in names),
           'adam5.grad<k>: the gradients of the 5 steps recomputed bit for bit')
    init_file = load_file(os.path.join(os.path.dirname(os.path.abspath(path)), 'pytorch_init.safetensors'))
    expect(sorted(init_file) == sorted(names) and all(torch.equal(init_file[n], init[n]) for n in names),
           'pytorch_init.safetensors holds init.* under the state_dict names')
    expect(torch.equal(t['adam5.losses'][0], t['first.loss'][0]), 'adam5.losses[0] == first.loss')

    def grads_at(dtype):
        def fn(s, p):
            return functional_grads(p, xa[s * BATCH:(s + 1) * BATCH], ya[s * BATCH:(s + 1) * BATCH], dtype)[2]
        return fn

    p32 = manual_adam(init, grads_at(torch.float32), ADAM_STEPS, torch.float32)
    exact = sum(torch.equal(p32[n], t[f'adam5.{n}']) for n in names)
    worst = max((p32[n] - t[f'adam5.{n}']).abs().max().item() for n in names)
    print(f'     adam5: Adam from the formula in fp32: {exact}/14 tensors bit-equal, max abs diff {worst:.2e}')
    expect(worst < 1e-6, 'adam5: Adam written from the formula agrees in fp32')
    p64 = manual_adam(init, grads_at(torch.float64), ADAM_STEPS, torch.float64)
    worst = max((p64[n] - t[f'adam5.{n}'].double()).abs().max().item() for n in names)
    moved = max((t[f'adam5.{n}'] - init[n]).abs().max().item() for n in names)
    print(f'     adam5: fp32 vs fp64 run: max abs diff {worst:.2e} (largest parameter change {moved:.2e})')
    print('all checks passed' if ok else 'SOME CHECKS FAILED')
    return ok


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--data', default=DEFAULT_DATA, help='folder with the four MNIST .gz files')
    ap.add_argument('--out', default=DEFAULT_OUT, help='safetensors file to write (or to check)')
    ap.add_argument('--check', action='store_true', help='verify an existing file instead of writing it')
    ap.add_argument('--seed-program', default=None,
                    help='with --check: the seed program, to compare its initial weights with init.*')
    args = ap.parse_args()
    if args.check:
        sys.exit(0 if check(args.out, args.data, args.seed_program) else 1)
    generate(args.data, args.out)


if __name__ == '__main__':
    main()
