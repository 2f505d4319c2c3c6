"""One Emu3 generation: a text-vocabulary session (text_vocab_session.py: each sequence's
condition block expanded into its prompt tokens, engine slot s >= 1 at position P + s - 1, the
engine's tokens mapped into the model's vocabulary by vocab.py) over Emu3's text decoder.

Slots after the condition block are the layout's rows: W image slots, then the row's EOL slot
(core/layout with eol). An image slot takes a visual token 0..V-1, an EOL slot the EOL token V,
whose input embedding is the model's `<|extra_200|>`. Under ZipAR the query at row r-1's EOL
slot writes EOL and predicts (r, 0) while row r-1 may be unfinished: its unwritten slots are
masked (kv_cache.py), never zero keys, and no proxy token is needed.
"""

from typing import List

from prompt_session import unpack
from text_vocab_session import TextVocabSession

from .prompts import sequence_ids


class Emu3Session(TextVocabSession):
    def __init__(self, family, sequences: List):
        if not sequences:
            raise ValueError("a session needs at least one sequence")
        ids = [sequence_ids(family.rules, *unpack(s)) for s in sequences]
        super().__init__(family, sequences, ids, family.info["width"], family.vocab.size)
