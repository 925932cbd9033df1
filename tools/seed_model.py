"""The seed's network and MNIST reading, shared by the PyTorch-side scripts
(tools/make_fixtures.py, bench/pytorch_baseline.py, tools/pytorch_roundtrip.py).

Written here, not copied from the seed program: the same module names (so
the same state_dict names as resnet-train's checkpoints) and the same
construction order (which fixes the order of the random draws, so
torch.manual_seed(0) gives the seed program's initial weights).
"""
import gzip

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

IMAGES_MAGIC, LABELS_MAGIC = 2051, 2049


def read_idx(path, magic=None):
    """The payload of a gzipped IDX file as a uint8 array of its dimensions."""
    with gzip.open(path, 'rb') as f:
        raw = f.read()
    if magic is not None and int.from_bytes(raw[0:4], 'big') != magic:
        raise ValueError(f'{path}: bad magic')
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], 'big') for i in range(ndim)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def to_input(images_u8):
    """ToTensor(): float32 division by 255, shape N x 1 x 28 x 28."""
    return (images_u8.to(torch.float32) / 255).unsqueeze(1)


class ResBlock(nn.Module):
    """relu(conv2(conv1(x)) + x); conv1 5x5 pad 2 to 30 channels, conv2 3x3 pad 1 back."""

    def __init__(self, channels):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, 30, kernel_size=5, padding=2)
        self.conv2 = nn.Conv2d(30, channels, kernel_size=3, padding=1)

    def forward(self, x):
        return F.relu(self.conv2(self.conv1(x)) + x)


class ResNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 20, kernel_size=5)
        self.conv2 = nn.Conv2d(20, 15, kernel_size=3)
        self.maxpool = nn.MaxPool2d(2)
        self.resblock1 = ResBlock(20)
        self.resblock2 = ResBlock(15)
        self.full_c = nn.Linear(375, 10)

    def forward(self, x):
        x = F.relu(self.maxpool(self.conv1(x)))
        x = self.resblock1(x)
        x = F.relu(self.maxpool(self.conv2(x)))
        x = self.resblock2(x)
        return self.full_c(x.flatten(1))
