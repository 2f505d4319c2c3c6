"""Load LlamaGen GPT weights: a directory (config.json + model.safetensors) or a .pt file.

Every key and shape is checked against the config before the model is built; errors are one
line naming the key and the expected shape.
"""

import json
import os
import re
from typing import Dict, Optional, Tuple

import torch

from model import PRESETS, ModelConfig, expected_shapes, preset_hidden
from protocol import log
from safetensors_io import load_tensor, read_header


class CheckpointError(ValueError):
    pass


def first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return f"{type(err).__name__}: {text[0] if text else ''}".strip()


def parse_grid(grid) -> Optional[Tuple[int, int]]:
    if grid is None:
        return None
    if isinstance(grid, (list, tuple)) and len(grid) == 2:
        return int(grid[0]), int(grid[1])
    m = re.fullmatch(r"(\d+)(?:x(\d+))?", str(grid))
    if not m:
        raise CheckpointError(f"grid must look like 16x16 or 16, got {grid}")
    return int(m.group(1)), int(m.group(2) or m.group(1))


def config_from_json(raw: dict, path: str) -> ModelConfig:
    if raw.get("format") != "zipar-llamagen" or raw.get("family") != "llamagen":
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


def check_shapes(cfg: ModelConfig, shapes: Dict[str, list], path: str):
    """shapes: key -> actual shape; raises on the first missing key or wrong shape."""
    expected = expected_shapes(cfg)
    for key, shape in expected.items():
        if key not in shapes:
            raise CheckpointError(f"{path}: missing tensor {key} (expected shape {shape})")
        if list(shapes[key]) != shape:
            raise CheckpointError(f"{path}: tensor {key} has shape {list(shapes[key])}, "
                                  f"expected {shape}")
    extra = [k for k in shapes if k not in expected]
    if extra:
        log(f"note: ignoring {len(extra)} unexpected tensors in {path} (e.g. {extra[0]})")


def load_directory(path: str) -> Tuple[ModelConfig, Dict[str, torch.Tensor]]:
    config_path = os.path.join(path, "config.json")
    weights_path = os.path.join(path, "model.safetensors")
    for p in (config_path, weights_path):
        if not os.path.isfile(p):
            raise CheckpointError(f"{path}: missing {os.path.basename(p)} "
                                  f"(a model directory holds config.json + model.safetensors)")
    try:
        with open(config_path, encoding="utf-8") as f:
            raw = json.load(f)
    except (OSError, ValueError) as err:
        raise CheckpointError(f"{config_path}: {first_line(err)}") from None
    cfg = config_from_json(raw, config_path)
    entries, data_start, _ = read_header(weights_path)
    check_shapes(cfg, {k: e[1] for k, e in entries.items()}, weights_path)
    weights = {k: load_tensor(weights_path, entries[k], data_start)
               for k in expected_shapes(cfg)}
    return cfg, weights


def unwrap_state_dict(obj, path: str) -> Dict[str, torch.Tensor]:
    """The state dict under model / module / state_dict, or at top level."""
    if not isinstance(obj, dict):
        raise CheckpointError(f"{path}: checkpoint holds a {type(obj).__name__}, not a dict")
    for key in ("model", "module", "state_dict"):
        if isinstance(obj.get(key), dict):
            obj = obj[key]
            break
    state = {k: v for k, v in obj.items() if isinstance(v, torch.Tensor)}
    if not state:
        raise CheckpointError(f"{path}: no tensors under model, module, state_dict or top level")
    for prefix in ("module.", "_orig_mod."):
        if all(k.startswith(prefix) for k in state):
            state = {k[len(prefix):]: v for k, v in state.items()}
    return state


def infer_config(state: Dict[str, torch.Tensor], path: str, preset: Optional[str],
                 heads: Optional[int], grid) -> ModelConfig:
    def shape(key):
        if key not in state:
            raise CheckpointError(f"{path}: missing tensor {key}; is this a LlamaGen c2i GPT?")
        return list(state[key].shape)
    vocab, dim = shape("tok_embeddings.weight")
    num_classes = shape("cls_embedding.embedding_table.weight")[0] - 1
    layer_ids = {int(m.group(1)) for k in state for m in [re.match(r"layers\.(\d+)\.", k)] if m}
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


def load_pt(path: str, preset=None, heads=None, grid=None):
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - every failure becomes one line
        text = first_line(err)
        if "weights only" in text.lower() or "Unpickl" in text:
            raise CheckpointError(f"{path}: refusing to load: the pickle holds objects other "
                                  f"than tensors ({text})") from None
        raise CheckpointError(f"{path}: cannot read checkpoint ({text})") from None
    state = unwrap_state_dict(obj, path)
    cfg = infer_config(state, path, preset, heads, grid)
    check_shapes(cfg, {k: list(v.shape) for k, v in state.items()}, path)
    dtypes = {v.dtype for v in state.values()}
    cfg.dtype = "float32" if torch.float32 in dtypes or not dtypes else str(dtypes.pop())[6:]
    return cfg, {k: state[k] for k in expected_shapes(cfg)}


def load_checkpoint(path: str, preset=None, heads=None, grid=None):
    """-> (ModelConfig, {key: tensor}) from a directory or a .pt file."""
    if os.path.isdir(path):
        return load_directory(path)
    if not os.path.isfile(path):
        raise CheckpointError(f"{path}: no such file or directory")
    if path.endswith(".safetensors"):
        return load_directory(os.path.dirname(path) or ".")
    return load_pt(path, preset, heads, grid)
