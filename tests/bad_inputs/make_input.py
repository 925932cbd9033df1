#!/usr/bin/env python3
"""Builds the input of one row of tests/bad_inputs/table.tsv.

    make_input.py GENERATOR DIR

writes into the (empty, existing) folder DIR what the row's command reads:
a bad file and, where the command needs them, valid companions (a valid
checkpoint, a valid digit image, the other MNIST files as symlinks to
$RESNET_TRAIN_DATA). It may also write DIR.meta: shell assignments read by
run_bad_inputs.sh (SKIP="why" to skip the row, FSIZE_KB=N to run the
command under `ulimit -f N` with SIGXFSZ ignored).

Plain standard library (struct, gzip, zlib, json, base64): no numpy, no
PyTorch. The checkpoints follow src/io/checkpoint.c and src/model/params.c.
"""
import base64
import gzip
import json
import math
import os
import random
import shutil
import struct
import subprocess
import sys
import zlib

# ---- the model's parameters (src/model/params.c), state_dict order ----------
PARAMS = [
    ("conv1.weight", [20, 1, 5, 5]),
    ("conv1.bias", [20]),
    ("conv2.weight", [15, 20, 3, 3]),
    ("conv2.bias", [15]),
    ("resblock1.conv1.weight", [30, 20, 5, 5]),
    ("resblock1.conv1.bias", [30]),
    ("resblock1.conv2.weight", [20, 30, 3, 3]),
    ("resblock1.conv2.bias", [20]),
    ("resblock2.conv1.weight", [30, 15, 5, 5]),
    ("resblock2.conv1.bias", [30]),
    ("resblock2.conv2.weight", [15, 30, 3, 3]),
    ("resblock2.conv2.bias", [15]),
    ("full_c.weight", [10, 375]),
    ("full_c.bias", [10]),
]


def count(shape):
    n = 1
    for d in shape:
        n *= d
    return n


TOTAL = sum(count(s) for _, s in PARAMS)  # 42790


def values(n, seed, scale, nonneg=False):
    """Deterministic small floats (Mersenne Twister seeded with an int: the
    same on every Python 3)."""
    rnd = random.Random(seed).random
    off = 0.0 if nonneg else scale / 2
    return [rnd() * scale - off for _ in range(n)]


def f32(vals):
    return struct.pack("<%df" % len(vals), *vals)


class Ck:
    """A checkpoint being built: tensors (name -> dict with dtype, shape,
    data bytes, optional explicit offsets) in file order, metadata."""

    def __init__(self, training=True):
        self.tensors = []  # [name, {"dtype", "shape", "data"}]
        for i, (name, shape) in enumerate(PARAMS):
            self.tensors.append([name, {"dtype": "F32", "shape": list(shape),
                                        "data": f32(values(count(shape), 17 + i, 0.2))}])
        self.meta = {"format": "pt"}
        if training:
            m = values(TOTAL, 1001, 2e-3)
            v = values(TOTAL, 2002, 1e-5, nonneg=True)
            self.meta.update({
                "resnet_train.format_version": "1",
                "resnet_train.epochs": "1",
                "resnet_train.batch_size": "64",
                "resnet_train.lr": "0.00100000005",
                "resnet_train.adam_beta1": "0.899999976",
                "resnet_train.adam_beta2": "0.999000013",
                "resnet_train.adam_eps": "9.99999994e-09",
                "resnet_train.adam_weight_decay": "0",
                "resnet_train.shuffle": "0",
                "resnet_train.seed": "0",
                "resnet_train.lr_step_size": "0",
                "resnet_train.lr_gamma": "0.100000001",
                "resnet_train.epoch": "0",
                "resnet_train.cursor": "64",
                "resnet_train.steps": "1",
                "resnet_train.epoch_rng": "c479ca7df3ad46e5,83315db5ad860a34,"
                                          "8789d88d7f2672c5,e0b07a945874426a",
                "resnet_train.adam_m": base64.b64encode(f32(m)).decode(),
                "resnet_train.adam_v": base64.b64encode(f32(v)).decode(),
            })
        self.offsets = {}    # name -> [begin, end] overriding the computed ones
        self.extra_data = b""  # bytes appended to the buffer

    def find(self, name):
        for t in self.tensors:
            if t[0] == name:
                return t[1]
        raise KeyError(name)

    def header_obj(self):
        h = {}
        at = 0
        for name, t in self.tensors:
            end = at + len(t["data"])
            h[name] = {"dtype": t["dtype"], "shape": t["shape"],
                       "data_offsets": self.offsets.get(name, [at, end])}
            at = end
        if self.meta is not None:
            h["__metadata__"] = self.meta
        return h

    def buffer(self):
        return b"".join(t["data"] for _, t in self.tensors) + self.extra_data

    def build(self, header_text=None, header_len=None):
        text = header_text if header_text is not None else json.dumps(self.header_obj())
        raw = text.encode() if isinstance(text, str) else text
        raw += b" " * ((8 - (8 + len(raw)) % 8) % 8)
        n = len(raw) if header_len is None else header_len
        return struct.pack("<Q", n) + raw + self.buffer()


def set_meta_float_array(ck, key, index, value):
    raw = bytearray(base64.b64decode(ck.meta[key]))
    raw[4 * index:4 * index + 4] = struct.pack("<f", value)
    ck.meta[key] = base64.b64encode(bytes(raw)).decode()


def set_weight(ck, name, index, value):
    t = ck.find(name)
    d = bytearray(t["data"])
    d[4 * index:4 * index + 4] = struct.pack("<f", value)
    t["data"] = bytes(d)


# ---- images -------------------------------------------------------------------
def digit_pixels(w=28, h=28):
    """A light-on-dark "1": a vertical bar with a small flag."""
    px = bytearray(w * h)
    for y in range(5, 23):
        for x in range(13, 16):
            px[y * w + x] = 255
    for k in range(4):
        px[(6 + k) * w + (12 - k)] = 200
    return bytes(px)


def pgm(w=28, h=28, px=None, maxval=255):
    px = digit_pixels(w, h) if px is None else px
    return b"P5\n%d %d\n%d\n" % (w, h, maxval) + px


def png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png(w=28, h=28, px=None, ihdr=None):
    px = digit_pixels(w, h) if px is None else px
    rows = b"".join(b"\x00" + px[y * w:(y + 1) * w] for y in range(h))
    ihdr = ihdr if ihdr is not None else struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) +
            png_chunk(b"IDAT", zlib.compress(rows)) + png_chunk(b"IEND", b""))


# ---- IDX / MNIST ----------------------------------------------------------------
MNIST = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte",
         "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]


def mnist_dir():
    d = os.environ.get("RESNET_TRAIN_DATA", "")
    if not d:
        return None
    for sub in ("", "MNIST/raw"):
        base = os.path.join(d, sub)
        if all(os.path.exists(os.path.join(base, n)) or os.path.exists(os.path.join(base, n + ".gz"))
               for n in MNIST):
            return base
    return None


def real_path(name):
    base = mnist_dir()
    for cand in (name, name + ".gz"):
        p = os.path.join(base, cand)
        if os.path.exists(p):
            return p
    raise FileNotFoundError(name)


def real_bytes(name):
    """The real file's IDX content (gunzipped)."""
    with open(real_path(name), "rb") as f:
        b = f.read()
    return gzip.decompress(b) if b[:2] == b"\x1f\x8b" else b


def real_gz(name):
    with open(real_path(name), "rb") as f:
        b = f.read()
    return b if b[:2] == b"\x1f\x8b" else gzip.compress(b, 6, mtime=0)


def labels_idx(labels):
    return struct.pack(">II", 0x801, len(labels)) + bytes(labels)


def data_folder(d, bad_name, content, gz=False):
    """d/data: the three other real files as symlinks, and bad_name (raw, or
    NAME.gz when gz) holding content."""
    data = os.path.join(d, "data")
    os.mkdir(data)
    for n in MNIST:
        if n != bad_name:
            src = real_path(n)
            os.symlink(src, os.path.join(data, os.path.basename(src)))
    with open(os.path.join(data, bad_name + (".gz" if gz else "")), "wb") as f:
        f.write(content)


# ---- generators ---------------------------------------------------------------------
GEN = {}


def gen(name):
    def deco(fn):
        GEN[name] = fn
        return fn
    return deco


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)


# data: one bad MNIST file among real ones ---------------------------------------------
@gen("idx_empty")
def _(d):
    data_folder(d, "train-images-idx3-ubyte", b"")


@gen("idx_header_short")
def _(d):  # the magic and 2 bytes of the image count
    data_folder(d, "train-images-idx3-ubyte", struct.pack(">I", 0x803) + b"\x00\x00")


@gen("idx_magic_short")
def _(d):  # 3 bytes: not even the magic
    data_folder(d, "train-labels-idx1-ubyte", b"\x00\x00\x08")


@gen("idx_data_short")
def _(d):  # the label file cut to half its labels
    data_folder(d, "train-labels-idx1-ubyte", real_bytes("train-labels-idx1-ubyte")[:8 + 30000])


@gen("idx_images_short")
def _(d):  # the test images, one row of one image missing
    data_folder(d, "t10k-images-idx3-ubyte", real_bytes("t10k-images-idx3-ubyte")[:-28])


@gen("idx_trailing")
def _(d):
    data_folder(d, "t10k-labels-idx1-ubyte", real_bytes("t10k-labels-idx1-ubyte") + b"\x00" * 5)


@gen("idx_magic_swapped")
def _(d):  # a label file where the image file belongs
    data_folder(d, "train-images-idx3-ubyte", real_bytes("t10k-labels-idx1-ubyte"))


@gen("idx_magic_float")
def _(d):  # magic of a float IDX file (type 0x0D)
    data_folder(d, "train-labels-idx1-ubyte", struct.pack(">II", 0xD01, 2) + b"\x00" * 8)


@gen("idx_magic_text")
def _(d):
    data_folder(d, "t10k-labels-idx1-ubyte", b"<html><body>404 Not Found</body></html>\n")


@gen("idx_dim_zero_rows")
def _(d):
    data_folder(d, "train-images-idx3-ubyte", struct.pack(">IIII", 0x803, 60000, 0, 28))


@gen("idx_count_zero")
def _(d):
    data_folder(d, "t10k-labels-idx1-ubyte", struct.pack(">II", 0x801, 0))


@gen("idx_dims_huge")
def _(d):  # 4294967295 images of 28x28: 3.4 TB claimed, 16 bytes present
    data_folder(d, "train-images-idx3-ubyte", struct.pack(">IIII", 0x803, 0xFFFFFFFF, 28, 28))


@gen("idx_dims_overflow")
def _(d):  # the product of the dimensions overflows 64 bits
    data_folder(d, "train-images-idx3-ubyte",
                struct.pack(">IIII", 0x803, 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF) + b"\x00" * 64)


@gen("idx_dims_overflow32")
def _(d):  # 65536 x 65536 x 1: exactly 2^32 bytes, wraps a 32-bit product to 0
    data_folder(d, "train-images-idx3-ubyte",
                struct.pack(">IIII", 0x803, 65536, 65536, 1) + b"\x00" * 64)


@gen("idx_labels_huge")
def _(d):
    data_folder(d, "t10k-labels-idx1-ubyte", struct.pack(">II", 0x801, 0x7FFFFFFF) + b"\x01" * 100)


@gen("idx_not_28x28")
def _(d):  # 10000 images of 27x28, consistent with its size
    data_folder(d, "t10k-images-idx3-ubyte",
                struct.pack(">IIII", 0x803, 10000, 27, 28) + b"\x00" * (10000 * 27 * 28))


@gen("idx_count_mismatch")
def _(d):  # 9999 test labels for 10000 test images
    data_folder(d, "t10k-labels-idx1-ubyte",
                labels_idx(real_bytes("t10k-labels-idx1-ubyte")[8:8 + 9999]))


@gen("idx_count_not_mnist")
def _(d):  # a consistent test set of 100 images: not MNIST's 10000
    data = os.path.join(d, "data")
    os.mkdir(data)
    for n in MNIST[:2]:
        src = real_path(n)
        os.symlink(src, os.path.join(data, os.path.basename(src)))
    imgs = real_bytes("t10k-images-idx3-ubyte")
    write(os.path.join(data, "t10k-images-idx3-ubyte"),
          struct.pack(">IIII", 0x803, 100, 28, 28) + imgs[16:16 + 100 * 784])
    write(os.path.join(data, "t10k-labels-idx1-ubyte"),
          labels_idx(real_bytes("t10k-labels-idx1-ubyte")[8:108]))


@gen("idx_label_10")
def _(d):
    lab = bytearray(real_bytes("train-labels-idx1-ubyte"))
    lab[8 + 1234] = 10
    data_folder(d, "train-labels-idx1-ubyte", bytes(lab))


@gen("idx_label_255")
def _(d):
    lab = bytearray(real_bytes("t10k-labels-idx1-ubyte"))
    lab[8 + 9999] = 255
    data_folder(d, "t10k-labels-idx1-ubyte", bytes(lab))


@gen("gz_corrupt")
def _(d):  # deflate data overwritten in the middle
    b = bytearray(real_gz("t10k-labels-idx1-ubyte"))
    for i in range(len(b) // 2, len(b) // 2 + 64):
        b[i] = 0xFF
    data_folder(d, "t10k-labels-idx1-ubyte", bytes(b), gz=True)


@gen("gz_truncated")
def _(d):  # the gzip stream cut at half: a download that stopped early
    b = real_gz("t10k-images-idx3-ubyte")
    data_folder(d, "t10k-images-idx3-ubyte", b[:len(b) // 2], gz=True)


@gen("gz_truncated_trailer")
def _(d):  # the deflate stream is whole, the 8-byte CRC/length trailer is cut
    b = real_gz("train-labels-idx1-ubyte")
    data_folder(d, "train-labels-idx1-ubyte", b[:-5], gz=True)


@gen("gz_header_only")
def _(d):  # 10 bytes: a gzip header and nothing else
    data_folder(d, "train-labels-idx1-ubyte", real_gz("train-labels-idx1-ubyte")[:10], gz=True)


@gen("gz_bad_crc")
def _(d):
    b = bytearray(real_gz("t10k-labels-idx1-ubyte"))
    b[-8] ^= 0xFF
    data_folder(d, "t10k-labels-idx1-ubyte", bytes(b), gz=True)


@gen("gz_trailing_garbage")
def _(d):
    data_folder(d, "t10k-labels-idx1-ubyte", real_gz("t10k-labels-idx1-ubyte") + b"garbage!",
                gz=True)


@gen("gz_empty_stream")
def _(d):  # a valid gzip file of 0 bytes
    data_folder(d, "t10k-labels-idx1-ubyte", gzip.compress(b"", mtime=0), gz=True)


@gen("gz_bad_idx_inside")
def _(d):  # a valid gzip whose content is an IDX file truncated in its data
    data_folder(d, "t10k-labels-idx1-ubyte",
                gzip.compress(real_bytes("t10k-labels-idx1-ubyte")[:5000], mtime=0), gz=True)


@gen("data_file_missing")
def _(d):
    data = os.path.join(d, "data")
    os.mkdir(data)
    for n in MNIST[:3]:
        src = real_path(n)
        os.symlink(src, os.path.join(data, os.path.basename(src)))


@gen("data_dir_missing")
def _(d):
    pass


@gen("data_good")
def _(d):  # the four real files: the control of the data rows
    data = os.path.join(d, "data")
    os.mkdir(data)
    for n in MNIST:
        src = real_path(n)
        os.symlink(src, os.path.join(data, os.path.basename(src)))


# checkpoints: ck.safetensors bad; digit.pgm valid; prev.safetensors a valid
# earlier output that a failed run must leave alone ----------------------------------
def ck_row(d, content):
    write(os.path.join(d, "ck.safetensors"), content)
    write(os.path.join(d, "digit.pgm"), pgm())
    write(os.path.join(d, "prev.safetensors"), Ck(training=False).build())


def ck_gen(name):
    """Registers fn(ck) -> bytes (or None: ck.build())."""
    def deco(fn):
        def run(d):
            ck = Ck()
            out = fn(ck)
            ck_row(d, ck.build() if out is None else out)
        GEN[name] = run
        return fn
    return deco


@ck_gen("ck_good")
def _(ck):  # the control: a valid checkpoint with training state
    pass


@ck_gen("ck_empty")
def _(ck):
    return b""


@ck_gen("ck_short")
def _(ck):  # 5 bytes: not even the header length
    return b"\x10\x00\x00\x00\x00"


@ck_gen("ck_hdrlen_zero")
def _(ck):
    return ck.build(header_len=0)


@ck_gen("ck_hdrlen_past_end")
def _(ck):  # header length beyond the end of the file
    b = ck.build()
    return struct.pack("<Q", len(b)) + b[8:]


@ck_gen("ck_hdrlen_absurd")
def _(ck):  # 2^64 - 1
    b = ck.build()
    return b"\xff" * 8 + b[8:]


@ck_gen("ck_hdrlen_short")
def _(ck):  # header length 4 bytes too small: the JSON is cut
    b = ck.build()
    n = struct.unpack("<Q", b[:8])[0]
    return struct.pack("<Q", n - 4) + b[8:]


@ck_gen("ck_text_file")
def _(ck):  # not a safetensors file at all
    return b"this is a text file, not a checkpoint\n" * 4


@ck_gen("ck_json_broken")
def _(ck):  # the closing brace of the header is missing
    text = json.dumps(ck.header_obj())
    return ck.build(header_text=text[:-1])


@ck_gen("ck_json_garbage")
def _(ck):
    return ck.build(header_text="{\"conv1.weight\": {\"dtype\": F32}}")


@ck_gen("ck_json_not_object")
def _(ck):
    ck.tensors = []
    return ck.build(header_text="[1, 2, 3]")


@ck_gen("ck_json_deep")
def _(ck):  # 100000 nested arrays: a recursive parser must not overflow its stack
    ck.tensors = []
    return ck.build(header_text="[" * 100000 + "]" * 100000)


@ck_gen("ck_json_dup_key")
def _(ck):  # conv1.bias twice in the header
    text = json.dumps(ck.header_obj())
    entry = json.dumps({"dtype": "F32", "shape": [20], "data_offsets": [2000, 2080]})
    text = text[:-1] + ", \"conv1.bias\": " + entry + "}"
    return ck.build(header_text=text)


@ck_gen("ck_json_bad_utf8")
def _(ck):  # a tensor name with an invalid UTF-8 byte
    text = json.dumps(ck.header_obj()).encode()
    return ck.build(header_text=text.replace(b"conv2.bias", b"conv2.b\xffas"))


@ck_gen("ck_tensor_missing")
def _(ck):
    ck.tensors = [t for t in ck.tensors if t[0] != "full_c.bias"]


@ck_gen("ck_tensor_extra")
def _(ck):
    ck.tensors.append(["extra.weight", {"dtype": "F32", "shape": [4], "data": f32([1, 2, 3, 4])}])


@ck_gen("ck_tensor_renamed")
def _(ck):  # a PyTorch checkpoint of another model: the names differ
    ck.tensors[0][0] = "features.0.weight"


@ck_gen("ck_shape_wrong")
def _(ck):  # same element count, other shape
    ck.find("conv1.weight")["shape"] = [20, 1, 25]


@ck_gen("ck_shape_transposed")
def _(ck):
    ck.find("full_c.weight")["shape"] = [375, 10]


@ck_gen("ck_shape_bytes_mismatch")
def _(ck):  # shape and data_offsets disagree on the byte count
    ck.find("conv1.weight")["shape"] = [20, 1, 5, 6]


@ck_gen("ck_shape_huge")
def _(ck):  # the byte count of the shape overflows 64 bits
    ck.find("conv1.bias")["shape"] = [4611686018427387904, 8]


@ck_gen("ck_shape_negative")
def _(ck):
    ck.find("conv1.bias")["shape"] = [-20]


@ck_gen("ck_dtype_wrong")
def _(ck):  # I32: the same byte count, the wrong type
    ck.find("conv1.bias")["dtype"] = "I32"


@ck_gen("ck_dtype_f64")
def _(ck):  # F64 with data of the right size for F64
    t = ck.find("full_c.bias")
    t["dtype"] = "F64"
    t["data"] = struct.pack("<10d", *([0.01] * 10))


@ck_gen("ck_dtype_unknown")
def _(ck):
    ck.find("conv2.bias")["dtype"] = "F33"


@ck_gen("ck_offsets_past_end")
def _(ck):  # the last tensor ends 40 bytes after the buffer
    ck.offsets["full_c.bias"] = [171160, 171200]


@ck_gen("ck_offsets_reversed")
def _(ck):
    ck.offsets["conv1.bias"] = [2080, 2000]


@ck_gen("ck_offsets_huge")
def _(ck):  # begin and end near 2^63: must not wrap
    ck.offsets["full_c.bias"] = [9223372036854775000, 9223372036854775040]


@ck_gen("ck_offsets_overlap")
def _(ck):  # conv1.bias placed over conv1.weight's data
    ck.offsets["conv1.bias"] = [1000, 1080]


@ck_gen("ck_offsets_hole")
def _(ck):  # 8 bytes after the last tensor belong to none
    ck.extra_data = b"\x00" * 8


@ck_gen("ck_truncated_data")
def _(ck):  # the file cut 100 bytes short
    return ck.build()[:-100]


@ck_gen("ck_nan_weight")
def _(ck):
    set_weight(ck, "conv2.weight", 7, math.nan)


@ck_gen("ck_inf_weight")
def _(ck):
    set_weight(ck, "full_c.bias", 3, -math.inf)


@ck_gen("ck_overflow")
def _(ck):  # finite but huge first-layer weights: conv1's output overflows to Inf
    ck.find("conv1.weight")["data"] = f32([3e38] * 500)
    ck.meta = {"format": "pt"}  # weights only, for --init


@ck_gen("ck_adam_overflow")
def _(ck):  # weights of 1e30: the forward pass and the gradients stay finite,
    # but the squared gradients of Adam's second moment overflow to +Inf
    ck.find("conv1.weight")["data"] = f32([1e30] * 500)
    ck.meta = {"format": "pt"}


@ck_gen("ck_nan_adam")
def _(ck):  # NaN in the first Adam moment (element 5 of conv1.weight)
    set_meta_float_array(ck, "resnet_train.adam_m", 5, math.nan)


@ck_gen("ck_inf_adam")
def _(ck):  # +Inf in the second moment, in full_c.bias (the last 10 floats)
    set_meta_float_array(ck, "resnet_train.adam_v", TOTAL - 1, math.inf)


@ck_gen("ck_adam_v_negative")
def _(ck):
    set_meta_float_array(ck, "resnet_train.adam_v", 0, -1.0)


@ck_gen("ck_adam_b64_bad")
def _(ck):
    v = ck.meta["resnet_train.adam_m"]
    ck.meta["resnet_train.adam_m"] = v[:100] + "*" + v[101:]


@ck_gen("ck_adam_short")
def _(ck):  # 10 floats short
    raw = base64.b64decode(ck.meta["resnet_train.adam_m"])[:-40]
    ck.meta["resnet_train.adam_m"] = base64.b64encode(raw).decode()


@ck_gen("ck_meta_not_string")
def _(ck):
    ck.meta["resnet_train.epochs"] = 1


@ck_gen("ck_meta_not_object")
def _(ck):
    ck.meta = ["format", "pt"]


@ck_gen("ck_meta_version")
def _(ck):
    ck.meta["resnet_train.format_version"] = "6"


@ck_gen("ck_meta_crop_scale_zero")
def _(ck):  # format 4's random resized crop bounds
    ck.meta["resnet_train.crop_scale_low"] = "0"


@ck_gen("ck_meta_ranks_zero")
def _(ck):  # format 5's count of data-parallel ranks
    ck.meta["resnet_train.ranks"] = "0"


@ck_gen("ck_meta_lr_nan")
def _(ck):
    ck.meta["resnet_train.lr"] = "nan"


@ck_gen("ck_meta_batch_zero")
def _(ck):
    ck.meta["resnet_train.batch_size"] = "0"


@ck_gen("ck_meta_epochs_negative")
def _(ck):
    ck.meta["resnet_train.epochs"] = "-3"


@ck_gen("ck_meta_steps_overflow")
def _(ck):
    ck.meta["resnet_train.steps"] = "99999999999999999999999"


@ck_gen("ck_meta_epoch_past")
def _(ck):
    ck.meta["resnet_train.epoch"] = "5"


@ck_gen("ck_meta_rng_zero")
def _(ck):
    ck.meta["resnet_train.epoch_rng"] = "0,0,0,0"


@ck_gen("ck_meta_missing_key")
def _(ck):
    del ck.meta["resnet_train.steps"]


@ck_gen("ck_meta_unknown_key")
def _(ck):
    ck.meta["resnet_train.nesterov_gamma"] = "0.9"


@gen("ck_weights_only")
def _(d):  # valid, but no training state (for --resume)
    ck_row(d, Ck(training=False).build())


@gen("ck_is_folder")
def _(d):
    ck_row(d, b"")
    os.remove(os.path.join(d, "ck.safetensors"))
    os.mkdir(os.path.join(d, "ck.safetensors"))


@gen("ck_missing")
def _(d):
    ck_row(d, b"")
    os.remove(os.path.join(d, "ck.safetensors"))


# images for predict: ck.safetensors valid (weights only), the image bad -----------------
def img_row(d, name, content):
    write(os.path.join(d, "ck.safetensors"), Ck(training=False).build())
    write(os.path.join(d, name), content)


IMAGES = {
    "img_good_pgm": ("img.pgm", lambda: pgm()),
    "img_good_png": ("img.png", lambda: png()),
    "img_text": ("img.png", lambda: b"just some text, not an image\n"),
    "img_empty": ("img.pgm", lambda: b""),
    "img_jpeg": ("img.jpg", lambda: b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 64),
    "img_ppm": ("img.ppm", lambda: b"P6\n2 2\n255\n" + b"\x00" * 12),
    "img_png_truncated": ("img.png", lambda: png()[:60]),
    "img_png_header_only": ("img.png", lambda: png()[:8]),
    "img_png_bad_crc": ("img.png", lambda: png()[:29] + b"\x00\x00\x00\x00" + png()[33:]),
    "img_png_corrupt_idat": ("img.png", lambda: corrupt_idat()),
    "img_png_huge": ("img.png", lambda: png(ihdr=struct.pack(">IIBBBBB", 100000, 100000, 8, 0, 0, 0, 0))),
    "img_png_zero_width": ("img.png", lambda: png(ihdr=struct.pack(">IIBBBBB", 0, 28, 8, 0, 0, 0, 0))),
    "img_pgm_zero_size": ("img.pgm", lambda: b"P5\n0 0\n255\n"),
    "img_pgm_zero_width": ("img.pgm", lambda: b"P5\n0 28\n255\n"),
    "img_pgm_truncated_header": ("img.pgm", lambda: b"P5\n28 2"),
    "img_pgm_truncated_raster": ("img.pgm", lambda: pgm()[:300]),
    "img_pgm_maxval_zero": ("img.pgm", lambda: b"P5\n28 28\n0\n" + b"\x00" * 784),
    "img_pgm_maxval_big": ("img.pgm", lambda: b"P5\n28 28\n70000\n" + b"\x00" * 1568),
    "img_pgm_huge": ("img.pgm", lambda: b"P5\n1000000 1000000\n255\n" + b"\x00" * 100),
    "img_pgm_sample_over_maxval": ("img.pgm", lambda: b"P2\n2 2\n15\n0 3 99 0\n"),
    "img_pgm_plain_garbage": ("img.pgm", lambda: b"P2\n2 2\n255\n0 x 1 2\n"),
    "img_blank": ("img.pgm", lambda: pgm(px=bytes(784))),
}


def corrupt_idat():
    b = bytearray(png())
    i = b.index(b"IDAT") + 4
    for k in range(i + 2, i + 12):  # the deflate data after the zlib header
        b[k] ^= 0x5A
    # fix the CRC so libpng reaches the inflater
    n = struct.unpack(">I", bytes(b[i - 8:i - 4]))[0]
    b[i + n:i + n + 4] = struct.pack(">I", zlib.crc32(bytes(b[i - 4:i + n])))
    return bytes(b)


for _name, (_file, _make) in IMAGES.items():
    GEN[_name] = (lambda f, m: (lambda d: img_row(d, f, m())))(_file, _make)


@gen("img_is_folder")
def _(d):
    img_row(d, "x", b"")
    os.remove(os.path.join(d, "x"))
    os.mkdir(os.path.join(d, "img.pgm"))


@gen("img_missing")
def _(d):
    img_row(d, "x", b"")
    os.remove(os.path.join(d, "x"))


# output paths --------------------------------------------------------------------------
def meta(d, **kv):
    with open(d.rstrip("/") + ".meta", "w") as f:
        for k, v in kv.items():
            f.write("%s=%s\n" % (k, shlex_quote(str(v))))


def shlex_quote(s):
    return "'" + s.replace("'", "'\\''") + "'"


@gen("out_none")
def _(d):  # nothing to prepare: the row is about options or a missing folder
    pass


@gen("out_prev")
def _(d):  # a previous checkpoint at d/prev.safetensors that must survive
    write(os.path.join(d, "prev.safetensors"), Ck(training=False).build())


@gen("out_under_file")
def _(d):  # d/file is a regular file; --save d/file/ck.safetensors
    write(os.path.join(d, "file"), b"a regular file, not a folder\n")


@gen("out_is_folder")
def _(d):  # --save names an existing folder
    os.mkdir(os.path.join(d, "ck.safetensors"))


def run(*cmd):
    return subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode == 0


@gen("out_readonly")
def _(d):
    """d/ro: a read-only folder holding prev.safetensors. As root (whom
    permissions do not stop) a tmpfs remounted read-only, else chattr +i;
    as another user chmod 555."""
    ro = os.path.join(d, "ro")
    os.mkdir(ro)
    content = Ck(training=False).build()
    if os.geteuid() != 0:
        write(os.path.join(ro, "prev.safetensors"), content)
        os.chmod(ro, 0o555)
        return
    if run("mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", ro):
        write(os.path.join(ro, "prev.safetensors"), content)
        if run("mount", "-o", "remount,ro", ro):
            meta(d, HOW="read-only tmpfs mount")
            return
        run("umount", ro)
    write(os.path.join(ro, "prev.safetensors"), content)
    if run("chattr", "+i", ro):
        meta(d, HOW="chattr +i")
        return
    meta(d, SKIP="running as root, and neither a read-only tmpfs mount nor chattr +i works "
                 "here: no folder is read-only to root")


@gen("out_full_disk")
def _(d):
    """d/disk holds a previous checkpoint (weights only, 171 KB) and has no
    room for a new one (629 KB with the training state): a 400 KB tmpfs
    when mounting works (root), else `ulimit -f 300` (writes past 300 KiB
    fail with EFBIG; the runner ignores SIGXFSZ)."""
    disk = os.path.join(d, "disk")
    os.mkdir(disk)
    if os.geteuid() == 0 and run("mount", "-t", "tmpfs", "-o", "size=400k", "tmpfs", disk):
        meta(d, HOW="400 KB tmpfs")
    else:
        meta(d, HOW="ulimit -f 300", FSIZE_KB=300)
    write(os.path.join(disk, "ck.safetensors"), Ck(training=False).build())


@gen("out_fsize_limit")
def _(d):
    """d/prev.safetensors exists; the run's file size limit (`ulimit -f 300`,
    SIGXFSZ left at its default action, as a shell or a batch system sets
    it) is smaller than the new checkpoint: the program must turn the
    signal into a write error, not die of it leaving its temporary file."""
    meta(d, HOW="ulimit -f 300, SIGXFSZ default", FSIZE_KB=300, XFSZ="default")
    write(os.path.join(d, "prev.safetensors"), Ck(training=False).build())


# network descriptions: net.json bad (or a checkpoint of another network) ---------
def net_row(d, text):
    write(os.path.join(d, "net.json"), text.encode() if isinstance(text, str) else text)
    write(os.path.join(d, "prev.safetensors"), Ck(training=False).build())


def layers_json(layers, **top):
    doc = {"name": "bad"}
    doc.update(top)
    doc["layers"] = layers
    return json.dumps(doc)


STEM = [{"name": "c1", "type": "conv2d", "out_channels": 8, "kernel_size": 3, "padding": 1}]
TAIL = [{"type": "adaptive_avgpool2d"}, {"type": "flatten"}, {"name": "fc", "type": "linear"}]


def net_gen(name, text):
    GEN[name] = lambda d: net_row(d, text)


net_gen("net_good", layers_json(STEM + TAIL))
net_gen("net_broken_json", '{"name": "x", "layers": [{"type": "relu"}')
net_gen("net_empty", "")
net_gen("net_not_utf8", b'{"name": "\xff\xfe", "layers": []}')
net_gen("net_not_object", "[1, 2, 3]")
net_gen("net_deep", "[" * 100 + "]" * 100)
net_gen("net_unknown_key", json.dumps({"name": "x", "layers": STEM + TAIL, "optimizer": "sgd"}))
net_gen("net_no_layers", json.dumps({"name": "x", "layers": []}))
net_gen("net_unknown_type", layers_json(STEM + [{"type": "conv3d"}] + TAIL))
net_gen("net_missing_type", layers_json(STEM + [{"name": "x"}] + TAIL))
net_gen("net_unknown_setting", layers_json(
    [{"name": "c1", "type": "conv2d", "out_channels": 8, "kernal_size": 3}] + TAIL))
net_gen("net_stride_zero", layers_json(
    [{"name": "c1", "type": "conv2d", "out_channels": 8, "kernel_size": 3, "stride": 0}] + TAIL))
net_gen("net_channels_range", layers_json(
    [{"name": "c1", "type": "conv2d", "out_channels": 65537, "kernel_size": 1}] + TAIL))
net_gen("net_kernel_too_large", layers_json(
    STEM + [{"type": "maxpool2d", "kernel_size": 4}, {"type": "maxpool2d", "kernel_size": 4},
            {"name": "c2", "type": "conv2d", "out_channels": 8, "kernel_size": 5}] + TAIL))
net_gen("net_pool_padding", layers_json(
    STEM + [{"type": "maxpool2d", "kernel_size": 3, "padding": 2}] + TAIL))
net_gen("net_add_mismatch", layers_json(
    STEM + [{"name": "c2", "type": "conv2d", "out_channels": 16, "kernel_size": 1},
            {"name": "j", "type": "add", "from": ["c1", "c2"]}] + TAIL))
net_gen("net_add_one", layers_json(STEM + [{"name": "j", "type": "add", "from": "c1"}] + TAIL))
net_gen("net_cycle", layers_json(
    [{"name": "a", "type": "conv2d", "from": "b", "out_channels": 1, "kernel_size": 1},
     {"name": "b", "type": "conv2d", "from": "a", "out_channels": 1, "kernel_size": 1}] + TAIL))
net_gen("net_missing_from", layers_json(
    STEM + [{"name": "j", "type": "add", "from": ["c1", "c9"]}] + TAIL))
net_gen("net_self_from", layers_json(
    [{"name": "a", "type": "conv2d", "from": "a", "out_channels": 1, "kernel_size": 1}] + TAIL))
net_gen("net_duplicate_name", layers_json(
    STEM + [{"name": "c1", "type": "relu"}] + TAIL))
net_gen("net_reserved_name", layers_json(
    [{"name": "input", "type": "conv2d", "out_channels": 8, "kernel_size": 3}] + TAIL))
net_gen("net_unnamed_conv", layers_json(
    [{"type": "conv2d", "out_channels": 8, "kernel_size": 3}] + TAIL))
net_gen("net_linear_on_image", layers_json(STEM + [{"name": "fc", "type": "linear"}]))
net_gen("net_output_shape", layers_json(
    STEM + [{"type": "adaptive_avgpool2d"}, {"type": "flatten"}]))
net_gen("net_unused_layer", layers_json(
    STEM + [{"name": "dead", "type": "relu"}, {"type": "relu", "from": "c1"}] + TAIL))
net_gen("net_input_mismatch", layers_json(
    STEM + TAIL, input={"channels": 3, "height": 32, "width": 32}))
net_gen("net_classes_mismatch", layers_json(STEM + TAIL, classes=5))
net_gen("net_size_overflow", layers_json(
    [{"name": "c1", "type": "conv2d", "out_channels": 65536, "kernel_size": 1, "padding": 255}]
    + TAIL))
net_gen("net_too_large_memory", layers_json(
    [{"name": "c1", "type": "conv2d", "out_channels": 65536, "kernel_size": 3, "padding": 1}]
    + TAIL))
net_gen("net_params_overflow", layers_json(
    [{"name": "c1", "type": "conv2d", "out_channels": 65536, "kernel_size": 255, "padding": 127},
     {"name": "c2", "type": "conv2d", "out_channels": 65536, "kernel_size": 3, "padding": 1}]
    + TAIL))
net_gen("net_block_no_downsample", layers_json(
    STEM + [{"name": "b", "type": "basic_block", "planes": 16, "stride": 2,
             "downsample": False}] + TAIL))
net_gen("net_momentum_range", layers_json(
    STEM + [{"name": "bn", "type": "batchnorm2d", "momentum": 1.5}] + TAIL))
net_gen("net_eps_string", layers_json(
    STEM + [{"name": "bn", "type": "batchnorm2d", "eps": "small"}] + TAIL))
net_gen("net_too_many_layers", layers_json(
    STEM + [{"type": "relu"}] * 5000 + TAIL))
net_gen("net_bad_init", layers_json(STEM + TAIL, init="xavier"))


# A checkpoint of another network: a small one (conv, pool, fc) in format 2,
# with its description and training state.
OTHER_NET = {"name": "tiny", "input": {"channels": 1, "height": 28, "width": 28},
             "classes": 10, "init": "pytorch", "layers": [
                 {"name": "c", "type": "conv2d", "out_channels": 4, "kernel_size": 3},
                 {"type": "adaptive_avgpool2d"}, {"type": "flatten"},
                 {"name": "fc", "type": "linear"}]}
OTHER_PARAMS = [("c.weight", [4, 1, 3, 3]), ("c.bias", [4]), ("fc.weight", [10, 4]),
                ("fc.bias", [10])]


def other_ck(network=True, version="2"):
    ck = Ck()
    total = sum(count(sh) for _, sh in OTHER_PARAMS)
    ck.tensors = [[n, {"dtype": "F32", "shape": sh, "data": f32(values(count(sh), 5 + i, 0.2))}]
                  for i, (n, sh) in enumerate(OTHER_PARAMS)]
    ck.meta["resnet_train.format_version"] = version
    if network:
        ck.meta["resnet_train.network"] = json.dumps(OTHER_NET)
    ck.meta["resnet_train.adam_m"] = base64.b64encode(f32(values(total, 7, 2e-3))).decode()
    ck.meta["resnet_train.adam_v"] = base64.b64encode(
        f32(values(total, 8, 1e-5, nonneg=True))).decode()
    return ck


def other_gen(name, fn):
    def run(d):
        ck = other_ck()
        out = fn(ck)
        ck_row(d, ck.build() if out is None else out)
    GEN[name] = run


other_gen("ck_other_network", lambda ck: None)
other_gen("ck_v2_no_network", lambda ck: (ck.meta.pop("resnet_train.network"), None)[1])
other_gen("ck_v2_bad_network", lambda ck: ck.meta.__setitem__("resnet_train.network",
                                                               '{"name": "tiny", "layers": ['))
other_gen("ck_v2_network_shape", lambda ck: ck.meta.__setitem__(
    "resnet_train.network", json.dumps(dict(OTHER_NET, layers=[
        {"name": "c", "type": "conv2d", "out_channels": 8, "kernel_size": 3}] +
        OTHER_NET["layers"][1:]))))


def _moments_file(ck):
    ck.meta.pop("resnet_train.adam_m")
    ck.meta.pop("resnet_train.adam_v")
    ck.meta["resnet_train.adam_file"] = "ck.safetensors.adam-1"
    ck.meta["resnet_train.adam_crc32"] = "01234567"


other_gen("ck_moments_file_missing", _moments_file)
other_gen("ck_moments_file_path", lambda ck: (_moments_file(ck), ck.meta.__setitem__(
    "resnet_train.adam_file", "../elsewhere/ck.adam-1"))[0])


# CIFAR (tests/bad_inputs/cifar_rows.tsv): record files of the real sizes,
# sparse and all zero (every label 0, valid) but for the bytes a row pokes
# in, in $D/cifar-10-batches-bin or $D/cifar-100-binary; archives
# $D/cifar-10-binary.tar.gz written with tarfile ----------------------------------------
CIFAR10_DIR = "cifar-10-batches-bin"
CIFAR10_FILES = ["data_batch_%d.bin" % i for i in range(1, 6)] + ["test_batch.bin"]
CIFAR100_DIR = "cifar-100-binary"
CIFAR_REC = {10: 3073, 100: 3074}
CIFAR_COUNT = {"train.bin": 50000}  # every other record file holds 10000


def cifar_count(name):
    return CIFAR_COUNT.get(name, 10000)


def sparse(path, size, pokes=()):
    """A file of size zero bytes (a hole) with (offset, byte) pokes."""
    with open(path, "wb") as f:
        f.truncate(size)
        for at, value in pokes:
            f.seek(at)
            f.write(bytes([value]))


def cifar_folder(d, classes=10, sizes=None, pokes=None, skip=()):
    """$D/<folder> with every record file of its real size; sizes overrides
    a file's size, pokes adds (offset, byte) pairs, skip leaves files out."""
    sizes, pokes = sizes or {}, pokes or {}
    folder = os.path.join(d, CIFAR10_DIR if classes == 10 else CIFAR100_DIR)
    os.mkdir(folder)
    for name in (CIFAR10_FILES if classes == 10 else ["train.bin", "test.bin"]):
        if name in skip:
            continue
        size = sizes.get(name, cifar_count(name) * CIFAR_REC[classes])
        sparse(os.path.join(folder, name), size, pokes.get(name, ()))


def tar_gz(members, cut=None, compress=True):
    """A gzip-compressed (unless not compress) ustar archive of members:
    (name, kind, data or link target) with kind 'file', 'dir', 'symlink' or
    'hardlink'; data is bytes or a size (that many zero bytes, streamed)."""
    import io
    import tarfile

    class Zeros(io.RawIOBase):
        def __init__(self, n):
            self.n = n

        def readable(self):
            return True

        def readinto(self, b):
            k = min(len(b), self.n)
            b[:k] = bytes(k)
            self.n -= k
            return k

    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for name, kind, data in members:
            info = tarfile.TarInfo(name)
            info.mtime = 1262304000
            if kind == "dir":
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                tar.addfile(info)
            elif kind in ("symlink", "hardlink"):
                info.type = tarfile.SYMTYPE if kind == "symlink" else tarfile.LNKTYPE
                info.linkname = data
                tar.addfile(info)
            elif isinstance(data, int):
                info.size = data
                tar.addfile(info, io.BufferedReader(Zeros(data)))
            else:
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    out = gzip.compress(raw.getvalue(), 6, mtime=0) if compress else raw.getvalue()
    return out[:cut] if cut is not None else out


def cifar10_members(skip=(), sizes=None):
    sizes = sizes or {}
    return [(CIFAR10_DIR + "/", "dir", None)] + [
        (CIFAR10_DIR + "/" + n, "file", sizes.get(n, 10000 * 3073))
        for n in CIFAR10_FILES if n not in skip]


def cifar_archive(d, content):
    write(os.path.join(d, "cifar-10-binary.tar.gz"), content)


@gen("cifar_good")
def _(d):  # the control: real-size zero files (valid) in the unpacked folder
    cifar_folder(d)


@gen("cifar_good_archive")
def _(d):  # the control: the same in the archive (all zero: compresses to 180 KB)
    cifar_archive(d, tar_gz(cifar10_members()))


@gen("cifar100_good")
def _(d):
    cifar_folder(d, 100)


@gen("cifar_missing")
def _(d):  # neither the folder nor the archive
    pass


@gen("cifar_file_missing")
def _(d):
    cifar_folder(d, skip=("test_batch.bin",))


@gen("cifar_empty")
def _(d):
    cifar_folder(d, sizes={"data_batch_2.bin": 0})


@gen("cifar_not_whole")
def _(d):  # 100 bytes short: not a whole number of records
    cifar_folder(d, sizes={"data_batch_1.bin": 10000 * 3073 - 100})


@gen("cifar_short")
def _(d):  # one record short (a whole number of records, the wrong count)
    cifar_folder(d, sizes={"test_batch.bin": 9999 * 3073})


@gen("cifar_long")
def _(d):  # one record too many
    cifar_folder(d, sizes={"data_batch_5.bin": 10001 * 3073})


@gen("cifar_label_10")
def _(d):
    cifar_folder(d, pokes={"data_batch_3.bin": [(777 * 3073, 10)]})


@gen("cifar_label_255")
def _(d):  # the last record of the test file
    cifar_folder(d, pokes={"test_batch.bin": [(9999 * 3073, 255)]})


@gen("cifar100_fine_100")
def _(d):
    cifar_folder(d, 100, pokes={"train.bin": [(5 * 3074 + 1, 100)]})


@gen("cifar100_coarse_20")
def _(d):
    cifar_folder(d, 100, pokes={"test.bin": [(0, 20)]})


@gen("cifar100_as_cifar10")
def _(d):  # CIFAR-100's training file where CIFAR-10's first batch belongs
    cifar_folder(d, sizes={"data_batch_1.bin": 50000 * 3074})


@gen("cifar_archive_garbage")
def _(d):
    cifar_archive(d, b"<html><body>404 Not Found</body></html>\n")


@gen("cifar_archive_empty")
def _(d):
    cifar_archive(d, b"")


@gen("cifar_archive_truncated")
def _(d):  # a download that stopped at half
    whole = tar_gz(cifar10_members())
    cifar_archive(d, whole[:len(whole) // 2])


@gen("cifar_archive_traversal")
def _(d):
    cifar_archive(d, tar_gz([("../evil.bin", "file", b"evil\n")] + cifar10_members()))


@gen("cifar_archive_absolute")
def _(d):
    cifar_archive(d, tar_gz([("/tmp/evil.bin", "file", b"evil\n")] + cifar10_members()))


@gen("cifar_archive_symlink")
def _(d):  # a record file that is a link to /etc/passwd
    cifar_archive(d, tar_gz([(CIFAR10_DIR + "/", "dir", None),
                             (CIFAR10_DIR + "/data_batch_1.bin", "symlink", "/etc/passwd")]))


@gen("cifar_archive_hardlink")
def _(d):
    cifar_archive(d, tar_gz([(CIFAR10_DIR + "/", "dir", None),
                             (CIFAR10_DIR + "/data_batch_1.bin", "hardlink", "/etc/passwd")]))


@gen("cifar_archive_oversized")
def _(d):  # a record file one record too big
    cifar_archive(d, tar_gz(cifar10_members(sizes={"data_batch_2.bin": 10001 * 3073})))


@gen("cifar_archive_member_missing")
def _(d):
    cifar_archive(d, tar_gz(cifar10_members(skip=("data_batch_4.bin",))))


@gen("cifar_archive_too_many")
def _(d):  # 70 folders
    cifar_archive(d, tar_gz([(CIFAR10_DIR + "/x%02d/" % i, "dir", None) for i in range(70)]))


# image folders (torchvision's ImageFolder, --dataset folder): $D/data holds
# train/<class>/ and val/<class>/ -- the rows are in folder_rows.tsv ---------------
# a 16x16 RGB JPEG written once by PIL (quality 85): the standard library
# cannot encode JPEG
FOLDER_JPEG = base64.b64decode(
    "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAUDBAQEAwUEBAQFBQUGBwwIBwcHBw8LCwkMEQ8SEhEPERETFhwX"
    "ExQaFRERGCEYGh0dHx8fExciJCIeJBweHx7/2wBDAQUFBQcGBw4ICA4eFBEUHh4eHh4eHh4eHh4eHh4eHh4e"
    "Hh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh7/wAARCAAQABADASIAAhEBAxEB/8QAHwAAAQUBAQEB"
    "AQEAAAAAAAAAAAECAwQFBgcICQoL/8QAtRAAAgEDAwIEAwUFBAQAAAF9AQIDAAQRBRIhMUEGE1FhByJxFDKB"
    "kaEII0KxwRVS0fAkM2JyggkKFhcYGRolJicoKSo0NTY3ODk6Q0RFRkdISUpTVFVWV1hZWmNkZWZnaGlqc3R1"
    "dnd4eXqDhIWGh4iJipKTlJWWl5iZmqKjpKWmp6ipqrKztLW2t7i5usLDxMXGx8jJytLT1NXW19jZ2uHi4+Tl"
    "5ufo6erx8vP09fb3+Pn6/8QAHwEAAwEBAQEBAQEBAQAAAAAAAAECAwQFBgcICQoL/8QAtREAAgECBAQDBAcF"
    "BAQAAQJ3AAECAxEEBSExBhJBUQdhcRMiMoEIFEKRobHBCSMzUvAVYnLRChYkNOEl8RcYGRomJygpKjU2Nzg5"
    "OkNERUZHSElKU1RVVldYWVpjZGVmZ2hpanN0dXZ3eHl6goOEhYaHiImKkpOUlZaXmJmaoqOkpaanqKmqsrO0"
    "tba3uLm6wsPExcbHyMnK0tPU1dbX2Nna4uPk5ebn6Onq8vP09fb3+Pn6/9oADAMBAAIRAxEAPwDwzw74Q+7+"
    "6/SvSfDnhD7v7r9K7vw54Q+7+6/SvSfDvhD7v7r9KMNiQ4K41+H3j//Z")


def png_rgb(w, h, seed):
    """A w x h 8-bit RGB PNG of noise."""
    rng = random.Random(seed)
    rows = b"".join(b"\x00" + bytes(rng.randrange(256) for _ in range(3 * w)) for _ in range(h))
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + png_chunk(b"IDAT", zlib.compress(rows)) + png_chunk(b"IEND", b""))


def png_header(w, h):
    """Only the signature and IHDR: what the loader reads to size the set."""
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))


def folder_set(d, classes=("cat", "dog"), train=4, val=2, size=32, extra=None):
    """$D/data/{train,val}/<class>/NN.png, size x size RGB; extra: {relative
    path under $D/data: bytes} written after (None removes the file)."""
    root = os.path.join(d, "data")
    for split, n in (("train", train), ("val", val)):
        for c, name in enumerate(classes):
            folder = os.path.join(root, split, name)
            os.makedirs(folder)
            for i in range(n):
                write(os.path.join(folder, "%02d.png" % i), png_rgb(size, size, 1000 * c + i))
    for rel, content in (extra or {}).items():
        path = os.path.join(root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        if content is None:
            os.remove(path)
        else:
            write(path, content)
    return root


def folder_gen(name, **kw):
    GEN[name] = lambda d: folder_set(d, **kw)


folder_gen("folder_good")
folder_gen("folder_good_mixed", extra={"train/cat/zz.jpg": FOLDER_JPEG, "val/dog/zz.JPEG": FOLDER_JPEG,
                                       "train/dog/big.png": png_rgb(45, 37, 7)})
folder_gen("folder_png_truncated", extra={"train/dog/01.png": png_rgb(32, 32, 1001)[:70]})
folder_gen("folder_png_corrupt_idat", extra={"val/cat/00.png": corrupt_idat()})
folder_gen("folder_png_huge", extra={"train/cat/02.png": png_header(100000, 100000)})
folder_gen("folder_jpeg_truncated", extra={"train/cat/zz.jpg": FOLDER_JPEG[:300]})
folder_gen("folder_text_as_jpg", extra={"train/dog/notes.jpg": b"not a picture\n"})
folder_gen("folder_empty_image", extra={"val/dog/00.png": b""})
folder_gen("folder_bmp", extra={"train/cat/x.bmp": b"BM" + struct.pack("<IHHI", 70, 0, 0, 54) + b"\0" * 62})
folder_gen("folder_webp", extra={"train/cat/x.webp": b"RIFF\x1a\0\0\0WEBPVP8 " + b"\0" * 18})
folder_gen("folder_tiff", extra={"val/cat/x.tif": b"II*\0\x08\0\0\0" + b"\0" * 16})
folder_gen("folder_newline_name", extra={"train/cat/bad\nname.png": b"broken"})
folder_gen("folder_skip_one", extra={"train/dog/01.png": png_rgb(32, 32, 1001)[:70]})
folder_gen("folder_skip_class", extra={"val/cat/00.png": b"broken", "val/cat/01.png": b"broken"})
folder_gen("folder_no_classes", classes=(), extra={"train/README.txt": b"no classes\n",
                                                   "val/README.txt": b"no classes\n"})
folder_gen("folder_empty_class", extra={"train/bird/.DS_Store": b"\0\0\0\1Bud1",
                                        "train/bird/notes.txt": b"no pictures yet\n",
                                        "val/bird/00.png": png_rgb(32, 32, 5)})
folder_gen("folder_val_extra_class", extra={"val/bird/00.png": png_rgb(32, 32, 5)})
folder_gen("folder_too_many_classes", classes=tuple("c%03d" % i for i in range(257)), train=1, val=1,
           size=2)
# 90 headers of 8000 x 8000: 16.1 GiB once decoded (refused before decoding)
folder_gen("folder_memory_cap", train=44, val=1, size=1,
           extra={"%s/%s/%02d.png" % (s, c, i): png_header(8000, 8000)
                  for s, n in (("train", 44), ("val", 1)) for c in ("cat", "dog") for i in range(n)})


@gen("folder_missing")
def _(d):  # --data names a folder that is not there
    pass


@gen("folder_val_missing_class")
def _(d):  # val/ has no dog/ folder at all
    shutil.rmtree(os.path.join(folder_set(d), "val", "dog"))


@gen("folder_no_val")
def _(d):
    shutil.rmtree(os.path.join(folder_set(d), "val"))


@gen("folder_train_is_file")
def _(d):
    root = folder_set(d)
    shutil.rmtree(os.path.join(root, "train"))
    write(os.path.join(root, "train"), b"a file, not a folder\n")


@gen("folder_symlink_loop")
def _(d):  # train/cat/again -> .. : os.walk(followlinks=True) would never end
    os.symlink("..", os.path.join(folder_set(d), "train", "cat", "again"))


@gen("folder_fifo")
def _(d):  # a FIFO named like an image must not block the loader
    os.mkfifo(os.path.join(folder_set(d), "train", "dog", "pipe.png"))


@gen("folder_dangling_link")
def _(d):
    os.symlink("nowhere.png", os.path.join(folder_set(d), "val", "dog", "gone.png"))


# the CUDA backend's plugin (RESNET_TRAIN_CUDA_PLUGIN, set from $D.meta) ---------------
def plugin_meta(d, path):
    write(d + ".meta", ("CUDA_PLUGIN=%s\n" % path).encode())


@gen("plugin_missing")
def _(d):
    plugin_meta(d, os.path.join(d, "lib", "resnet-train-cuda.so"))


@gen("plugin_corrupt")
def _(d):  # a download cut short: zeros where the ELF header belongs
    write(os.path.join(d, "resnet-train-cuda.so"), bytes(4096))
    plugin_meta(d, os.path.join(d, "resnet-train-cuda.so"))


@gen("plugin_other_version")
def _(d):  # tests/plugin/fake_plugin.c, built by meson; the runner exports its path
    plugin_meta(d, "$BAD_INPUTS_FAKE_PLUGIN")


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in GEN:
        sys.stderr.write("usage: make_input.py GENERATOR DIR (generators: %s)\n"
                         % " ".join(sorted(GEN)))
        return 2
    GEN[sys.argv[1]](sys.argv[2])
    return 0


if __name__ == "__main__":
    sys.exit(main())
