#!/usr/bin/env python3
"""Writes the seed corpora fuzz/corpus/<target>/ (small valid files and a
few invalid ones), with the standard library only. Run once; the files are
committed. Reuses the builders of tests/bad_inputs/make_input.py."""
import gzip
import json
import os
import shutil
import struct
import sys
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "bad_inputs"))
sys.dont_write_bytecode = True
import make_input as mi  # noqa: E402


def put(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# ---- idx
labels = struct.pack(">II", 0x801, 10) + bytes(range(10))
images = struct.pack(">IIII", 0x803, 2, 28, 28) + bytes((i * 7) & 0xFF for i in range(2 * 784))
put("idx", "labels10", labels)
put("idx", "images2", images)
put("idx", "labels10.gz", gzip.compress(labels, mtime=0))
put("idx", "images2.gz", gzip.compress(images, mtime=0))
put("idx", "two_members.gz", gzip.compress(labels[:9], mtime=0) + gzip.compress(labels[9:], mtime=0))
put("idx", "dims2", struct.pack(">III", 0x802, 2, 3) + b"abcdef")
put("idx", "truncated_data", labels[:-3])
put("idx", "truncated_gz", gzip.compress(images, mtime=0)[:-12])
put("idx", "huge_dims", struct.pack(">IIII", 0x803, 0xFFFFFFFF, 28, 28))
put("idx", "empty_gz", gzip.compress(b"", mtime=0))

# ---- cifar (fuzz_cifar: record files, and archives of sets with 1 record per
# CIFAR-10 file, 2 in CIFAR-100's train.bin and 1 in its test.bin)
def cifar_records(n, cifar100, tag):
    out = b""
    for i in range(n):
        lab = bytes([(i + tag) % 20, (i + 3 * tag) % 100]) if cifar100 else bytes([(i + tag) % 10])
        out += lab + bytes((i * 7 + j * 13 + tag) & 0xFF for j in range(3072))
    return out


put("cifar", "records10", cifar_records(3, False, 1))
put("cifar", "records100", cifar_records(2, True, 2))
c10 = [(mi.CIFAR10_DIR + "/", "dir", None)] + [
    (mi.CIFAR10_DIR + "/" + n, "file", cifar_records(1, False, k))
    for k, n in enumerate(mi.CIFAR10_FILES)]
c100 = [(mi.CIFAR100_DIR + "/", "dir", None),
        (mi.CIFAR100_DIR + "/train.bin", "file", cifar_records(2, True, 1)),
        (mi.CIFAR100_DIR + "/test.bin", "file", cifar_records(1, True, 2))]
put("cifar", "cifar10.tar.gz", mi.tar_gz(c10))
put("cifar", "cifar10.tar", mi.tar_gz(c10, compress=False))
put("cifar", "cifar100.tar.gz", mi.tar_gz(c100))
put("cifar", "cifar100.tar", mi.tar_gz(c100, compress=False))
put("cifar", "reversed_dot.tar", mi.tar_gz([("./" + m[0],) + m[1:] for m in reversed(c10)],
                                           compress=False))
put("cifar", "traversal.tar", mi.tar_gz([("../evil", "file", b"x")] + c10, compress=False))
put("cifar", "symlink.tar", mi.tar_gz([(mi.CIFAR10_DIR + "/test_batch.bin", "symlink", "/etc/passwd")]
                                      + c10[:-1], compress=False))

# ---- safetensors (generic files, not checkpoints)
def st(tensors, meta=None, pad=True):
    h, buf, at = {}, b"", 0
    for name, dtype, shape, data in tensors:
        h[name] = {"dtype": dtype, "shape": shape, "data_offsets": [at, at + len(data)]}
        buf += data
        at += len(data)
    if meta is not None:
        h["__metadata__"] = meta
    raw = json.dumps(h).encode()
    if pad:
        raw += b" " * ((8 - (8 + len(raw)) % 8) % 8)
    return struct.pack("<Q", len(raw)) + raw + buf


put("safetensors", "one_f32", st([("w", "F32", [2, 3], struct.pack("<6f", *range(6)))], {"format": "pt"}))
put("safetensors", "dtypes", st([
    ("a", "U8", [3], b"\x01\x02\x03"), ("b", "I16", [2], b"\x00\x01\x02\x03"),
    ("c", "F64", [1], struct.pack("<d", 1.5)), ("d", "BF16", [2], b"\x80\x3f\x00\x40"),
    ("e", "BOOL", [1], b"\x01"), ("f", "I64", [], struct.pack("<q", -5)),
    ("g", "F8_E4M3", [2], b"\x38\x40"), ("h", "U64", [0], b"")]))
put("safetensors", "unpadded", st([("x", "I32", [1, 1, 1], b"\x07\x00\x00\x00")], pad=False))
put("safetensors", "metadata_only", st([], {"k": "v", "\u00e9": "\u2603"}))
put("safetensors", "overlap", st([("a", "U8", [4], b"abcd")])[:-4] + b"abcd")
shutil.copy(os.path.join(ROOT, "tests", "io", "python_small.safetensors"),
            os.path.join(HERE, "corpus", "safetensors", "python_small"))

# ---- checkpoint
put("checkpoint", "weights_only", mi.Ck(training=False).build())
put("checkpoint", "training_state", mi.Ck(training=True).build())
small = mi.Ck(training=False)
small.tensors = small.tensors[:2]
put("checkpoint", "two_tensors", small.build())
put("checkpoint", "python_small", open(os.path.join(ROOT, "tests", "io", "python_small.safetensors"), "rb").read())

# ---- image
put("image", "digit.pgm", mi.pgm())
put("image", "plain.pgm", b"P2\n# a comment\n4 3\n15\n0 0 0 0\n0 15 15 0\n0 0 9 0\n")
put("image", "sixteen.pgm", b"P5 3 2 65535\n" + struct.pack(">6H", 0, 65535, 300, 0, 40000, 0))
put("image", "digit.png", mi.png())


def png_any(w, h, color, depth, rows, extra=b""):
    ihdr = struct.pack(">IIBBBBB", w, h, depth, color, 0, 0, 0)
    raw = b"".join(b"\x00" + r for r in rows)
    return (b"\x89PNG\r\n\x1a\n" + mi.png_chunk(b"IHDR", ihdr) + extra +
            mi.png_chunk(b"IDAT", zlib.compress(raw)) + mi.png_chunk(b"IEND", b""))


put("image", "rgb.png", png_any(4, 4, 2, 8, [bytes([255, 255, 255] * 2 + [0, 0, 0] * 2)] * 4))
put("image", "rgba.png", png_any(4, 4, 6, 8, [bytes([0, 0, 0, 255, 0, 0, 0, 0] * 2)] * 4))
put("image", "gray_alpha.png", png_any(4, 4, 4, 8, [bytes([0, 255, 255, 0] * 2)] * 4))
put("image", "gray16.png", png_any(3, 3, 0, 16, [b"\x00\x00\xff\xff\x80\x00"] * 3))
put("image", "gray1.png", png_any(8, 2, 0, 1, [b"\x0f", b"\xf0"]))
put("image", "palette.png", png_any(4, 2, 3, 8, [b"\x00\x01\x00\x01"] * 2,
                                    mi.png_chunk(b"PLTE", b"\x00\x00\x00\xff\xff\xff") +
                                    mi.png_chunk(b"tRNS", b"\x00")))
for name in ("1_small28.png", "0_plain.png"):
    shutil.copy(os.path.join(ROOT, "tests", "fixtures", "digits", name),
                os.path.join(HERE, "corpus", "image", name))

# ---- json
for i, text in enumerate([
        json.dumps(mi.Ck(training=False).header_obj()),
        '{"a": [1, -2, 3.5e-3, true, false, null], "b": {"c": "\\u00e9\\ud83d\\ude00\\n"}}',
        '[[[[[]]]]]',
        '{"x": 9223372036854775807, "y": -9223372036854775808, "z": 1E+400}',
        '"\\"\\\\\\/\\b\\f\\n\\r\\t"',
        '{"__metadata__": {"format": "pt"}, "t": {"dtype": "F32", "shape": [], "data_offsets": [0, 4]}}   ',
]):
    put("json", "seed%d.json" % i, text.encode())


# ---- network: the built-ins' descriptions (canonical form, from the
# resnet-train binary when given as argv[1]), the worked example, and the
# bad descriptions of the bad-input table
if len(sys.argv) > 1:
    import subprocess
    for name in ["seed", "resnet18", "resnet50", "resnet20", "resnet18-cifar"]:
        put("network", name + ".json", subprocess.run([sys.argv[1], "models", name], check=True,
                                                       capture_output=True).stdout)
with open(os.path.join(ROOT, "docs", "examples", "small_resnet.json"), "rb") as f:
    put("network", "small_resnet.json", f.read())
import tempfile
for gen in ["net_cycle", "net_add_mismatch", "net_unknown_setting", "net_kernel_too_large",
            "net_block_no_downsample", "net_missing_from", "net_output_shape"]:
    d = tempfile.mkdtemp()
    mi.GEN[gen](d)
    with open(os.path.join(d, "net.json"), "rb") as f:
        put("network", gen + ".json", f.read())
    shutil.rmtree(d)
