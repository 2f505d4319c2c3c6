"""One Janus generation: a prompt session (prompt_session.py: the condition block of each
sequence expanded into its prompt tokens, image slot s at position P + s - 1) whose image
tokens go in through the model's image-generation embeddings and aligner and come out of its
generation head (codebook logits), as in transformers' own image loop (the family's
embed_image and image_logits, run by its ModelSteps).
"""

from typing import List

import numpy as np

from contract import QUERY_TOKEN_CONDITION as CONDITION_TOKEN  # core/contract.json
from prompt_session import PromptSession, unpack

from .prompts import sequence_ids


class JanusSession(PromptSession):
    def __init__(self, family, sequences: List):
        if not sequences:
            raise ValueError("a session needs at least one sequence")
        ids = [sequence_ids(family.rules, *unpack(s)) for s in sequences]
        super().__init__(family, sequences, ids)
        self.codebook = family.codebook

    def check_queries(self, seq: np.ndarray, slot: np.ndarray, token: np.ndarray):
        prefix = slot == 0
        if np.any(token[prefix] != CONDITION_TOKEN):
            raise ValueError(f"the prefix slot takes the condition token {CONDITION_TOKEN}")
        image = token[~prefix]
        if image.size and (image.min() < 0 or image.max() >= self.codebook):
            raise ValueError(f"image token outside 0..{self.codebook - 1}")
