"""The LlamaGen VQ-16 tokenizer decoder (docs/llamagen.md): token grids -> RGB bytes, and its
loading from a VQ directory (vq.json + vq.safetensors) or a LlamaGen .pt (vq_ds16_c2i.pt).

Functional, reading weights by state-dict key, like backends/vq_reference.ts: L2-normalised
codebook lookup, post_quant_conv, conv_in, mid res/attn/res, the levels coarsest -> finest
(res blocks, attention at the coarsest, nearest x2 + conv), GroupNorm + swish, conv_out, then
pixel = floor(clamp((x + 1) / 2, 0, 1) * 255 + 0.5). Device- and dtype-agnostic; GroupNorm,
softmax and the pixel rounding run in float32.
"""

import os
from typing import Dict, Tuple

import torch
import torch.nn.functional as F

from checkpoint import load_safetensors_checked, model_files, read_json, read_pt, select_checked
from devices import probe
from errors import CheckpointError

from .vq_config import (VqConfig, check_vq_grid, infer_vq_config, parse_vq_config, vq_levels,
                        vq_scale, vq_shapes)

KIND = "llamagen-vq16"
Weights = Dict[str, torch.Tensor]

# Images per forward: the largest activation of one chunk stays under this many bytes.
ACTIVATION_BUDGET = {"cpu": 1 << 30, "cuda": 4 << 30}


class VqDecoder:
    kind = KIND

    def __init__(self, cfg: VqConfig, weights: Dict[str, torch.Tensor], device: torch.device,
                 dtype: torch.dtype):
        self.cfg, self.device, self.dtype = cfg, device, dtype
        self.config = cfg.to_json()
        self.codebook_size = cfg.codebook_size
        self.scale = vq_scale(cfg)
        self.levels = vq_levels(cfg)
        codebook = F.normalize(weights["quantize.embedding.weight"].float(), dim=1)
        self.codebook = codebook.to(device=device, dtype=dtype)  # [size, dim], unit rows
        self.w = {k: v.to(device=device, dtype=dtype) for k, v in weights.items()
                  if k != "quantize.embedding.weight"}

    # --- layers -------------------------------------------------------------------------------

    def conv(self, x, p: str):
        weight = self.w[f"{p}.weight"]  # [cout, cin, k, k]
        return F.conv2d(x, weight, self.w[f"{p}.bias"], padding=weight.shape[-1] // 2)

    def norm(self, x, p: str, swish: bool):
        y = F.group_norm(x.float(), self.cfg.groups, self.w[f"{p}.weight"].float(),
                         self.w[f"{p}.bias"].float(), self.cfg.eps)
        return (F.silu(y) if swish else y).to(x.dtype)

    def res(self, x, p: str):
        h = self.conv(self.norm(x, f"{p}.norm1", True), f"{p}.conv1")
        h = self.conv(self.norm(h, f"{p}.norm2", True), f"{p}.conv2")
        shortcut = self.conv(x, f"{p}.nin_shortcut") if f"{p}.nin_shortcut.weight" in self.w else x
        return shortcut + h

    def attn(self, x, p: str):
        b, c, h, w = x.shape
        n = self.norm(x, f"{p}.norm", False)
        q = self.conv(n, f"{p}.q").reshape(b, c, h * w)  # [B, C, N]
        k = self.conv(n, f"{p}.k").reshape(b, c, h * w)
        v = self.conv(n, f"{p}.v").reshape(b, c, h * w)
        scores = torch.bmm(q.transpose(1, 2).float(), k.float()) * c ** -0.5  # [B, Nq, Nk]
        probs = torch.softmax(scores, dim=-1).to(v.dtype)
        out = torch.bmm(v, probs.transpose(1, 2)).reshape(b, c, h, w)  # [B, C, H, W]
        return x + self.conv(out, f"{p}.proj_out")

    # --- forward ------------------------------------------------------------------------------

    def decode_float(self, tokens: torch.Tensor) -> torch.Tensor:
        """tokens: [B, H, W] int64 on the device -> decoder output [B, 3, H*s, W*s]."""
        x = self.codebook[tokens].permute(0, 3, 1, 2)  # [B, dim, H, W]
        x = self.conv(self.conv(x, "post_quant_conv"), "decoder.conv_in")  # [B, top, H, W]
        x = self.res(self.attn(self.res(x, "decoder.mid.0"), "decoder.mid.1"), "decoder.mid.2")
        for i, level in enumerate(self.levels):
            p = f"decoder.conv_blocks.{i}"
            for j in range(level.blocks):
                x = self.res(x, f"{p}.res.{j}")
                if level.attn:
                    x = self.attn(x, f"{p}.attn.{j}")
            if level.upsample:
                x = self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"),
                              f"{p}.upsample.conv")
        return self.conv(self.norm(x, "decoder.norm_out", True), "decoder.conv_out")

    def images_per_forward(self, h: int, w: int) -> int:
        """How many images one forward takes so the largest activation fits the budget."""
        itemsize = torch.empty((), dtype=self.dtype).element_size()
        largest, side = 0, 1
        for level in self.levels:
            largest = max(largest, level.cout * side * side)
            side *= 2 if level.upsample else 1
            largest = max(largest, level.cout * side * side)
        per_image = largest * h * w * itemsize * 3  # x, h and a temporary live together
        budget = ACTIVATION_BUDGET.get(self.device.type, 1 << 30)
        return max(1, budget // per_image)

    @torch.no_grad()
    def decode(self, tokens: torch.Tensor) -> torch.Tensor:
        """tokens: [B, H, W] int (validated) -> pixels [B, H*s, W*s, 3] uint8 on the CPU."""
        b, h, w = tokens.shape
        check_vq_grid(self.cfg, h, w)  # before anything is allocated
        s, chunk = self.scale, self.images_per_forward(h, w)
        out = torch.empty((b, h * s, w * s, 3), dtype=torch.uint8)
        for first in range(0, b, chunk):
            grid = tokens[first:first + chunk].to(device=self.device, dtype=torch.long)
            x = self.decode_float(grid).float()  # [n, 3, H*s, W*s]
            pixels = torch.floor(((x + 1) / 2).clamp(0, 1) * 255 + 0.5).to(torch.uint8)
            out[first:first + chunk] = pixels.permute(0, 2, 3, 1).cpu()
        return out


def load_vq_directory(path: str) -> Tuple[VqConfig, Weights]:
    config_path, weights_path = model_files(path, "vq.json", "vq.safetensors", "VQ directory")
    cfg = parse_vq_config(read_json(config_path), config_path)
    return cfg, load_safetensors_checked(weights_path, vq_shapes(cfg))


def load_vq_pt(path: str) -> Tuple[VqConfig, Weights]:
    """A .pt's decoder tensors as float32; the config is inferred from the shapes."""
    state = read_pt(path)
    cfg = infer_vq_config({k: list(v.shape) for k, v in state.items()}, path)
    return cfg, {k: v.float() for k, v in select_checked(state, vq_shapes(cfg), path).items()}


def load_vq_weights(path: str) -> Tuple[VqConfig, Weights]:
    """-> (VqConfig, {key: tensor}) from a VQ directory or a .pt file."""
    if os.path.isdir(path):
        return load_vq_directory(path)
    if not os.path.isfile(path):
        raise CheckpointError(f"{path}: no such file or directory")
    if path.endswith(".safetensors") or path.endswith("vq.json"):
        return load_vq_directory(os.path.dirname(path) or ".")
    return load_vq_pt(path)


def load_vq(path: str, device: torch.device, dtype: torch.dtype) -> VqDecoder:
    cfg, weights = load_vq_weights(path)
    probe(device, dtype, "convolutions")
    return VqDecoder(cfg, weights, device, dtype)
