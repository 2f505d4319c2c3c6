"""Write tiny random LlamaGen-shaped checkpoints for tests, in every file layout.

Usage: python tiny.py OUT_DIR [--seed N] [--bench]
Writes OUT_DIR/{model,module,state_dict,top}.pt, OUT_DIR/st/ (config.json + model.safetensors)
and broken files: wrong_shape.pt, missing_key.pt, evil.pt (a pickle that would run code),
truncated/ (safetensors cut short). With --bench, only OUT_DIR/bench/: a mid-sized model
(6 layers, dim 384, vocab 16384, 16x16 grid) for timing.
"""

import json
import os
import sys

import torch

from model import ModelConfig, expected_shapes
from safetensors_io import write_safetensors

TINY = ModelConfig(dim=64, layers=2, heads=4, hidden=128, vocab=256, num_classes=10,
                   height=8, width=8)
BENCH = ModelConfig(dim=384, layers=6, heads=6, hidden=1024, vocab=16384, num_classes=1000,
                    height=16, width=16)


class Evil:
    """Unpickling this would run a shell command: weights_only must refuse it."""

    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def tiny_weights(cfg: ModelConfig, seed: int):
    gen = torch.Generator().manual_seed(seed)
    weights = {}
    for key, shape in expected_shapes(cfg).items():
        if key.endswith("norm.weight"):
            weights[key] = 1 + 0.1 * torch.randn(shape, generator=gen)
        elif "embedding" in key:
            weights[key] = torch.randn(shape, generator=gen)
        else:
            weights[key] = torch.randn(shape, generator=gen) * (1.5 / shape[-1] ** 0.5)
    return weights


def write_dir(path: str, cfg: ModelConfig, weights):
    os.makedirs(path, exist_ok=True)
    write_safetensors(os.path.join(path, "model.safetensors"), weights)
    with open(os.path.join(path, "config.json"), "w", encoding="utf-8") as f:
        json.dump(cfg.to_json(), f, indent=2)


def main(argv):
    out = argv[0]
    seed = int(argv[argv.index("--seed") + 1]) if "--seed" in argv else 0
    os.makedirs(out, exist_ok=True)
    if "--bench" in argv:
        write_dir(os.path.join(out, "bench"), BENCH, tiny_weights(BENCH, seed))
        return
    w = tiny_weights(TINY, seed)
    torch.save({"model": w, "steps": 0}, os.path.join(out, "model.pt"))
    torch.save({"module": w}, os.path.join(out, "module.pt"))
    torch.save({"state_dict": w, "epoch": 3}, os.path.join(out, "state_dict.pt"))
    torch.save(w, os.path.join(out, "top.pt"))
    write_dir(os.path.join(out, "st"), TINY, w)
    bad = dict(w)
    bad["layers.1.attention.wo.weight"] = torch.zeros(64, 32)
    torch.save({"model": bad}, os.path.join(out, "wrong_shape.pt"))
    bad = dict(w)
    del bad["layers.1.feed_forward.w3.weight"]
    torch.save({"model": bad}, os.path.join(out, "missing_key.pt"))
    torch.save({"model": Evil(os.path.join(out, "PWNED"))}, os.path.join(out, "evil.pt"))
    write_dir(os.path.join(out, "truncated"), TINY, w)
    path = os.path.join(out, "truncated", "model.safetensors")
    with open(path, "r+b") as f:
        f.truncate(os.path.getsize(path) - 1000)


if __name__ == "__main__":
    main(sys.argv[1:])
