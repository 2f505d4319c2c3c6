"""The peers of the Lumina-mGPT family, on transformers' own Chameleon (written apart from the
family's prompts, session and loading on purpose: an oracle that shared its code could not catch
its mistakes):

- forward_logits: one full forward (transformers' causal mask, no cache) over a whole raster
  sequence, the image codes' logits at each position that predicts an image cell, with the image
  tokens unmasked as families/lumina/transformers_loop.py unmasks them;
- the peer grids: Lumina-mGPT's sampling loop, families/lumina/transformers_loop.py's
  lumina_generate (transformers' generate and Lumina's logits rules, no zipar code; also the
  bench's reference row), on a model this module loads and prompt ids it builds itself.

Lumina's checkpoints hold qk-norms as [groups, head_dim]; `load` expands them to every head with
repeat_interleave, as Lumina's forward does, reading them with the safetensors package.

Usage (worker/ and testing/python/ on PYTHONPATH, as testing/python_runner.ts sets it):
    python -m peers.lumina MODEL_DIR --grid HxW --prompt TEXT [--prompt TEXT …] [--cfg G]
        -> JSON {"grids": [[H·W codes], …], "inputIds": [[ids], …]}
    python -m peers.lumina MODEL_DIR --grid HxW --prompt TEXT --logits TOKENS.json OUT.f64
        [--unconditional]  (TOKENS.json: the H·W codes of a grid -> OUT.f64: [H·W, V] logits
        of the full forward over prompt (or, unconditional, the header), rows, EOLs)
"""

import argparse
import json
import os
import sys
from typing import List, Optional

import numpy as np
import torch

from families.lumina.transformers_loop import image_ids, lumina_generate, unmasked

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


def arguments(prog: str, argv, cfg: float):
    """A Lumina peer's command line (the module docstring's) -> (args, height, width, the model
    in float64, its tokenizer)."""
    from transformers import AutoTokenizer
    parser = argparse.ArgumentParser(prog=prog)
    parser.add_argument("model")
    parser.add_argument("--grid", required=True)
    parser.add_argument("--prompt", action="append", required=True)
    parser.add_argument("--cfg", type=float, default=cfg)
    parser.add_argument("--logits", nargs=2, metavar=("TOKENS_JSON", "OUT_F64"))
    parser.add_argument("--unconditional", action="store_true")
    args = parser.parse_args(argv)
    height, width = (int(v) for v in args.grid.lower().split("x"))
    tokenizer = AutoTokenizer.from_pretrained(args.model, local_files_only=True)
    return args, height, width, load(args.model), tokenizer


def main(argv) -> int:
    args, height, width, model, tokenizer = arguments("python -m peers.lumina", argv, 3.0)
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
