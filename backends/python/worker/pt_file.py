"""Read a PyTorch checkpoint without ever executing pickled code, and say in one line what is
wrong with a file that cannot be read.

torch.load runs with weights_only=True: its unpickler builds tensors and plain containers only.
The one class added to that allowlist is argparse.Namespace, the `args` that LlamaGen's training
scripts save beside `model`, `optimizer`, `steps` and `ema`; it is rebuilt by setting its
attributes (plain data again), never by calling a pickled function. Any other global (os.system,
a user class) is refused before it is imported. A .safetensors file is read with this worker's
own bounded reader (safetensors_io.py), not by torch.
"""

import argparse
import os
import pickle
import re
import warnings
from typing import Optional, Tuple

import torch

from errors import CheckpointError, printable
from safetensors_io import load_tensor, read_header

ZIP_MAGIC = b"PK\x03\x04"  # torch.save's zip format (torch >= 1.6)
WEIGHTS = ("model", "ema")  # --weights: which state dict of a training checkpoint
STATE_KEYS = ("model", "module", "state_dict")  # where official files keep the weights
SAFE_GLOBALS = [argparse.Namespace]


def is_safetensors(path: str, head: bytes) -> bool:
    """A safetensors file: the name says so, or a u64 header length followed by '{'."""
    return path.endswith(".safetensors") or (len(head) >= 9 and head[8:9] == b"{"
                                             and int.from_bytes(head[:8], "little") > 1)


def load_checkpoint(path: str):
    """The unpickled object of a .pt file (tensors, containers, Namespaces), or a one-line
    CheckpointError saying what is wrong with the file."""
    if os.path.isdir(path):
        raise CheckpointError(f"{path}: is a directory, not a checkpoint file")
    try:
        size = os.path.getsize(path)
        with open(path, "rb") as f:
            head = f.read(16)
    except OSError as err:
        raise CheckpointError(f"{path}: cannot read ({printable(err.strerror or str(err))})") \
            from None
    if size == 0:
        raise CheckpointError(f"{path}: the file is empty (0 bytes): copy or download it again")
    if is_safetensors(path, head):
        entries, data_start, _ = read_header(path)
        return {name: load_tensor(path, entry, data_start) for name, entry in entries.items()}
    zipped = head.startswith(ZIP_MAGIC)
    try:
        with warnings.catch_warnings(), torch.serialization.safe_globals(SAFE_GLOBALS):
            warnings.simplefilter("ignore")
            # mmap: a training checkpoint's optimizer state is read only if touched (never)
            return torch.load(path, map_location="cpu", weights_only=True, mmap=zipped)
    except Exception as err:  # noqa: BLE001 - every failure becomes one line
        raise CheckpointError(f"{path}: {load_problem(err, head, size)}") from None


def load_problem(err: Exception, head: bytes, size: int) -> str:
    """What a torch.load failure says about the file, in words a user can act on."""
    text = str(err)
    refused = re.search(r"GLOBAL ([\w.]+)", text)
    operand = re.search(r"Unsupported operand (\d+)", text)
    if not head.startswith(ZIP_MAGIC) and head[:1] != b"\x80":  # a pickle (protocol >= 2)
        return (f"not a PyTorch checkpoint: neither torch.save's zip format nor a pickle (it "
                f"starts with bytes {head[:4].hex(' ')})")
    if operand and not refused:
        return (f"a pickle torch.save did not write, or a corrupt one (opcode {operand.group(1)} "
                f"is outside what the safe loader reads)")
    if refused or isinstance(err, pickle.UnpicklingError) and "eights only" in text:
        what = f"would import {refused.group(1)}" if refused else "holds objects other than " \
            "tensors"
        return (f"refusing to load: the pickle {what}; zipar loads only tensors, plain "
                f"containers and argparse.Namespace, and never runs pickled code (re-save the "
                f"state dict alone, or as safetensors)")
    if head.startswith(ZIP_MAGIC):
        return (f"a truncated or corrupt zip-format checkpoint ({size} bytes; "
                f"{summary(err)}): copy or download it again")
    if isinstance(err, EOFError):
        return f"the pickle ends early ({size} bytes): the file is truncated"
    return f"a corrupt pickle ({size} bytes; {summary(err)}): copy or download it again"


def summary(err: Exception) -> str:
    """`Type: first sentence`, printable, short."""
    lines = str(err).strip().splitlines()
    first = re.sub(r"^\[enforce fail at [^\]]*\] *\.? *", "", lines[0]) if lines else ""
    first = re.split(r"(?<=\.) ", first)[0]
    return printable(f"{type(err).__name__}: {first}".strip(": ")[:200])


def training_args(obj) -> Optional[dict]:
    """The `args` a training script saved (argparse.Namespace or dict), as a dict; else None."""
    if not isinstance(obj, dict):
        return None
    args = obj.get("args")
    if isinstance(args, argparse.Namespace):
        return dict(vars(args))
    return dict(args) if isinstance(args, dict) else None


def state_dict(obj, path: str, weights: str = "model") -> dict:
    """The tensors of the state dict `weights` picks: `ema` for a training checkpoint's EMA
    weights, else (`model`) the dict under model / module / state_dict, or the top level."""
    if weights not in WEIGHTS:
        raise CheckpointError(f"--weights must be {' or '.join(WEIGHTS)}, got {printable(weights)}")
    if not isinstance(obj, dict):
        raise CheckpointError(f"{path}: checkpoint holds a {type(obj).__name__}, not a dict")
    if weights == "ema":
        if not isinstance(obj.get("ema"), dict):
            keys = ", ".join(printable(str(k)) for k in list(obj)[:6])
            raise CheckpointError(f"{path}: no EMA weights (no \"ema\" entry; the checkpoint "
                                  f"holds {keys}): drop --weights ema")
        obj = obj["ema"]
    else:
        for key in STATE_KEYS:
            if isinstance(obj.get(key), dict):
                obj = obj[key]
                break
    state = {k: v for k, v in obj.items() if isinstance(k, str) and isinstance(v, torch.Tensor)}
    if not state:
        raise CheckpointError(f"{path}: no tensors under model, module, state_dict or top level")
    for prefix in ("module.", "_orig_mod."):
        if all(k.startswith(prefix) for k in state):
            state = {k[len(prefix):]: v for k, v in state.items()}
    return state


def read_pt_args(path: str, weights: str = "model") -> Tuple[dict, Optional[dict]]:
    """-> (state dict, training args or None) of a checkpoint file."""
    obj = load_checkpoint(path)
    return state_dict(obj, path, weights), training_args(obj)
