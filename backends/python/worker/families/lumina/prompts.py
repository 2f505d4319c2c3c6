"""Lumina-mGPT conditions -> token ids, and the grid a model directory generates.

A sequence's ids are the condition block the engine addresses as its one prefix slot. For a
prompt they are what Lumina-mGPT's FlexARInferenceSolver.generate feeds its model for an image
of W·16 x H·16 px, then the image header:

    BOS, tokens("Generate an image of {w}x{h} according to the following prompt:\\n{prompt}"
                "<reserved08706>"),  <racm3:break>, <reserved{8800+H/2}>, <reserved{8800+W/2}>

The instruction is the one of Lumina's README and generate_examples/generate.py; the text is the
conversation of one human turn (Conversation: message + sep token) with the generation prompt,
tokenized without special tokens and with BOS first (xllmx Tokenizer.encode(bos=True)). Lumina's
model then generates the three header tokens itself; zipar writes them, the tokens a trained
model emits for the size the instruction names.

The unconditional sequence is what Lumina's CFG processor
(LLMImageStartTriggeredUnbatchedClassifierFreeGuidanceLogitsProcessor, created without
unconditional ids) runs beside it: the conditional sequence from the image-start token on, i.e.
the header alone (no BOS, no text) at positions 0..2, with its own KV cache; from there both see
the same image tokens. (The public ZipAR fork of Lumina instead runs BOS and pad tokens over the
prompt's length; zipar follows Lumina-mGPT.) A negative prompt (zipar's extension) replaces that
header with the negative prompt's own block, built as a prompt's.
"""

import os
import re
from dataclasses import dataclass
from typing import List, Optional, Tuple

from config_limits import check_grid
from errors import CheckpointError, OptionError

from .vocab import IMAGE_START, TURN_END, ImageVocab, size_token, token_id

INSTRUCTION = "Generate an image of {w}x{h} according to the following prompt:\n{prompt}"
PATCH_PX = 32  # Lumina's patch_size (1.0 and 2.0), the unit of its size tokens


@dataclass(frozen=True)
class Release:
    """How a Lumina-mGPT release counts pixels: the image tokenizer's pixels per token side and
    the size a directory makes unless told (its name's, else `default_px`)."""
    token_px: int
    default_px: int = 768

    @property
    def patch_tokens(self) -> int:
        """Image tokens per 32-px patch side: the size tokens count patches."""
        return PATCH_PX // self.token_px

    def example(self) -> str:
        side = self.default_px // self.token_px
        return f"{self.default_px} px: {side}x{side}"


# Lumina-mGPT 1.0: Chameleon's VQGAN, 16 px a token (2 ** (levels - 1)); 768 px is 48x48, the
# ZipAR paper's Lumina setting.
V1 = Release(token_px=16)


@dataclass
class PromptRules:
    """What turns a condition into ids, read once from the model directory."""
    tokenizer: object  # transformers tokenizer
    bos_id: int
    header: List[int]  # <racm3:break>, height token, width token
    height: int  # grid rows H (tokens)
    width: int  # grid columns W
    max_prompt: int  # context - H·(W+1): the longest condition block that fits
    release: Release = V1


def grid_of(path: str, grid: Optional[str], size: Optional[int] = None,
            release: Release = V1) -> Tuple[int, int]:
    """The grid (H, W): the hello's "HxW", else its image `size` in px (1.0: 512, 768, 1024 at
    16 px a token; 2.0: 768 at 8 px), else the size the directory name ends in
    (Lumina-mGPT-7B-512 / -768 / -1024), else the release's default (768 px). A size is a
    multiple of 32 px, Lumina's patch."""
    n = release.patch_tokens
    if grid:
        match = re.fullmatch(r"\s*(\d+)\s*[xX]\s*(\d+)\s*", str(grid))
        if not match:
            raise ValueError(f"grid {grid!r} is not HxW ({release.example()})")
        h, w = int(match[1]), int(match[2])
    elif size is not None:
        if size % PATCH_PX or size <= 0:
            raise OptionError(f"size {size} px: Lumina-mGPT sizes are positive multiples of "
                              f"{PATCH_PX} px (its patch); pick one such as 512 or 768")
        h = w = size // release.token_px
    else:
        match = re.search(r"[-_](\d{2,4})$", os.path.basename(os.path.normpath(path)))
        px = int(match[1]) if match and int(match[1]) % PATCH_PX == 0 else release.default_px
        h = w = px // release.token_px
    check_grid(h, w, f"{path}: grid {h}x{w}")
    if min(h, w) < n or h % n or w % n:
        raise ValueError(f"grid {h}x{w}: Lumina-mGPT sizes count 32-px patches of {n}x{n} "
                         f"tokens, so each side must be a multiple of {n} ({release.example()})")
    return h, w


def prompt_rules(path: str, tokenizer, vocab: ImageVocab, grid: Tuple[int, int],
                 context: int, release: Release = V1) -> PromptRules:
    h, w = grid
    header = [vocab.id(IMAGE_START)]
    for side in (h, w):
        name = size_token(side // release.patch_tokens)
        try:
            header.append(token_id(tokenizer, name, path))
        except CheckpointError:
            raise ValueError(f"grid {h}x{w}: the tokenizer has no size token {name} for "
                             f"{side * release.token_px} px; pick a size the model was "
                             f"trained for ({release.example()})") from None
    bos = tokenizer.bos_token_id if tokenizer.bos_token_id is not None \
        else tokenizer.eos_token_id
    if not isinstance(bos, int):
        raise CheckpointError(f"{path}: the tokenizer names no BOS token; copy the model's "
                              f"tokenizer files into the directory")
    image = h * (w + 1)
    if image + len(header) >= context:
        raise ValueError(f"grid {h}x{w} needs {image} image positions, but the model's "
                         f"context is {context}; pick a smaller size")
    return PromptRules(tokenizer, bos, header, h, w, context - image, release)


def check_text(value, what: str) -> str:
    if not isinstance(value, str):
        raise ValueError(f"a {what} is a string, got {type(value).__name__}")
    if not value.strip():
        raise ValueError(f"empty {what}: give a text {what} (Lumina-mGPT conditions on text)")
    return value


def prompt_ids(rules: PromptRules, text: str) -> List[int]:
    """A prompt's condition block: BOS, Lumina's instruction + turn end, the image header."""
    px = rules.release.token_px
    message = INSTRUCTION.format(w=rules.width * px, h=rules.height * px,
                                 prompt=text)
    ids = rules.tokenizer.encode(message + TURN_END, add_special_tokens=False)
    return [rules.bos_id, *ids, *rules.header]


def sequence_ids(rules: PromptRules, condition, unconditional: bool) -> List[int]:
    """One sequence's condition block: {prompt, negativePrompt?} -> ids, checked to fit."""
    if not isinstance(condition, dict) or "prompt" not in condition:
        raise ValueError(f"Lumina-mGPT conditions on a text prompt ({{prompt: TEXT}}), got "
                         f"{condition!r}; pass --prompt instead of --class")
    prompt = check_text(condition["prompt"], "prompt")
    negative = condition.get("negativePrompt")
    if negative is not None:
        negative = check_text(negative, "negative prompt")
    if unconditional:
        if negative is None:
            return list(rules.header)
        ids, what = prompt_ids(rules, negative), "negative prompt"
    else:
        ids, what = prompt_ids(rules, prompt), "prompt"
    if len(ids) > rules.max_prompt:
        raise ValueError(f"the {what} is {len(ids)} tokens with Lumina's instruction and the "
                         f"image header, but the model's context leaves {rules.max_prompt} "
                         f"beside a {rules.height}x{rules.width} image; shorten it")
    return ids
