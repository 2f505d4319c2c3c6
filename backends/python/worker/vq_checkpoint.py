"""Load VQ-16 decoder weights: a directory (vq.json + vq.safetensors) or a LlamaGen .pt file.

A .pt file is read with torch.load(weights_only=True) only; its state dict may sit under
model / module / state_dict or at top level, and its config is inferred from the shapes. Every
key and shape is checked before a weight is used; errors are one line naming the key.
"""

import json
import os
from typing import Dict, Tuple

import torch

from checkpoint import CheckpointError, first_line, unwrap_state_dict
from protocol import log
from safetensors_io import load_tensor, read_header
from vq_config import VqConfig, check_vq_shapes, infer_vq_config, parse_vq_config, vq_shapes

Weights = Dict[str, torch.Tensor]


def load_vq_directory(path: str) -> Tuple[VqConfig, Weights]:
    config_path = os.path.join(path, "vq.json")
    weights_path = os.path.join(path, "vq.safetensors")
    for p in (config_path, weights_path):
        if not os.path.isfile(p):
            raise CheckpointError(f"{path}: missing {os.path.basename(p)} "
                                  f"(a VQ directory holds vq.json + vq.safetensors)")
    try:
        with open(config_path, encoding="utf-8") as f:
            raw = json.load(f)
    except (OSError, ValueError) as err:
        raise CheckpointError(f"{config_path}: {first_line(err)}") from None
    cfg = parse_vq_config(raw, config_path)
    entries, data_start, _ = read_header(weights_path)
    check_vq_shapes(cfg, {k: e[1] for k, e in entries.items()}, weights_path)
    return cfg, {k: load_tensor(weights_path, entries[k], data_start) for k in vq_shapes(cfg)}


def read_pt_state(path: str) -> Weights:
    """The tensors of a .pt file; refuses a pickle that holds anything but tensors and data."""
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - every failure becomes one line
        text = first_line(err)
        if "weights only" in text.lower() or "Unpickl" in text:
            raise CheckpointError(f"{path}: refusing to load: the pickle holds objects other "
                                  f"than tensors ({text})") from None
        raise CheckpointError(f"{path}: cannot read checkpoint ({text})") from None
    return unwrap_state_dict(obj, path)


def load_vq_pt(path: str) -> Tuple[VqConfig, Weights]:
    state = read_pt_state(path)
    shapes = {k: list(v.shape) for k, v in state.items()}
    cfg = infer_vq_config(shapes, path)
    check_vq_shapes(cfg, shapes, path)
    want = vq_shapes(cfg)
    extra = sum(1 for k in state if k not in want)
    if extra:
        log(f"note: ignoring {extra} tensors of {path} the decoder does not use (the encoder…)")
    return cfg, {k: state[k].float() for k in want}


def load_vq(path: str) -> Tuple[VqConfig, Weights]:
    """-> (VqConfig, {key: float32 tensor}) from a VQ directory or a .pt file."""
    if os.path.isdir(path):
        return load_vq_directory(path)
    if not os.path.isfile(path):
        raise CheckpointError(f"{path}: no such file or directory")
    if path.endswith(".safetensors") or path.endswith("vq.json"):
        return load_vq_directory(os.path.dirname(path) or ".")
    return load_vq_pt(path)
