"""How zipar's engine vocabulary maps onto Emu3's text vocabulary.

Emu3 writes an image as text tokens: visual token k of the VQ codebook is the vocabulary entry
`<|visual token {k:06d}|>` (the config's vocabulary_map gives its id), and every row ends in the
EOL token `<|extra_200|>`. zipar's grids hold codebook indices, so the engine's vocabulary is:

    engine token k, 0 <= k < V   <->  `<|visual token k|>`  (V = the number of visual tokens)
    engine token V (eolToken)    <->  `<|extra_200|>`, the EOL token, written at EOL slots

The logits returned to the engine are the model's logits of the V visual tokens in codebook
order: exactly the tokens transformers' Emu3 prefix constraint (`prefix_allowed_tokens_fn`
returning `model.vocabulary_mapping.image_tokens`) allows inside a row; EOL and the end tokens
are never sampled. The mapping is transformers' own (Emu3ImageVocabularyMapping: img2bpe,
eol_token_id), checked here to be a full codebook 0..V-1 that the VQ decoder can decode.
"""

import torch

from errors import CheckpointError


class VisualVocab:
    def __init__(self, mapping, codebook_size: int, path: str, device, vocab_size: int):
        """mapping: the model's Emu3ImageVocabularyMapping; codebook_size: the VQ's;
        vocab_size: the text model's embedding rows (every id must fall within them)."""
        where = f"{path}: config.json vocabulary_map"
        try:
            img2bpe = dict(mapping.img2bpe)  # codebook index -> text id, from the token names
        except (ValueError, TypeError):
            raise CheckpointError(f"{where} has a visual token name that is not "
                                  f"<|visual token NNNNNN|>; use the model's own config.json"
                                  ) from None
        size = len(img2bpe)
        if size == 0:
            raise CheckpointError(f"{where} has no <|visual token NNNNNN|> entries; this is "
                                  f"not an Emu3-Gen directory's config.json")
        if sorted(img2bpe) != list(range(size)):
            gap = next(k for k in range(size + 1) if k not in img2bpe)
            raise CheckpointError(f"{where} has {size} visual tokens but no <|visual token "
                                  f"{gap:06d}|>; the codebook indices must run 0..{size - 1}")
        if sorted(img2bpe.values()) != list(mapping.image_tokens):
            raise CheckpointError(f"{where} names one visual token id twice; use the model's "
                                  f"own config.json")
        if size > codebook_size:
            raise CheckpointError(f"{where} has {size} visual tokens, more than the VQ "
                                  f"codebook's {codebook_size}; the decoder cannot decode them")
        eol = mapping.eol_token_id
        if not isinstance(eol, int):
            raise CheckpointError(f"{where} has no <|extra_200|> (Emu3's end-of-line token)")
        beyond = [(k, t) for k, t in [*img2bpe.items(), ("EOL", eol)] if not 0 <= t < vocab_size]
        if beyond:
            what, token = beyond[0]
            name = "<|extra_200|>" if what == "EOL" else f"<|visual token {what:06d}|>"
            raise CheckpointError(f"{where}: {name} is token id {token}, beyond the model's "
                                  f"vocabulary of {vocab_size} (its embedding rows); use the "
                                  f"model's own config.json")
        self.size = size  # V: the engine's vocabulary; the EOL token is engine id V
        self.eol_id = eol  # the model's id of <|extra_200|>
        visual = [img2bpe[k] for k in range(size)]
        # visual_ids: [V] model id of codebook index k; to_model: [V + 1], then EOL
        self.visual_ids = torch.tensor(visual, dtype=torch.long, device=device)
        self.to_model = torch.tensor(visual + [eol], dtype=torch.long, device=device)

    @property
    def eol_token(self) -> int:
        """The engine's EOL token id (ModelInfo.eolToken): V, one past the codebook."""
        return self.size
