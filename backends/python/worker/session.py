"""An open generation: conditions per sequence, a KV cache, and the interactive step."""

import numpy as np
import torch

from model import KVCache, LlamaGenGPT, build_index

CONDITION_TOKEN = -1


class Session:
    def __init__(self, model: LlamaGenGPT, conditions):
        cfg = model.cfg
        conditions = [int(c) for c in conditions]
        if not conditions:
            raise ValueError("a session needs at least one sequence")
        for c in conditions:
            if c < 0 or c > cfg.num_classes:
                raise ValueError(f"class id {c} is outside 0..{cfg.num_classes} "
                                 f"({cfg.num_classes} = null class)")
        self.model = model
        self.conditions = conditions
        self.cond = torch.tensor(conditions, dtype=torch.int64, device=model.device)  # [seqs]
        self.cache: KVCache = model.new_cache(len(conditions))

    @property
    def num_seqs(self) -> int:
        return len(self.conditions)

    def check_queries(self, seq: np.ndarray, slot: np.ndarray, token: np.ndarray):
        cfg = self.model.cfg
        n = len(seq)
        if n == 0:
            raise ValueError("a step needs at least one query")
        if seq.min() < 0 or seq.max() >= self.num_seqs:
            raise ValueError(f"query sequence outside 0..{self.num_seqs - 1}")
        if slot.min() < 0 or slot.max() >= cfg.num_slots:
            raise ValueError(f"query slot outside 0..{cfg.num_slots - 1}")
        prefix = slot < cfg.prefix
        if np.any(token[prefix] != CONDITION_TOKEN):
            raise ValueError(f"prefix slots take the condition token {CONDITION_TOKEN}")
        image = token[~prefix]
        if image.size and (image.min() < 0 or image.max() >= cfg.vocab):
            raise ValueError(f"image token outside 0..{cfg.vocab - 1}")
        pairs = seq.astype(np.int64) * cfg.num_slots + slot
        if len(np.unique(pairs)) != n:
            raise ValueError("a step writes the same slot of a sequence twice")

    def forward(self, seq: np.ndarray, slot: np.ndarray, token: torch.Tensor,
                want: np.ndarray, index=None) -> torch.Tensor:
        """seq, slot: [n] host ints; token: [n] device int64 -> logits [sum(want), vocab]."""
        model = self.model
        ix = index if index is not None else build_index(seq, slot, want, self.num_seqs,
                                                          model.device, model.cfg.heads,
                                                          model.cfg.num_slots)
        x = model.embed(token, self.cond[ix.seq])  # [n, dim]
        return model.step(self.cache, x, ix)

    @torch.no_grad()
    def step(self, seq: np.ndarray, slot: np.ndarray, token: np.ndarray,
             want: np.ndarray) -> np.ndarray:
        """Interactive step -> logits: [sum(want), vocab] float32 on the host, query order."""
        self.check_queries(seq, slot, token)
        tok = torch.as_tensor(token.astype(np.int64)).to(self.model.device)
        logits = self.forward(seq, slot, tok, want.astype(bool))
        return logits.cpu().numpy()
