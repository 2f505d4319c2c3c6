"""The peer reference for the Emu3 family: transformers' own `generate` on
Emu3ForConditionalGeneration with the prefix constraint and classifier-free guidance of
transformers' Emu3 image-generation example (docs/source/en/model_doc/emu3.md, transformers
5.24), greedy, on a model directory. zipar's raster greedy grid must equal it token for token.

The inputs are what Emu3Processor makes: `processor(text=[prompt],
return_for_image_generation=True, ratio=…, image_area=…)` -> BOS + prompt + `<|image start|>`
+ "{H}*{W}" + `<|image token|>`, and the negative prompt `processor(text=[negative])` -> BOS +
negative, passed as `negative_prompt_ids` with `guidance_scale` (transformers then runs
UnbatchedClassifierFreeGuidanceLogitsProcessor: a separate unconditional forward). Emu3Processor
itself cannot be built without PIL (its image processor), which the worker does not depend on,
so its text steps and its size arithmetic (calculate_generate_size) are spelled out here.
Written apart from families/emu3's prompts and session on purpose: an oracle that shared the
family's code could not catch the family's mistakes (the loop it runs,
families/emu3/transformers_loop.py, is transformers' generate and no zipar code).

Usage (worker/ and testing/python/ on PYTHONPATH, as testing/python_runner.ts sets it):
    python -m peers.emu3 MODEL_DIR --prompt TEXT [--prompt TEXT …] [--cfg G] [--negative TEXT]
        [--image-area A] [--ratio R] [--official-prompt DIR]
        -> JSON {"grids": [[H*W codebook ids], …], "inputIds": [[ids], …],
                 "negativeIds": [[ids], …], "generated": [[ids], …]}
    python -m peers.emu3 MODEL_DIR --decode TOKENS.json OUT.raw [--image-area A] [--ratio R]
        (codebook grids [[H*W], …] -> RGB bytes [B, H*8, W*8, 3] by transformers'
        decode_image_tokens + postprocess)
The loop itself is the product's families/emu3/transformers_loop.py (generate_ids, to_grids:
transformers' own generate, also the bench's reference row); what is the peer's own is how the
prompt ids and the model are made.

--official-prompt DIR: the prompt and negative ids as BAAI's own image-generation example makes
them with the tokenizer files of DIR (an official BAAI/Emu3-Gen directory), instead of
Emu3Processor's: the prompt with the example's positive suffix, the negative prompt wrapped in the
same image header (its processor runs mode "G" for both), both as BAAI's Emu3Tokenizer encodes
them: NFC, Qwen's pre-tokenizer pattern over the emu3.tiktoken ranks, the special tokens (from
rank count on: <|endoftext|>, <|im_start|>, <|im_end|>, 205 <|extra_N|>, then the lines of
emu3_vision_tokens.txt) allowed in the text. Written from the official code's rules with the
tiktoken library, apart from the family's official_tokenizer.py.
"""

import argparse
import json
import sys
from typing import List, Optional

import numpy as np
import torch

from families.emu3.transformers_loop import generate_ids, to_grids

NEGATIVE = ("lowres, bad anatomy, bad hands, text, error, missing fingers, extra digit, fewer "
            "digits, cropped, worst quality, low quality, normal quality, jpeg artifacts, "
            "signature, watermark, username, blurry.")  # transformers' Emu3 example


def generate_size(ratio: str, image_area: int):
    """Emu3Processor.calculate_generate_size(ratio, image_area, spatial_factor=8), spelled out
    (transformers' processing_emu3 does not import without PIL)."""
    width, height = map(int, ratio.split(":"))
    current_area = width * height
    target_ratio = (image_area / current_area) ** 0.5
    token_height = int(round(height * target_ratio / 8))
    token_width = int(round(width * target_ratio / 8))
    return token_height, token_width


def processor_ids(tokenizer, text: str, size=None) -> List[int]:
    """Emu3Processor(text=[text], return_for_image_generation=size is not None)'s input ids."""
    if size is not None:
        height, width = size
        text = f"{text}{tokenizer.boi_token}{height}*{width}{tokenizer.image_wrapper_token}"
    return tokenizer([f"{tokenizer.bos_token}{text}"]).input_ids[0]


def load(model_dir: str):
    from transformers import AutoTokenizer, Emu3ForConditionalGeneration
    from transformers.utils import logging

    logging.disable_progress_bar()
    logging.set_verbosity_error()
    model = Emu3ForConditionalGeneration.from_pretrained(
        model_dir, local_files_only=True, dtype=torch.float32).eval()
    return model, AutoTokenizer.from_pretrained(model_dir, local_files_only=True)


POSITIVE = " masterpiece, film grained, best quality."  # BAAI's example
QWEN_PATTERN = (r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}|"""
                r""" ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+""")


def official_encoder(official_dir: str):
    """BAAI's Emu3Tokenizer, rebuilt from its files with tiktoken: text -> ids."""
    import base64
    import unicodedata

    import tiktoken

    with open(f"{official_dir}/emu3.tiktoken", "rb") as f:
        ranks = {base64.b64decode(token): int(rank)
                 for token, rank in (line.split() for line in f.read().splitlines() if line)}
    with open(f"{official_dir}/emu3_vision_tokens.txt", encoding="utf-8") as f:
        vision = [line.strip() for line in f if line.strip()]
    names = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"] + \
        [f"<|extra_{i}|>" for i in range(205)] + vision
    encoding = tiktoken.Encoding("Emu3", pat_str=QWEN_PATTERN, mergeable_ranks=ranks,
                                 special_tokens={n: len(ranks) + i for i, n in enumerate(names)})
    return lambda text: encoding.encode(unicodedata.normalize("NFC", text),
                                        allowed_special="all", disallowed_special=())


def peer(model_dir: str, prompts: List[str], cfg: float, negative: str, image_area: int,
         ratio: str, official_dir: Optional[str] = None) -> dict:
    """Each prompt alone (batch 1), as a user generating one image would."""
    model, tokenizer = load(model_dir)
    height, width = generate_size(ratio, image_area)
    result = {"grids": [], "inputIds": [], "negativeIds": [], "generated": []}
    encode = official_encoder(official_dir) if official_dir else None
    header = f"<|image start|>{height}*{width}<|image token|>"
    for prompt in prompts:
        if encode:  # BAAI's example: mode "G" for both, the suffix on the prompt
            ids = encode(f"<|extra_203|>{prompt}{POSITIVE}{header}")
            neg = encode(f"<|extra_203|>{negative}{header}")
        else:
            ids = processor_ids(tokenizer, prompt, (height, width))
            neg = processor_ids(tokenizer, negative)
        generated = generate_ids(model, tokenizer, [ids], [neg], height, width, cfg)
        result["grids"].append(to_grids(model, generated, height, width)[0].reshape(-1)
                               .tolist())
        result["generated"].append(generated[0].tolist())
        result["inputIds"].append(ids)
        result["negativeIds"].append(neg)
    return result


@torch.no_grad()
def peer_pixels(model_dir: str, tokens: np.ndarray, image_area: int, ratio: str) -> np.ndarray:
    """Codebook grids [B, H*W] -> RGB [B, H*8, W*8, 3] uint8: transformers' decode_image_tokens
    on the text ids (rows + EOL, then the three end tokens, as generate returns them) and the
    arithmetic of Emu3ImageProcessor.postprocess with the directory's mean and std."""
    model, tokenizer = load(model_dir)
    height, width = generate_size(ratio, image_area)
    img2bpe = model.vocabulary_mapping.img2bpe_mapping_tensor
    eol = tokenizer.convert_tokens_to_ids("<|extra_200|>")
    rows = img2bpe[torch.as_tensor(tokens, dtype=torch.long)].view(-1, height, width).long()
    rows = torch.cat([rows, torch.full((rows.shape[0], height, 1), eol)], dim=2)
    ends = torch.tensor([tokenizer.eof_token_id, tokenizer.eoi_token_id,
                         tokenizer.eos_token_id]).repeat(rows.shape[0], 1)
    sequence = torch.cat([rows.view(rows.shape[0], -1), ends], dim=1)
    x = model.decode_image_tokens(image_tokens=sequence, height=height, width=width).float()
    with open(f"{model_dir}/preprocessor_config.json", encoding="utf-8") as f:
        config = json.load(f)
    mean = np.array(config["image_mean"]).reshape(1, 3, 1, 1)
    std = np.array(config["image_std"]).reshape(1, 3, 1, 1)
    pixels = np.clip((x.numpy() * std + mean) * 255, 0, 255).astype(np.uint8)
    return pixels.transpose(0, 2, 3, 1)


def main(argv) -> int:
    parser = argparse.ArgumentParser(prog="python -m peers.emu3")
    parser.add_argument("model")
    parser.add_argument("--prompt", action="append")
    parser.add_argument("--cfg", type=float, default=3.0)
    parser.add_argument("--negative", default=NEGATIVE)
    parser.add_argument("--image-area", type=int, default=518400)
    parser.add_argument("--ratio", default="1:1")
    parser.add_argument("--decode", nargs=2, metavar=("TOKENS_JSON", "OUT_RAW"))
    parser.add_argument("--official-prompt", metavar="DIR")
    args = parser.parse_args(argv)
    if args.decode:
        with open(args.decode[0], encoding="utf-8") as f:
            tokens = np.asarray(json.load(f), dtype=np.int64)  # [B, H*W]
        peer_pixels(args.model, tokens, args.image_area, args.ratio).tofile(args.decode[1])
        return 0
    if not args.prompt:
        parser.error("give --prompt TEXT (or --decode)")
    json.dump(peer(args.model, args.prompt, args.cfg, args.negative, args.image_area,
                   args.ratio, args.official_prompt), sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
