"""The VQ worker's request loop (vq_main.py): load the decoder, answer decode frames."""

import sys
import traceback

import numpy as np
import torch

from checkpoint import CheckpointError, first_line
from model import DTYPES
from protocol import PROTOCOL_VERSION, ProtocolError, read_frame, write_frame
from safetensors_io import SafetensorsError
from server import pick_device
from vq import VqDecoder
from vq_checkpoint import load_vq

EXPECTED = (ValueError, CheckpointError, SafetensorsError, ProtocolError)


def load(hello: dict) -> VqDecoder:
    device = pick_device(hello.get("device") or "cpu")
    dtype_name = hello.get("dtype") or "float32"
    if dtype_name not in DTYPES:
        raise ValueError(f"dtype must be one of {', '.join(DTYPES)}, got {dtype_name}")
    if device.type == "cpu":
        torch.set_num_threads(int(hello.get("threads") or 2))
    if not hello.get("vq"):
        raise ValueError("hello names no VQ decoder (field vq)")
    cfg, weights = load_vq(str(hello["vq"]))
    probe = torch.ones(1, 1, 3, 3, dtype=DTYPES[dtype_name], device=device)
    try:
        torch.nn.functional.conv2d(probe, probe, padding=1)
    except RuntimeError:
        raise ValueError(f"this PyTorch ({torch.__version__}) cannot run {dtype_name} convolutions "
                         f"on {device.type}; use --dtype float32 or bfloat16") from None
    return VqDecoder(cfg, weights, device, DTYPES[dtype_name])


def check_grid(decoder: VqDecoder, header: dict, arrays) -> torch.Tensor:
    """The client checks first (checkVqTokens); this guards the worker against any client."""
    shape = header.get("shape")
    if (not isinstance(shape, list) or len(shape) != 3
            or not all(isinstance(d, int) and d >= 1 for d in shape)):
        raise ValueError(f"grid shape must be [B, H, W] of positive integers, got {shape}")
    tokens = arrays.get("tokens")
    if tokens is None or tokens.size != shape[0] * shape[1] * shape[2]:
        got = None if tokens is None else tokens.size
        raise ValueError(f"grid shape {shape} needs {shape[0] * shape[1] * shape[2]} tokens, "
                         f"got {got}")
    size = decoder.cfg.codebook_size
    bad = np.flatnonzero((tokens < 0) | (tokens >= size))
    if bad.size:
        raise ValueError(f"token {int(tokens[bad[0]])} at index {int(bad[0])} is outside the "
                         f"codebook (0..{size - 1})")
    return torch.from_numpy(tokens.astype(np.int64)).view(*shape)  # [B, H, W]


def serve(hello: dict, stdin, stdout) -> int:
    try:
        decoder = load(hello)
    except EXPECTED as err:
        write_frame(stdout, {"type": "error", "message": str(err)})
        return 1
    dtype_name = str(decoder.dtype).replace("torch.", "")
    write_frame(stdout, {"type": "ready", "protocol": PROTOCOL_VERSION,
                         "config": decoder.cfg.to_json(), "scale": decoder.scale,
                         "torch": torch.__version__, "device": str(decoder.device),
                         "dtype": dtype_name})
    while True:
        frame = read_frame(stdin)
        if frame is None:
            return 0
        header, arrays = frame
        kind = header.get("type")
        try:
            if kind == "shutdown":
                write_frame(stdout, {"type": "bye"})
                return 0
            if kind != "decode":
                raise ValueError(f"unknown request type {kind} (the VQ worker answers decode)")
            pixels = decoder.decode(check_grid(decoder, header, arrays))  # [B, H*s, W*s, 3]
            write_frame(stdout, {"type": "pixels", "shape": list(pixels.shape)},
                        {"pixels": pixels.numpy().reshape(-1)})
        except EXPECTED as err:
            write_frame(stdout, {"type": "error", "message": str(err)})
        except Exception as err:  # noqa: BLE001 - report, keep serving
            traceback.print_exc(file=sys.stderr)
            write_frame(stdout, {"type": "error", "message": first_line(err)})
