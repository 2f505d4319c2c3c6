"""The peers of the Lumina-mGPT 2.0 family, on transformers' own Chameleon forward with no cache
(written apart from the family's prompts, session and vocabulary on purpose: an oracle that
shared their code could not catch their mistakes). From the release's public code
(Alpha-VLLM/Lumina-mGPT-2.0, lumina_mgpt/inference_solver.py and data/item_processor.py):

- the prompt: BOS (the tokenizer's, else its EOS), the instruction for a W·8 x H·8 image, the
  turn separator <reserved08706>; the model then writes <racm3:break> and the height and width
  tokens <reserved{8800 + n}> of n 32-px patches (H / 4, W / 4), which the loop here writes;
- CFG: an unconditional sequence from the image-start token on, mixed u + g·(c − u) at every
  position of the image, g updated first as max(4, g·(1 − n / ((H/4·2)·(W/4·2)))) with n the
  tokens after image start (the CFG processor's latent dims are the patch counts · 2), at every
  position the processor sees: n = 2 at the first image token, each forced EOL counted, g
  carried from one position to the next; g = 1 is no CFG (the processor returns the scores);
- the end-of-line token forced after every row, every other position restricted to the image
  ids 155000..171383 (code k is id 155000 + k);
- greedy: the argmax of what is left (top-k does not change an argmax).

Each position recomputes the whole sequence (no KV cache).

Usage (worker/ and testing/python/ on PYTHONPATH, as testing/python_runner.ts sets it):
    python -m peers.lumina2 MODEL_DIR --grid HxW --prompt TEXT [--prompt TEXT …] [--cfg G]
        -> JSON {"grids": [[H·W codes], …], "inputIds": [[ids], …]}
    python -m peers.lumina2 MODEL_DIR --grid HxW --prompt TEXT --logits TOKENS.json OUT.f64
        [--unconditional]  (TOKENS.json: the H·W codes of a grid -> OUT.f64: [H·W, 16384]
        image logits of one full forward over the prompt (or the header), rows and EOLs)
"""

import json
import sys
from typing import List, Optional

import numpy as np
import torch

from peers.lumina import arguments

INSTRUCTION = "Generate an image of {w}x{h} according to the following prompt:\n{prompt}"
IMAGE_BASE, CODEBOOK = 155000, 16384


def prompt_ids(tokenizer, prompt: Optional[str], height: int, width: int) -> List[int]:
    """The prompt then the image header; the header alone for prompt None."""
    tid = tokenizer.convert_tokens_to_ids
    header = [tid("<racm3:break>"), tid(f"<reserved{8800 + height // 4:05d}>"),
              tid(f"<reserved{8800 + width // 4:05d}>")]
    if prompt is None:
        return header
    bos = tokenizer.bos_token_id if tokenizer.bos_token_id is not None \
        else tokenizer.eos_token_id
    text = INSTRUCTION.format(w=width * 8, h=height * 8, prompt=prompt) + "<reserved08706>"
    return [bos, *tokenizer.encode(text, add_special_tokens=False), *header]


@torch.no_grad()
def last_logits(model, ids: List[int]) -> torch.Tensor:
    """The full vocabulary's logits [vocab] float64 after `ids`, one forward with no cache."""
    hidden = model.model(input_ids=torch.tensor([ids])).last_hidden_state  # [1, T, hidden]
    return model.lm_head(hidden[0, -1]).double()


def generate(model, cond: List[int], uncond: List[int], height: int, width: int,
             cfg: float, eol: int) -> List[int]:
    cond, uncond = list(cond), list(uncond)
    start = len(cond) - 3  # <racm3:break>
    latent = (height // 4 * 2) * (width // 4 * 2)
    g, codes = cfg, []
    for _ in range(height):
        for col in range(width + 1):
            if g != 1.0:  # the release's CFG processor: its scale first, at every position
                g = max(4.0, g * (1 - (len(cond) - start - 1) / latent))
            if col == width:
                token = eol  # forced
            else:
                scores = last_logits(model, cond)
                if g != 1.0:
                    u = last_logits(model, uncond)
                    scores = g * (scores - u) + u
                code = int(torch.argmax(scores[IMAGE_BASE:IMAGE_BASE + CODEBOOK]))
                codes.append(code)
                token = IMAGE_BASE + code
            cond.append(token)
            uncond.append(token)
    return codes


@torch.no_grad()
def forward_logits(model, prefix: List[int], codes: List[int], height: int, width: int,
                   eol: int) -> np.ndarray:
    """[H·W, 16384] float64: the image logits predicting each cell, one full forward."""
    rows = [[IMAGE_BASE + c for c in codes[r * width:(r + 1) * width]] + [eol]
            for r in range(height)]
    ids = prefix + [t for row in rows for t in row]
    hidden = model.model(input_ids=torch.tensor([ids])).last_hidden_state[0]  # [T, hidden]
    p, row = len(prefix), width + 1
    before = [p - 1 + r * row + c for r in range(height) for c in range(width)]
    logits = model.lm_head(hidden[before]).double()  # [H·W, vocab]
    return logits[:, IMAGE_BASE:IMAGE_BASE + CODEBOOK].numpy()


def main(argv) -> int:
    args, height, width, model, tokenizer = arguments("python -m peers.lumina2", argv, 4.0)
    eol = tokenizer.convert_tokens_to_ids("<reserved08799>")
    if args.logits:
        with open(args.logits[0], encoding="utf-8") as f:
            codes = json.load(f)
        prompt = None if args.unconditional else args.prompt[0]
        prefix = prompt_ids(tokenizer, prompt, height, width)
        forward_logits(model, prefix, codes, height, width, eol).astype("<f8").tofile(
            args.logits[1])
        return 0
    grids, inputs = [], []
    header = prompt_ids(tokenizer, None, height, width)
    for text in args.prompt:
        ids = prompt_ids(tokenizer, text, height, width)
        grids.append(generate(model, ids, header, height, width, args.cfg, eol))
        inputs.append(ids)
    json.dump({"grids": grids, "inputIds": inputs}, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
