"""A plain raster decoding loop in the worker (prefill, then one token per pass): the `raster`
request of the test-mode worker (oracle_worker.py).

The test oracle for the engine: the engine's raster generation must equal it token for token.
Family-independent: the family's session runs each forward, with the layout of ModelInfo
(prefix slots, then rows of W image slots, each row followed by its EOL slot when the family
has one).
"""

import numpy as np
import torch

from contract import QUERY_TOKEN_CONDITION as CONDITION_TOKEN  # core/contract.json
from planner import draw_keys, keep_guided
from sampler import mix_cfg, sample


@torch.no_grad()
def generate_raster(family, request: dict) -> np.ndarray:
    """-> grids: [B, H, W] int32."""
    info = family.info
    height, width, prefix, eol = info["height"], info["width"], info["prefix"], info["eolToken"]
    images, scale = request["images"], float(request["cfgScale"])
    interval = int(request.get("cfgInterval", -1))  # LlamaGen's cfg_interval (core/cfg.ts)
    s = request["sampling"]
    temperature, top_k, top_p = float(s["temperature"]), int(s["topK"]), float(s["topP"])
    b = len(images)
    session = family.open(family.conditions_for(images, scale))
    try:
        seqs, device = session.num_seqs, session.device
        keys = torch.as_tensor(draw_keys(images, height * width, width)).to(device)  # [B, H*W]
        seq = np.arange(seqs)
        want = np.ones(seqs, dtype=bool)
        for p in range(prefix - 1):  # all prefix slots but the last, which predicts (0, 0)
            session.forward(seq, np.full(seqs, p), torch.full((seqs,), CONDITION_TOKEN,
                                                              device=device), ~want)
        token = np.full(seqs, CONDITION_TOKEN, dtype=np.int64)  # [seqs] input of the next query
        slot = np.full(seqs, prefix - 1, dtype=np.int64)  # [seqs] its slot
        grid = np.zeros((b, height * width), dtype=np.int32)
        row_slots = width + (0 if eol is None else 1)
        for cell in range(height * width):
            r, c = divmod(cell, width)
            qseq, qslot, qtoken, qwant = seq, slot, token, want
            if eol is not None and c == 0 and r > 0:
                # write (r-1, W-1); its EOL slot predicts (r, 0)
                qseq, qwant = np.concatenate([seq, seq]), np.concatenate([~want, want])
                qslot = np.concatenate([slot, np.full(seqs, prefix + r * row_slots - 1)])
                qtoken = np.concatenate([token, np.full(seqs, eol, dtype=np.int64)])
            logits = session.forward(qseq, qslot, torch.as_tensor(qtoken).to(device), qwant)
            halves = logits.view(seqs // b, b, -1)  # [halves, B, vocab]
            mixed = mix_cfg(halves[0], halves[-1], scale)
            if scale != 1:
                here = torch.full((b,), cell, device=device)
                mixed = keep_guided(mixed, halves[0], here, interval)
            tokens = sample(mixed, keys[:, cell], temperature, top_k, top_p).cpu().numpy()  # [B]
            grid[:, cell] = tokens
            token = np.tile(tokens, seqs // b).astype(np.int64)
            slot = np.full(seqs, prefix + r * row_slots + c, dtype=np.int64)
        return grid.reshape(b, height, width)
    finally:
        session.close()
