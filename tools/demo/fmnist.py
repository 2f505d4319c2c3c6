"""Fashion-MNIST from Debian's dataset-fashion-mnist package (idx files, gzip)."""
import gzip
import struct

import numpy as np

ROOT = "/usr/share/datasets/fashion-mnist"
CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
           "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]


def _read_idx(path: str) -> np.ndarray:
    with gzip.open(path, "rb") as f:
        data = f.read()
    if len(data) < 4:
        raise ValueError(f"{path}: truncated idx file")
    zero, dtype, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0 or dtype != 0x08:
        raise ValueError(f"{path}: not an unsigned-byte idx file")
    shape = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    body = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if body.size != int(np.prod(shape)):
        raise ValueError(f"{path}: {body.size} bytes, shape {shape} needs {int(np.prod(shape))}")
    return body.reshape(shape)


def load(split: str):
    """images: [N, 28, 28] uint8, labels: [N] uint8 for split 'train' or 'test'."""
    prefix = "train" if split == "train" else "t10k"
    try:
        images = _read_idx(f"{ROOT}/{prefix}-images-idx3-ubyte.gz")
        labels = _read_idx(f"{ROOT}/{prefix}-labels-idx1-ubyte.gz")
    except FileNotFoundError as e:
        raise SystemExit(f"{e.filename} missing: apt-get install dataset-fashion-mnist") from None
    return images, labels
