"""LlamaGen t2i's text encoder: a FLAN-T5 directory (google/flan-t5-xl as transformers saves it)
loaded with transformers' T5EncoderModel and the directory's own tokenizer, local files only,
no remote code; and a prompt turned into the caption block as LlamaGen's t2i sample script
builds it:

- the text is cleaned (LlamaGen's T5 embedder runs its caption cleaner; zipar applies the part
  of it that changes ordinary prompts: URL-style unquoting, lower case, dashes and quotes made
  plain, whitespace collapsed, stripped — see clean_caption);
- the tokenizer pads (to max length) and truncates to the caption positions (120), with T5's
  end-of-sequence token; the encoder's last hidden state at the V valid tokens is the caption;
- left padding (the script's default): the V valid feature rows move to the end of the block,
  positions 120 - V .. 119, the rest are zero and masked out (hidden from every query). The
  null caption of CFG is the model's uncond_embedding under the same mask as its prompt.
"""

import os
import re
import unicodedata
from typing import List, Optional
from urllib.parse import unquote_plus

import torch

from checkpoint import read_json
from errors import CheckpointError, OptionError
from hf_files import load_pretrained, load_tokenizer

TOKENIZER_FILES = ("tokenizer.json",)  # google/flan-t5-xl ships it beside spiece.model
# Quotes the cleaner makes plain: double-quote look-alikes -> '"', single -> "'".
QUOTES = {**{c: '"' for c in "`\u00b4\u00ab\u00bb\u201c\u201d\u00a8"},
          **{c: "'" for c in "\u2018\u2019"}}


def find_dir(path: str, given: Optional[str], beside) -> str:
    """The text encoder's directory: --text-encoder DIR, else the first of `beside` present."""
    if given is not None:
        if not os.path.isdir(given):
            raise OptionError(f"--text-encoder {given}: no such directory (a FLAN-T5 directory: "
                              f"config.json, the safetensors and the tokenizer files)")
        return given
    for d in beside:
        if os.path.isdir(d):
            return d
    names = ", ".join(os.path.relpath(d, os.path.dirname(os.path.abspath(path))) + "/"
                      for d in beside)
    raise CheckpointError(f"{path}: a LlamaGen text-to-image checkpoint needs its FLAN-T5 text "
                          f"encoder (google/flan-t5-xl): pass --text-encoder DIR, or put it "
                          f"beside the checkpoint as one of {names}")


def check_dir(t5: str, caption_dim: int) -> dict:
    """config.json of a T5 whose width is the checkpoint's caption width, and a tokenizer."""
    config_path = os.path.join(t5, "config.json")
    if not os.path.isfile(config_path):
        raise CheckpointError(f"{t5}: no config.json; the text encoder is a FLAN-T5 directory "
                              f"(google/flan-t5-xl: config.json, safetensors, tokenizer files)")
    config = read_json(config_path)
    kind = config.get("model_type") if isinstance(config, dict) else None
    if kind != "t5":
        raise CheckpointError(f"{config_path}: model_type {kind!r} is not a T5 encoder; "
                              f"LlamaGen t2i reads FLAN-T5 captions: pass --text-encoder with "
                              f"google/flan-t5-xl's directory")
    width = config.get("d_model")
    if width != caption_dim:
        raise CheckpointError(f"{config_path}: d_model {width!r} is not the checkpoint's "
                              f"caption width {caption_dim} (FLAN-T5-XL's is 2048): use the "
                              f"T5 the checkpoint was trained with")
    if not any(os.path.isfile(os.path.join(t5, f)) for f in TOKENIZER_FILES):
        raise CheckpointError(f"{t5}: no tokenizer files ({', '.join(TOKENIZER_FILES)}); copy "
                              f"them from google/flan-t5-xl into the directory")
    return config


class TextEncoder:
    """A FLAN-T5 encoder and its tokenizer: prompts -> caption features."""

    def __init__(self, t5: str, caption_dim: int, tokens: int, options):
        from transformers import T5EncoderModel
        check_dir(t5, caption_dim)
        self.path, self.tokens = t5, tokens
        self.tokenizer = load_tokenizer(t5)
        model, missing = load_pretrained(T5EncoderModel, t5, options, "FLAN-T5 encoder",
                                         missing=True)
        needed = [k for k in missing if k != "encoder.embed_tokens.weight"]  # tied to shared
        if needed:
            raise CheckpointError(f"{t5}: the safetensors lack {len(needed)} weights of the T5 "
                                  f"encoder (first: {needed[0]}); download the files again")
        self.model = model

    @torch.no_grad()
    def encode(self, prompt: str) -> torch.Tensor:
        """A prompt -> its valid caption rows: [V, caption_dim] in the encoder's dtype, the
        tokens the tokenizer keeps of it (at most `tokens`, EOS included)."""
        batch = self.tokenizer([clean_caption(prompt)], max_length=self.tokens,
                               padding="max_length", truncation=True,
                               return_attention_mask=True, return_tensors="pt")
        ids = batch["input_ids"].to(self.model.device)  # [1, tokens]
        mask = batch["attention_mask"].to(self.model.device)  # [1, tokens]
        vocab = self.model.config.vocab_size
        if int(ids.max()) >= vocab:
            raise ValueError(f"the tokenizer gives id {int(ids.max())}, beyond the T5's "
                             f"vocabulary of {vocab}: the tokenizer files are not this T5's")
        hidden = self.model(input_ids=ids, attention_mask=mask).last_hidden_state  # [1, T, d]
        return hidden[0][mask[0].bool()]  # [V, d]: the valid positions, in order


def clean_caption(text: str) -> str:
    """The part of LlamaGen's caption cleaning (language/t5.py, run twice there) that ordinary
    prompts meet: URL-style unquoting ('+' is a space), lower case, every dash one '-', curly
    quotes straight, whitespace runs one space, stripped. Not done: its URL, HTML, CJK,
    file-name and shop-spam removals (ftfy and BeautifulSoup, which zipar does not depend on)."""
    for _ in range(2):
        text = unquote_plus(str(text)).strip().lower()
        text = "".join("-" if unicodedata.category(c) == "Pd" else QUOTES.get(c, c) for c in text)
        text = re.sub(r"-+", "-", text)
        text = re.sub(r"\s+", " ", text).strip()
    return text


def caption_block(features: List[torch.Tensor], tokens: int) -> torch.Tensor:
    """Valid caption rows per sequence -> the left-padded block [seqs, tokens, d]: sequence i's
    V_i rows at positions tokens - V_i .. tokens - 1, zeros before them."""
    d = features[0].shape[-1]
    block = features[0].new_zeros(len(features), tokens, d)
    for i, rows in enumerate(features):
        block[i, tokens - rows.shape[0]:] = rows
    return block
