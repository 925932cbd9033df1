#!/usr/bin/env python3
"""Interoperability with Python's safetensors (and PyTorch when installed):

 1. a checkpoint written by resnet-train (io_interop write-checkpoint) loads
    with safetensors.numpy: the 14 state_dict tensors in order, F32, the
    right shapes and values, and the training state in __metadata__
    (resnet_train.*, the Adam moments as base64 of little-endian F32);
 2. with torch: model.load_state_dict(safetensors.torch.load_file(path))
    works (strict) on a model with the seed's module names;
 3. a weights file written by Python (torch or numpy) loads in resnet-train
    as weights only, with the same values (io_interop check-weights).

Usage: check_python.py IO_INTEROP_EXE. Exits 77 (skipped) without the
safetensors and numpy packages."""
import base64
import json
import os
import struct
import subprocess
import sys
import tempfile

try:
    import numpy as np
    from safetensors import safe_open
    from safetensors.numpy import load_file as np_load, save_file as np_save
except ImportError as e:
    print(f"skipped: {e}")
    sys.exit(77)

PARAMS = [
    ("conv1.weight", (20, 1, 5, 5)), ("conv1.bias", (20,)),
    ("conv2.weight", (15, 20, 3, 3)), ("conv2.bias", (15,)),
    ("resblock1.conv1.weight", (30, 20, 5, 5)), ("resblock1.conv1.bias", (30,)),
    ("resblock1.conv2.weight", (20, 30, 3, 3)), ("resblock1.conv2.bias", (20,)),
    ("resblock2.conv1.weight", (30, 15, 5, 5)), ("resblock2.conv1.bias", (30,)),
    ("resblock2.conv2.weight", (15, 30, 3, 3)), ("resblock2.conv2.bias", (15,)),
    ("full_c.weight", (10, 375)), ("full_c.bias", (10,)),
]
TOTAL = 42790


def values(kind, tensor, shape):
    n = int(np.prod(shape))
    i = np.arange(n, dtype=np.int64)
    v = (tensor * 7919 + i * 104729 + kind * 15485863) % 2001 - 1000
    if kind == 2:
        v = np.abs(v)
    return (v.astype(np.float32) / np.float32(1024)).reshape(shape)


failures = 0


def check(ok, what):
    global failures
    if not ok:
        failures += 1
        print("check failed:", what)


def main():
    exe = sys.argv[1]
    tmp = tempfile.mkdtemp(prefix="resnet-interop-")
    ck = os.path.join(tmp, "ck.safetensors")
    subprocess.run([exe, "write-checkpoint", ck], check=True)

    # 1. numpy view
    tensors = np_load(ck)
    check(sorted(tensors) == sorted(n for n, _ in PARAMS), f"tensor names {sorted(tensors)}")
    for t, (name, shape) in enumerate(PARAMS):
        a = tensors.get(name)
        check(a is not None and a.dtype == np.float32 and a.shape == shape,
              f"{name}: {None if a is None else (a.dtype, a.shape)}")
        if a is not None and a.shape == shape:
            check(np.array_equal(a, values(0, t, shape)), f"{name} values")
    with open(ck, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
    check((8 + n) % 8 == 0, "buffer alignment")
    order = sorted((v["data_offsets"][0], k) for k, v in header.items() if k != "__metadata__")
    check([k for _, k in order] == [n for n, _ in PARAMS], "state_dict order in the buffer")
    with safe_open(ck, framework="numpy") as f:
        meta = f.metadata()
    check(meta.get("format") == "pt", "format pt")
    net = json.loads(meta.get("resnet_train.network", "null"))
    check(isinstance(net, dict) and net.get("name") == "seed" and len(net.get("layers", [])) == 14,
          "resnet_train.network describes the seed's network")
    for key, want in [("resnet_train.format_version", "4"), ("resnet_train.epoch", "2"),
                      ("resnet_train.cursor", "640"), ("resnet_train.steps", "1948"),
                      ("resnet_train.batch_size", "64"), ("resnet_train.lr", "0.00100000005"),
                      ("resnet_train.adam_beta2", "0.999000013")]:
        check(meta.get(key) == want, f"{key} = {meta.get(key)!r}, expected {want!r}")
    check(float(np.float32(meta["resnet_train.lr"])) == float(np.float32(1e-3)), "lr round trip")
    rng = meta.get("resnet_train.epoch_rng", "").split(",")
    check(len(rng) == 4 and all(len(w) == 16 for w in rng), f"epoch_rng {rng}")
    for kind, key in ((1, "resnet_train.adam_m"), (2, "resnet_train.adam_v")):
        m = np.frombuffer(base64.b64decode(meta[key], validate=True), dtype="<f4")
        check(m.size == TOTAL, f"{key} has {m.size} floats")
        want = np.concatenate([values(kind, t, s).ravel() for t, (_, s) in enumerate(PARAMS)])
        check(m.size == TOTAL and np.array_equal(m, want), f"{key} values")

    # 3a. numpy-written weights (a different tensor order, other metadata)
    w = os.path.join(tmp, "np.safetensors")
    np_save({name: values(0, t, s) for t, (name, s) in reversed(list(enumerate(PARAMS)))}, w,
            metadata={"format": "np", "source": "numpy"})
    r = subprocess.run([exe, "check-weights", w])
    check(r.returncode == 0, "numpy-written weights load as weights only")

    # 2 and 3b. torch
    try:
        import torch
        import torch.nn as nn
        from safetensors.torch import load_file as torch_load, save_file as torch_save
    except ImportError:
        print("note: torch not installed; load_state_dict not checked")
        torch = None
    if torch is not None:
        class ResidualBlock(nn.Module):
            def __init__(self, channels, mid):
                super().__init__()
                self.conv1 = nn.Conv2d(channels, mid, 5, padding=2)
                self.conv2 = nn.Conv2d(mid, channels, 3, padding=1)

            def forward(self, x):
                return torch.relu(self.conv2(self.conv1(x)) + x)

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.conv1 = nn.Conv2d(1, 20, 5)
                self.conv2 = nn.Conv2d(20, 15, 3)
                self.resblock1 = ResidualBlock(20, 30)
                self.resblock2 = ResidualBlock(15, 30)
                self.full_c = nn.Linear(375, 10)

            def forward(self, x):
                x = self.resblock1(torch.relu(nn.functional.max_pool2d(self.conv1(x), 2)))
                x = self.resblock2(torch.relu(nn.functional.max_pool2d(self.conv2(x), 2)))
                return self.full_c(x.flatten(1))

        model = Net()
        check(list(model.state_dict()) == [n for n, _ in PARAMS], "the model's state_dict order")
        model.load_state_dict(torch_load(ck))  # strict: raises on any mismatch
        check(torch.equal(model.full_c.bias.detach(), torch.from_numpy(values(0, 13, (10,)))),
              "torch values")
        check(model(torch.zeros(2, 1, 28, 28)).shape == (2, 10), "forward")
        tw = os.path.join(tmp, "torch.safetensors")
        torch_save(model.state_dict(), tw)
        r = subprocess.run([exe, "check-weights", tw])
        check(r.returncode == 0, "torch-written weights load as weights only")
        print("torch", torch.__version__, "load_state_dict(strict) ok")

    for name in os.listdir(tmp):
        os.unlink(os.path.join(tmp, name))
    os.rmdir(tmp)
    print(f"check_python: {failures} failed")
    return 1 if failures else 0


sys.exit(main())
