"""Read and write safetensors without the safetensors package: the worker's and tools/demo's.

File: u64 LE header length N, N bytes of JSON {name: {dtype, shape, data_offsets: [b, e]}, ...,
"__metadata__": {...}}, then the data buffer; offsets are relative to the buffer start.
"""

import json
import math
import os
import struct
from typing import Dict, Optional

import numpy as np
import torch

from bounded_json import json_depth, no_constant, stringify
from contract import MAX_SAFETENSORS_HEADER_BYTES
from output_file import output_file

MAX_HEADER = MAX_SAFETENSORS_HEADER_BYTES  # core/contract.json, as the TS reader
MAX_HEADER_DEPTH = 3  # object -> tensor entry -> shape / data_offsets list
MAX_SAFE_INTEGER = 2 ** 53 - 1  # what JavaScript reads exactly: both readers take the same
ITEMSIZE = {"F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4}  # the integers: counters and
# indices beside the weights (BatchNorm's num_batches_tracked in Emu3's vision tokenizer)
INTEGER = {"I64": "<i8", "I32": "<i4"}
TORCH_TO_ST = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16"}
REEXPORT = "re-export it with safetensors' save_file or `zipar convert`"
TRUNCATED = "the file is truncated: copy or download it again"


class SafetensorsError(ValueError):
    pass


def _is_index(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= MAX_SAFE_INTEGER


def read_header(path: str):
    """-> (entries: {name: (dtype, shape, begin, end)}, data_start, file_size).

    The checks and words of backends/safetensors_format.ts, before any tensor is read: the header
    length is capped and fits the file, the JSON nests at most 3 levels, every tensor has a known
    dtype, a shape whose exact product x item size equals its byte span, a span inside the file,
    no two spans overlap, and __metadata__ maps strings to strings.
    """
    def fail(why: str):
        raise SafetensorsError(f"{path}: {why}")

    size = os.path.getsize(path)
    with open(path, "rb") as f:
        head = f.read(8)
        if len(head) < 8:
            fail(f"file is {size} bytes, too short for a header length ({TRUNCATED})")
        (n,) = struct.unpack("<Q", head)
        if n > MAX_HEADER:
            fail(f"header length {n} exceeds {MAX_HEADER} bytes: not a safetensors file?")
        if 8 + n > size:
            fail(f"header length {n} runs past the end of the file ({size} bytes): {TRUNCATED}")
        raw = f.read(n)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        fail(f"header is not valid UTF-8 JSON ({err}): {REEXPORT}")
    if json_depth(text, MAX_HEADER_DEPTH) > MAX_HEADER_DEPTH:
        fail(f"header JSON nests more than {MAX_HEADER_DEPTH} levels deep, as no safetensors "
             f"header does: {REEXPORT}")
    try:
        header = json.loads(text, parse_constant=no_constant)
    except ValueError as err:
        fail(f"header is not valid UTF-8 JSON ({err}): {REEXPORT}")
    if not isinstance(header, dict):
        fail(f"header is not a JSON object: {REEXPORT}")
    data_start, data_size = 8 + n, size - 8 - n
    entries = {}
    for name, entry in header.items():
        if name == "__metadata__":
            if not isinstance(entry, dict):
                fail(f"__metadata__ is not an object of strings: {REEXPORT}")
            for k, v in entry.items():
                if not isinstance(v, str):
                    fail(f"__metadata__.{k} is {stringify(v)}, not a string: {REEXPORT}")
            continue
        if not isinstance(entry, dict):
            fail(f"tensor {name}: entry is not an object: {REEXPORT}")
        dtype, shape, offsets = entry.get("dtype"), entry.get("shape"), entry.get("data_offsets")
        if not isinstance(dtype, str) or dtype not in ITEMSIZE:
            fail(f"tensor {name}: unsupported dtype {stringify(dtype)} (F32, F16, BF16, I64, I32): "
                 f"convert it with `zipar convert`")
        if not isinstance(shape, list) or not all(_is_index(d) for d in shape):
            fail(f"tensor {name}: shape {stringify(shape)} is not a list of integers ≥ 0: "
                 f"{REEXPORT}")
        if (not isinstance(offsets, list) or len(offsets) != 2
                or not all(_is_index(o) for o in offsets) or offsets[0] > offsets[1]):
            fail(f"tensor {name}: data_offsets {stringify(offsets)} is not [begin, end]: "
                 f"{REEXPORT}")
        begin, end = offsets
        if end > data_size:
            fail(f"tensor {name}: data ends at {end}, past the data section ({data_size} bytes): "
                 f"{TRUNCATED}")
        want = math.prod(shape) * ITEMSIZE[dtype]  # exact: [2^32, 2^32] must not wrap to 0
        if want != end - begin:
            fail(f"tensor {name}: shape [{','.join(map(str, shape))}] × {dtype} is {want} bytes, "
                 f"offsets span {end - begin}: {REEXPORT}")
        entries[name] = (dtype, shape, begin, end)
    spans = sorted(((e[2], e[3], k) for k, e in entries.items() if e[3] > e[2]))
    for (_, end0, a), (begin1, _, b) in zip(spans, spans[1:]):
        if begin1 < end0:
            fail(f"tensors {a} and {b} overlap: {REEXPORT}")
    # The data section is exactly the tensors' bytes: more after them is not a file safetensors
    # wrote (and could be gigabytes a reader is told to skip).
    used = max((end for _, end, _ in spans), default=0)
    if data_size > used:
        fail(f"{data_size - used} bytes after the last tensor's data: not a file safetensors "
             f"wrote: {REEXPORT}")
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
    if dtype in INTEGER:
        return torch.from_numpy(np.frombuffer(raw, dtype=INTEGER[dtype]).copy()).reshape(shape)
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
