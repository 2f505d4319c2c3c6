"""The one checkpoint loader: `.pt` files (pt_file.py: torch.load with weights_only=True, never
executing pickled code), model directories (a JSON config + a safetensors file), and the key and
shape check every family runs before a weight is used. Errors are one line naming the file, the key
and the expected shape, worded like backends/safetensors.ts so both backends say the same.
"""

import os
import re
from typing import Dict, List, Tuple

import torch

from bounded_json import parse_json
from errors import CheckpointError, first_line
from protocol import log
from pt_file import read_pt_args
from safetensors_io import load_tensor, read_header

Weights = Dict[str, torch.Tensor]
Shapes = Dict[str, List[int]]


def read_pt(path: str, weights: str = "model") -> Weights:
    """The state dict of a .pt file (pt_file.py: never executing pickled code), under model /
    module / state_dict or at top level; `weights="ema"` picks a training checkpoint's EMA."""
    return read_pt_args(path, weights)[0]


MAX_CONFIG_BYTES = 16 << 20  # backends/model_dir.ts reads no larger config either


def read_json(path: str):
    """A parsed JSON file; a missing, unreadable, oversized, too deep or invalid file is one
    line."""
    try:
        if os.path.getsize(path) > MAX_CONFIG_BYTES:
            raise CheckpointError(f"{path}: {os.path.getsize(path)} bytes, more than a config's "
                                  f"{MAX_CONFIG_BYTES}")
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except (OSError, ValueError) as err:
        if isinstance(err, CheckpointError):
            raise
        raise CheckpointError(f"{path}: {first_line(err)}") from None
    return parse_json(text, path)


def model_files(path: str, config_name: str, weights_name: str,
                kind: str = "model directory") -> Tuple[str, str]:
    """The config and weights paths of a model directory, both checked to exist."""
    files = (os.path.join(path, config_name), os.path.join(path, weights_name))
    for p in files:
        if not os.path.isfile(p):
            raise CheckpointError(f"{path}: missing {os.path.basename(p)} (a {kind} holds "
                                  f"{config_name} + {weights_name})")
    return files


def _dims(shape) -> str:
    return f"[{','.join(str(d) for d in shape)}]"


def check_shapes(expected: Shapes, shapes: Dict[str, list], source: str):
    """shapes: key -> actual shape; raises on the first missing key or wrong shape and notes
    (on stderr) the tensors the model does not use."""
    for key, want in expected.items():
        if key not in shapes:
            raise CheckpointError(f"{source}: missing tensor {key} (expected shape {_dims(want)})")
        if list(shapes[key]) != list(want):
            raise CheckpointError(f"{source}: tensor {key} has shape {_dims(shapes[key])}, "
                                  f"expected {_dims(want)}")
    # A layer beyond the config's: the config does not describe these weights (loading them
    # would silently drop the model's last layers).
    wanted = [int(m[1]) for k in expected for m in [re.match(r"layers\.(\d+)\.", k)] if m]
    if wanted:
        beyond = [int(m[1]) for k in shapes for m in [re.match(r"layers\.(\d+)\.", k)]
                  if m and int(m[1]) > max(wanted)]
        if beyond:
            count = max(wanted) + 1
            raise CheckpointError(f"{source}: holds weights of layer {max(beyond)}, but the "
                                  f"config says {count} layer{'' if count == 1 else 's'}: the "
                                  f"config does not describe these weights")
    extra = [k for k in shapes if k not in expected]
    if extra:
        log(f"note: ignoring {len(extra)} tensors of {source} the model does not use "
            f"(e.g. {extra[0]})")


NOT_FINITE = ("holds NaN or infinite values: weights must be finite numbers; the file is "
              "corrupt or was saved from a diverged run: get the weights again")


def check_finite(named, source: str):
    """named: (name, tensor) pairs; the first floating tensor with a NaN or an infinity is a
    one-line error (backends/safetensors_reader.ts says the same of what WebGPU reads)."""
    for name, tensor in named:
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            raise CheckpointError(f"{source}: tensor {name} {NOT_FINITE}")


def load_safetensors_checked(path: str, expected: Shapes) -> Weights:
    """Exactly the tensors `expected` names, after checking the header against it."""
    entries, data_start, _ = read_header(path)
    check_shapes(expected, {k: e[1] for k, e in entries.items()}, path)
    for key in expected:
        if entries[key][0] not in ("F32", "F16", "BF16"):
            raise CheckpointError(f"{path}: tensor {key} has dtype {entries[key][0]}, not a "
                                  f"float (F32, F16, BF16): convert it with `zipar convert`")
    weights = {k: load_tensor(path, entries[k], data_start) for k in expected}
    check_finite(weights.items(), path)
    return weights


def select_checked(state: Weights, expected: Shapes, source: str) -> Weights:
    """Exactly the tensors of a loaded state dict that `expected` names, after checking them."""
    check_shapes(expected, {k: list(v.shape) for k, v in state.items()}, source)
    weights = {k: state[k] for k in expected}
    check_finite(weights.items(), source)
    return weights
