"""Framed binary messages over stdio (see ../PROTOCOL.md).

Frame: u32 LE header length, u32 LE payload length, UTF-8 JSON header, payload. The header's
"buffers" lists [name, dtype, length] of the raw little-endian arrays packed in the payload.

The hello (header only) is read and errors are written with the standard library alone, before
the worker knows numpy imports; numpy is imported by the functions that pack arrays.
"""

import json
import struct
import sys

from contract import MAX_FRAME_HEADER_BYTES as MAX_HEADER  # noqa: F401 - core/contract.json
from contract import PROTOCOL_VERSION  # noqa: F401
DTYPES = {"int32": "<i4", "uint8": "u1", "float32": "<f4"}


class ProtocolError(ValueError):
    pass


def _read_exact(stream, n: int) -> bytes:
    chunks, left = [], n
    while left > 0:
        chunk = stream.read(left)
        if not chunk:
            if left == n:
                return b""
            raise ProtocolError(f"stdin closed in the middle of a frame ({n - left}/{n} bytes)")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def read_hello(stream):
    """The first frame, header only (standard library); None at end of input."""
    head = _read_exact(stream, 8)
    if not head:
        return None
    header_len, payload_len = struct.unpack("<II", head)
    if header_len > MAX_HEADER or payload_len != 0:
        raise ProtocolError("first frame is not a hello frame")
    return json.loads(_read_exact(stream, header_len).decode("utf-8"))


def write_header(stream, header: dict):
    """A frame without arrays (standard library): the hello's errors, bye, closed, …"""
    head = json.dumps(dict(header, buffers=[])).encode("utf-8")
    stream.write(struct.pack("<II", len(head), 0) + head)
    stream.flush()


def read_frame(stream):
    """-> (header dict, {name: np.ndarray}) or None at end of input."""
    import numpy as np

    head = _read_exact(stream, 8)
    if not head:
        return None
    header_len, payload_len = struct.unpack("<II", head)
    if header_len > MAX_HEADER:
        raise ProtocolError(f"frame header of {header_len} bytes exceeds {MAX_HEADER}")
    header = json.loads(_read_exact(stream, header_len).decode("utf-8"))
    payload = _read_exact(stream, payload_len) if payload_len else b""
    if len(payload) != payload_len:
        raise ProtocolError("stdin closed in the middle of a payload")
    arrays, offset = {}, 0
    for name, dtype, length in header.get("buffers", []):
        np_dtype = np.dtype(DTYPES[dtype])
        size = np_dtype.itemsize * int(length)
        if offset + size > payload_len:
            raise ProtocolError(f"buffer {name} runs past the payload")
        arrays[name] = np.frombuffer(payload, dtype=np_dtype, count=int(length), offset=offset)
        offset += size
    return header, arrays


def write_frame(stream, header: dict, arrays=None):
    """arrays: {name: np.ndarray} packed in order as raw little-endian bytes."""
    import numpy as np

    parts, buffers = [], []
    for name, array in (arrays or {}).items():
        kind = {np.dtype("int32"): "int32", np.dtype("uint8"): "uint8",
                np.dtype("float32"): "float32"}[array.dtype]
        data = np.ascontiguousarray(array, dtype=DTYPES[kind]).tobytes()
        buffers.append([name, kind, int(array.size)])
        parts.append(data)
    header = dict(header, buffers=buffers)
    head = json.dumps(header).encode("utf-8")
    payload_len = sum(len(p) for p in parts)
    stream.write(struct.pack("<II", len(head), payload_len))
    stream.write(head)
    for p in parts:
        stream.write(p)
    stream.flush()


def log(message: str):
    print(message, file=sys.stderr, flush=True)
