"""The peers of the Lumina-mGPT family, on transformers' own Chameleon (written apart from the
family on purpose: an oracle that shared its code could not catch its mistakes).

transformers' ChameleonForConditionalGeneration cannot generate images: its forward sets the
image tokens' logits to the dtype's minimum. Emptying its vocabulary mapping's list of image
tokens (`unmasked`) lifts exactly that and nothing else. On that model:

- forward_logits: one full forward (transformers' causal mask, no cache) over a whole raster
  sequence, the image codes' logits at each position that predicts an image cell;
- lumina_generate: Lumina-mGPT's sampling loop as its inference_solver runs it, on transformers'
  `generate`: after the image header, a separate unconditional sequence (the header, then the
  same image tokens) with its own KV cache mixes in as g·(c − u) + u (Lumina's
  LLMImageStartTriggeredUnbatchedClassifierFreeGuidanceLogitsProcessor), then only image tokens
  may follow inside a row and the new-line token ends it (MultiModalLogitsProcessor), then
  temperature / top-k / top-p. Greedy is argmax. Batch 1, as Lumina's loop.

Lumina's checkpoints hold qk-norms as [groups, head_dim]; `load` expands them to every head with
repeat_interleave, as Lumina's forward does, reading them with the safetensors package.

Usage (from worker/): python -m families.lumina.peer MODEL_DIR --grid HxW --prompt TEXT
                        [--prompt TEXT …] [--cfg G]
                      -> JSON {"grids": [[H·W codes], …], "inputIds": [[ids], …]}
                      python -m families.lumina.peer MODEL_DIR --grid HxW --prompt TEXT
                        --logits TOKENS.json OUT.f64 [--unconditional]
                      (TOKENS.json: the H·W codes of a grid -> OUT.f64: [H·W, V] logits of the
                      full forward over prompt (or, unconditional, the header), rows, EOLs)
"""

import argparse
import json
import os
import sys
from contextlib import contextmanager
from typing import List, Optional

import numpy as np
import torch

INSTRUCTION = "Generate an image of {w}x{h} according to the following prompt:\n{prompt}"


def load(model_dir: str, dtype=torch.float64):
    from safetensors import safe_open
    from transformers import ChameleonForConditionalGeneration
    from transformers.utils import logging

    logging.disable_progress_bar()
    logging.set_verbosity_error()
    model, info = ChameleonForConditionalGeneration.from_pretrained(
        model_dir, local_files_only=True, dtype=dtype, ignore_mismatched_sizes=True,
        output_loading_info=True)
    params = dict(model.named_parameters())
    with safe_open(os.path.join(model_dir, "model.safetensors"), "pt") as f, torch.no_grad():
        for key, _, wanted in info["mismatched_keys"]:
            stored = f.get_tensor(key)  # [groups, head_dim]
            params[key].copy_(stored.repeat_interleave(wanted[0] // stored.shape[0], dim=0))
    return model.eval()


@contextmanager
def unmasked(model):
    """Lift ChameleonForConditionalGeneration's -inf on image-token logits for a while."""
    mapping = model.model.vocabulary_mapping
    _ = mapping.bpe2img  # computed (and cached) from the full list first
    saved = mapping.image_tokens
    mapping.__dict__["image_tokens"] = []
    try:
        yield
    finally:
        mapping.__dict__["image_tokens"] = saved


def image_ids(model) -> List[int]:
    """Token id of each image code, codebook order (transformers' own mapping)."""
    img2bpe = model.model.vocabulary_mapping.img2bpe
    return [img2bpe[k] for k in range(len(img2bpe))]


def prompt_ids(tokenizer, vocabulary_map: dict, prompt: Optional[str], height: int,
               width: int) -> List[int]:
    """Lumina's generation prompt for a W·16 x H·16 image, then the header; the header alone
    for prompt None (Lumina's unconditional sequence)."""
    size = lambda tokens: vocabulary_map[f"<reserved{8800 + tokens // 2:05d}>"]
    header = [vocabulary_map["<racm3:break>"], size(height), size(width)]
    if prompt is None:
        return header
    text = INSTRUCTION.format(w=width * 16, h=height * 16, prompt=prompt) + "<reserved08706>"
    return [tokenizer.bos_token_id, *tokenizer(text, add_special_tokens=False).input_ids, *header]


def raster_ids(model, prefix: List[int], codes: List[int], height: int, width: int) -> List[int]:
    ids, eol = image_ids(model), model.config.vocabulary_map["<reserved08799>"]
    rows = [[ids[c] for c in codes[r * width:(r + 1) * width]] + [eol] for r in range(height)]
    return prefix + [t for row in rows for t in row]


@torch.no_grad()
def forward_logits(model, prefix: List[int], codes: List[int], height: int,
                   width: int) -> np.ndarray:
    """[H·W, V] float64: the image codes' logits predicting each cell, one full forward."""
    ids = raster_ids(model, prefix, codes, height, width)
    with unmasked(model):
        logits = model(input_ids=torch.tensor([ids])).logits[0].double()  # [T, vocab]
    p, row = len(prefix), width + 1
    before = [p - 1 + r * row + c for r in range(height) for c in range(width)]
    return logits[before][:, image_ids(model)].numpy()


def layout_processors(model, prompt_len: int, unconditional: Optional[List[int]],
                      height: int, width: int, cfg: float):
    from transformers import DynamicCache, LogitsProcessor

    ids, eol = image_ids(model), model.config.vocabulary_map["<reserved08799>"]

    class Guidance(LogitsProcessor):
        """The unconditional sequence with its own cache: header first, then each new token."""

        def __init__(self):
            self.cache, self.fed = DynamicCache(config=model.config), None

        def __call__(self, input_ids, scores):
            new = input_ids[:, prompt_len:]  # the tokens generated so far
            if self.fed is None:
                step = torch.cat([torch.tensor([unconditional]).to(new), new], dim=1)
            else:
                step = new[:, self.fed:]
            self.fed = new.shape[1]
            out = model(input_ids=step.to(input_ids.device), cache=self.cache, use_cache=True)
            u = out.logits[:, -1].to(scores.dtype)
            return cfg * (scores - u) + u

    class ImageRows(LogitsProcessor):
        """Image tokens inside a row, the new-line token at its end."""

        def __init__(self):
            self.allowed = torch.full((model.config.vocab_size,), -float("inf"))
            self.allowed[ids] = 0
            self.eol = torch.full_like(self.allowed, -float("inf"))
            self.eol[eol] = 0

        def __call__(self, input_ids, scores):
            n = input_ids.shape[1] - prompt_len  # tokens generated so far
            mask = self.eol if (n + 1) % (width + 1) == 0 else self.allowed
            return scores + mask.to(scores.device, scores.dtype)

    return ([Guidance()] if cfg != 1 else []) + [ImageRows()]


@torch.no_grad()
def lumina_generate(model, prompt: List[int], unconditional: Optional[List[int]], height: int,
                    width: int, cfg: float, sampling: Optional[dict] = None) -> torch.Tensor:
    """-> grid [H, W] int32 of codes. sampling: {temperature, topK, topP}; None or temperature
    0 is greedy."""
    from transformers import (GenerationConfig, LogitsProcessorList, TemperatureLogitsWarper,
                              TopKLogitsWarper, TopPLogitsWarper)
    sampling = sampling or {"temperature": 0}
    temperature = float(sampling.get("temperature", 0))
    processors = layout_processors(model, len(prompt), unconditional, height, width, cfg)
    if temperature > 0:
        processors.append(TemperatureLogitsWarper(temperature))
        if int(sampling.get("topK", 0)) > 0:
            processors.append(TopKLogitsWarper(int(sampling["topK"])))
        if float(sampling.get("topP", 1)) < 1:
            processors.append(TopPLogitsWarper(float(sampling["topP"])))
    config = GenerationConfig(max_new_tokens=height * (width + 1), do_sample=temperature > 0,
                              temperature=1.0, top_k=None, top_p=None, eos_token_id=None,
                              pad_token_id=model.config.pad_token_id)
    device = next(model.parameters()).device
    with unmasked(model):
        out = model.generate(input_ids=torch.tensor([prompt], device=device),
                             generation_config=config,
                             logits_processor=LogitsProcessorList(processors))
    bpe2img = model.model.vocabulary_mapping.bpe2img
    rows = out[0, len(prompt):].view(height, width + 1)[:, :width].cpu().tolist()
    return torch.tensor([[bpe2img[t] for t in row] for row in rows], dtype=torch.int32)


def main(argv) -> int:
    from transformers import AutoTokenizer
    parser = argparse.ArgumentParser(prog="python -m families.lumina.peer")
    parser.add_argument("model")
    parser.add_argument("--grid", required=True)
    parser.add_argument("--prompt", action="append", required=True)
    parser.add_argument("--cfg", type=float, default=3.0)
    parser.add_argument("--logits", nargs=2, metavar=("TOKENS_JSON", "OUT_F64"))
    parser.add_argument("--unconditional", action="store_true")
    args = parser.parse_args(argv)
    height, width = (int(v) for v in args.grid.lower().split("x"))
    model = load(args.model)
    tokenizer = AutoTokenizer.from_pretrained(args.model, local_files_only=True)
    vocabulary_map = model.config.vocabulary_map
    if args.logits:
        with open(args.logits[0], encoding="utf-8") as f:
            codes = json.load(f)
        prompt = None if args.unconditional else args.prompt[0]
        prefix = prompt_ids(tokenizer, vocabulary_map, prompt, height, width)
        forward_logits(model, prefix, codes, height, width).astype("<f8").tofile(args.logits[1])
        return 0
    grids, inputs = [], []
    header = prompt_ids(tokenizer, vocabulary_map, None, height, width)
    for text in args.prompt:
        ids = prompt_ids(tokenizer, vocabulary_map, text, height, width)
        grid = lumina_generate(model, ids, header, height, width, args.cfg)
        grids.append(grid.flatten().tolist())
        inputs.append(ids)
    json.dump({"grids": grids, "inputIds": inputs}, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
