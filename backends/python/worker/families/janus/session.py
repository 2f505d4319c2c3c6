"""One Janus generation: its sequences' condition blocks, their slot KV cache, the step.

The engine addresses one prefix slot per sequence (CONDITIONS.md). Its query (slot 0, token
-1) is expanded here into the sequence's P prompt tokens at positions 0..P-1, written in one
step; its logits (the last prompt token's, <begin_of_image>) predict cell (0, 0). Engine slot
s >= 1 is image cell s - 1 at absolute position P + s - 1: the cache's per-sequence offset is
P - 1, so sequences of one session may have prompts of different lengths.
"""

from dataclasses import dataclass
from typing import List, Optional

import numpy as np
import torch

from families.family import FamilySession
from step_index import StepIndex

from .forward import JanusForward
from .prompts import PromptRules, sequence_ids

CONDITION_TOKEN = -1  # core/step.ts


@dataclass
class JanusIndex:
    """A step's queries expanded into rows (a condition query -> its prompt's tokens)."""
    seq: torch.Tensor  # [n] sequence of each query (what the planner reads)
    rows: StepIndex  # the rows, grouped by sequence
    text_rows: torch.Tensor  # [t] rows holding prompt tokens
    text_ids: torch.Tensor  # [t] their token ids
    image_rows: torch.Tensor  # [i] rows holding image tokens
    image_queries: torch.Tensor  # [i] the query of each image row


class JanusSession(FamilySession):
    def __init__(self, forward: JanusForward, rules: PromptRules, sequences: List,
                 num_slots: int, codebook: int):
        if not sequences:
            raise ValueError("a session needs at least one sequence")
        ids = [sequence_ids(rules, *unpack(s)) for s in sequences]
        self.lengths = np.array([len(x) for x in ids], dtype=np.int64)  # [seqs] P
        self.starts = np.concatenate([[0], np.cumsum(self.lengths)[:-1]])  # into flat_ids
        self.flat_ids = np.concatenate([np.asarray(x, dtype=np.int64) for x in ids])
        capacity = int(self.lengths.max()) - 1 + num_slots
        cache = forward.new_cache(len(sequences), capacity, self.lengths - 1)
        super().__init__(sequences, cache, num_slots)
        self.model, self.codebook = forward, codebook
        self.input_ids = ids  # per sequence, for tests and the bench's transformers row

    def check_queries(self, seq: np.ndarray, slot: np.ndarray, token: np.ndarray):
        prefix = slot == 0
        if np.any(token[prefix] != CONDITION_TOKEN):
            raise ValueError(f"the prefix slot takes the condition token {CONDITION_TOKEN}")
        image = token[~prefix]
        if image.size and (image.min() < 0 or image.max() >= self.codebook):
            raise ValueError(f"image token outside 0..{self.codebook - 1}")

    def index(self, seq: np.ndarray, slot: np.ndarray, want: np.ndarray) -> JanusIndex:
        """Host-built rows of a step: seq, slot: [n] ints, want: [n] bool."""
        seq, slot = seq.astype(np.int64), slot.astype(np.int64)
        prefill = slot == 0
        counts = np.where(prefill, self.lengths[seq], 1)  # rows per query
        query = np.repeat(np.arange(len(seq)), counts)  # [r] query of each row
        first = np.concatenate([[0], np.cumsum(counts)[:-1]])
        within = np.arange(len(query)) - first[query]  # [r] 0..P-1 in a prompt
        text = prefill[query]
        rseq = seq[query]
        pos = np.where(text, within, self.cache.positions(rseq, slot[query]))
        rwant = want[query] & (within == counts[query] - 1)
        rows = self.cache.index(rseq, slot[query], rwant, pos)
        t = lambda a: torch.as_tensor(np.ascontiguousarray(a, dtype=np.int64)).to(self.device)
        text_ids = self.flat_ids[self.starts[rseq[text]] + within[text]]
        return JanusIndex(t(seq), rows, t(np.flatnonzero(text)), t(text_ids),
                          t(np.flatnonzero(~text)), t(query[~text]))

    def forward(self, seq: np.ndarray, slot: np.ndarray, token: torch.Tensor,
                want: np.ndarray, index: Optional[JanusIndex] = None) -> torch.Tensor:
        ix = index if index is not None else self.index(seq, slot, want)
        m = self.model
        x = torch.empty(len(ix.rows.seq), m.hidden, dtype=m.dtype, device=self.device)
        if len(ix.text_rows):
            x[ix.text_rows] = m.embed_text(ix.text_ids)
        if len(ix.image_rows):
            x[ix.image_rows] = m.embed_image(token[ix.image_queries])
        return m.step(self.cache, x, ix.rows)  # [sum(want), codebook]


def unpack(sequence):
    """An open frame's sequence {condition, unconditional} -> (condition, unconditional)."""
    if not isinstance(sequence, dict) or "condition" not in sequence:
        raise ValueError(f"a sequence is {{condition, unconditional}}, got {sequence!r}")
    return sequence["condition"], bool(sequence.get("unconditional", False))
