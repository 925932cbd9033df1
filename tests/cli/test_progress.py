#!/usr/bin/env python3
"""The progress bar, on a pseudo-terminal 72 columns wide: it appears
("epoch 1/1 [###...] k/200 p% N img/s ... ETA m:ss"), every drawing fits in
71 columns, and once its carriage-return redraws and clear-to-end-of-line
codes are played as a terminal plays them, the lines left on screen are
exactly those of the same run written to a pipe (the tutorial's log, the
epoch time aside). With --quiet nothing but the log reaches the terminal.

Usage: test_progress.py RESNET_TRAIN. Exits 77 without the MNIST files or
where no pseudo-terminal can be opened."""
import fcntl
import os
import re
import struct
import subprocess
import sys
import termios

exe = sys.argv[1]
data = os.environ.get("RESNET_TRAIN_DATA")
if not data:
    print("skipped: RESNET_TRAIN_DATA is not set (no MNIST files)")
    sys.exit(77)
try:
    import pty
except ImportError as e:
    print(f"skipped: {e}")
    sys.exit(77)

WIDTH = 72
# 200 steps of 8 images: two loss lines, and time for several redraws
args = [exe, "--device", "cpu", "--threads", "1", "--no-download", "--data", data, "--epochs", "1",
        "--batch-size", "8", "--train-limit", "1600", "--test-limit", "200"]


def on_terminal(argv):
    """What argv writes to a pseudo-terminal's screen, as bytes."""
    try:
        master, slave = pty.openpty()
    except OSError as e:
        print(f"skipped: no pseudo-terminal: {e}")
        sys.exit(77)
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, WIDTH, 0, 0))
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=slave, stderr=slave)
    os.close(slave)
    out = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the other side closed
            break
        if not chunk:
            break
        out += chunk
    os.close(master)
    if proc.wait() != 0:
        print(out.decode(errors="replace"))
        print(f"FAIL: exit {proc.returncode}")
        sys.exit(1)
    return out.decode()


def play(text):
    """The screen's lines once \\r, \\n and ESC [ K are played."""
    lines, line, col = [], [], 0
    i = 0
    while i < len(text):
        ch = text[i]
        if text.startswith("\033[K", i):
            del line[col:]
            i += 3
            continue
        if ch == "\r":
            col = 0
        elif ch == "\n":
            lines.append("".join(line))
            line, col = [], 0
        else:
            if col < len(line):
                line[col] = ch
            else:
                line.append(ch)
            col += 1
        i += 1
    if line:
        lines.append("".join(line))
    return lines


def masked(lines):
    return [re.sub(r"^epoch_time_s:.*", "epoch_time_s:-", l) for l in lines]


failures = 0


def check(ok, what):
    global failures
    print(("ok: " if ok else "FAIL: ") + what)
    failures += not ok


piped = subprocess.run(args, capture_output=True, text=True, check=True).stdout.split("\n")[:-1]
screen = on_terminal(args)
bar = re.compile(r"epoch 1/1 \[#*\.*\] \d+/200 \d+% [\d,]+ img/s( loss \d+\.\d{4})? ETA \d+:\d\d$")
drawings = [d for d in re.split(r"\r\n|\r\033\[K|\n", screen) if "img/s" in d]
check(len(drawings) > 0, f"the bar appears ({len(drawings)} drawings)")
check(all(bar.match(d) for d in drawings),
      "every drawing is the bar: " + (drawings[-1] if drawings else ""))
check(all(len(d) <= WIDTH - 1 for d in drawings),
      f"every drawing fits in {WIDTH - 1} columns (widest {max(map(len, drawings), default=0)})")
check(any(" loss " in d for d in drawings) or len(drawings) < 4,
      "after a logged step the bar shows its loss")
left = play(screen)
check(masked(left) == masked(piped), "once redraws are played, the screen is the piped log line for line"
      + ("" if masked(left) == masked(piped) else f":\n{left}\n{piped}"))
check(not any("img/s" in l for l in left), "no bar is left on screen")

quiet = on_terminal(args + ["--quiet"])
check("img/s" not in quiet and "\033[K" not in quiet, "--quiet draws no bar")
check(masked(play(quiet)) == masked(piped), "--quiet's screen is the log")
sys.exit(1 if failures else 0)
