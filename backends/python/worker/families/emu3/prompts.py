"""Emu3 conditions -> token ids, for both layouts an Emu3 directory comes in, and the grid they
ask for.

transformers' layout (model_type "emu3", Emu3-Gen-hf): as Emu3Processor prepares them in
transformers 5.24 (below). BAAI's official layout (model_type "Emu3", BAAI/Emu3-Gen): as BAAI's
image-generation example does: the same conditional block with the example's positive suffix
appended to the prompt (POSITIVE_SUFFIX), and the negative prompt wrapped in the same image
header as the prompt (the official processor builds both in mode "G"); the official tiktoken
tokenizer (official_tokenizer.py). Its sampling defaults are the example's too: CFG 3, top-k
2048.

A sequence's ids are the condition block the engine addresses as its one prefix slot. The
conditional block is what `Emu3Processor(text=[prompt], return_for_image_generation=True)`
tokenizes: BOS (as text), the prompt, then the image header `<|image start|>{H}*{W}<|image
token|>`; image row 0 follows. The unconditional block is the negative prompt as transformers'
Emu3 example passes it to `generate(negative_prompt_ids=...)`: `Emu3Processor(text=[negative])`,
BOS and the text, no image header (BAAI's own script adds the header to the negative prompt
too; transformers' does not, and zipar follows transformers). With no negative prompt given, the
model card's default below.

The grid: Emu3Processor's `calculate_generate_size(ratio, image_area, 8)` (8 px per token); its
defaults ratio "1:1", image_area 518400 (720x720 px) give Emu3-Gen's 90x90. transformers takes
`ratio` and `image_area` per call and ignores them in processor_config.json; zipar reads them
from there when present (so a directory can state its grid), and the hello's grid "HxW"
overrides both.
"""

import os
import re
from dataclasses import dataclass
from typing import List, Optional, Tuple

from checkpoint import read_json
from config_limits import check_grid
from contract import family_defaults
from errors import CheckpointError

# The model card's negative prompt (transformers' Emu3 image-generation example) and scale 3.
DEFAULT_NEGATIVE_PROMPT = (
    "lowres, bad anatomy, bad hands, text, error, missing fingers, extra digit, fewer digits, "
    "cropped, worst quality, low quality, normal quality, jpeg artifacts, signature, "
    "watermark, username, blurry.")
DEFAULT_CFG = float(family_defaults("emu3")["cfg"])  # core/contract.json
OFFICIAL_TOP_K = 2048  # BAAI's example samples with top_k 2048
POSITIVE_SUFFIX = " masterpiece, film grained, best quality."  # BAAI's example appends it
DEFAULT_IMAGE_AREA, DEFAULT_RATIO = 518400, "1:1"  # Emu3Processor's class defaults
TOKEN_PIXELS = 8  # Emu3Processor.downsample_ratio
END_TOKENS = 3  # <|extra_201|> (end of frame), <|image end|>, EOS after the last row


@dataclass
class PromptRules:
    """What turns a prompt into ids, read once from the model directory."""
    tokenizer: object  # transformers tokenizer, or official_tokenizer.OfficialTokenizer
    bos: str  # tokenizer.bos_token, written as text (Emu3Processor.prepare_inputs_layout)
    header: str  # "<|image start|>{H}*{W}<|image token|>"
    max_prompt: int  # context - H*(W+1) - END_TOKENS: the longest condition block that fits
    official: bool = False  # BAAI's example: the positive suffix, the negative's image header


def generate_size(ratio: str, image_area: int) -> Tuple[int, int]:
    """Emu3Processor.calculate_generate_size(ratio, image_area, 8) -> (H, W) in tokens."""
    width, height = map(int, ratio.split(":"))
    target = (image_area / (width * height)) ** 0.5
    return int(round(height * target / TOKEN_PIXELS)), int(round(width * target / TOKEN_PIXELS))


def grid_of(path: str, grid: Optional[str], size: Optional[int] = None,
            image_area: Optional[int] = None) -> Tuple[int, int]:
    """The grid (H, W): the hello's "HxW", else a square image of `size` px (ratio 1:1, area
    size², as Emu3Processor computes it), else processor_config.json's ratio and image_area,
    else `image_area` (BAAI's config.json has it, ratio 1:1 as its example), else
    Emu3Processor's defaults."""
    if grid:
        match = re.fullmatch(r"\s*(\d+)\s*[xX]\s*(\d+)\s*", str(grid))
        if not match or min(int(match[1]), int(match[2])) < 1:
            raise ValueError(f"grid {grid!r} is not HxW of positive integers (Emu3-Gen: 90x90)")
        check_grid(int(match[1]), int(match[2]), f"grid {grid}")
        return int(match[1]), int(match[2])
    if size is not None:
        check_grid(*generate_size("1:1", size * size), f"size {size} px")
        return generate_size("1:1", size * size)
    ratio, area = DEFAULT_RATIO, DEFAULT_IMAGE_AREA if image_area is None else image_area
    config_path = os.path.join(path, "processor_config.json" if image_area is None else
                               "config.json")
    if image_area is None and os.path.isfile(config_path):
        config = read_json(config_path)
        if isinstance(config, dict):
            ratio, area = config.get("ratio", ratio), config.get("image_area", area)
    if not (isinstance(ratio, str) and re.fullmatch(r"[1-9]\d*:[1-9]\d*", ratio)) \
            or not isinstance(area, int) or isinstance(area, bool) or area < TOKEN_PIXELS ** 2:
        raise CheckpointError(f"{config_path}: ratio {ratio!r} / image_area {area!r} is no "
                              f"image size (a ratio such as \"1:1\" and an area of at least "
                              f"{TOKEN_PIXELS ** 2} px)")
    h, w = generate_size(ratio, area)
    check_grid(h, w, config_path)
    if min(h, w) < 1:
        raise CheckpointError(f"{config_path}: ratio {ratio} and image_area {area} give a "
                              f"{h}x{w} grid; give a larger image_area")
    return h, w


def special(tokenizer, name: str, path: str) -> str:
    """The text of a named special token of the tokenizer (boi_token …), checked to exist."""
    value = getattr(tokenizer, name, None)
    if not isinstance(value, str) or tokenizer.convert_tokens_to_ids(value) in (
            None, tokenizer.unk_token_id):
        raise CheckpointError(f"{path}: the tokenizer names no {name}; copy Emu3's "
                              f"tokenizer_config.json (bos_token, boi_token, "
                              f"image_wrapper_token) into the directory")
    return value


def prompt_rules(path: str, tokenizer, height: int, width: int, context: int,
                 official: bool = False) -> PromptRules:
    header = (f"{special(tokenizer, 'boi_token', path)}{height}*{width}"
              f"{special(tokenizer, 'image_wrapper_token', path)}")
    image = height * (width + 1) + END_TOKENS
    rules = PromptRules(tokenizer, special(tokenizer, "bos_token", path), header,
                        max_prompt=context - image, official=official)
    shortest = len(block_ids(rules, "x", True))
    if shortest > rules.max_prompt:
        raise ValueError(f"a {height}x{width} grid takes {image} positions with its EOL and "
                         f"end tokens, which leaves {max(rules.max_prompt, 0)} of the model's "
                         f"{context} for a prompt of at least {shortest}; choose a smaller "
                         f"grid")
    return rules


def block_ids(rules: PromptRules, text: str, image_header: bool) -> List[int]:
    """BOS + text (+ the image header) -> ids, as the layout's processor tokenizes it."""
    full = rules.bos + text + (rules.header if image_header else "")
    if rules.official:
        return rules.tokenizer.encode(full)
    return list(rules.tokenizer(full).input_ids)


def check_text(value, what: str) -> str:
    if not isinstance(value, str):
        raise ValueError(f"a {what} is a string, got {type(value).__name__}")
    if not value.strip():
        raise ValueError(f"empty {what}: give a text {what} (Emu3 conditions on text)")
    return value


def sequence_ids(rules: PromptRules, condition, unconditional: bool) -> List[int]:
    """One sequence's condition block: {prompt, negativePrompt?} -> ids, checked to fit."""
    if not isinstance(condition, dict) or "prompt" not in condition:
        raise ValueError(f"Emu3 conditions on a text prompt ({{prompt: TEXT}}), got "
                         f"{condition!r}; pass --prompt instead of --class")
    check_text(condition["prompt"], "prompt")
    negative = condition.get("negativePrompt")
    if negative is not None:
        check_text(negative, "negative prompt")
    if unconditional:
        ids, what = block_ids(rules, negative or DEFAULT_NEGATIVE_PROMPT, rules.official), \
            "negative prompt"
    else:
        suffix = POSITIVE_SUFFIX if rules.official else ""
        ids, what = block_ids(rules, condition["prompt"] + suffix, True), "prompt"
    if len(ids) > rules.max_prompt:
        raise ValueError(f"the {what} is {len(ids)} tokens, but the model's context leaves "
                         f"{rules.max_prompt} beside the image; shorten it")
    return ids
