#!/usr/bin/env python3
"""--tensorboard end to end, read by TensorBoard's own reader: a short run
of a network with a top-5 figure (two epochs, a test after each) writes one
event file, named as TensorBoard names them, into a folder it creates; its
TFRecord frames carry valid masked CRC-32Cs; the first record is
file_version "brain.Event:2"; and the scalars EventAccumulator reads (tag,
global step, value as a float32) are exactly those of the --metrics file of
the same run, with wall times inside the run.

Usage: test_tensorboard.py RESNET_TRAIN NETWORK.json. Exits 77 (skipped)
without the tensorboard package, the MNIST files, or protobuf-c in the
build."""
import glob
import json
import os
import re
import socket
import struct
import subprocess
import sys
import tempfile
import time

try:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from tensorboard.compat.proto import event_pb2
except ImportError as e:
    print(f"skipped: {e}")
    sys.exit(77)

exe, network = sys.argv[1], sys.argv[2]
data = os.environ.get("RESNET_TRAIN_DATA")
if not data:
    print("skipped: RESNET_TRAIN_DATA is not set (no MNIST files)")
    sys.exit(77)


def crc32c(b):
    c = 0xFFFFFFFF
    for x in b:
        c ^= x
        for _ in range(8):
            c = (c >> 1) ^ (0x82F63B78 if c & 1 else 0)
    return c ^ 0xFFFFFFFF


def masked(c):
    return (((c >> 15) | (c << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def f32(x):
    return struct.unpack("f", struct.pack("f", x))[0]


def records(path):
    """The payloads of a TFRecord file, every frame checked."""
    raw = open(path, "rb").read()
    off, out = 0, []
    while off < len(raw):
        head = raw[off:off + 12]
        assert len(head) == 12, "a truncated frame header"
        (n,), (hcrc,) = struct.unpack("<Q", head[:8]), struct.unpack("<I", head[8:])
        assert hcrc == masked(crc32c(head[:8])), "bad length CRC"
        payload = raw[off + 12:off + 12 + n]
        (pcrc,) = struct.unpack("<I", raw[off + 12 + n:off + 16 + n])
        assert len(payload) == n and pcrc == masked(crc32c(payload)), "bad payload CRC"
        out.append(payload)
        off += 16 + n
    return out


failures = 0


def check(ok, what):
    global failures
    print(("ok: " if ok else "FAIL: ") + what)
    failures += not ok


with tempfile.TemporaryDirectory() as tmp:
    tb, metrics = os.path.join(tmp, "tb"), os.path.join(tmp, "m.jsonl")
    cmd = [exe, "--device", "cpu", "--threads", "1", "--no-download", "--data", data, "--model", network,
           "--batch-size", "8", "--train-limit", "1600", "--test-limit", "200", "--epochs", "2",
           "--eval-every", "1", "--metrics", metrics, "--tensorboard", tb]
    start = time.time()
    run = subprocess.run(cmd, capture_output=True, text=True)
    end = time.time()
    if run.returncode != 0 and "built without protobuf-c" in run.stderr:
        print(f"skipped: {run.stderr.strip()}")
        sys.exit(77)
    if run.returncode != 0:
        print(run.stdout, run.stderr)
        print("FAIL: the run failed")
        sys.exit(1)
    files = os.listdir(tb)
    check(len(files) == 1, f"one event file in the folder it created: {files}")
    name = files[0]
    want = r"events\.out\.tfevents\.(\d{10})\.%s\.(\d+)\.0$" % re.escape(socket.gethostname())
    m = re.match(want, name)
    check(m is not None and int(start) - 1 <= int(m.group(1)) <= end, f"TensorBoard's naming: {name}")

    payloads = records(os.path.join(tb, name))
    first = event_pb2.Event.FromString(payloads[0])
    check(first.file_version == "brain.Event:2", f"first record: file_version {first.file_version!r}")

    # what the metrics file says, as TensorBoard's tags and float32 values
    tags = {"step": [("train/loss", "loss"), ("train/lr", "lr"), ("train/images_per_s", "images_per_s")],
            "epoch": [("train/epoch_s", "epoch_s"), ("train/epoch_images_per_s", "images_per_s")],
            "test": [("test/loss", "test_loss"), ("test/accuracy", "test_accuracy"),
                     ("test/accuracy5", "test_accuracy5")]}
    expected = {}
    for line in open(metrics):
        r = json.loads(line)
        for tag, key in tags[r["kind"]]:
            expected.setdefault(tag, []).append((r["step"], f32(r[key])))
    check("test/accuracy5" in expected, "the network reports a top-5 accuracy")

    acc = EventAccumulator(tb, size_guidance={"scalars": 0})
    acc.Reload()
    got_tags = sorted(acc.Tags()["scalars"])
    check(got_tags == sorted(expected), f"the tags: {got_tags}")
    for tag in sorted(expected):
        events = acc.Scalars(tag) if tag in got_tags else []
        got = [(e.step, e.value) for e in events]
        check(got == expected[tag], f"{tag}: {len(got)} values as in the metrics file"
              + ("" if got == expected[tag] else f": {got} != {expected[tag]}"))
        walls = [e.wall_time for e in events]
        check(walls == sorted(walls) and all(start - 1 <= w <= end + 1 for w in walls),
              f"{tag}: wall times in the run, in order")
sys.exit(1 if failures else 0)
