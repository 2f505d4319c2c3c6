"""One Emu3 generation: a prompt session (prompt_session.py: each sequence's condition block
expanded into its prompt tokens, engine slot s >= 1 at position P + s - 1) over Emu3's text
decoder, with the engine's tokens mapped into the model's vocabulary (vocab.py).

Slots after the condition block are the layout's rows: W image slots, then the row's EOL slot
(core/layout with eol). An image slot takes a visual token 0..V-1, an EOL slot the EOL token V,
whose input embedding is the model's `<|extra_200|>`. Under ZipAR the query at row r-1's EOL
slot writes EOL and predicts (r, 0) while row r-1 may be unfinished: its unwritten slots are
masked (kv_cache.py), never zero keys, and no proxy token is needed.
"""

from typing import List

import numpy as np
import torch

from prompt_session import PromptSession, unpack

from .prompts import sequence_ids

CONDITION_TOKEN = -1  # core/step.ts


class Emu3Session(PromptSession):
    def __init__(self, family, sequences: List):
        if not sequences:
            raise ValueError("a session needs at least one sequence")
        ids = [sequence_ids(family.rules, *unpack(s)) for s in sequences]
        super().__init__(family.decoder_stack, sequences, ids, family.num_slots)
        self.vocab, self.lm_head = family.vocab, family.model.lm_head
        self.row_slots = family.info["width"] + 1

    def check_queries(self, seq: np.ndarray, slot: np.ndarray, token: np.ndarray):
        prefix = slot == 0
        if np.any(token[prefix] != CONDITION_TOKEN):
            raise ValueError(f"the prefix slot takes the condition token {CONDITION_TOKEN}")
        eol = ~prefix & ((slot - 1) % self.row_slots == self.row_slots - 1)
        v = self.vocab.size
        if np.any(token[eol] != v):
            raise ValueError(f"an end-of-line slot takes the EOL token {v}")
        image = token[~prefix & ~eol]
        if image.size and (image.min() < 0 or image.max() >= v):
            raise ValueError(f"image token outside 0..{v - 1}")

    def embed_image(self, tokens: torch.Tensor) -> torch.Tensor:
        """tokens: [r] engine tokens (0..V-1 visual, V = EOL) -> input embeddings [r, hidden]
        of the model's text ids."""
        return self.decoder.embed_tokens(self.vocab.to_model[tokens])

    def logits(self, hidden: torch.Tensor) -> torch.Tensor:
        """hidden: [w, hidden] -> the visual tokens' logits [w, V] float32, codebook order."""
        return self.lm_head(hidden).index_select(1, self.vocab.visual_ids).float()
