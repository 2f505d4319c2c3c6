"""One Janus generation: a prompt session (prompt_session.py: the condition block of each
sequence expanded into its prompt tokens, image slot s at position P + s - 1) whose image
tokens go in through the model's image-generation embeddings and aligner and come out of its
generation head (codebook logits), as in transformers' own image loop.
"""

from typing import List

import numpy as np
import torch

from prompt_session import PromptSession, unpack

from .prompts import sequence_ids

CONDITION_TOKEN = -1  # core/step.ts


class JanusSession(PromptSession):
    def __init__(self, family, sequences: List):
        if not sequences:
            raise ValueError("a session needs at least one sequence")
        ids = [sequence_ids(family.rules, *unpack(s)) for s in sequences]
        super().__init__(family.decoder_stack, sequences, ids, family.num_slots)
        self.model, self.codebook = family.model, family.codebook

    def check_queries(self, seq: np.ndarray, slot: np.ndarray, token: np.ndarray):
        prefix = slot == 0
        if np.any(token[prefix] != CONDITION_TOKEN):
            raise ValueError(f"the prefix slot takes the condition token {CONDITION_TOKEN}")
        image = token[~prefix]
        if image.size and (image.min() < 0 or image.max() >= self.codebook):
            raise ValueError(f"image token outside 0..{self.codebook - 1}")

    def embed_image(self, tokens: torch.Tensor) -> torch.Tensor:
        """tokens: [r] codebook ids -> [r, hidden]: generation embeddings, then aligner."""
        return self.model.prepare_embeddings_for_image_generation(tokens)

    def logits(self, hidden: torch.Tensor) -> torch.Tensor:
        """hidden: [w, hidden] -> codebook logits [w, codebook] float32."""
        return self.model.model.generation_head(hidden).float()

