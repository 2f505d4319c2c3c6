"""Chameleon's vocabulary as Lumina-mGPT uses it, read by token name, never by hard-coded id.

Chameleon writes an image as text tokens: VQ code k is the vocabulary entry `IMGIMG<k>Z` with
the digits of k spelt as letters (0 -> A … 9 -> J: code 10 is `IMGIMGBAZ`), the names
transformers' ChameleonImageVocabularyMapping decodes (bpe2img / img2bpe) from config.json's
vocabulary_map. In Meta's vocabulary these are ids 4..8195, the range the public Lumina-mGPT
code hard-codes as its image tokens (MultiModalLogitsProcessor: `range(4, 8195 + 1)`); zipar
takes them from the names, so a vocabulary laid out otherwise still maps code k to its token.

The image layout's special tokens, by name (data/item_processor.py of Lumina-mGPT):

    <racm3:break>      image start;  <eoss>  image end
    <reserved08799>    new line: the EOL token after every row
    <reserved{8800+n:05d}>  the height / width token of n patches of 32 px (2 tokens of 16 px)
    <reserved08706>    the end of a conversation turn (Conversation.sep_token)

In Meta's vocabulary `<reservedK>` is id K + 4 there (transformers' conversion assigns
`<reserved08706>` = 8710 as the separator), so `<reserved{8800+n}>` is id 8804 + n: the
`id - 8804 = n` by which Lumina's decode_image reads the size back; the token grid is 2n x 2n'.
"""

from dataclasses import dataclass
from typing import Dict

import torch

from errors import CheckpointError

IMAGE_START = "<racm3:break>"
IMAGE_END = "<eoss>"
NEW_LINE = "<reserved08799>"
TURN_END = "<reserved08706>"


def size_token(patches: int) -> str:
    """The resolution token of `patches` 32-px patches (FlexARItemProcessor.get_n_grids_token)."""
    return f"<reserved{8800 + patches:05d}>"


def code_of(name: str) -> int:
    """`IMGIMG<letters>Z` -> its code (ChameleonImageVocabularyMapping's decoding)."""
    digits = name[len("IMGIMG"):-1]
    if not digits or not name.endswith("Z") or any(not "A" <= c <= "J" for c in digits):
        raise ValueError(name)
    return int("".join(str(ord(c) - ord("A")) for c in digits))


@dataclass
class ImageVocab:
    """Codebook index <-> Chameleon token id, and the ids of the layout's special tokens."""
    size: int  # V: the codebook; the engine's EOL token is V
    image_ids: torch.Tensor  # [V] token id of code k
    ids: Dict[str, int]  # special token name -> id

    @property
    def eol_token(self) -> int:
        """The engine's EOL token id (ModelInfo.eolToken): V, one past the codebook."""
        return self.size

    def id(self, name: str) -> int:
        return self.ids[name]


def image_vocab(vocabulary_map, tokenizer, codebook_size: int, path: str,
                device, vocab_size: int) -> ImageVocab:
    """The codebook from config.json's vocabulary_map (names IMGIMG…), checked to be complete
    (codes 0..V-1, V <= the VQ codebook, every id within the model's vocabulary), and the
    special tokens from the tokenizer."""
    where = f"{path}: config.json vocabulary_map"
    if not isinstance(vocabulary_map, dict):
        raise CheckpointError(f"{where} is missing; use the model's own config.json (a "
                              f"Chameleon config with the tokenizer's vocabulary)")
    codes: Dict[int, int] = {}
    for name, token in vocabulary_map.items():
        if isinstance(name, str) and name.startswith("IMGIMG"):
            try:
                code = code_of(name)
            except ValueError:
                raise CheckpointError(f"{where} has an image token {name!r} that is not "
                                      f"IMGIMG<letters A-J>Z; use the model's own config.json"
                                      ) from None
            if code in codes or not isinstance(token, int):
                raise CheckpointError(f"{where} names image code {code} twice; use the "
                                      f"model's own config.json")
            codes[code] = token
    size = len(codes)
    if size == 0:
        raise CheckpointError(f"{where} has no IMGIMG… image tokens; this is not a Chameleon "
                              f"(Lumina-mGPT) directory's config.json")
    if sorted(codes) != list(range(size)):
        gap = next(k for k in range(size + 1) if k not in codes)
        raise CheckpointError(f"{where} has {size} image tokens but none for code {gap}; the "
                              f"codes must run 0..{size - 1}")
    if size > codebook_size:
        raise CheckpointError(f"{where} has {size} image tokens, more than the VQ codebook's "
                              f"{codebook_size}; the decoder could not decode them")
    ids = {}
    for name in (IMAGE_START, IMAGE_END, NEW_LINE, TURN_END):
        ids[name] = token_id(tokenizer, name, path)
    beyond = [(n, t) for n, t in [*((f"image code {k}", codes[k]) for k in codes),
                                  *ids.items()] if not 0 <= t < vocab_size]
    if beyond:
        name, token = beyond[0]
        raise CheckpointError(f"{where}: {name} is token id {token}, beyond the model's "
                              f"vocabulary of {vocab_size} (its embedding rows); use the model's "
                              f"own config.json and tokenizer")
    image_ids = torch.tensor([codes[k] for k in range(size)], dtype=torch.long, device=device)
    return ImageVocab(size, image_ids, ids)


def token_id(tokenizer, name: str, path: str) -> int:
    """The id of a named token of the tokenizer, or one line naming it."""
    token = tokenizer.convert_tokens_to_ids(name)
    if not isinstance(token, int) or token == tokenizer.unk_token_id:
        raise CheckpointError(f"{path}: the tokenizer has no {name} token, which Lumina-mGPT's "
                              f"image layout needs; copy the model's own tokenizer files into "
                              f"the directory")
    return token
