"""Pixels as the Hugging Face families' image processors postprocess them (Janus, Emu3): the
decoder's output in [-1, 1] times std plus mean, times 255, clipped and truncated to uint8,
with mean and std from the directory's preprocessor_config.json."""

import json
import os
from typing import List, Sequence, Tuple

import torch


def postprocess_constants(path: str, mean: Sequence[float], std: Sequence[float]
                          ) -> Tuple[List[float], List[float]]:
    """image_mean, image_std of the directory's preprocessor_config.json; the given defaults
    (the image processor class's) where the file has none."""
    mean, std = [float(v) for v in mean], [float(v) for v in std]
    config_path = os.path.join(path, "preprocessor_config.json")
    if os.path.isfile(config_path):
        try:
            with open(config_path, encoding="utf-8") as f:
                config = json.load(f)
            mean = [float(v) for v in config.get("image_mean", mean)][:3]
            std = [float(v) for v in config.get("image_std", std)][:3]
        except (OSError, ValueError, TypeError):
            pass  # an unreadable file keeps the class defaults
    return mean, std


def to_rgb(x: torch.Tensor, mean: Sequence[float], std: Sequence[float]) -> torch.Tensor:
    """x: [n, H, W, 3] float (channels last) -> uint8 [n, H, W, 3] on the CPU:
    uint8(clip((x * std + mean) * 255, 0, 255)), truncated as the processors' astype does."""
    m = torch.tensor(mean, dtype=torch.float32).view(1, 1, 1, 3)
    s = torch.tensor(std, dtype=torch.float32).view(1, 1, 1, 3)
    return ((x.float().cpu() * s + m) * 255).clamp(0, 255).to(torch.uint8)
