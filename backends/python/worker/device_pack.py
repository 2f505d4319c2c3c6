"""Host-built step indexes moved to the device in one copy, each step's arrays one block.

A step index (step_index.StepIndex, a family's wrapper of it, planner.StepWork) is a dataclass
whose integer arrays are built on the host with numpy; nested index dataclasses are walked too.
pack() lays every array of every item end to end in one int64 buffer, moves it to the device
in one transfer (pinned and non-blocking on CUDA: no host sync, however many steps a plan has),
and gives each item back with its arrays replaced by views of its own contiguous block. The
block is what a CUDA graph's static input copies in one kernel (rebind() makes an item's views
into another block of the same layout).

    >>> import numpy as np, torch
    >>> from dataclasses import dataclass
    >>> @dataclass
    ... class Ix:
    ...     seq: object
    ...     width: int
    >>> [a, b] = pack([Ix(np.array([0, 1]), 2), Ix(np.array([1]), 1)], torch.device("cpu"))
    >>> a.seq.tolist(), b.seq.tolist(), b.width, block_of(a).numel()
    ([0, 1], [1], 1, 2)
"""

from dataclasses import fields, is_dataclass, replace
from typing import Dict, List, Sequence, Tuple, TypeVar

import numpy as np
import torch

T = TypeVar("T")
BLOCK = "device_block"  # the attribute a packed item keeps its block in


def _arrays(item, path: Tuple = ()) -> List[Tuple[Tuple, object]]:
    """(path, array) of every array field, nested dataclasses included, in field order."""
    out = []
    for f in fields(item):
        value = getattr(item, f.name)
        if isinstance(value, (np.ndarray, torch.Tensor)):
            out.append((path + (f.name,), value))
        elif is_dataclass(value) and not isinstance(value, type):
            out += _arrays(value, path + (f.name,))
    return out


def _with(item, values: Dict[Tuple, torch.Tensor], path: Tuple = ()):
    """item with the arrays at `values`' paths replaced, nested dataclasses rebuilt."""
    changes = {}
    for f in fields(item):
        value = getattr(item, f.name)
        here = path + (f.name,)
        if here in values:
            changes[f.name] = values[here]
        elif is_dataclass(value) and not isinstance(value, type):
            changes[f.name] = _with(value, values, here)
    return replace(item, **changes)


def _upload(buffer: np.ndarray, device: torch.device) -> torch.Tensor:
    host = torch.from_numpy(buffer)
    if device.type != "cuda":
        return host.to(device)
    return host.pin_memory().to(device, non_blocking=True)


def pack(items: Sequence[T], device: torch.device) -> List[T]:
    """Host items (int64-able numpy arrays) -> device items whose arrays are views of one
    block each, all blocks one buffer moved in one copy."""
    layouts, chunks, start = [], [], 0
    for item in items:
        entries = []
        for path, array in _arrays(item):
            a = np.ascontiguousarray(np.asarray(array), dtype=np.int64)
            entries.append((path, start, a.shape))
            chunks.append(a.reshape(-1))
            start += a.size
        layouts.append(entries)
    buffer = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.int64)
    device_buffer = _upload(buffer, device)
    out = []
    for item, entries in zip(items, layouts):
        first = entries[0][1] if entries else 0
        end = max((o + int(np.prod(s, dtype=np.int64)) for _, o, s in entries), default=first)
        block = device_buffer[first:end]
        views = {path: block[o - first:o - first + int(np.prod(s, dtype=np.int64))].view(s)
                 for path, o, s in entries}
        packed = _with(item, views)
        setattr(packed, BLOCK, block)
        _mark_nested(packed, device_buffer)
        out.append(packed)
    return out


def _mark_nested(item, buffer: torch.Tensor):
    """Give each nested index its own block: the span of its arrays, contiguous since arrays
    are laid out depth first (a planned step hands its nested index to the graphs)."""
    for f in fields(item):
        value = getattr(item, f.name)
        if not (is_dataclass(value) and not isinstance(value, type)):
            continue
        tensors = [t for _, t in _arrays(value)]
        if tensors:
            base = buffer.storage_offset()
            lo = min(t.storage_offset() for t in tensors) - base
            hi = max(t.storage_offset() + t.numel() for t in tensors) - base
            setattr(value, BLOCK, buffer[lo:hi])
        _mark_nested(value, buffer)


def block_of(item) -> torch.Tensor:
    """The contiguous device block holding every array of a packed item."""
    block = getattr(item, BLOCK, None)
    if block is None:
        raise ValueError("the index was not packed (device_pack.pack)")
    return block


def rebind(item: T, block: torch.Tensor) -> T:
    """A packed item's twin whose arrays are views of `block` (same size and layout)."""
    base = block_of(item)
    start = base.storage_offset()
    views = {}
    for path, t in _arrays(item):
        o = t.storage_offset() - start
        views[path] = block[o:o + t.numel()].view(t.shape)
    twin = _with(item, views)
    setattr(twin, BLOCK, block)
    _mark_nested(twin, block)
    return twin

