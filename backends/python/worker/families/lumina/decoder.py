"""The Lumina-mGPT image decoder: Chameleon's VQGAN (vqgan.py) from the files of Meta's
Chameleon tokenizer, token grids -> RGB bytes as Lumina-mGPT makes them.

Files, looked for in the model directory and then in its `tokenizer/` folder (the layout of
Meta's Chameleon download, which Lumina-mGPT's README copies to ckpts/chameleon/tokenizer/):

    vqgan.ckpt         the checkpoint, read with torch.load(weights_only=True) only: its
                       state_dict (or top level) with taming's VQModel names
    vqgan.safetensors  the same tensors as safetensors (read instead when present)
    vqgan.yaml         its config (model.params: embed_dim, n_embed, ddconfig); without it the
                       encoder's config in config.json (vq_config, as transformers converted it)

Only the decoding half is read (quantize.embedding, post_quant_conv, decoder.*), every key and
shape checked before a weight is used. The decoder runs in float32 on the worker's device, as
Lumina's ImageTokenizer runs it; pixels are Lumina's _pil_from_chw_tensor:
uint8(((clamp(x, -1, 1) + 1) / 2) * 255), truncated.
"""

import os
from typing import Optional, Tuple

import torch

from checkpoint import load_safetensors_checked, read_pt, select_checked
from errors import CheckpointError, first_line
from protocol import log

from .vqgan import Vqgan, VqganConfig

KIND = "chameleon-vqgan"
HEADER = 3  # image start, height and width tokens (prompts.PromptRules.header)
FOLDERS = ("", "tokenizer")
ACTIVATION_BUDGET = {"cpu": 1 << 30, "cuda": 4 << 30}  # bytes of the largest activation
LIVE = 4  # activations of the finest level alive at once (input, two convs, the sum)


def find_files(path: str) -> Tuple[str, Optional[str]]:
    """(weights, config or None) of the directory's VQGAN, or one line naming what to copy."""
    for folder in FOLDERS:
        base = os.path.join(path, folder)
        for name in ("vqgan.safetensors", "vqgan.ckpt"):
            weights = os.path.join(base, name)
            if os.path.isfile(weights):
                config = os.path.join(base, "vqgan.yaml")
                return weights, config if os.path.isfile(config) else None
    raise CheckpointError(f"{path}: no VQGAN decoder weights (vqgan.ckpt or vqgan.safetensors, "
                          f"in the directory or its tokenizer/ folder); copy tokenizer/"
                          f"vqgan.ckpt and vqgan.yaml of Meta's Chameleon release into it")


def ints(value, what: str, source: str) -> Tuple[int, ...]:
    if not isinstance(value, (list, tuple)) or not all(
            isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in value):
        raise CheckpointError(f"{source}: {what} must be a list of integers, got {value!r}")
    return tuple(value)


def config_from(params: dict, source: str) -> VqganConfig:
    """taming names (vqgan.yaml) or transformers' (config.json vq_config) -> VqganConfig."""
    dd = params.get("ddconfig", params)
    pick = lambda *names: next((src[n] for src in (dd, params) for n in names if n in src),
                               None)
    fields = {"embed_dim": pick("embed_dim"), "n_embed": pick("n_embed", "num_embeddings"),
              "z_channels": pick("z_channels", "latent_channels"),
              "ch": pick("ch", "base_channels"),
              "num_res_blocks": pick("num_res_blocks"), "resolution": pick("resolution")}
    for name, value in fields.items():
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise CheckpointError(f"{source}: {name} must be a positive integer, got {value!r}")
    ch_mult = ints(pick("ch_mult", "channel_multiplier"), "ch_mult", source)
    if not ch_mult or len(ch_mult) > 8 or 0 in ch_mult:
        raise CheckpointError(f"{source}: ch_mult {list(ch_mult)} is no list of 1..8 positive "
                              f"multipliers")
    attn = ints(pick("attn_resolutions") or [], "attn_resolutions", source)
    out_ch = pick("out_ch", "out_channels") or 3
    attn_type = pick("attn_type") or "vanilla"
    if attn_type not in ("vanilla", "none"):
        raise CheckpointError(f"{source}: attn_type {attn_type!r} is not vanilla or none (the "
                              f"attention Chameleon's VQGAN uses)")
    if any((fields["ch"] * m) % 32 for m in ch_mult):
        raise CheckpointError(f"{source}: channels {fields['ch']} x {list(ch_mult)} are not "
                              f"multiples of 32, which GroupNorm(32) needs")
    if out_ch != 3:
        raise CheckpointError(f"{source}: out_ch {out_ch!r}: an RGB decoder has 3 output "
                              f"channels")
    return VqganConfig(ch_mult=ch_mult, attn_resolutions=attn, out_ch=int(out_ch),
                       attn_type=attn_type, **fields)


def read_config(config_path: Optional[str], vq_config: dict, path: str) -> VqganConfig:
    if config_path is not None:
        try:
            import yaml
        except ImportError:
            log(f"note: no yaml module to read {config_path}; using config.json's vq_config")
        else:
            try:
                with open(config_path, encoding="utf-8") as f:
                    doc = yaml.safe_load(f)
                params = doc["model"]["params"]
            except Exception as err:  # noqa: BLE001 - any failure becomes one line
                raise CheckpointError(f"{config_path}: not a taming VQGAN config with "
                                      f"model.params ({first_line(err)})") from None
            if not isinstance(params, dict):
                raise CheckpointError(f"{config_path}: model.params is not a mapping")
            return config_from(params, config_path)
    return config_from(vq_config, f"{path}/config.json vq_config")


def load_vqgan(path: str, vq_config: dict, device: torch.device) -> Vqgan:
    """The directory's VQGAN, float32 on `device`, every tensor checked first."""
    weights_path, config_path = find_files(path)
    cfg = read_config(config_path, vq_config, path)
    with torch.device("meta"):  # shapes only: the config alone allocates nothing
        model = Vqgan(cfg)
    expected = {k: list(v.shape) for k, v in model.state_dict().items()}
    if weights_path.endswith(".safetensors"):
        state = load_safetensors_checked(weights_path, expected)
    else:
        state = select_checked(read_pt(weights_path), expected, weights_path)
    model.load_state_dict({k: v.float() for k, v in state.items()}, assign=True)
    return model.to(device).eval()


class LuminaDecoder:
    kind = KIND

    def __init__(self, path: str, vq_config: dict, device: torch.device,
                 context: Optional[int] = None):
        self.setup(load_vqgan(path, vq_config, device), device, context)

    def setup(self, vqgan: Vqgan, device: torch.device, context: Optional[int]):
        self.vqgan = vqgan
        self.context = context  # the model's: the grids it can generate fit in it
        cfg = self.vqgan.cfg
        self.device = device
        self.scale = cfg.scale
        self.codebook_size = cfg.n_embed
        self.finest_channels = cfg.ch * cfg.ch_mult[0]
        self.config = dict(cfg.to_json(), kind=self.kind)

    @staticmethod
    def pixels(x: torch.Tensor) -> torch.Tensor:
        """Decoder output [n, 3, h, w] float32 -> uint8 [n, h, w, 3]: Lumina-mGPT's
        _pil_from_chw_tensor, clamped to [-1, 1] and truncated as astype(uint8)."""
        x = x.clamp(-1, 1)
        return ((x + 1) / 2 * 255).permute(0, 2, 3, 1).to(torch.uint8)

    def images_per_forward(self, h: int, w: int) -> int:
        """Images of an h x w grid per forward under the activation budget (0: not one)."""
        per_image = self.finest_channels * (h * self.scale) * (w * self.scale) * 4 * LIVE
        return ACTIVATION_BUDGET.get(self.device.type, 1 << 30) // per_image

    @torch.no_grad()
    def decode(self, tokens: torch.Tensor) -> torch.Tensor:
        """tokens: [B, H, W] codes -> pixels [B, H·s, W·s, 3] uint8 on the CPU."""
        b, h, w = tokens.shape
        if self.context is not None and h * (w + 1) + HEADER >= self.context:
            raise ValueError(f"a {h}x{w} grid needs {h * (w + 1) + HEADER} positions with its "
                             f"EOLs and image header, more than the model's context "
                             f"{self.context}: Lumina-mGPT cannot have made it; decode a grid "
                             f"this model generated")
        chunk = self.images_per_forward(h, w)
        if chunk < 1:
            raise ValueError(f"a {h}x{w} grid decodes to {h * self.scale}x{w * self.scale} px, "
                             f"more than the VQGAN decoder's activation budget of one image "
                             f"on {self.device.type}; decode a smaller grid")
        s = self.scale
        out = torch.empty((b, h * s, w * s, 3), dtype=torch.uint8)
        for first in range(0, b, chunk):
            codes = tokens[first:first + chunk].to(self.device, torch.long)
            x = self.vqgan(codes).float()  # [n, 3, H·s, W·s]
            out[first:first + chunk] = self.pixels(x).cpu()
        return out
