"""Chameleon's VQGAN image decoder (the one Lumina-mGPT decodes with), written from the public
taming-transformers architecture it is taken from, with the state-dict names of Chameleon's
`tokenizer/vqgan.ckpt` (VQModel: quantize.embedding, post_quant_conv, decoder.*):

    codes [B, H, W] -> quantize.embedding -> [B, embed_dim, H, W] -> post_quant_conv (1x1)
    decoder.conv_in (3x3, z_channels -> ch·ch_mult[-1])
    decoder.mid.block_1 (res), decoder.mid.attn_1 (attention), decoder.mid.block_2 (res)
    for level L-1 .. 0: decoder.up.{level}.block.{0..num_res_blocks} (res), each followed by
        decoder.up.{level}.attn.{i} where the level's resolution is in attn_resolutions;
        then, above level 0, decoder.up.{level}.upsample.conv after nearest x2
    decoder.norm_out (GroupNorm 32, eps 1e-6), swish, decoder.conv_out (3x3 -> out_ch)

A res block is norm1, swish, conv1, norm2, swish, conv2 (3x3) plus the input, through a 1x1
nin_shortcut when the channels change; attention is single-head over the H·W positions with
1x1 q, k, v, proj_out and scale channels^-1/2. Resolutions: the decoder starts at
resolution / 2^(L-1) and doubles per level, so where attention sits depends on the config, not
on the grid; any grid decodes, 2^(L-1) px per token (16 for Chameleon's ch_mult [1,1,2,2,4]).
The codebook lookup is plain (no normalisation), as VectorQuantizer2.get_codebook_entry.

MoVQ (SBER-MoVQGAN, Lumina-mGPT 2.0's decoder: families/lumina2/decoder.py) is this decoder
with every GroupNorm a spatial norm (zq_ch > 0): norm_layer (the GroupNorm) of x, times
conv_y(zq) plus conv_b(zq), both 1x1 from the quantized codes [B, embed_dim, H, W] resized to
x's size by nearest interpolation; the decoder sees post_quant_conv(zq) and zq itself.
"""

from dataclasses import dataclass
from typing import Tuple

import torch
import torch.nn.functional as F
from torch import nn


@dataclass(frozen=True)
class VqganConfig:
    """taming's VQModel parameters (vqgan.yaml: embed_dim, n_embed, ddconfig)."""
    embed_dim: int
    n_embed: int
    z_channels: int
    ch: int
    ch_mult: Tuple[int, ...]
    num_res_blocks: int
    attn_resolutions: Tuple[int, ...]
    resolution: int
    out_ch: int = 3
    attn_type: str = "vanilla"
    zq_ch: int = 0  # MoVQ: the codes' channels that condition every norm; 0 = plain GroupNorm

    @property
    def scale(self) -> int:
        """Pixels per token side."""
        return 2 ** (len(self.ch_mult) - 1)

    def to_json(self) -> dict:
        return {"embedDim": self.embed_dim, "codebookSize": self.n_embed,
                "zChannels": self.z_channels, "channels": self.ch,
                "channelMultiplier": list(self.ch_mult), "numResBlocks": self.num_res_blocks,
                "attnResolutions": list(self.attn_resolutions), "resolution": self.resolution,
                "outChannels": self.out_ch, "attnType": self.attn_type, "scale": self.scale,
                "spatialNorm": self.zq_ch > 0}


def group_norm(channels: int) -> nn.GroupNorm:
    return nn.GroupNorm(num_groups=32, num_channels=channels, eps=1e-6, affine=True)


class SpatialNorm(nn.Module):
    """MoVQ's norm: GroupNorm(x) · conv_y(zq) + conv_b(zq), zq resized to x (nearest)."""

    def __init__(self, channels: int, zq_ch: int):
        super().__init__()
        self.norm_layer = group_norm(channels)
        self.conv_y, self.conv_b = nn.Conv2d(zq_ch, channels, 1), nn.Conv2d(zq_ch, channels, 1)

    def forward(self, x, zq):
        zq = F.interpolate(zq, size=x.shape[-2:], mode="nearest")  # [B, zq_ch, h, w]
        return self.norm_layer(x) * self.conv_y(zq) + self.conv_b(zq)


def make_norm(cfg: VqganConfig, channels: int) -> nn.Module:
    return SpatialNorm(channels, cfg.zq_ch) if cfg.zq_ch else group_norm(channels)


def normed(norm: nn.Module, x, zq):
    """x through a norm of make_norm (zq: MoVQ's codes, None for a plain VQGAN)."""
    return norm(x, zq) if isinstance(norm, SpatialNorm) else norm(x)


class ResnetBlock(nn.Module):
    def __init__(self, cfg: VqganConfig, cin: int, cout: int):
        super().__init__()
        self.norm1, self.conv1 = make_norm(cfg, cin), nn.Conv2d(cin, cout, 3, padding=1)
        self.norm2, self.conv2 = make_norm(cfg, cout), nn.Conv2d(cout, cout, 3, padding=1)
        self.nin_shortcut = nn.Conv2d(cin, cout, 1) if cin != cout else None

    def forward(self, x, zq=None):
        h = self.conv1(F.silu(normed(self.norm1, x, zq)))
        h = self.conv2(F.silu(normed(self.norm2, h, zq)))
        return (x if self.nin_shortcut is None else self.nin_shortcut(x)) + h


class NoAttn(nn.Module):
    def forward(self, x, zq=None):
        return x


class AttnBlock(nn.Module):
    def __init__(self, cfg: VqganConfig, channels: int):
        super().__init__()
        self.norm = make_norm(cfg, channels)
        self.q, self.k, self.v = (nn.Conv2d(channels, channels, 1) for _ in range(3))
        self.proj_out = nn.Conv2d(channels, channels, 1)

    def forward(self, x, zq=None):
        b, c, h, w = x.shape
        y = normed(self.norm, x, zq)
        q = self.q(y).reshape(b, c, h * w).transpose(1, 2)  # [B, HW, C]
        k = self.k(y).reshape(b, c, h * w)  # [B, C, HW]
        v = self.v(y).reshape(b, c, h * w)  # [B, C, HW]
        weights = torch.softmax(torch.bmm(q, k) * c ** -0.5, dim=2)  # [B, HW (query), HW]
        out = torch.bmm(v, weights.transpose(1, 2)).reshape(b, c, h, w)
        return x + self.proj_out(out)


class Upsample(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x):
        return self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))


def attention(cfg: VqganConfig, channels: int) -> nn.Module:
    return AttnBlock(cfg, channels) if cfg.attn_type == "vanilla" else NoAttn()


class Decoder(nn.Module):
    def __init__(self, cfg: VqganConfig):
        super().__init__()
        levels = len(cfg.ch_mult)
        block_in = cfg.ch * cfg.ch_mult[-1]
        res = cfg.resolution // 2 ** (levels - 1)
        self.conv_in = nn.Conv2d(cfg.z_channels, block_in, 3, padding=1)
        self.mid = nn.Module()
        self.mid.block_1 = ResnetBlock(cfg, block_in, block_in)
        self.mid.attn_1 = attention(cfg, block_in)
        self.mid.block_2 = ResnetBlock(cfg, block_in, block_in)
        up = []
        for level in reversed(range(levels)):  # coarsest first; stored finest first
            stage = nn.Module()
            stage.block, stage.attn = nn.ModuleList(), nn.ModuleList()
            block_out = cfg.ch * cfg.ch_mult[level]
            for _ in range(cfg.num_res_blocks + 1):
                stage.block.append(ResnetBlock(cfg, block_in, block_out))
                block_in = block_out
                if res in cfg.attn_resolutions:
                    stage.attn.append(attention(cfg, block_in))
            if level != 0:
                stage.upsample = Upsample(block_in)
                res *= 2
            up.insert(0, stage)
        self.up = nn.ModuleList(up)
        self.norm_out = make_norm(cfg, block_in)
        self.conv_out = nn.Conv2d(block_in, cfg.out_ch, 3, padding=1)

    def forward(self, z, zq=None):
        """z: [B, z_channels, H, W]; zq: MoVQ's codes [B, embed_dim, H, W] (else None)."""
        h = self.conv_in(z)
        h = self.mid.block_1(h, zq)
        h = self.mid.block_2(self.mid.attn_1(h, zq), zq)
        for level in reversed(range(len(self.up))):
            stage = self.up[level]
            for i, block in enumerate(stage.block):
                h = block(h, zq)
                if len(stage.attn):
                    h = stage.attn[i](h, zq)
            if level != 0:
                h = stage.upsample(h)
        return self.conv_out(F.silu(normed(self.norm_out, h, zq)))


class Vqgan(nn.Module):
    """The decoding half of Chameleon's VQModel (or MoVQ's): codes -> images in about
    [-1, 1]."""

    def __init__(self, cfg: VqganConfig):
        super().__init__()
        self.cfg = cfg
        self.quantize = nn.Module()
        self.quantize.embedding = nn.Embedding(cfg.n_embed, cfg.embed_dim)
        self.post_quant_conv = nn.Conv2d(cfg.embed_dim, cfg.z_channels, 1)
        self.decoder = Decoder(cfg)

    def forward(self, codes: torch.Tensor) -> torch.Tensor:
        """codes: [B, H, W] int64 -> [B, out_ch, H·s, W·s]."""
        z = self.quantize.embedding(codes).permute(0, 3, 1, 2)  # [B, embed_dim, H, W]
        return self.decoder(self.post_quant_conv(z), z if self.cfg.zq_ch else None)
