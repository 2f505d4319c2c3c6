"""Lumina-mGPT 2.0's image decoder: SBER-MoVQGAN 270M (ai-forever/MoVQGAN movqgan_270M.ckpt, as
the release's README downloads it), the taming decoder of families/lumina/vqgan.py with MoVQ's
spatial norms (zq_ch = embed_dim), token grids -> RGB bytes as the release makes them.

From the release's public code (lumina_mgpt/movqgan: __init__.py's MODELS['270M'],
models/vqgan.py's MOVQ.decode_code, modules/vqvae/movq_modules.py's MOVQDecoder):
    codes [B, H, W] -> quantize.embedding [n_embed 16384, embed_dim 4] -> zq [B, 4, H, W]
    post_quant_conv (1x1, 4 -> z_channels 4), decoder(post_quant_conv(zq), zq)
    ddconfig: ch 256, ch_mult [1, 2, 2, 4] (8 px a token), num_res_blocks 2, attention at the
    coarsest level (attn_resolutions [32] of resolution 256) and in the middle
    pixels: uint8(clamp(round((x + 1) · 127.5), 0, 255)) (inference_solver.show_images)

The checkpoint is a state dict at its top level (get_movqgan_model loads it directly), read with
torch.load(weights_only=True) only (checkpoint.read_pt). Its decoder's sizes are read from its
tensors' shapes (the release fixes them in code, not in a file): the codebook, the channels of
every level, the blocks per level, the levels with attention; the model built from them must
then find every one of its tensors, of the same shape, in the file (encoder.*, quant_conv and
any training keys are left unread). The decoder runs in float32, as the release runs it.
"""

import os
import re
from dataclasses import replace
from typing import Dict, Optional

import torch

from checkpoint import read_pt, select_checked
from errors import CheckpointError
from families.lumina.decoder import LuminaDecoder, config_from
from families.lumina.vqgan import Vqgan

KIND = "movqgan"
FILE = "movqgan_270M.ckpt"
FOLDERS = ("", "movqgan", os.path.join("movqgan", "270M"))


def find_movqgan(path: str) -> str:
    """The directory's movqgan_270M.ckpt, or one line naming what to download where."""
    for folder in FOLDERS:
        candidate = os.path.join(path, folder, FILE)
        if os.path.isfile(candidate):
            return candidate
    raise CheckpointError(f"{path}: no {FILE} (Lumina-mGPT 2.0's MoVQGAN decoder); download it "
                          f"from ai-forever/MoVQGAN into the model directory")


def shape(state: Dict[str, torch.Tensor], key: str, source: str):
    if key not in state:
        raise CheckpointError(f"{source}: no tensor {key}; this is not a MoVQGAN checkpoint "
                              f"(download {FILE} from ai-forever/MoVQGAN again)")
    return list(state[key].shape)


def config_of(state: Dict[str, torch.Tensor], source: str):
    """The MoVQ decoder's sizes from its tensors' shapes (checked by config_from)."""
    n_embed, embed_dim = shape(state, "quantize.embedding.weight", source)
    z_channels = shape(state, "post_quant_conv.weight", source)[0]
    levels = sorted({int(m[1]) for k in state for m in [re.match(r"decoder\.up\.(\d+)\.", k)]
                     if m})
    if not levels or levels != list(range(len(levels))):
        raise CheckpointError(f"{source}: its decoder.up levels {levels} do not run 0..L-1; "
                              f"this is not a MoVQGAN checkpoint")
    out = [shape(state, f"decoder.up.{i}.block.0.conv2.weight", source)[0] for i in levels]
    blocks = {int(m[1]) for k in state for m in [re.match(r"decoder\.up\.0\.block\.(\d+)\.", k)]
              if m}
    top = len(levels) - 1  # resolution 2^top: level i's nominal resolution is 2^(top - i)
    attn = [2 ** (top - i) for i in levels if f"decoder.up.{i}.attn.0.q.weight" in state]
    ch = out[0]
    if any(c % ch for c in out):
        raise CheckpointError(f"{source}: level channels {out} are not multiples of the first; "
                              f"this is not a MoVQGAN checkpoint")
    params = {"embed_dim": embed_dim, "n_embed": n_embed, "z_channels": z_channels, "ch": ch,
              "ch_mult": [c // ch for c in out], "num_res_blocks": max(blocks, default=0),
              "attn_resolutions": attn, "resolution": 2 ** top}
    cfg = config_from(params, source)
    return replace(cfg, zq_ch=embed_dim)


def load_movqgan(path: str, device: torch.device) -> Vqgan:
    """The directory's MoVQGAN decoder, float32 on `device`, every tensor checked first."""
    source = find_movqgan(path)
    state = read_pt(source)
    cfg = config_of(state, source)
    with torch.device("meta"):  # shapes only
        model = Vqgan(cfg)
    expected = {k: list(v.shape) for k, v in model.state_dict().items()}
    weights = select_checked(state, expected, source)
    model.load_state_dict({k: v.float() for k, v in weights.items()}, assign=True)
    return model.to(device).eval()


class MovqganDecoder(LuminaDecoder):
    kind = KIND

    def __init__(self, path: str, device: torch.device, context: Optional[int] = None):
        self.setup(load_movqgan(path, device), device, context)

    @staticmethod
    def pixels(x: torch.Tensor) -> torch.Tensor:
        """[n, 3, h, w] float32 -> uint8 [n, h, w, 3], rounded as the release's show_images."""
        return ((x + 1) * 127.5).round().clamp(0, 255).permute(0, 2, 3, 1).to(torch.uint8)
