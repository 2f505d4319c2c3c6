"""A prompt session (prompt_session.py) whose image tokens are entries of the text model's own
vocabulary, with an end-of-line (EOL) slot after every row (core/layout with eol): Emu3 (its
`<|visual token k|>` tokens and `<|extra_200|>`) and Lumina-mGPT (Chameleon's IMGIMG… tokens
and its new-line token).

The engine's vocabulary is the codebook: engine token k, 0 <= k < V, is the model's id
image_ids[k]; engine token V (ModelInfo.eolToken) is the model's EOL id, written at EOL slots and
never sampled. The logits returned to the engine are the LM head's logits of the V image tokens
in codebook order: the head restricted to those rows once at load (head_rows: a view when the
ids are one ascending run, as Emu3's are), so a step multiplies by V rows, not the whole
vocabulary, and sampling is restricted to the codebook as the models' own loops restrict it.

Under ZipAR the query at row r-1's EOL slot writes EOL and predicts (r, 0) while row r-1 may be
unfinished: its unwritten slots stay masked (kv_cache.py), and no proxy token is needed.
"""

from typing import List, Sequence, Tuple

import numpy as np
import torch

from contract import QUERY_TOKEN_CONDITION as CONDITION_TOKEN  # core/contract.json
from hf_decoder import HFDecoder
from prompt_session import EmbedImage, Logits, PromptSession


def head_rows(weight: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
    """weight: [vocab, hidden] (an LM head's), ids: [V] -> its rows ids, [V, hidden]: a view
    when ids are consecutive ascending, else a copy of those rows."""
    first = int(ids[0])
    run = torch.arange(first, first + len(ids), device=ids.device)
    if torch.equal(ids, run):
        return weight.detach()[first:first + len(ids)]
    return weight.detach().index_select(0, ids)


def text_vocab_heads(decoder: HFDecoder, image_ids: torch.Tensor, eol_id: int,
                     image_head: torch.Tensor) -> Tuple[EmbedImage, Logits]:
    """A text-vocabulary family's image embedding and logits (prompt_steps' two functions).
    image_ids: [V] the model's id of codebook index k; eol_id: the model's EOL id;
    image_head: [V, hidden] (head_rows)."""
    to_model = torch.cat([image_ids, image_ids.new_tensor([eol_id])])  # [V + 1]
    embed_tokens = decoder.embed_tokens

    def embed_image(tokens: torch.Tensor) -> torch.Tensor:
        """tokens: [r] engine tokens (0..V-1 codes, V = EOL) -> input embeddings [r, hidden]."""
        return embed_tokens(to_model[tokens])

    def logits(hidden: torch.Tensor) -> torch.Tensor:
        """hidden: [w, hidden] -> the image tokens' logits [w, V] float32, codebook order."""
        return torch.matmul(hidden, image_head.t()).float()

    return embed_image, logits


class TextVocabSession(PromptSession):
    def __init__(self, family, sequences: List, ids: Sequence[Sequence[int]], width: int,
                 size: int):
        """family: as PromptSession's; width: image tokens a row; size: V, the codebook."""
        super().__init__(family, sequences, ids)
        self.size = size  # V; the EOL token is engine id V
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
