"""Convert a LlamaGen VQ checkpoint (vq_ds16_c2i.pt) to a zipar VQ directory.

Usage: python convert_vq.py IN.pt --out DIR
Reads IN.pt with torch.load(weights_only=True) only, infers the config from the tensor shapes,
checks every decoder key and shape, and writes DIR/vq.safetensors (decoder tensors only, float32)
and DIR/vq.json through temporary names renamed into place, weights first, config last. Prints
the config as JSON on stdout; errors are one line on stderr with exit code 1 (3 without torch).
"""

import json
import os
import sys

from convert import FIX


def convert_vq(argv) -> dict:
    from safetensors_io import write_safetensors
    from vq_checkpoint import load_vq_pt

    if len(argv) != 3 or argv[1] != "--out" or argv[0].startswith("--"):
        raise ValueError("usage: convert_vq.py IN.pt --out DIR")
    source, out = argv[0], argv[2]
    cfg, weights = load_vq_pt(source)
    os.makedirs(out, exist_ok=True)
    tmp_weights = os.path.join(out, f".vq.safetensors.tmp-{os.getpid()}")
    tmp_config = os.path.join(out, f".vq.json.tmp-{os.getpid()}")
    try:
        write_safetensors(tmp_weights, weights, {"format": "pt",
                                                 "source": os.path.basename(source)})
        with open(tmp_config, "w", encoding="utf-8") as f:
            json.dump(cfg.to_json(), f, indent=2)
            f.write("\n")
        os.replace(tmp_weights, os.path.join(out, "vq.safetensors"))
        os.replace(tmp_config, os.path.join(out, "vq.json"))
    finally:
        for tmp in (tmp_weights, tmp_config):
            if os.path.exists(tmp):
                os.remove(tmp)
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
        config = convert_vq(argv)
    except (ValueError, CheckpointError, SafetensorsError, OSError) as err:
        print(str(err).splitlines()[0] if str(err) else type(err).__name__, file=sys.stderr)
        return 1
    print(json.dumps(config))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
