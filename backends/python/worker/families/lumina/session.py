"""One Lumina-mGPT generation: a text-vocabulary session (text_vocab_session.py) over
Chameleon's decoder layers, whose sequences' condition blocks are Lumina's prompt + image
header, or the header alone for an unconditional half (prompts.py)."""

from typing import List

from prompt_session import unpack
from text_vocab_session import TextVocabSession

from .prompts import sequence_ids
from .vocab import NEW_LINE


class LuminaSession(TextVocabSession):
    def __init__(self, family, sequences: List):
        if not sequences:
            raise ValueError("a session needs at least one sequence")
        ids = [sequence_ids(family.rules, *unpack(s)) for s in sequences]
        vocab = family.vocab
        super().__init__(family.decoder_stack, sequences, ids, family.info["width"],
                         family.num_slots, vocab.image_ids, vocab.id(NEW_LINE),
                         family.image_head)
