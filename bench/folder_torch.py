#!/usr/bin/env python3
"""The peer of bench/folder_loader.sh: torchvision's ImageFolder through a
DataLoader, as a torchvision training script reads an image folder every
epoch: RandomResizedCrop(S), RandomHorizontalFlip, ToTensor, Normalize for
training, Resize(S * 256 // 224), CenterCrop(S), ToTensor, Normalize for
validation. Prints the images/s of one pass over each (decoding, the
transforms and the collation; no model), the number the trainer's
"Decoded ... images/s" line is set beside.
Usage: folder_torch.py DIR [--image-size 64] [--workers 2] [--batch-size 128]"""
import argparse
import time

import torch
from torchvision import datasets, transforms


def rate(loader):
    n, t0 = 0, time.perf_counter()
    for x, _ in loader:
        n += x.shape[0]
    return n, time.perf_counter() - t0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("dir")
    ap.add_argument("--image-size", type=int, default=64)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=128)
    a = ap.parse_args()
    torch.set_num_threads(1)
    norm = transforms.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])
    s = a.image_size
    train = datasets.ImageFolder(a.dir + "/train", transforms.Compose([
        transforms.RandomResizedCrop(s), transforms.RandomHorizontalFlip(),
        transforms.ToTensor(), norm]))
    val = datasets.ImageFolder(a.dir + "/val", transforms.Compose([
        transforms.Resize(s * 256 // 224), transforms.CenterCrop(s), transforms.ToTensor(), norm]))
    for name, ds, shuffle in (("train", train, True), ("val", val, False)):
        loader = torch.utils.data.DataLoader(ds, batch_size=a.batch_size, shuffle=shuffle,
                                             num_workers=a.workers)
        n, sec = rate(loader)
        print("torchvision %s loader (%d workers): %d images in %.2f s: %.0f images/s"
              % (name, a.workers, n, sec, n / sec))


if __name__ == "__main__":
    main()
