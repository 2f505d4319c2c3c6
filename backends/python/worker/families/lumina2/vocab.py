"""Lumina-mGPT 2.0's token layout (Alpha-VLLM/Lumina-mGPT-2.0: lumina_mgpt/inference_solver.py,
data/item_processor.py), read by name where the release names a token, by its fixed ids where
the release fixes them:

    image code k       id 155000 + k, k < 16384 (MoVQGAN 270M's codebook; the release's
                       MultiModalLogitsProcessor keeps ids 155000..171383 and its item processor
                       writes code + 155000): no tokenizer names, so config.json's vocab_size must
                       reach 171384
    <racm3:break>      image start, <eoss> image end (also the generation's EOS)
    <reserved08799>    the new-line (EOL) token after every row
    <reserved{8800+n:05d}>  the height / width token of n 32-px patches (4 tokens of 8 px)
    <reserved08706>    the end of a conversation turn

A Chameleon config.json whose vocabulary holds those image ids is a 2.0 model; 1.0's Chameleon
vocabulary is 65,536 ids with its image tokens named IMGIMG… (families/lumina/vocab.py).
"""

import torch

from errors import CheckpointError
from families.lumina.vocab import IMAGE_END, IMAGE_START, NEW_LINE, TURN_END, ImageVocab, token_id

IMAGE_BASE = 155000  # the id of image code 0
CODEBOOK = 16384  # MoVQGAN 270M's n_embed
IMAGE_END_ID = IMAGE_BASE + CODEBOOK  # one past the last image id


def is_lumina2(config) -> bool:
    """A Chameleon config.json of Lumina-mGPT 2.0: its vocabulary holds the image ids."""
    if not isinstance(config, dict) or config.get("model_type") != "chameleon":
        return False
    size = config.get("vocab_size")
    return isinstance(size, int) and not isinstance(size, bool) and size >= IMAGE_END_ID


def image_vocab(tokenizer, path: str, device, vocab_size: int) -> ImageVocab:
    """The 16,384 image ids and the layout's named tokens, each checked to lie in the model's
    vocabulary (its embedding rows) and apart from the image ids."""
    if vocab_size < IMAGE_END_ID:
        raise CheckpointError(f"{path}: config.json's vocab_size {vocab_size} does not hold "
                              f"Lumina-mGPT 2.0's image ids {IMAGE_BASE}..{IMAGE_END_ID - 1}; "
                              f"use the model's own config.json")
    ids = {name: token_id(tokenizer, name, path)
           for name in (IMAGE_START, IMAGE_END, NEW_LINE, TURN_END)}
    for name, token in ids.items():
        if not 0 <= token < vocab_size or IMAGE_BASE <= token < IMAGE_END_ID:
            raise CheckpointError(f"{path}: the tokenizer's {name} is id {token}, outside the "
                                  f"model's text ids; copy the model's own tokenizer files into "
                                  f"the directory")
    image_ids = torch.arange(IMAGE_BASE, IMAGE_END_ID, dtype=torch.long, device=device)  # [V]
    return ImageVocab(CODEBOOK, image_ids, ids)
