#!/bin/sh
# Prints the folder holding the MNIST files for the tests (see meson.build).
if [ -n "${RESNET_TRAIN_DATA:-}" ]; then
    echo "$RESNET_TRAIN_DATA"
    exit 0
fi
for d in "$1/../shared/data/mnist" "$1/data"; do
    for f in train-images-idx3-ubyte.gz train-images-idx3-ubyte \
             MNIST/raw/train-images-idx3-ubyte.gz MNIST/raw/train-images-idx3-ubyte; do
        if [ -e "$d/$f" ]; then
            (cd "$d" && pwd)
            exit 0
        fi
    done
done
