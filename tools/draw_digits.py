#!/usr/bin/env python3
"""Draws the digit pictures of tests/fixtures/digits/ (PIL only).

Every digit is a few pen strokes (lines and elliptic arcs) written here by
hand, not taken from MNIST or a font: a thick round pen, a slight slant and
a smooth random wobble (seeded, so a rerun draws the same strokes), rendered
4x supersampled and scaled down, so the edges are anti-aliased like a scan.
The pictures vary what predict's preprocessing has to undo: the canvas size
and aspect, the margins and position, light-on-dark or dark-on-light, PNG
(gray, RGB, gray+alpha) or PGM (raw P5 8 and 16 bits, plain P2), and one "photo" of a digit
on uneven grey paper with noise and blur.

The file name starts with the digit it shows (`3_dark_on_light.png`);
tests/cli/test_predict.sh checks predict's answer against it.

  python3 tools/draw_digits.py [--out tests/fixtures/digits] [--preview FILE]
"""
import argparse
import math
import os
import random

from PIL import Image, ImageDraw, ImageFilter

SS = 4  # supersampling factor


# --- the strokes ---------------------------------------------------------
# A digit is a list of strokes; a stroke is a list of (x, y) points in a unit
# box (x right, y down, the digit spans y 0..1 and about x 0.15..0.85).

def arc(cx, cy, rx, ry, a0, a1, n=48):
    """Points of an elliptic arc from angle a0 to a1 (degrees; 0 = right,
    90 = down since y points down; a1 < a0 runs anticlockwise on screen)."""
    pts = []
    for i in range(n + 1):
        a = math.radians(a0 + (a1 - a0) * i / n)
        pts.append((cx + rx * math.cos(a), cy + ry * math.sin(a)))
    return pts


def line(*pts):
    return list(pts)


def digit_strokes(d, style='plain'):
    if d == 0:
        return [arc(0.5, 0.5, 0.27, 0.46, -100, 265)]
    if d == 1:
        if style == 'serif':
            return [line((0.36, 0.22), (0.56, 0.02), (0.5, 0.98)),
                    line((0.34, 0.98), (0.68, 0.98))]
        return [line((0.6, 0.02), (0.42, 0.98))]
    if d == 2:
        return [arc(0.5, 0.29, 0.27, 0.26, 195, 380, 40)
                + line((0.72, 0.52), (0.2, 0.96), (0.84, 0.96))]
    if d == 3:
        return [arc(0.48, 0.26, 0.26, 0.23, 200, 450, 40)
                + arc(0.48, 0.73, 0.3, 0.25, 270, 500, 40)[1:]]
    if d == 4:
        if style == 'closed':
            return [line((0.64, 0.96), (0.64, 0.02), (0.14, 0.66), (0.86, 0.66))]
        return [line((0.3, 0.02), (0.18, 0.58), (0.84, 0.58)),
                line((0.7, 0.12), (0.68, 0.98))]
    if d == 5:
        return [line((0.8, 0.03), (0.32, 0.03), (0.26, 0.44))
                + arc(0.5, 0.68, 0.3, 0.28, 232, 500, 40)[1:]]
    if d == 6:
        return [arc(0.9, 0.72, 0.64, 0.68, 245, 180, 24)
                + arc(0.52, 0.72, 0.26, 0.25, 180, 540, 48)[1:]]
    if d == 7:
        strokes = [line((0.14, 0.04), (0.84, 0.04), (0.42, 0.98))]
        if style == 'crossed':
            strokes.append(line((0.42, 0.52), (0.8, 0.5)))
        return strokes
    if d == 8:
        return [arc(0.5, 0.26, 0.22, 0.23, 90, 450),
                arc(0.5, 0.73, 0.28, 0.25, -90, 270)]
    if d == 9:
        return [arc(0.48, 0.3, 0.26, 0.27, 0, 365)
                + line((0.74, 0.34), (0.62, 0.98))]
    raise ValueError(d)


# --- rendering -----------------------------------------------------------

def render(d, size, style='plain', height=0.7, pen=0.12, slant=0.12,
           centre=(0.5, 0.5), seed=0):
    """The digit as a 0..1 ink coverage map: a list of rows of floats.
    height: of the digit, as a fraction of the canvas height; pen: the pen's
    width as a fraction of the digit's height (MNIST: about 0.12-0.15)."""
    W, H = size
    rnd = random.Random(seed * 10 + d)
    hpx = height * H  # the digit's height in pixels
    wob = [(rnd.uniform(0.008, 0.02), rnd.uniform(1.0, 2.0), rnd.uniform(0, 6.3))
           for _ in range(2)]
    rot = math.radians(rnd.uniform(-5, 5))

    def place(x, y):
        # a smooth wobble, a slant (the top leans right), a small rotation
        x += wob[0][0] * math.sin(wob[0][1] * 2 * math.pi * y + wob[0][2])
        y += wob[1][0] * math.sin(wob[1][1] * 2 * math.pi * x + wob[1][2])
        x, y = x - 0.5, y - 0.5
        x -= slant * y
        x, y = x * math.cos(rot) - y * math.sin(rot), x * math.sin(rot) + y * math.cos(rot)
        return ((centre[0] * W + x * hpx) * SS, (centre[1] * H + y * hpx) * SS)

    img = Image.new('L', (W * SS, H * SS), 0)
    draw = ImageDraw.Draw(img)
    r = pen * hpx * SS / 2
    for stroke in digit_strokes(d, style):
        pts = [place(x, y) for x, y in stroke]
        # densify, so round dabs along the path join smoothly
        dense = [pts[0]]
        for (x0, y0), (x1, y1) in zip(pts, pts[1:]):
            n = max(1, int(math.hypot(x1 - x0, y1 - y0) / max(1.0, r / 3)))
            dense += [(x0 + (x1 - x0) * k / n, y0 + (y1 - y0) * k / n) for k in range(1, n + 1)]
        # the pen presses a little harder in the middle of a stroke
        for i, (x, y) in enumerate(dense):
            t = i / max(1, len(dense) - 1)
            rr = r * (0.85 + 0.15 * math.sin(math.pi * t))
            draw.ellipse((x - rr, y - rr, x + rr, y + rr), fill=255)
    small = img.resize((W, H), Image.BOX)
    return small


def on_paper(cov, ink, paper):
    """Coverage 0..255 -> gray: paper where 0, ink where 255."""
    return cov.point(lambda c: round(paper + (ink - paper) * c / 255))


def photo(cov, seed):
    """A phone-photo look: uneven lighting on grey paper, dark-blue ink,
    sensor noise, a little blur. RGB."""
    rnd = random.Random(seed)
    W, H = cov.size
    out = Image.new('RGB', (W, H))
    c = cov.filter(ImageFilter.GaussianBlur(0.8)).load()
    o = out.load()
    for y in range(H):
        for x in range(W):
            light = 0.78 + 0.16 * (x / W) - 0.1 * (y / H)  # brighter right, darker low
            paper = (205 * light, 200 * light, 188 * light)
            ink = (40, 45, 85)
            a = c[x, y] / 255
            n = rnd.gauss(0, 6)
            o[x, y] = tuple(max(0, min(255, round(p + (i - p) * a + n)))
                            for p, i in zip(paper, ink))
    return out


def write_pgm(img, path, plain=False, maxval=255):
    W, H = img.size
    px = img.tobytes()
    with open(path, 'wb') as f:
        if maxval > 255:  # raw, 16-bit big-endian samples
            f.write(f'P5\n{W} {H}\n{maxval}\n'.encode())
            for v in px:
                f.write((round(v * maxval / 255)).to_bytes(2, 'big'))
        elif plain:
            f.write(f'P2\n# drawn by tools/draw_digits.py\n{W} {H}\n255\n'.encode())
            for y in range(H):
                f.write((' '.join(str(v) for v in px[y * W:(y + 1) * W]) + '\n').encode())
        else:
            f.write(f'P5\n{W} {H}\n255\n'.encode())
            f.write(bytes(px))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--out', default='tests/fixtures/digits')
    ap.add_argument('--preview', help='also write a contact sheet PNG here')
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)

    made = []

    def save(name, img, kind='png'):
        path = os.path.join(args.out, name)
        if kind == 'png':
            img.save(path, optimize=True)
        else:
            write_pgm(img, path, plain=(kind == 'p2'),
                      maxval=65535 if kind == 'p5-16' else 255)
        made.append((name, img))

    # one per digit, MNIST's look (light ink on black) unless said otherwise
    save('0_plain.png', render(0, (64, 64), seed=1))
    save('1_small28.png', render(1, (28, 28), height=0.72, seed=1))
    save('2_wide.png', render(2, (200, 150), height=0.6, centre=(0.35, 0.45), seed=1))
    save('3_dark_on_light.png',
         on_paper(render(3, (300, 300), height=0.55, pen=0.11, seed=1), 20, 245))
    save('4_open.pgm', render(4, (96, 96), seed=1), 'p5')
    save('5_plain.png', render(5, (64, 64), seed=1))
    save('6_dark_on_light.pgm',
         on_paper(render(6, (45, 60), height=0.75, seed=1), 30, 235), 'p2')
    save('7_big.png', render(7, (300, 300), height=0.8, seed=1))
    save('8_tall.png', render(8, (150, 200), height=0.65, centre=(0.55, 0.55), seed=1))
    save('9_plain.png', render(9, (64, 64), seed=1))
    # variants
    # 16-bit PGM, the digit small and off centre on a large canvas
    save('9_offcentre16.pgm', render(9, (90, 70), height=0.45, centre=(0.25, 0.7), seed=2),
         'p5-16')
    save('1_serif.png', render(1, (80, 80), style='serif', seed=2))
    save('3_thin.png', render(3, (200, 200), height=0.7, pen=0.07, seed=2))
    save('4_closed.png', on_paper(render(4, (100, 100), style='closed', seed=2), 0, 255))
    save('7_crossed.png', render(7, (90, 120), style='crossed', slant=0.2, seed=2))
    save('2_photo.png', photo(render(2, (160, 120), height=0.62, pen=0.1, slant=0.18,
                                     centre=(0.55, 0.5), seed=3), seed=3))
    # gray + alpha: dark ink on a transparent background (composited over white)
    a = render(8, (72, 72), height=0.7, seed=4)
    la = Image.merge('LA', (Image.new('L', a.size, 25), a))
    save('8_alpha.png', la)

    for name, _ in made:
        print(os.path.join(args.out, name))
    if args.preview:
        cell = 100
        sheet = Image.new('L', (cell * 8, cell * ((len(made) + 7) // 8)), 128)
        for i, (_, img) in enumerate(made):
            im = img.convert('L') if img.mode != 'LA' else Image.composite(
                Image.new('L', img.size, 25), Image.new('L', img.size, 255), img.getchannel('A'))
            im.thumbnail((cell - 4, cell - 4))
            sheet.paste(im, ((i % 8) * cell + 2, (i // 8) * cell + 2))
        sheet.save(args.preview)


if __name__ == '__main__':
    main()
