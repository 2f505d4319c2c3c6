"""A plain raster decoding loop in the worker (prefill, then one token per pass).

The test oracle for the engine: the engine's raster generation must equal it token for token.
"""

import numpy as np
import torch

from sampler import cell_key, mix_cfg, sample
from session import Session


@torch.no_grad()
def generate_raster(model, request: dict) -> np.ndarray:
    """-> grids: [B, H, W] int32."""
    cfg = model.cfg
    images, scale = request["images"], float(request["cfgScale"])
    s = request["sampling"]
    temperature, top_k, top_p = float(s["temperature"]), int(s["topK"]), float(s["topP"])
    b = len(images)
    conditions = [int(im["condition"]) for im in images]
    if scale != 1:
        conditions += [cfg.num_classes] * b
    session = Session(model, conditions)
    seqs = len(conditions)
    seq = np.arange(seqs)
    want = np.ones(seqs, dtype=bool)
    token = np.full(seqs, -1, dtype=np.int64)  # prefill: the class token at slot 0
    slot = np.zeros(seqs, dtype=np.int64)
    grid = np.zeros((b, cfg.height * cfg.width), dtype=np.int32)
    for cell in range(cfg.height * cfg.width):
        logits = session.forward(seq, slot, torch.as_tensor(token).to(model.device), want)
        halves = logits.view(seqs // b, b, -1)  # [halves, B, vocab]
        mixed = mix_cfg(halves[0], halves[-1], scale)
        keys = torch.tensor([cell_key(int(im["seed"]), int(im["index"]), cell // cfg.width,
                                      cell % cfg.width) for im in images], device=model.device)
        tokens = sample(mixed, keys, temperature, top_k, top_p).cpu().numpy()  # [B]
        grid[:, cell] = tokens
        token = np.tile(tokens, seqs // b).astype(np.int64)
        slot = np.full(seqs, cfg.prefix + cell, dtype=np.int64)
    return grid.reshape(b, cfg.height, cfg.width)
