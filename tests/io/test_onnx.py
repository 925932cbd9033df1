"""ONNX export round trip: resnet-train's networks exported with
`export --onnx`, checked by onnx.checker (full_check: shapes inferred
through every op) and run by onnxruntime on real MNIST test images; the
logits must match resnet-train's own (`evaluate --logits`, the CPU backend)
within 1e-5 relative (max |ort - ours| / max |ours|).

Networks: the tutorial's (the trained fixture), and two with BatchNorm
trained here for one short epoch so that their running statistics are not
the initial ones: the small ResNet of docs/networks.md (every layer kind:
strided and 1x1 convolutions with and without bias, padded max pool,
projection shortcuts), resnet20 (CIFAR's basic blocks) and resnet50
(torchvision's bottlenecks; one step only, it is large).

    test_onnx.py RESNET_TRAIN TRAINED_FIXTURE SMALL_RESNET_JSON
Exit 77 (skipped) without numpy, onnx or onnxruntime, without the MNIST
files, or in a build without protobuf-c.
"""
import gzip
import os
import subprocess
import sys
import tempfile

try:
    import numpy as np
    import onnx
    import onnxruntime as ort
except ImportError as e:
    print("skipped: %s" % e)
    sys.exit(77)

LIMIT = 1e-5
IMAGES = 200


def mnist_test_images(data, n):
    """The first n test images scaled to 0..1 (ToTensor: the seed recipe's
    preprocessing, which the networks below were trained with)."""
    for name in ("t10k-images-idx3-ubyte", "t10k-images-idx3-ubyte.gz"):
        for folder in (data, os.path.join(data, "MNIST", "raw")):
            path = os.path.join(folder, name)
            if os.path.exists(path):
                raw = (gzip.open if name.endswith(".gz") else open)(path, "rb").read()
                pixels = np.frombuffer(raw, dtype=np.uint8, count=n * 784, offset=16)
                return pixels.reshape(n, 1, 28, 28).astype(np.float32) / np.float32(255)
    return None


def run(args, **kw):
    r = subprocess.run(args, capture_output=True, text=True, **kw)
    if r.returncode != 0:
        print(r.stdout, r.stderr)
        raise SystemExit("FAIL: %s exited %d" % (" ".join(args), r.returncode))
    return r


def main():
    exe, fixture, small = sys.argv[1:4]
    data = os.environ.get("RESNET_TRAIN_DATA", "")
    x = mnist_test_images(data, IMAGES) if data else None
    if x is None:
        print("skipped: no MNIST test images (RESNET_TRAIN_DATA)")
        return 77
    tmp = tempfile.mkdtemp()
    common = ["--device", "cpu", "--threads", "1", "--data", data, "--no-download"]
    probe = subprocess.run([exe, "export", fixture, "--onnx", os.path.join(tmp, "probe.onnx")],
                           capture_output=True, text=True)
    if probe.returncode != 0 and "without protobuf-c" in probe.stderr:
        print("skipped: " + probe.stderr.strip())
        return 77
    nets = [("seed", fixture)]
    for name, model, images in (("small_resnet", small, "640"), ("resnet20", "resnet20", "640"),
                                ("resnet50", "resnet50", "64")):
        ck = os.path.join(tmp, name + ".safetensors")
        run([exe, "--model", model, "--epochs", "1", "--train-limit", images, "--test-limit", "64",
             "--save", ck] + common)
        nets.append((name, ck))
    fail = 0
    for name, ck in nets:
        model_path = os.path.join(tmp, name + ".onnx")
        logits_path = os.path.join(tmp, name + ".logits")
        run([exe, "export", ck, "--onnx", model_path])
        run([exe, "evaluate", ck, "--test-limit", str(IMAGES), "--logits", logits_path] + common)
        model = onnx.load(model_path)
        onnx.checker.check_model(model, full_check=True)
        opset = [o.version for o in model.opset_import if o.domain in ("", "ai.onnx")]
        inp, out = model.graph.input[0], model.graph.output[0]
        batch = inp.type.tensor_type.shape.dim[0]
        if opset != [17] or inp.name != "input" or out.name != "logits" or batch.dim_param != "N":
            print("FAIL %s: opset %s, input %s (batch %r), output %s"
                  % (name, opset, inp.name, batch, out.name))
            fail = 1
        ops = sorted({n.op_type for n in model.graph.node})
        session = ort.InferenceSession(model_path, providers=["CPUExecutionProvider"])
        theirs = session.run(None, {"input": x})[0]
        ours = np.fromfile(logits_path, dtype="<f4").reshape(IMAGES, -1)
        # a batch of one through the symbolic batch dimension too
        one = session.run(None, {"input": x[:1]})[0]
        rel = float(np.abs(theirs - ours).max() / np.abs(ours).max())
        rel_one = float(np.abs(one - ours[:1]).max() / np.abs(ours[:1]).max())
        agree = float((theirs.argmax(1) == ours.argmax(1)).mean())
        ok = rel <= LIMIT and rel_one <= LIMIT
        print("%s %s: %d nodes (%s), max relative difference %.3g (batch 1: %.3g), "
              "same class for %.1f%% of %d images"
              % ("ok:" if ok else "FAIL", name, len(model.graph.node), " ".join(ops), rel,
                 rel_one, 100 * agree, IMAGES))
        fail |= not ok
    return fail


if __name__ == "__main__":
    sys.exit(main())
