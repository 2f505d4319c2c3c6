"""Torch device and dtype from the hello, checked once with a one-line error."""

import torch

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


def pick_device(name: str) -> torch.device:
    if name == "cuda":
        if not torch.cuda.is_available():
            raise ValueError("--device cuda, but this PyTorch sees no CUDA device "
                             f"(torch {torch.__version__}); use --device cpu")
        return torch.device("cuda")
    if name != "cpu":
        raise ValueError(f"device must be cpu or cuda, got {name}")
    return torch.device("cpu")


def pick_dtype(name: str) -> torch.dtype:
    if name not in DTYPES:
        raise ValueError(f"dtype must be one of {', '.join(DTYPES)}, got {name}")
    return DTYPES[name]


def probe(device: torch.device, dtype: torch.dtype, ops: str):
    """Fail in one line when this PyTorch cannot run `ops` ("matmuls" or "convolutions") in
    `dtype` on `device` (float16 on an old CPU torch)."""
    x = torch.ones(1, 1, 3, 3, dtype=dtype, device=device)
    try:
        if ops == "convolutions":
            torch.nn.functional.conv2d(x, x, padding=1)
        else:
            torch.nn.functional.linear(x[0, 0], x[0, 0])
    except RuntimeError:
        name = str(dtype).replace("torch.", "")
        raise ValueError(f"this PyTorch ({torch.__version__}) cannot run {name} {ops} on "
                         f"{device.type}; use --dtype float32 or bfloat16") from None
