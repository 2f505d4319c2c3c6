"""Convert a LlamaGen .pt checkpoint to a zipar model directory (config.json + model.safetensors).

Usage: python convert.py IN.pt --out DIR [--preset GPT-B] [--grid 16x16] [--heads N]
                         [--dtype float32|float16|bfloat16]
Files are written to temporary names in DIR and renamed into place (weights first, config last),
so DIR never holds a half-written model. Prints the config as JSON on stdout; errors are one line
on stderr with exit code 1 (3 when torch is missing).
"""

import json
import os
import sys

FIX = ("run `deno task setup` (it makes .venv from backends/python/requirements.txt), "
       "or set ZIPAR_PYTHON to a python with torch and numpy")


def parse_args(argv):
    if not argv or argv[0].startswith("--"):
        raise ValueError("usage: convert.py IN.pt --out DIR [--preset P] [--grid HxW] [--heads N]")
    opts = {"input": argv[0]}
    rest = argv[1:]
    if len(rest) % 2:
        raise ValueError(f"option {rest[-1]} needs a value")
    for flag, value in zip(rest[::2], rest[1::2]):
        if flag not in ("--out", "--preset", "--grid", "--heads", "--dtype"):
            raise ValueError(f"unknown option {flag}")
        opts[flag[2:]] = value
    if "out" not in opts:
        raise ValueError("--out DIR is required")
    return opts


def convert(opts) -> dict:
    import torch

    from checkpoint import load_pt
    from model import DTYPES
    from safetensors_io import write_safetensors

    dtype = opts.get("dtype", "float32")
    if dtype not in DTYPES:
        raise ValueError(f"dtype must be one of {', '.join(DTYPES)}, got {dtype}")
    heads = int(opts["heads"]) if "heads" in opts else None
    cfg, weights = load_pt(opts["input"], opts.get("preset"), heads, opts.get("grid"))
    cfg.dtype = dtype
    weights = {k: v.to(DTYPES[dtype]) for k, v in weights.items()}
    out = opts["out"]
    os.makedirs(out, exist_ok=True)
    tmp_model = os.path.join(out, f".model.safetensors.tmp-{os.getpid()}")
    tmp_config = os.path.join(out, f".config.json.tmp-{os.getpid()}")
    try:
        write_safetensors(tmp_model, weights, {"format": "pt", "source": os.path.basename(
            opts["input"])})
        with open(tmp_config, "w", encoding="utf-8") as f:
            json.dump(cfg.to_json(), f, indent=2)
            f.write("\n")
        os.replace(tmp_model, os.path.join(out, "model.safetensors"))
        os.replace(tmp_config, os.path.join(out, "config.json"))
    finally:
        for tmp in (tmp_model, tmp_config):
            if os.path.exists(tmp):
                os.remove(tmp)
    del torch
    return cfg.to_json()


def main(argv) -> int:
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    try:
        import numpy  # noqa: F401
        import torch  # noqa: F401
    except ImportError as err:
        name = getattr(err, "name", None) or "torch"
        what = "PyTorch" if name == "torch" else name
        print(f"{what} is not installed for {sys.executable} ({err}): {FIX}", file=sys.stderr)
        return 3
    from checkpoint import CheckpointError
    from safetensors_io import SafetensorsError
    try:
        config = convert(parse_args(argv))
    except (ValueError, CheckpointError, SafetensorsError, OSError) as err:
        print(str(err).splitlines()[0] if str(err) else type(err).__name__, file=sys.stderr)
        return 1
    print(json.dumps(config))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
