#!/usr/bin/env python3
"""Writes tests/data/folder_fixtures/: small PNG and JPEG files of every
kind the image-folder loader decodes, with the pixels PIL gives for them,
and torchvision's evaluation transform (Resize(S * 256 // 224), then
CenterCrop(S)) of two pictures, the references of tests/data/test_decode.c
and test_image_folder.c (which need no Python). Also the seeds of the
JPEG fuzz harness (fuzz/corpus/jpeg/). Run once with Pillow and
torchvision installed; the files are committed (the fixtures' bytes
depend on the Pillow version: 13.0 resamples down first when the height
shrinks by more than twice the width's pixels, older ones never).

    python3 tools/make_folder_fixtures.py

What the references are:
  NAME.rgb   Image.open(NAME).convert("RGB").tobytes()       (rows of R G B)
  NAME.l     Image.open(NAME).convert("RGB").convert("L").tobytes()
  decode.txt one line per picture: NAME WIDTH HEIGHT
  resize_SRC_S.rgb  Compose([Resize(S*256//224), CenterCrop(S)]) of the RGB picture
  resize_SRC_S.l    Compose([Grayscale(1), Resize(S*256//224), CenterCrop(S)]) of it
  resize.txt one line per case: SRC S
The PNG files are written by the small encoder below (PIL cannot write
2/4-bit gray or 16-bit colour), the JPEG files by PIL.
"""
import io
import os
import random
import struct
import sys
import zlib

import PIL
from PIL import Image
import torchvision
from torchvision import transforms

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "data", "folder_fixtures")
SEEDS = os.path.join(ROOT, "fuzz", "corpus", "jpeg")


def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png(w, h, color, depth, samples, plte=None, trns=None):
    """samples: one list per row of the raw sample values (palette indices,
    gray, gray+alpha, RGB or RGBA interleaved)."""
    rows = b""
    for row in samples:
        if depth == 16:
            raw = b"".join(struct.pack(">H", v) for v in row)
        elif depth == 8:
            raw = bytes(row)
        else:  # 1, 2, 4 bits, packed from the high bits
            bits = "".join(format(v, "0%db" % depth) for v in row)
            bits += "0" * (-len(bits) % 8)
            raw = bytes(int(bits[i:i + 8], 2) for i in range(0, len(bits), 8))
        rows += b"\x00" + raw
    out = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, depth, color, 0, 0, 0))
    if plte is not None:
        out += chunk(b"PLTE", bytes(v for rgb in plte for v in rgb))
    if trns is not None:
        out += chunk(b"tRNS", trns)
    return out + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b"")


def grid(w, h, channels, top, rng):
    return [[rng.randrange(top + 1) for _ in range(w * channels)] for _ in range(h)]


def pictures():
    rng = random.Random(20240611)
    w, h = 7, 5
    p = {}
    p["png_rgb8.png"] = png(w, h, 2, 8, grid(w, h, 3, 255, rng))
    p["png_rgba8.png"] = png(w, h, 6, 8, grid(w, h, 4, 255, rng))
    p["png_gray8.png"] = png(w, h, 0, 8, grid(w, h, 1, 255, rng))
    p["png_gray1.png"] = png(w, h, 0, 1, grid(w, h, 1, 1, rng))
    p["png_gray2.png"] = png(w, h, 0, 2, grid(w, h, 1, 3, rng))
    p["png_gray4.png"] = png(w, h, 0, 4, grid(w, h, 1, 15, rng))
    g16 = grid(w, h, 1, 65535, rng)
    g16[0][:4] = [0, 100, 255, 256]  # PIL clips 16-bit gray at 255
    p["png_gray16.png"] = png(w, h, 0, 16, g16)
    p["png_gray8_trns.png"] = png(w, h, 0, 8, grid(w, h, 1, 255, rng), trns=b"\x00\x80")
    p["png_la8.png"] = png(w, h, 4, 8, grid(w, h, 2, 255, rng))
    p["png_la16.png"] = png(w, h, 4, 16, grid(w, h, 2, 65535, rng))
    p["png_rgb16.png"] = png(w, h, 2, 16, grid(w, h, 3, 65535, rng))
    p["png_rgba16.png"] = png(w, h, 6, 16, grid(w, h, 4, 65535, rng))
    p["png_rgb8_trns.png"] = png(w, h, 2, 8, grid(w, h, 3, 255, rng), trns=b"\x00\x10\x00\x20\x00\x30")
    pal = [(rng.randrange(256), rng.randrange(256), rng.randrange(256)) for _ in range(16)]
    p["png_palette8.png"] = png(w, h, 3, 8, grid(w, h, 1, 15, rng), plte=pal,
                                trns=bytes(rng.randrange(256) for _ in range(10)))
    p["png_palette4.png"] = png(w, h, 3, 4, grid(w, h, 1, 15, rng), plte=pal)
    p["png_palette1.png"] = png(w, h, 3, 1, grid(w, h, 1, 1, rng), plte=pal[:2])
    # JPEG: a smooth picture with edges (what the DCT keeps), odd sizes so
    # that the chroma upsampling meets the borders
    jw, jh = 21, 13
    src = Image.new("RGB", (jw, jh))
    src.putdata([((x * 12 + y * 3) % 256, (y * 19) % 256, 255 if (x // 4 + y // 4) % 2 else 30)
                 for y in range(jh) for x in range(jw)])
    def jpeg(im, **kw):
        b = io.BytesIO()
        im.save(b, "JPEG", **kw)
        return b.getvalue()
    p["jpeg_444.jpg"] = jpeg(src, quality=92, subsampling=0)
    p["jpeg_422.jpg"] = jpeg(src, quality=85, subsampling=1)
    p["jpeg_420.jpg"] = jpeg(src, quality=75, subsampling=2)
    p["jpeg_progressive.jpg"] = jpeg(src, quality=80, progressive=True)
    p["jpeg_gray.jpg"] = jpeg(src.convert("L"), quality=90)
    cmyk = Image.new("CMYK", (jw, jh))
    cmyk.putdata([((x * 12) % 256, (y * 19) % 256, (x * y * 5) % 256, (x * 7 + y * 11) % 256)
                  for y in range(jh) for x in range(jw)])
    p["jpeg_cmyk.jpg"] = jpeg(cmyk, quality=95)
    return p


def picture(w, h, seed):
    """A picture for the resize references: gradients, hard edges and noise."""
    rng = random.Random(seed)
    im = Image.new("RGB", (w, h))
    im.putdata([(min(255, (x * 255) // (w - 1) + rng.randrange(40)),
                 255 if ((x // 5) + (y // 3)) % 2 else 0,
                 (x * y * 7 + rng.randrange(256)) % 256)
                for y in range(h) for x in range(w)])
    return im


def main():
    os.makedirs(OUT, exist_ok=True)
    os.makedirs(SEEDS, exist_ok=True)
    lines = []
    for name, data in sorted(pictures().items()):
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)
        im = Image.open(io.BytesIO(data))
        rgb = im.convert("RGB")
        with open(os.path.join(OUT, name + ".rgb"), "wb") as f:
            f.write(rgb.tobytes())
        with open(os.path.join(OUT, name + ".l"), "wb") as f:
            f.write(rgb.convert("L").tobytes())
        lines.append("%s %d %d  # PIL mode %s" % (name, rgb.width, rgb.height, im.mode))
        if name.endswith(".jpg") or name in ("png_palette8.png", "png_gray16.png",
                                             "png_rgba16.png"):
            with open(os.path.join(SEEDS, name), "wb") as f:
                f.write(data)
    with open(os.path.join(OUT, "decode.txt"), "w") as f:
        f.write("# NAME WIDTH HEIGHT: written by tools/make_folder_fixtures.py (Pillow %s)\n"
                % PIL.__version__)
        f.write("\n".join(lines) + "\n")

    # resize references: a wide and a tall picture, shrunk, kept and enlarged
    srcs = {"wide": picture(61, 47, 1), "tall": picture(23, 50, 2)}
    cases = [("wide", 32), ("wide", 24), ("wide", 41), ("wide", 64), ("tall", 32), ("tall", 16),
             ("tall", 48), ("tall", 21)]
    for key, im in srcs.items():
        im.save(os.path.join(OUT, "resize_%s.png" % key))
    lines = []
    for key, s in cases:
        im = Image.open(os.path.join(OUT, "resize_%s.png" % key)).convert("RGB")
        tf = transforms.Compose([transforms.Resize(int(s * 256 / 224)), transforms.CenterCrop(s)])
        gf = transforms.Compose([transforms.Grayscale(1), transforms.Resize(int(s * 256 / 224)),
                                 transforms.CenterCrop(s)])
        out, gray = tf(im), gf(im)
        assert out.size == (s, s) and gray.mode == "L"
        with open(os.path.join(OUT, "resize_%s_%d.rgb" % (key, s)), "wb") as f:
            f.write(out.tobytes())
        with open(os.path.join(OUT, "resize_%s_%d.l" % (key, s)), "wb") as f:
            f.write(gray.tobytes())
        lines.append("%s %d" % (key, s))
    with open(os.path.join(OUT, "resize.txt"), "w") as f:
        f.write("# SRC S: written by tools/make_folder_fixtures.py (Pillow %s, torchvision %s)\n"
                % (PIL.__version__, torchvision.__version__))
        f.write("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
