"""LlamaGen c2i GPT config (docs/llamagen.md): presets, config.json (format zipar-llamagen), the
expected tensors, and the config of a .pt checkpoint inferred from its shapes."""

import math
import os
import re
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

from bounded_json import stringify
from contract import LLAMAGEN_LIMITS, LLAMAGEN_PRESETS
from errors import CheckpointError

# Presets: name -> (layers, heads, dim), from core/contract.json.
PRESETS = LLAMAGEN_PRESETS


def preset_hidden(dim: int) -> int:
    """SwiGLU width: floor(2 * 4 * dim / 3) rounded up to a multiple of 256."""
    hidden = int(2 * (4 * dim) / 3)
    return (hidden + 255) // 256 * 256


# The caps of a valid model directory (core/contract.json's llamagenLimits, which TypeScript's
# LLAMAGEN_LIMITS reads too; fixtures/model_dirs/cases.json's shared cases exercise both).
# Checked before allocating.
LIMITS = LLAMAGEN_LIMITS
DTYPES = ("float32", "float16", "bfloat16")


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
    kv_heads: Optional[int] = None  # K/V heads (LlamaGen's n_kv_head), None = heads
    null_class: bool = True  # the class table has the null class row (class dropout > 0)

    @property
    def head_dim(self) -> int:
        return self.dim // self.heads

    @property
    def n_kv_heads(self) -> int:
        return self.kv_heads or self.heads

    @property
    def kv_dim(self) -> int:
        return self.n_kv_heads * self.head_dim

    @property
    def num_slots(self) -> int:
        return self.prefix + self.height * self.width

    def to_json(self) -> dict:
        out = {
            "format": "zipar-llamagen", "formatVersion": 1, "family": "llamagen",
            "preset": self.preset, "dim": self.dim, "layers": self.layers, "heads": self.heads,
            "hidden": self.hidden, "vocab": self.vocab, "numClasses": self.num_classes,
            "prefix": self.prefix, "grid": [self.height, self.width], "normEps": self.norm_eps,
            "ropeBase": self.rope_base, "dtype": self.dtype,
        }
        if self.n_kv_heads != self.heads:
            out["kvHeads"] = self.n_kv_heads
        if not self.null_class:
            out["nullClass"] = False
        return out


def expected_shapes(cfg: ModelConfig) -> Dict[str, List[int]]:
    """State-dict key -> shape, in LlamaGen's names."""
    d, h = cfg.dim, cfg.hidden
    shapes = {
        "cls_embedding.embedding_table.weight": [cfg.num_classes + int(cfg.null_class), d],
        "tok_embeddings.weight": [cfg.vocab, d],
    }
    for layer in range(cfg.layers):
        p = f"layers.{layer}."
        shapes[p + "attention.wqkv.weight"] = [d + 2 * cfg.kv_dim, d]  # q, then k, then v
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
    """A grid flag ("16x16", "16") -> (H, W); None stays None."""
    if grid is None:
        return None
    if isinstance(grid, (list, tuple)) and len(grid) == 2 and all(_is_int(g) for g in grid):
        return int(grid[0]), int(grid[1])
    m = re.fullmatch(r"(\d+)(?:x(\d+))?", str(grid))
    if not m:
        raise CheckpointError(f"grid must look like 16x16 or 16, got {grid}")
    return int(m.group(1)), int(m.group(2) or m.group(1))


def is_llamagen_config(raw) -> bool:
    return isinstance(raw, dict) and raw.get("format") == "zipar-llamagen"


def _is_int(v) -> bool:
    """An integer as JSON has it: 3 or 3.0 (JavaScript cannot tell them apart), not True."""
    return (isinstance(v, int) and not isinstance(v, bool)) or \
        (isinstance(v, float) and math.isfinite(v) and v.is_integer())


def _got(raw: dict, key: str) -> str:
    return stringify(raw[key]) if key in raw else "nothing"


def config_from_json(raw, path: str) -> ModelConfig:
    """Validate a parsed config.json: the rules and words of backends/llamagen_config.ts."""
    if not isinstance(raw, dict):
        raise CheckpointError(f"{path}: expected a JSON object")
    L = LIMITS

    def fail(message: str):
        raise CheckpointError(f"{path}: {message}")

    def string(key: str, allowed=None) -> str:
        v = raw.get(key)
        if not isinstance(v, str) or (allowed and v not in allowed):
            what = " or ".join(f'"{a}"' for a in allowed) if allowed else "a string"
            fail(f'"{key}" must be {what}, got {_got(raw, key)}')
        return v

    def integer(key: str, lo: int, hi: int) -> int:
        v = raw.get(key)
        if not _is_int(v) or not lo <= v <= hi:
            fail(f'"{key}" must be an integer in {lo}..{hi}, got {_got(raw, key)}')
        return int(v)

    def positive(key: str) -> float:
        v = raw.get(key)
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 < v < math.inf:
            fail(f'"{key}" must be a positive number, got {_got(raw, key)}')
        return float(v)

    string("format", ["zipar-llamagen"])
    if not _is_int(raw.get("formatVersion")) or raw.get("formatVersion") != 1:
        fail(f'"formatVersion" must be 1, got {_got(raw, "formatVersion")}')
    string("family", ["llamagen"])
    grid = raw.get("grid")
    if (not isinstance(grid, list) or len(grid) != 2
            or not all(_is_int(g) and 1 <= g <= L["gridSide"] for g in grid)):
        fail(f'"grid" must be [H, W] with integers in 1..{L["gridSide"]}, got {_got(raw, "grid")}')
    if not _is_int(raw.get("prefix")) or raw.get("prefix") != 1:
        fail(f'"prefix" must be 1 (LlamaGen conditions on one class token), got '
             f'{_got(raw, "prefix")}')
    heads = integer("heads", 1, L["heads"])
    kv_heads = heads if raw.get("kvHeads") is None and "kvHeads" not in raw \
        else integer("kvHeads", 1, heads)
    null_class = raw.get("nullClass", True)
    if not isinstance(null_class, bool):
        fail(f'"nullClass" must be true or false, got {_got(raw, "nullClass")}')
    preset = raw.get("preset")
    cfg = ModelConfig(
        preset=None if preset is None else string("preset"),
        dim=integer("dim", 4, L["dim"]), layers=integer("layers", 1, L["layers"]), heads=heads,
        kv_heads=kv_heads, hidden=integer("hidden", 4, L["hidden"]),
        vocab=integer("vocab", 1, L["vocab"]),
        num_classes=integer("numClasses", 1, L["numClasses"]), null_class=null_class,
        height=int(grid[0]), width=int(grid[1]), prefix=1,
        norm_eps=positive("normEps"), rope_base=positive("ropeBase"),
        dtype=string("dtype", DTYPES))
    check_config(cfg, path)
    return cfg


def check_config(cfg: ModelConfig, path: str):
    """The rules between fields, for configs read from JSON or inferred from a .pt."""
    def fail(message: str):
        raise CheckpointError(f"{path}: {message}")
    if cfg.dim % (4 * cfg.heads):
        fail(f'"dim" {cfg.dim} must be a multiple of 4·heads ({4 * cfg.heads})')
    if cfg.heads % cfg.n_kv_heads:
        fail(f'"heads" {cfg.heads} must be a multiple of "kvHeads" {cfg.n_kv_heads}')
    if cfg.hidden % 4:
        fail(f'"hidden" {cfg.hidden} must be a multiple of 4')
    kv_bytes = kv_cache_bytes(cfg)
    if kv_bytes > LIMITS["kvCacheBytes"]:
        fail(f"the KV cache of one sequence would take {kv_bytes} bytes (layers × 2 × slots × "
             f"kvHeads·headDim × 4), more than the {LIMITS['kvCacheBytes']} zipar allows")


def kv_cache_bytes(cfg: ModelConfig) -> int:
    """One sequence's KV cache at float32: layers x 2 x slots x kvHeads*headDim x 4 bytes."""
    return cfg.layers * 2 * cfg.num_slots * cfg.kv_dim * 4


def infer_config(shapes: Dict[str, list], path: str, preset: Optional[str],
                 heads: Optional[int], grid, num_classes: Optional[int] = None,
                 args: Optional[dict] = None) -> Tuple[ModelConfig, str]:
    """The config of a .pt checkpoint (no config.json) from its tensor shapes, and a note on where
    num_classes came from. A training checkpoint's `args` (LlamaGen's train_c2i.py) give the
    preset (gpt_model), the grid (image_size / downsample_size) and num_classes; flags win. Else
    heads come from the preset (named or matched by layers and dim), the grid from the file
    name's _256 / _384, and num_classes from the class table (its rows - 1: a null-class row)."""
    args = args or {}
    shape = lambda key: tensor_shape(shapes, key, path, "LlamaGen c2i GPT")  # noqa: E731
    vocab, dim = shape("tok_embeddings.weight")
    rows = shape("cls_embedding.embedding_table.weight")[0]
    layers = layer_count(shapes)
    hidden = shape("layers.0.feed_forward.w1.weight")[0] if layers else preset_hidden(dim)
    preset, heads = preset_heads(path, layers, dim, preset, heads, args)
    size = grid_of(path, grid, args)
    count, null_class, note = class_count(rows, num_classes, args, path)
    cfg = ModelConfig(dim=dim, layers=layers, heads=int(heads), hidden=hidden, vocab=vocab,
                      num_classes=count, null_class=null_class, height=size[0], width=size[1],
                      preset=preset, kv_heads=kv_heads_of(shapes, dim, int(heads), layers))
    check_config(cfg, path)
    return cfg, note


def layer_count(shapes: Dict[str, list]) -> int:
    """The transformer blocks of a state dict: 1 + the highest `layers.N.` index (0 if none)."""
    ids = {int(m.group(1)) for k in shapes for m in [re.match(r"layers\.(\d+)\.", k)] if m}
    return max(ids) + 1 if ids else 0


def preset_heads(path: str, layers: int, dim: int, preset: Optional[str],
                 heads: Optional[int], args: dict, convert: bool = True
                 ) -> Tuple[Optional[str], int]:
    """(preset, heads) of a .pt of `layers` blocks of width `dim`: the named preset (flag, else
    the training args' gpt_model) checked against the shapes, else the preset the shapes match;
    `heads` (--heads) wins over the preset's and is required when no preset matches (the error
    names `zipar convert` too where it can convert the checkpoint)."""
    if preset is None and args.get("gpt_model") in PRESETS:
        preset = args["gpt_model"]
    if preset is not None:
        if preset not in PRESETS:
            raise CheckpointError(f"unknown preset {preset}; known: {', '.join(PRESETS)}")
        p_layers, p_heads, p_dim = PRESETS[preset]
        if (p_layers, p_dim) != (layers, dim):
            raise CheckpointError(f"{path}: preset {preset} has {p_layers} layers of dim {p_dim}, "
                                  f"the checkpoint {layers} layers of dim {dim}")
        return preset, heads or p_heads
    if heads is not None:
        return None, heads
    match = [n for n, (l, _, d) in PRESETS.items() if (l, d) == (layers, dim)]
    if not match:
        fix = (f", or convert it first (zipar convert --from llamagen "
               f"{os.path.basename(path)} --heads N --grid HxW --out DIR)") if convert else ""
        raise CheckpointError(f"{path}: {layers} layers of dim {dim} match no preset: pass "
                              f"--heads N and --grid HxW{fix}")
    return match[0], PRESETS[match[0]][1]


def _dims(shape) -> str:
    return f"[{','.join(str(d) for d in shape)}]"


def tensor_shape(shapes: Dict[str, list], key: str, path: str, what: str, rank: int = 2) -> list:
    """The shape of `key`, which a `what` (LlamaGen c2i GPT, …) has with `rank` dimensions."""
    if key not in shapes:
        raise CheckpointError(f"{path}: missing tensor {key}; is this a {what}?")
    if len(shapes[key]) != rank:
        raise CheckpointError(f"{path}: tensor {key} has shape {_dims(shapes[key])}, a "
                              f"{what}'s has {rank} dimensions")
    return list(shapes[key])


NAMED_SIZES = {"_256": 16, "_384": 24, "_512": 32}  # official file names' px -> VQ-16 grid side


def grid_of_name(path: str) -> Optional[Tuple[int, int]]:
    """c2i_L_384.pt -> 24x24, t2i_XL_stage2_512.pt -> 32x32; None for a name of no size."""
    name = os.path.basename(path)
    side = next((s for tag, s in NAMED_SIZES.items() if tag in name), None)
    return (side, side) if side else None


def grid_of(path: str, grid, args: dict) -> Tuple[int, int]:
    """A .pt's grid: the flag, else its training args, else its file name."""
    size = parse_grid(grid) or grid_of_args(args) or grid_of_name(path)
    if size is None:
        raise CheckpointError(f"{path}: cannot infer the grid from the file name "
                              f"(no _256, _384 or _512): pass a grid such as 16x16")
    return size


def grid_of_args(args: dict) -> Optional[Tuple[int, int]]:
    """image_size / downsample_size of LlamaGen's training args (downsample 16 by default)."""
    size, down = args.get("image_size"), args.get("downsample_size", 16)
    if not (_is_int(size) and _is_int(down) and down > 0 and size % down == 0
            and 1 <= size // down <= LIMITS["gridSide"]):
        return None
    return int(size // down), int(size // down)


def kv_heads_of(shapes: Dict[str, list], dim: int, heads: int, layers: int) -> Optional[int]:
    """K/V heads from the fused wqkv rows (dim + 2 * kv_heads * head_dim); None = heads."""
    qkv = shapes.get("layers.0.attention.wqkv.weight") if layers else None
    if not qkv or dim % heads:
        return None
    kv_dim, odd = divmod(qkv[0] - dim, 2)
    kv_heads, rest = divmod(kv_dim, dim // heads)
    ok = not odd and not rest and 1 <= kv_heads < heads and heads % kv_heads == 0
    return kv_heads if ok else None


def class_count(rows: int, flag: Optional[int], args: dict, path: str) -> Tuple[int, bool, str]:
    """-> (num_classes, null_class, note). The class table has num_classes rows, plus the null
    class's row when the model was trained with class dropout (CFG): --num-classes, else the
    training args' num_classes, else rows - 1 (the official checkpoints all have the null row)."""
    if flag is not None:
        count, source = int(flag), "--num-classes"
    elif _is_int(args.get("num_classes")) and args["num_classes"] >= 1:
        count, source = int(args["num_classes"]), "the checkpoint's training args"
    else:
        return rows - 1, True, (f"note: num_classes = {rows - 1} (the class table's {rows} rows "
                                f"less the null class; pass --num-classes N if it has none)")
    if rows not in (count, count + 1):
        raise CheckpointError(f"{path}: num_classes {count} (from {source}) does not fit the "
                              f"class table's {rows} rows (num_classes, or num_classes + 1 with "
                              f"the null class)")
    null = rows == count + 1
    tail = "and a null-class row for CFG" if null else "and no null-class row (no CFG: --cfg 1)"
    return count, null, f"note: num_classes = {count} (from {source}), {tail}"
