"""One Lumina-mGPT generation: a text-vocabulary session (text_vocab_session.py) over
Chameleon's decoder layers, whose sequences' condition blocks are Lumina's prompt + image
header, or the header alone for an unconditional half (prompts.py)."""

from typing import List

from prompt_session import unpack
from text_vocab_session import TextVocabSession

from .prompts import sequence_ids


class LuminaSession(TextVocabSession):
    def __init__(self, family, sequences: List):
        if not sequences:
            raise ValueError("a session needs at least one sequence")
        ids = [sequence_ids(family.rules, *unpack(s)) for s in sequences]
        super().__init__(family, sequences, ids, family.info["width"], family.vocab.size)
