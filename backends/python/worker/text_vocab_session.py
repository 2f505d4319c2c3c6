"""A prompt session (prompt_session.py) whose image tokens are entries of the text model's own
vocabulary, with an end-of-line (EOL) slot after every row (core/layout with eol): Lumina-mGPT
(Chameleon's IMGIMG… tokens); Emu3's session has the same shape.

The engine's vocabulary is the codebook: engine token k, 0 <= k < V, is the model's id
image_ids[k]; engine token V (ModelInfo.eolToken) is the model's EOL id, written at EOL slots and
never sampled. The logits returned to the engine are the LM head's logits of the V image tokens
in codebook order (its rows image_ids; a bias-free linear head, as Chameleon's and Emu3's), so
sampling is restricted to the codebook as the models' own loops restrict it.

Under ZipAR the query at row r-1's EOL slot writes EOL and predicts (r, 0) while row r-1 may be
unfinished: its unwritten slots stay masked (kv_cache.py), and no proxy token is needed.
"""

from typing import List, Sequence

import numpy as np
import torch

from hf_decoder import HFDecoder
from prompt_session import PromptSession

CONDITION_TOKEN = -1  # core/step.ts


class TextVocabSession(PromptSession):
    def __init__(self, decoder: HFDecoder, sequences: List, ids: Sequence[Sequence[int]],
                 width: int, num_slots: int, image_ids: torch.Tensor, eol_id: int,
                 image_head: torch.Tensor):
        """image_ids: [V] the model's id of codebook index k (on the model's device); eol_id:
        the model's EOL id; image_head: [V, hidden] the LM head's rows of image_ids (the
        family slices them once, so a step multiplies by V rows, not the whole vocabulary)."""
        super().__init__(decoder, sequences, ids, num_slots)
        self.size = int(image_ids.shape[0])  # V; the EOL token is engine id V
        self.image_ids = image_ids
        self.to_model = torch.cat([image_ids, image_ids.new_tensor([eol_id])])  # [V + 1]
        self.image_head = image_head
        self.row_slots = width + 1

    def check_queries(self, seq: np.ndarray, slot: np.ndarray, token: np.ndarray):
        prefix = slot == 0
        if np.any(token[prefix] != CONDITION_TOKEN):
            raise ValueError(f"the prefix slot takes the condition token {CONDITION_TOKEN}")
        eol = ~prefix & ((slot - 1) % self.row_slots == self.row_slots - 1)
        if np.any(token[eol] != self.size):
            raise ValueError(f"an end-of-line slot takes the EOL token {self.size}")
        image = token[~prefix & ~eol]
        if image.size and (image.min() < 0 or image.max() >= self.size):
            raise ValueError(f"image token outside 0..{self.size - 1}")

    def embed_image(self, tokens: torch.Tensor) -> torch.Tensor:
        """tokens: [r] engine tokens (0..V-1 codes, V = EOL) -> input embeddings [r, hidden]."""
        return self.decoder.embed_tokens(self.to_model[tokens])

    def logits(self, hidden: torch.Tensor) -> torch.Tensor:
        """hidden: [w, hidden] -> the image tokens' logits [w, V] float32, codebook order."""
        return torch.matmul(hidden, self.image_head.t()).float()
