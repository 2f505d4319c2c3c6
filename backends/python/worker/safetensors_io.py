"""Read and write safetensors without the safetensors package: the worker's and tools/demo's.

File: u64 LE header length N, N bytes of JSON {name: {dtype, shape, data_offsets: [b, e]}, ...,
"__metadata__": {...}}, then the data buffer; offsets are relative to the buffer start.
"""

import json
import os
import struct
from typing import Dict, Optional

import numpy as np
import torch

from output_file import output_file

MAX_HEADER = 100 << 20  # 100 MiB of JSON is far beyond any real model
ITEMSIZE = {"F32": 4, "F16": 2, "BF16": 2}
TORCH_TO_ST = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16"}


class SafetensorsError(ValueError):
    pass


def read_header(path: str):
    """-> (entries: {name: (dtype, shape, begin, end)}, data_start, file_size)."""
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        head = f.read(8)
        if len(head) < 8:
            raise SafetensorsError(f"{path}: not a safetensors file (shorter than 8 bytes)")
        (n,) = struct.unpack("<Q", head)
        if n > MAX_HEADER or n > size - 8:
            raise SafetensorsError(f"{path}: header length {n} is larger than the limit "
                                   f"{MAX_HEADER} or the file ({size} bytes): truncated or corrupt")
        raw = f.read(n)
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise SafetensorsError(f"{path}: header is not valid JSON ({err})") from None
    if not isinstance(header, dict):
        raise SafetensorsError(f"{path}: header is not a JSON object")
    data_start, data_size = 8 + n, size - 8 - n
    entries = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        if not isinstance(entry, dict):
            raise SafetensorsError(f"{path}: entry {name} is not an object")
        dtype, shape, offsets = entry.get("dtype"), entry.get("shape"), entry.get("data_offsets")
        if dtype not in ITEMSIZE:
            raise SafetensorsError(f"{path}: tensor {name} has dtype {dtype}; "
                                   f"supported: {', '.join(ITEMSIZE)}")
        if not isinstance(shape, list) or not all(isinstance(d, int) and d >= 0 for d in shape):
            raise SafetensorsError(f"{path}: tensor {name} has an invalid shape {shape}")
        if (not isinstance(offsets, list) or len(offsets) != 2
                or not all(isinstance(o, int) for o in offsets)):
            raise SafetensorsError(f"{path}: tensor {name} has invalid data_offsets {offsets}")
        begin, end = offsets
        count = int(np.prod(shape, dtype=np.int64)) if shape else 1
        if not 0 <= begin <= end <= data_size:
            raise SafetensorsError(f"{path}: tensor {name} data [{begin}, {end}) lies outside "
                                   f"the {data_size}-byte buffer (truncated file?)")
        if end - begin != count * ITEMSIZE[dtype]:
            raise SafetensorsError(f"{path}: tensor {name} has {end - begin} bytes, its shape "
                                   f"{shape} and dtype {dtype} need {count * ITEMSIZE[dtype]}")
        entries[name] = (dtype, shape, begin, end)
    return entries, data_start, size


def load_tensor(path: str, entry, data_start: int) -> torch.Tensor:
    dtype, shape, begin, end = entry
    with open(path, "rb") as f:
        f.seek(data_start + begin)
        raw = f.read(end - begin)
    if len(raw) != end - begin:
        raise SafetensorsError(f"{path}: file ended while reading a tensor (truncated?)")
    if dtype == "F32":
        array = np.frombuffer(raw, dtype="<f4").astype(np.float32)
        return torch.from_numpy(array).reshape(shape)
    if dtype == "F16":
        return torch.from_numpy(np.frombuffer(raw, dtype="<f2").astype(np.float16)).reshape(shape)
    bits = np.frombuffer(raw, dtype="<i2").copy()
    return torch.from_numpy(bits).view(torch.bfloat16).reshape(shape)


def read_safetensors(path: str) -> Dict[str, torch.Tensor]:
    """Every tensor of a file, by name (header checked first)."""
    entries, data_start, _ = read_header(path)
    return {name: load_tensor(path, entry, data_start) for name, entry in entries.items()}


def write_safetensors(path: str, tensors: Dict[str, torch.Tensor],
                      metadata: Optional[Dict[str, str]] = None):
    """Write tensors (F32/F16/BF16, row-major) to path through output_file.py: a regular file
    atomically (a temporary file beside it, renamed into place when complete, removed on
    failure), a symlink's target likewise, a device or FIFO written through."""
    header, offset, blobs = {}, 0, []
    if metadata:
        header["__metadata__"] = metadata
    for name, t in tensors.items():
        t = t.detach().cpu().contiguous()
        if t.dtype not in TORCH_TO_ST:
            raise SafetensorsError(f"cannot write tensor {name} of dtype {t.dtype}")
        if t.dtype == torch.bfloat16:
            data = t.view(torch.int16).numpy().astype("<i2").tobytes()
        else:
            data = t.numpy().astype(t.numpy().dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": TORCH_TO_ST[t.dtype], "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    raw = json.dumps(header, separators=(",", ":")).encode("utf-8")
    raw += b" " * (-len(raw) % 8)
    with output_file(path) as f:
        f.write(struct.pack("<Q", len(raw)))
        f.write(raw)
        for blob in blobs:
            f.write(blob)
