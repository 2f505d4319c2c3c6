"""A session of a prompt family (Janus; Emu3 and Lumina-mGPT next): the engine's one prefix
slot per sequence is a condition block of that sequence's prompt ids (CONDITIONS.md).

The condition query (slot 0, token -1) is expanded here into the sequence's P prompt tokens at
positions 0..P-1, written in one step; its logits (the last prompt token's) predict cell
(0, 0). Engine slot s >= 1 lives at absolute position P + s - 1: the cache's per-sequence offset
is P - 1, so sequences of one session may have prompts of different lengths. A family
subclasses PromptSession with check_queries(), embed_image() (an engine token -> the model's
input embedding) and logits() (final-norm hidden -> engine-vocabulary logits).

sequences_for() and unpack() are the families' shared reading of CONDITIONS.md's sequences.
"""

from dataclasses import dataclass
from typing import List, Optional, Sequence

import numpy as np
import torch

from families.family import FamilySession
from hf_decoder import HFDecoder
from step_index import StepIndex


def sequences_for(images: List[dict], cfg_scale: float) -> List[dict]:
    """The sequences of a generation (CONDITIONS.md): each image's condition, then (CFG) each
    again as its unconditional half."""
    cond = [{"condition": im["condition"], "unconditional": False} for im in images]
    if cfg_scale == 1:
        return cond
    return cond + [{"condition": im["condition"], "unconditional": True} for im in images]


def unpack(sequence):
    """An open frame's sequence {condition, unconditional} -> (condition, unconditional)."""
    if not isinstance(sequence, dict) or "condition" not in sequence:
        raise ValueError(f"a sequence is {{condition, unconditional}}, got {sequence!r}")
    return sequence["condition"], bool(sequence.get("unconditional", False))


@dataclass
class PromptIndex:
    """A step's queries expanded into rows (a condition query -> its prompt's tokens)."""
    seq: torch.Tensor  # [n] sequence of each query (what the planner reads)
    rows: StepIndex  # the rows, grouped by sequence
    text_rows: torch.Tensor  # [t] rows holding prompt tokens
    text_ids: torch.Tensor  # [t] their token ids
    image_rows: torch.Tensor  # [i] rows holding engine tokens (image cells, EOL)
    image_queries: torch.Tensor  # [i] the query of each image row


class PromptSession(FamilySession):
    def __init__(self, decoder: HFDecoder, sequences: List, ids: Sequence[Sequence[int]],
                 num_slots: int):
        """sequences: the open frame's entries (kept as `conditions`); ids: each sequence's
        condition block, already checked to fit the model's context."""
        if not sequences:
            raise ValueError("a session needs at least one sequence")
        self.lengths = np.array([len(x) for x in ids], dtype=np.int64)  # [seqs] P
        self.starts = np.concatenate([[0], np.cumsum(self.lengths)[:-1]])  # into flat_ids
        self.flat_ids = np.concatenate([np.asarray(x, dtype=np.int64) for x in ids])
        rows = int(decoder.embed_tokens.num_embeddings)
        beyond = np.flatnonzero((self.flat_ids < 0) | (self.flat_ids >= rows))
        if beyond.size:
            token = int(self.flat_ids[beyond[0]])
            raise ValueError(f"the prompt's token id {token} is beyond the model's vocabulary "
                             f"of {rows} (its embedding rows): the tokenizer files are not this "
                             f"model's; use the model's own tokenizer")
        capacity = int(self.lengths.max()) - 1 + num_slots
        super().__init__(sequences, decoder.new_cache(len(sequences), capacity,
                                                      self.lengths - 1), num_slots)
        self.decoder = decoder
        self.input_ids = [list(x) for x in ids]  # per sequence (tests, the bench's peer row)

    def embed_image(self, tokens: torch.Tensor) -> torch.Tensor:
        """tokens: [r] engine tokens -> input embeddings [r, hidden]."""
        raise NotImplementedError

    def logits(self, hidden: torch.Tensor) -> torch.Tensor:
        """hidden: [w, hidden] final-norm states -> logits [w, vocab] float32."""
        raise NotImplementedError

    def index(self, seq: np.ndarray, slot: np.ndarray, want: np.ndarray) -> PromptIndex:
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
        return PromptIndex(t(seq), rows, t(np.flatnonzero(text)), t(text_ids),
                           t(np.flatnonzero(~text)), t(query[~text]))

    def forward(self, seq: np.ndarray, slot: np.ndarray, token: torch.Tensor,
                want: np.ndarray, index: Optional[PromptIndex] = None) -> torch.Tensor:
        ix = index if index is not None else self.index(seq, slot, want)
        d = self.decoder
        x = torch.empty(len(ix.rows.seq), d.hidden, dtype=d.dtype, device=self.device)
        if len(ix.text_rows):
            x[ix.text_rows] = d.embed_tokens(ix.text_ids)
        if len(ix.image_rows):
            x[ix.image_rows] = self.embed_image(token[ix.image_queries]).to(d.dtype)
        return self.logits(d.step(self.cache, x, ix.rows))  # [sum(want), vocab]
