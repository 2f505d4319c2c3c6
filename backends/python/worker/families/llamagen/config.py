"""LlamaGen c2i GPT config (LLAMAGEN.md): presets, config.json (format zipar-llamagen), the
expected tensors, and the config of a .pt checkpoint inferred from its shapes."""

import os
import re
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

from errors import CheckpointError

# Presets: name -> (layers, heads, dim).
PRESETS = {
    "GPT-B": (12, 12, 768),
    "GPT-L": (24, 16, 1024),
    "GPT-XL": (36, 20, 1280),
    "GPT-XXL": (48, 24, 1536),
    "GPT-3B": (24, 32, 3200),
}


def preset_hidden(dim: int) -> int:
    """SwiGLU width: floor(2 * 4 * dim / 3) rounded up to a multiple of 256."""
    hidden = int(2 * (4 * dim) / 3)
    return (hidden + 255) // 256 * 256


@dataclass
class ModelConfig:
    dim: int  # model width
    layers: int  # transformer blocks
    heads: int  # attention heads (head_dim = dim / heads)
    hidden: int  # SwiGLU width
    vocab: int  # image-token vocabulary
    num_classes: int  # class ids 0..num_classes-1; num_classes = null class (CFG)
    height: int  # grid rows H
    width: int  # grid columns W
    prefix: int = 1  # class-token slots
    norm_eps: float = 1e-5  # RMSNorm epsilon
    rope_base: float = 10000.0  # RoPE base
    preset: Optional[str] = None  # preset name or None
    dtype: str = "float32"  # dtype of the stored weights

    @property
    def head_dim(self) -> int:
        return self.dim // self.heads

    @property
    def num_slots(self) -> int:
        return self.prefix + self.height * self.width

    def to_json(self) -> dict:
        return {
            "format": "zipar-llamagen", "formatVersion": 1, "family": "llamagen",
            "preset": self.preset, "dim": self.dim, "layers": self.layers, "heads": self.heads,
            "hidden": self.hidden, "vocab": self.vocab, "numClasses": self.num_classes,
            "prefix": self.prefix, "grid": [self.height, self.width], "normEps": self.norm_eps,
            "ropeBase": self.rope_base, "dtype": self.dtype,
        }


def expected_shapes(cfg: ModelConfig) -> Dict[str, List[int]]:
    """State-dict key -> shape, in LlamaGen's names."""
    d, h = cfg.dim, cfg.hidden
    shapes = {
        "cls_embedding.embedding_table.weight": [cfg.num_classes + 1, d],
        "tok_embeddings.weight": [cfg.vocab, d],
    }
    for layer in range(cfg.layers):
        p = f"layers.{layer}."
        shapes[p + "attention.wqkv.weight"] = [3 * d, d]
        shapes[p + "attention.wo.weight"] = [d, d]
        shapes[p + "feed_forward.w1.weight"] = [h, d]
        shapes[p + "feed_forward.w3.weight"] = [h, d]
        shapes[p + "feed_forward.w2.weight"] = [d, h]
        shapes[p + "attention_norm.weight"] = [d]
        shapes[p + "ffn_norm.weight"] = [d]
    shapes["norm.weight"] = [d]
    shapes["output.weight"] = [cfg.vocab, d]
    return shapes


def parse_grid(grid) -> Optional[Tuple[int, int]]:
    if grid is None:
        return None
    if isinstance(grid, (list, tuple)) and len(grid) == 2:
        return int(grid[0]), int(grid[1])
    m = re.fullmatch(r"(\d+)(?:x(\d+))?", str(grid))
    if not m:
        raise CheckpointError(f"grid must look like 16x16 or 16, got {grid}")
    return int(m.group(1)), int(m.group(2) or m.group(1))


def is_llamagen_config(raw) -> bool:
    return isinstance(raw, dict) and raw.get("format") == "zipar-llamagen"


def config_from_json(raw: dict, path: str) -> ModelConfig:
    if not is_llamagen_config(raw) or raw.get("family") != "llamagen":
        raise CheckpointError(f"{path}: not a zipar-llamagen config (format/family fields)")
    if raw.get("formatVersion") != 1:
        raise CheckpointError(f"{path}: formatVersion {raw.get('formatVersion')} unsupported "
                              f"(this worker reads 1)")
    try:
        grid = parse_grid(raw["grid"])
        cfg = ModelConfig(
            dim=int(raw["dim"]), layers=int(raw["layers"]), heads=int(raw["heads"]),
            hidden=int(raw["hidden"]), vocab=int(raw["vocab"]),
            num_classes=int(raw["numClasses"]), height=grid[0], width=grid[1],
            prefix=int(raw.get("prefix", 1)), norm_eps=float(raw.get("normEps", 1e-5)),
            rope_base=float(raw.get("ropeBase", 10000)), preset=raw.get("preset"),
            dtype=str(raw.get("dtype", "float32")))
    except KeyError as err:
        raise CheckpointError(f"{path}: missing field {err}") from None
    check_config(cfg, path)
    return cfg


def check_config(cfg: ModelConfig, path: str):
    for name in ("dim", "layers", "heads", "hidden", "vocab", "num_classes", "height", "width"):
        if getattr(cfg, name) < 1:
            raise CheckpointError(f"{path}: {name} must be >= 1, got {getattr(cfg, name)}")
    if cfg.prefix != 1:
        raise CheckpointError(f"{path}: LlamaGen c2i has prefix 1, got {cfg.prefix}")
    if cfg.dim % cfg.heads or (cfg.dim // cfg.heads) % 4:
        raise CheckpointError(f"{path}: dim {cfg.dim} / heads {cfg.heads} must give a head_dim "
                              f"divisible by 4 (2D RoPE)")


def infer_config(shapes: Dict[str, list], path: str, preset: Optional[str],
                 heads: Optional[int], grid) -> ModelConfig:
    """The config of a .pt checkpoint (no config.json) from its tensor shapes; heads from the
    preset (named or matched by layers and dim), the grid from the file name's _256 / _384."""
    def shape(key):
        if key not in shapes:
            raise CheckpointError(f"{path}: missing tensor {key}; is this a LlamaGen c2i GPT?")
        return list(shapes[key])
    vocab, dim = shape("tok_embeddings.weight")
    num_classes = shape("cls_embedding.embedding_table.weight")[0] - 1
    layer_ids = {int(m.group(1)) for k in shapes for m in [re.match(r"layers\.(\d+)\.", k)] if m}
    layers = max(layer_ids) + 1 if layer_ids else 0
    hidden = shape("layers.0.feed_forward.w1.weight")[0] if layers else preset_hidden(dim)
    if preset is not None:
        if preset not in PRESETS:
            raise CheckpointError(f"unknown preset {preset}; known: {', '.join(PRESETS)}")
        p_layers, p_heads, p_dim = PRESETS[preset]
        if (p_layers, p_dim) != (layers, dim):
            raise CheckpointError(f"{path}: preset {preset} has {p_layers} layers of dim {p_dim}, "
                                  f"the checkpoint {layers} layers of dim {dim}")
        heads = heads or p_heads
    if heads is None:
        match = [n for n, (l, _, d) in PRESETS.items() if (l, d) == (layers, dim)]
        if not match:
            raise CheckpointError(f"{path}: {layers} layers of dim {dim} match no preset; "
                                  f"pass the number of heads")
        preset = match[0]
        heads = PRESETS[preset][1]
    size = parse_grid(grid)
    if size is None:
        name = os.path.basename(path)
        size = (16, 16) if "_256" in name else (24, 24) if "_384" in name else None
        if size is None:
            raise CheckpointError(f"{path}: cannot infer the grid from the file name "
                                  f"(no _256 or _384): pass a grid such as 16x16")
    cfg = ModelConfig(dim=dim, layers=layers, heads=int(heads), hidden=hidden, vocab=vocab,
                      num_classes=num_classes, height=size[0], width=size[1], preset=preset)
    check_config(cfg, path)
    return cfg
