#!/usr/bin/env python3
"""Writes a synthetic ImageFolder tree for bench/folder_loader.sh:
DIR/train/<class>/*.jpg and DIR/val/<class>/*.jpg, photographs' sizes
(random between 240 and 480 pixels a side) and JPEG quality 90, so that
decoding and resizing cost what they cost on real pictures. Class k is an
ellipse of hue k/CLASSES at a random place and size on a noisy background
of random hue: learnable, not trivially (the hue must be told from the
background's). Deterministic for a given seed. Needs Pillow and numpy.
Usage: make_folder.py DIR [--classes 10] [--train 300] [--val 50]"""
import argparse
import colorsys
import os
import random

import numpy as np
from PIL import Image, ImageDraw


def picture(rng, k, classes):
    w, h = rng.randint(240, 480), rng.randint(240, 480)
    bg = colorsys.hsv_to_rgb(rng.random(), 0.3 + 0.4 * rng.random(), 0.3 + 0.5 * rng.random())
    noise = np.random.default_rng(rng.getrandbits(32)).normal(0, 18, (h, w, 3))
    base = np.array(bg) * 255 + noise
    img = Image.fromarray(np.clip(base, 0, 255).astype(np.uint8), "RGB")
    fg = colorsys.hsv_to_rgb((k + 0.3 * rng.random() - 0.15) / classes % 1.0, 0.9, 0.95)
    rw, rh = rng.randint(w // 5, w // 2), rng.randint(h // 5, h // 2)
    x, y = rng.randint(0, w - rw), rng.randint(0, h - rh)
    ImageDraw.Draw(img).ellipse([x, y, x + rw, y + rh], fill=tuple(int(c * 255) for c in fg))
    return img


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("dir")
    ap.add_argument("--classes", type=int, default=10)
    ap.add_argument("--train", type=int, default=300)
    ap.add_argument("--val", type=int, default=50)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    for split, n in (("train", a.train), ("val", a.val)):
        for k in range(a.classes):
            d = os.path.join(a.dir, split, "class%02d" % k)
            os.makedirs(d, exist_ok=True)
            for i in range(n):
                picture(rng, k, a.classes).save(os.path.join(d, "%05d.jpg" % i), quality=90)


if __name__ == "__main__":
    main()
