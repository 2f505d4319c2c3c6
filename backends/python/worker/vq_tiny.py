"""Write tiny VQ .pt checkpoints for tests from a VQ directory's weights (the same numbers).

Usage: python vq_tiny.py VQ_DIR OUT_DIR
Reads VQ_DIR/vq.json + vq.safetensors (written by backends/webgpu/vq_random_weights.ts) and
writes OUT_DIR/model.pt ({"model": state, "steps": 0} plus an encoder tensor the decoder
ignores), module.pt, top.pt, and broken files: wrong_shape.pt, missing_key.pt, evil.pt (a
pickle that would run code when unpickled; it must be refused unread).
"""

import os
import sys

import torch

from tiny import Evil
from vq_checkpoint import load_vq_directory


def main(argv):
    source, out = argv
    os.makedirs(out, exist_ok=True)
    _, w = load_vq_directory(source)
    with_encoder = dict(w, **{"encoder.conv_in.weight": torch.zeros(16, 3, 3, 3)})
    torch.save({"model": with_encoder, "steps": 0}, os.path.join(out, "model.pt"))
    torch.save({"module": w}, os.path.join(out, "module.pt"))
    torch.save(w, os.path.join(out, "top.pt"))
    bad = dict(w)
    bad["decoder.conv_out.weight"] = torch.zeros(3, 5, 3, 3)
    torch.save({"model": bad}, os.path.join(out, "wrong_shape.pt"))
    bad = dict(w)
    del bad["decoder.mid.1.proj_out.bias"]
    torch.save({"model": bad}, os.path.join(out, "missing_key.pt"))
    torch.save({"model": Evil(os.path.join(out, "PWNED"))}, os.path.join(out, "evil.pt"))


if __name__ == "__main__":
    main(sys.argv[1:])
