"""A session of a prompt family (Janus, Emu3, Lumina-mGPT): the engine's one prefix
slot per sequence is a condition block of that sequence's prompt ids (docs/conditions.md).

The condition query (slot 0, token -1) is expanded here into the sequence's P prompt tokens at
positions 0..P-1, written in one step; its logits (the last prompt token's) predict cell
(0, 0). Engine slot s >= 1 lives at absolute position P + s - 1: the cache's per-sequence offset
is P - 1, so sequences of one session may have prompts of different lengths. A family
subclasses PromptSession with check_queries(), and builds its model's ModelSteps with
prompt_steps() from its image embedding (an engine token -> the model's input embedding) and
its logits (final-norm hidden -> engine-vocabulary logits).

sequences_for() and unpack() are the families' shared reading of docs/conditions.md's sequences.
"""

from dataclasses import dataclass
from typing import Callable, List, Sequence

import numpy as np
import torch

from families.family import FamilySession
from hf_decoder import HFDecoder
from kv_cache import SlotKVCache
from step_graphs import ModelSteps
from step_index import StepIndex


def sequences_for(images: List[dict], cfg_scale: float) -> List[dict]:
    """The sequences of a generation (docs/conditions.md): each image's condition, then (CFG) each
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
    seq: object  # [n] sequence of each query (what the planner reads)
    rows: StepIndex  # the rows, grouped by sequence
    text_rows: object  # [t] rows holding prompt tokens
    text_ids: object  # [t] their token ids
    image_rows: object  # [i] rows holding engine tokens (image cells, EOL)
    image_queries: object  # [i] the query of each image row
    image_only: bool  # no prompt rows: row r is query r (every step after the prefill)


EmbedImage = Callable[[torch.Tensor], torch.Tensor]  # engine tokens [r] -> embeddings [r, hidden]
Logits = Callable[[torch.Tensor], torch.Tensor]  # final-norm hidden [w, hidden] -> [w, V] float32


def prompt_steps(decoder: HFDecoder, embed_image: EmbedImage, logits: Logits) -> ModelSteps:
    """A prompt family's ModelSteps: the step forward over its decoder, with the family's own
    image embedding and logits (functions of the model, never of a session or the family
    object, so nothing a step keeps refers back to them)."""
    def forward_step(cache: SlotKVCache, token: torch.Tensor, ix: PromptIndex) -> torch.Tensor:
        """token: [n] engine tokens of the queries -> logits [w, V] float32."""
        d = decoder
        x = row_inputs(ix, token, d.embed_tokens, embed_image, d.hidden, d.dtype)  # [r, hidden]
        return logits(d.step(cache, x, ix.rows))  # [sum(want), vocab]
    return ModelSteps(forward_step, decoder.new_cache, decoder.device)


def row_inputs(ix: PromptIndex, token: torch.Tensor, embed_text: EmbedImage,
               embed_image: EmbedImage, hidden: int, dtype) -> torch.Tensor:
    """A step's row inputs [r, hidden]: embed_text(ix.text_ids) for the condition block's rows,
    embed_image(token) for the queries' own rows (every row after the prefill)."""
    if ix.image_only:
        return embed_image(token).to(dtype)  # [n, hidden]
    x = torch.empty(len(ix.rows.seq), hidden, dtype=dtype, device=token.device)
    if len(ix.text_rows):
        x[ix.text_rows] = embed_text(ix.text_ids).to(dtype)
    if len(ix.image_rows):
        x[ix.image_rows] = embed_image(token[ix.image_queries]).to(dtype)
    return x


class PromptSession(FamilySession):
    def __init__(self, family, sequences: List, ids: Sequence[Sequence[int]]):
        """family: its decoder_stack, steps (prompt_steps) and num_slots; sequences: the open
        frame's entries (kept as `conditions`); ids: each sequence's condition block, already
        checked to fit the model's context."""
        if not sequences:
            raise ValueError("a session needs at least one sequence")
        self.lengths = np.array([len(x) for x in ids], dtype=np.int64)  # [seqs] P
        self.starts = np.concatenate([[0], np.cumsum(self.lengths)[:-1]])  # into flat_ids
        self.flat_ids = np.concatenate([np.asarray(x, dtype=np.int64) for x in ids])
        rows = self.condition_rows(family)
        beyond = np.flatnonzero((self.flat_ids < 0) | (self.flat_ids >= rows))
        if beyond.size:
            token = int(self.flat_ids[beyond[0]])
            raise ValueError(f"the prompt's token id {token} is beyond the model's vocabulary "
                             f"of {rows} (its embedding rows): the tokenizer files are not this "
                             f"model's; use the model's own tokenizer")
        num_slots = family.num_slots
        capacity = int(self.lengths.max()) - 1 + num_slots
        cache = family.steps.acquire(len(sequences), capacity, self.lengths - 1)
        super().__init__(sequences, cache, num_slots, family.steps)
        self.input_ids = [list(x) for x in ids]  # per sequence (tests, the bench's peer row)

    def condition_rows(self, family) -> int:
        """How many ids a condition block may use: the embedding rows of the model's text
        decoder (family.decoder_stack, an HFDecoder)."""
        decoder: HFDecoder = family.decoder_stack
        return int(decoder.embed_tokens.num_embeddings)

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
        text_ids = self.flat_ids[self.starts[rseq[text]] + within[text]]
        return PromptIndex(seq, rows, np.flatnonzero(text), text_ids, np.flatnonzero(~text),
                           query[~text], not bool(text.any()))
