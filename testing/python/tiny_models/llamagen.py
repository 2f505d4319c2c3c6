"""Write tiny random LlamaGen checkpoints for tests, in every file layout, good and broken.

Usage (worker/ and testing/python/ on PYTHONPATH, as testing/python_runner.ts sets it):
    python -m tiny_models.llamagen gpt OUT_DIR [--seed N] [--bench]
    python -m tiny_models.llamagen vq VQ_DIR OUT_DIR

gpt: OUT_DIR/{model,module,state_dict,top}.pt, OUT_DIR/st/ (config.json + model.safetensors),
     OUT_DIR/gqa/ and gqa.pt (grouped K/V heads: 4 query heads over 2),
     training checkpoints as LlamaGen's train_c2i.py saves them (model, optimizer, steps,
     args as an argparse.Namespace, ema): train.pt (args name 10 classes, image 128 / 16 = an
     8x8 grid; ema = other weights), train_nodrop.pt (10 classes, no null-class row),
     and broken files: wrong_shape.pt, missing_key.pt, evil.pt, evil_args.pt (the code in a
     Namespace attribute), truncated/ (safetensors cut short). With --bench only
     OUT_DIR/bench/: a mid-sized model (6 layers, dim 384, vocab 16384, 16x16 grid) for timing.
vq:  from a VQ directory's weights (backends/webgpu/vq_random_weights.ts; the same numbers)
     OUT_DIR/model.pt ({"model": state, "steps": 0} plus an encoder tensor the decoder
     ignores), module.pt, top.pt, and wrong_shape.pt, missing_key.pt, evil.pt.
evil.pt is a pickle that would run code when unpickled: weights_only must refuse it unread.
"""

import argparse
import json
import os
import sys
from dataclasses import replace

import torch

from families.llamagen.config import ModelConfig, expected_shapes
from families.llamagen.vq import load_vq_directory
from safetensors_io import write_safetensors

TINY = ModelConfig(dim=64, layers=2, heads=4, hidden=128, vocab=256, num_classes=10,
                   height=8, width=8)
TINY_GQA = ModelConfig(dim=64, layers=2, heads=4, kv_heads=2, hidden=128, vocab=256,
                       num_classes=10, height=8, width=8)  # 4 query heads over 2 K/V heads
BENCH = ModelConfig(dim=384, layers=6, heads=6, hidden=1024, vocab=16384, num_classes=1000,
                    height=16, width=16)


class Evil:
    """Unpickling this would run a shell command: weights_only must refuse it."""

    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def tiny_weights(cfg: ModelConfig, seed: int, shapes=None):
    """Seeded weights of `shapes` (key -> shape; default the c2i GPT's of cfg)."""
    gen = torch.Generator().manual_seed(seed)
    weights = {}
    for key, shape in (shapes or expected_shapes(cfg)).items():
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


def write_layouts(out: str, w, layouts, misshape, drop: str):
    """layouts: {file: wrap(state) -> object to save}; then wrong_shape.pt (tensor misshape[0]
    replaced by misshape[1]), missing_key.pt (without `drop`) and evil.pt."""
    for name, wrap in layouts.items():
        torch.save(wrap(w), os.path.join(out, name))
    bad = dict(w)
    bad[misshape[0]] = misshape[1]
    torch.save({"model": bad}, os.path.join(out, "wrong_shape.pt"))
    bad = dict(w)
    del bad[drop]
    torch.save({"model": bad}, os.path.join(out, "missing_key.pt"))
    torch.save({"model": Evil(os.path.join(out, "PWNED"))}, os.path.join(out, "evil.pt"))


def train_args(**extra) -> argparse.Namespace:
    """The args of LlamaGen's train_c2i.py (a few of them), for a tiny non-preset model."""
    return argparse.Namespace(gpt_model="GPT-tiny", gpt_type="c2i", vocab_size=256, ema=True,
                              cls_token_num=1, image_size=128, downsample_size=16,
                              num_classes=10, results_dir="results", lr=1e-4, **extra)


def training_checkpoint(w, ema, args) -> dict:
    """What train_c2i.py saves: model, optimizer (AdamW state), steps, args, and ema."""
    state = {i: {"step": torch.tensor(7.0), "exp_avg": torch.zeros(2)} for i in range(2)}
    groups = [{"lr": 1e-4, "betas": (0.9, 0.95), "weight_decay": 5e-2, "params": [0, 1]}]
    out = {"model": w, "optimizer": {"state": state, "param_groups": groups}, "steps": 7,
           "args": args}
    return out if ema is None else dict(out, ema=ema)


def write_training(out: str, w, seed: int):
    torch.save(training_checkpoint(w, tiny_weights(TINY, seed + 2), train_args()),
               os.path.join(out, "train.pt"))
    nodrop = replace(TINY, null_class=False)
    torch.save(training_checkpoint(tiny_weights(nodrop, seed + 3), None, train_args()),
               os.path.join(out, "train_nodrop.pt"))
    evil = train_args(note=Evil(os.path.join(out, "PWNED")))
    torch.save(training_checkpoint(w, None, evil), os.path.join(out, "evil_args.pt"))


def write_gpt(out: str, seed: int, bench: bool):
    if bench:
        write_dir(os.path.join(out, "bench"), BENCH, tiny_weights(BENCH, seed))
        return
    w = tiny_weights(TINY, seed)
    write_layouts(out, w, {
        "model.pt": lambda s: {"model": s, "steps": 0},
        "module.pt": lambda s: {"module": s},
        "state_dict.pt": lambda s: {"state_dict": s, "epoch": 3},
        "top.pt": lambda s: s,
    }, ("layers.1.attention.wo.weight", torch.zeros(64, 32)), "layers.1.feed_forward.w3.weight")
    write_dir(os.path.join(out, "st"), TINY, w)
    write_training(out, w, seed)
    gqa = tiny_weights(TINY_GQA, seed + 1)
    write_dir(os.path.join(out, "gqa"), TINY_GQA, gqa)
    torch.save({"model": gqa}, os.path.join(out, "gqa.pt"))
    write_dir(os.path.join(out, "truncated"), TINY, w)
    path = os.path.join(out, "truncated", "model.safetensors")
    with open(path, "r+b") as f:
        f.truncate(os.path.getsize(path) - 1000)


def write_vq(source: str, out: str):
    _, w = load_vq_directory(source)
    encoder = {"encoder.conv_in.weight": torch.zeros(16, 3, 3, 3)}
    write_layouts(out, w, {
        "model.pt": lambda s: {"model": dict(s, **encoder), "steps": 0},
        "module.pt": lambda s: {"module": s},
        "top.pt": lambda s: s,
    }, ("decoder.conv_out.weight", torch.zeros(3, 5, 3, 3)), "decoder.mid.1.proj_out.bias")


def main(argv):
    if argv[:1] == ["vq"] and len(argv) == 3:
        os.makedirs(argv[2], exist_ok=True)
        return write_vq(argv[1], argv[2])
    if argv[:1] != ["gpt"] or len(argv) < 2:
        raise SystemExit(__doc__.split("\n\n")[1])
    out = argv[1]
    seed = int(argv[argv.index("--seed") + 1]) if "--seed" in argv else 0
    os.makedirs(out, exist_ok=True)
    write_gpt(out, seed, "--bench" in argv)


if __name__ == "__main__":
    main(sys.argv[1:])
