"""The LlamaGen VQ-16 decoder config (`vq.json`, format zipar-vq) and its expected tensors.

Mirrors backends/vq_config.ts: the same key names, defaults (the official decoder), limits and
one-line error messages, so a directory that one backend accepts the other accepts too.
"""

import math
import re
from dataclasses import dataclass, field
from typing import Dict, List, NamedTuple

from errors import CheckpointError


@dataclass
class VqConfig:
    codebook_size: int = 16384  # codebook rows (image-token vocabulary)
    codebook_dim: int = 8  # codebook row width
    z_channels: int = 256  # post_quant_conv output = conv_in input
    ch: int = 128  # base channel count
    ch_mult: List[int] = field(default_factory=lambda: [1, 1, 2, 2, 4])  # finest -> coarsest
    num_res_blocks: int = 2  # encoder res blocks per level; the decoder has one more
    groups: int = 32  # GroupNorm groups, divide every channel count
    eps: float = 1e-6  # GroupNorm epsilon

    def to_json(self) -> dict:
        return {"format": "zipar-vq", "formatVersion": 1, "kind": "llamagen-vq16",
                "codebookSize": self.codebook_size, "codebookDim": self.codebook_dim,
                "zChannels": self.z_channels, "ch": self.ch, "chMult": list(self.ch_mult),
                "numResBlocks": self.num_res_blocks, "groups": self.groups, "eps": self.eps}


class VqLevel(NamedTuple):
    cin: int  # channels entering the level
    cout: int  # channels of every res block's output
    blocks: int  # res blocks (num_res_blocks + 1)
    attn: bool  # an AttnBlock after every res block (coarsest level only)
    upsample: bool  # ends with nearest x2 + 3x3 conv (all but the finest level)


def vq_levels(cfg: VqConfig) -> List[VqLevel]:
    """The decoder's levels, coarsest first."""
    n, levels = len(cfg.ch_mult), []
    cin = cfg.ch * cfg.ch_mult[-1]
    for i, m in enumerate(reversed(cfg.ch_mult)):
        levels.append(VqLevel(cin, cfg.ch * m, cfg.num_res_blocks + 1, i == 0, i != n - 1))
        cin = cfg.ch * m
    return levels


def vq_scale(cfg: VqConfig) -> int:
    """Pixels per token side: 2^(levels - 1), 16 for the official decoder."""
    return 2 ** (len(cfg.ch_mult) - 1)


# backends/vq_config.ts: the coarsest level attends over all H*W positions (quadratic), and no
# activation of one image may pass 2 GiB at float32. Checked before anything is allocated.
MAX_VQ_POSITIONS = 4096
MAX_VQ_ACTIVATION_BYTES = 2 ** 31


def largest_activation(cfg: VqConfig, h: int, w: int) -> int:
    """The largest activation of one image's decode of an h x w grid, in floats."""
    levels = vq_levels(cfg)
    hw = h * w
    largest = max(cfg.codebook_dim, cfg.z_channels, levels[0].cin) * hw
    for level in levels:
        largest = max(largest, max(level.cin, level.cout) * hw)
        if level.upsample:
            hw *= 4
        largest = max(largest, level.cout * hw)
    return largest


def check_vq_grid(cfg: VqConfig, h: int, w: int):
    """A one-line error when an h x w grid is more than the decoder takes."""
    if h * w > MAX_VQ_POSITIONS:
        raise CheckpointError(f"A {h}×{w} grid has {h * w} attention positions; the VQ decoder "
                              f"takes at most {MAX_VQ_POSITIONS} (64×64 tokens): decode a "
                              f"smaller grid")
    size = largest_activation(cfg, h, w) * 4
    if size > MAX_VQ_ACTIVATION_BYTES:
        raise CheckpointError(f"A {h}×{w} grid needs a {size}-byte activation per image, more "
                              f"than the {MAX_VQ_ACTIVATION_BYTES} the VQ decoder allows: decode "
                              f"a smaller grid")


def _int(raw: dict, key: str, lo: int, hi: int, source: str) -> int:
    v = raw[key]
    ok = isinstance(v, (int, float)) and not isinstance(v, bool) and float(v).is_integer()
    if not ok or not lo <= v <= hi:
        raise CheckpointError(f'{source}: "{key}" must be an integer in {lo}..{hi}, got {v!r}')
    return int(v)


def parse_vq_config(raw, source: str = "vq.json") -> VqConfig:
    """Validate a parsed vq.json; missing keys take the official VQ-16 values."""
    if not isinstance(raw, dict):
        raise CheckpointError(f"{source}: expected a JSON object")
    c = dict(VqConfig().to_json(), **raw)
    for key, value in (("format", "zipar-vq"), ("formatVersion", 1), ("kind", "llamagen-vq16")):
        if c[key] != value or isinstance(c[key], bool):
            raise CheckpointError(f'{source}: "{key}" must be {value!r}, got {c[key]!r}')
    mult = c["chMult"]
    if (not isinstance(mult, list) or not 1 <= len(mult) <= 8
            or not all(isinstance(m, int) and not isinstance(m, bool) and 1 <= m <= 64
                       for m in mult)):
        raise CheckpointError(f'{source}: "chMult" must be 1..8 integers in 1..64, got {mult!r}')
    eps = c["eps"]
    if isinstance(eps, bool) or not isinstance(eps, (int, float)) or not 0 < eps < math.inf:
        raise CheckpointError(f'{source}: "eps" must be a positive number, got {eps!r}')
    cfg = VqConfig(codebook_size=_int(c, "codebookSize", 1, 1 << 24, source),
                   codebook_dim=_int(c, "codebookDim", 1, 4096, source),
                   z_channels=_int(c, "zChannels", 1, 1 << 14, source),
                   ch=_int(c, "ch", 1, 1 << 14, source), ch_mult=list(mult),
                   num_res_blocks=_int(c, "numResBlocks", 0, 64, source),
                   groups=_int(c, "groups", 1, 1 << 14, source), eps=float(eps))
    for m in cfg.ch_mult:
        if (cfg.ch * m) % cfg.groups:
            raise CheckpointError(f'{source}: "groups" {cfg.groups} must divide every channel '
                                  f"count, not ch·{m} = {cfg.ch * m}")
    return cfg


def vq_shapes(cfg: VqConfig) -> Dict[str, List[int]]:
    """Every tensor the decoder needs, with its expected shape, in forward order."""
    shapes: Dict[str, List[int]] = {}

    def norm(p, c):
        shapes[f"{p}.weight"] = [c]
        shapes[f"{p}.bias"] = [c]

    def conv(p, cin, cout, k):
        shapes[f"{p}.weight"] = [cout, cin, k, k]
        shapes[f"{p}.bias"] = [cout]

    def res(p, cin, cout):
        norm(f"{p}.norm1", cin)
        conv(f"{p}.conv1", cin, cout, 3)
        norm(f"{p}.norm2", cout)
        conv(f"{p}.conv2", cout, cout, 3)
        if cin != cout:
            conv(f"{p}.nin_shortcut", cin, cout, 1)

    def attn(p, c):
        norm(f"{p}.norm", c)
        for name in ("q", "k", "v", "proj_out"):
            conv(f"{p}.{name}", c, c, 1)

    levels = vq_levels(cfg)
    top = levels[0].cin
    shapes["quantize.embedding.weight"] = [cfg.codebook_size, cfg.codebook_dim]
    conv("post_quant_conv", cfg.codebook_dim, cfg.z_channels, 1)
    conv("decoder.conv_in", cfg.z_channels, top, 3)
    res("decoder.mid.0", top, top)
    attn("decoder.mid.1", top)
    res("decoder.mid.2", top, top)
    for i, level in enumerate(levels):
        p = f"decoder.conv_blocks.{i}"
        for j in range(level.blocks):
            res(f"{p}.res.{j}", level.cin if j == 0 else level.cout, level.cout)
            if level.attn:
                attn(f"{p}.attn.{j}", level.cout)
        if level.upsample:
            conv(f"{p}.upsample.conv", level.cout, level.cout, 3)
    norm("decoder.norm_out", levels[-1].cout)
    conv("decoder.conv_out", levels[-1].cout, 3, 3)
    return shapes


def infer_vq_config(shapes: Dict[str, list], source: str) -> VqConfig:
    """The config of a checkpoint without vq.json (an official .pt), from its tensor shapes.

    GroupNorm groups and eps are not in the weights: they take the official 32 and 1e-6.
    """
    def shape(key):
        if key not in shapes:
            raise CheckpointError(f"{source}: missing tensor {key}; is this a LlamaGen VQ-16 "
                                  f"checkpoint?")
        return list(shapes[key])
    size, dim = shape("quantize.embedding.weight")
    z = shape("post_quant_conv.weight")[0]
    blocks = {}
    for key in shapes:
        m = re.match(r"decoder\.conv_blocks\.(\d+)\.res\.(\d+)\.conv1\.weight$", key)
        if m:
            blocks.setdefault(int(m.group(1)), {})[int(m.group(2))] = shapes[key][0]
    if not blocks or sorted(blocks) != list(range(len(blocks))):
        raise CheckpointError(f"{source}: decoder.conv_blocks.N.res.M.conv1.weight tensors are "
                              f"missing or not numbered 0..N; is this a LlamaGen VQ-16 checkpoint?")
    couts = [blocks[i][max(blocks[i])] for i in range(len(blocks))]  # coarsest first
    ch = math.gcd(*couts) if len(couts) > 1 else couts[0]
    return parse_vq_config({"codebookSize": size, "codebookDim": dim, "zChannels": z, "ch": ch,
                            "chMult": [c // ch for c in reversed(couts)],
                            "numResBlocks": max(len(b) for b in blocks.values()) - 1}, source)
