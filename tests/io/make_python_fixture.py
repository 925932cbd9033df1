#!/usr/bin/env python3
"""Writes python_small.safetensors, the Python-written input of
test_safetensors (committed; rerun only to regenerate it):

    python3 tests/io/make_python_fixture.py tests/io/python_small.safetensors

The values are simple formulas that test_safetensors.c checks exactly."""
import sys

import numpy as np
from safetensors.numpy import save_file

tensors = {
    "weight": (np.arange(6, dtype=np.float32) * 0.5 - 1.0).reshape(2, 3),
    "index": np.array([-1, 0, 1 << 40], dtype=np.int64),
    "mask": np.array([0, 1, 254, 255], dtype=np.uint8),
    "half": np.array([1.0, -2.0], dtype=np.float16),
    "scalar": np.array(3.25, dtype=np.float64),
    "empty": np.zeros((0, 4), dtype=np.int32),
    "caf\u00e9/\"quoted\"": np.array([7], dtype=np.int16),
}
save_file(tensors, sys.argv[1], metadata={"format": "pt", "note": "made by safetensors.numpy"})
