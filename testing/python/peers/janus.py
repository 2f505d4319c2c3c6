"""The peer reference for the Janus family: transformers' own image-generation loop
(`JanusForConditionalGeneration.generate(..., generation_mode="image")`), greedy, on a model
directory, for one prompt. zipar's raster greedy grid must equal it token for token.

The prompt goes in as JanusProcessor prepares it for image generation: the processor's chat
template over one user turn with the generation prompt, then the begin-of-image token, then the
tokenizer (BOS first). JanusProcessor itself cannot be built without torchvision (its image
processor), which the worker does not depend on, so those three steps are spelled out here with
transformers' own template renderer. Written apart from families/janus's prompts and session
on purpose: an oracle that shared the family's code could not catch the family's mistakes (the
loop it runs, families/janus/transformers_loop.py, is transformers' generate and no zipar code).

Usage (worker/ and testing/python/ on PYTHONPATH, as testing/python_runner.ts sets it):
    python -m peers.janus MODEL_DIR --prompt TEXT [--prompt TEXT …] [--cfg G]
        [--official-prompt DIR]  -> JSON {"grids": [[H*W ids], …], "inputIds": [[ids], …]}
    python -m peers.janus MODEL_DIR --decode TOKENS.json OUT.raw  (tokens [[H*W ids], …] ->
        RGB bytes [B, H*s, W*s, 3] by transformers' decode_image_tokens)
The loop itself is the product's families/janus/transformers_loop.py (generate_ids, transformers'
own generate, also the bench's reference row); what is the peer's own is how the prompt ids and
the model are made.

--official-prompt DIR: the prompt ids as DeepSeek's official text-to-image example builds them
with the tokenizer files of DIR (an official-layout directory), instead of JanusProcessor's:
its conversation (janus/utils/conversation.py, template "deepseek": an empty system prompt adds
nothing; each message `role + ": " + content.strip() + sep` with seps "\n\n" and EOS in turn, a
message without content `role + ":"`; the whole stripped), roles "<|User|>" / "<|Assistant|>"
(Janus-Pro; "User" / "Assistant" when the tokenizer has no <|User|> token, Janus-1.3B), then
"<begin_of_image>", encoded by the tokenizer.json with BOS first as LlamaTokenizerFast's encode()
adds it. Written from the official code's rules, apart from the family's own prompts.py.

--cfg 1 turns guidance off (transformers_loop.py says how); the default 5 is Janus's.
"""

import argparse
import json
import os
import sys
from typing import List, Optional, Tuple

import numpy as np
import torch

from families.janus.transformers_loop import generate_ids


def processor_input_ids(model_dir: str, tokenizer, prompt: str) -> List[int]:
    """JanusProcessor.apply_chat_template + __call__(generation_mode="image") for one prompt."""
    from transformers import JanusProcessor
    from transformers.utils.chat_template_utils import render_jinja_template

    processor_dict, _ = JanusProcessor.get_processor_dict(model_dir, local_files_only=True)
    template = processor_dict["chat_template"]
    messages = [{"role": "user", "content": [{"type": "text", "text": prompt}]}]
    texts, _ = render_jinja_template(conversations=[messages], chat_template=template,
                                     add_generation_prompt=True,
                                     **tokenizer.special_tokens_map)
    text = f"{texts[0]}{tokenizer.boi_token}"
    return tokenizer([text], padding_side="left").input_ids[0]


def official_input_ids(tokenizer_dir: str, prompt: str) -> List[int]:
    """The official example's ids of `prompt` (module doc), from the raw tokenizer.json."""
    from tokenizers import Tokenizer

    with open(os.path.join(tokenizer_dir, "special_tokens_map.json"), encoding="utf-8") as f:
        specials = json.load(f)
    tok = Tokenizer.from_file(os.path.join(tokenizer_dir, "tokenizer.json"))
    vocab = tok.get_vocab(with_added_tokens=True)
    roles = ("<|User|>", "<|Assistant|>") if "<|User|>" in vocab else ("User", "Assistant")
    seps = ["\n\n", specials["eos_token"]]
    messages = [(roles[0], prompt.strip()), (roles[1], "")]
    text = ""
    for i, (role, content) in enumerate(messages):
        text += f"{role}: {content}{seps[i % 2]}" if content else f"{role}:"
    text = text.strip() + "<begin_of_image>"
    return [vocab[specials["bos_token"]]] + tok.encode(text, add_special_tokens=False).ids


def peer_grids(model_dir: str, prompts: List[str], cfg: float = 5.0,
               official_prompt: Optional[str] = None
               ) -> Tuple[List[List[int]], List[List[int]]]:
    """-> (grids: per prompt the H*W image tokens in raster order, input ids per prompt).

    Each prompt runs alone (batch 1), as a user generating one image would. With
    `official_prompt` (a directory), the ids are the official example's (module doc).
    """
    from transformers import AutoTokenizer, JanusForConditionalGeneration
    from transformers.utils import logging

    logging.disable_progress_bar()
    model = JanusForConditionalGeneration.from_pretrained(
        model_dir, local_files_only=True, dtype=torch.float32).eval()
    tokenizer = AutoTokenizer.from_pretrained(model_dir, local_files_only=True)
    grids, inputs = [], []
    for prompt in prompts:
        ids = official_input_ids(official_prompt, prompt) if official_prompt else \
            processor_input_ids(model_dir, tokenizer, prompt)
        grids.append(generate_ids(model, [ids], tokenizer.pad_token_id, cfg)[0].tolist())
        inputs.append(ids)
    return grids, inputs


@torch.no_grad()
def peer_pixels(model_dir: str, tokens: np.ndarray) -> np.ndarray:
    """tokens [B, H*W] -> RGB [B, H*s, W*s, 3] uint8 by transformers' decode_image_tokens and
    the arithmetic of Janus's postprocess (mean = std = 0.5: (x + 1) / 2 * 255, clipped)."""
    from transformers import JanusForConditionalGeneration
    from transformers.utils import logging

    logging.disable_progress_bar()
    model = JanusForConditionalGeneration.from_pretrained(
        model_dir, local_files_only=True, dtype=torch.float32).eval()
    x = model.decode_image_tokens(torch.as_tensor(tokens, dtype=torch.long)).float().numpy()
    return np.clip((x + 1) / 2 * 255, 0, 255).astype(np.uint8)


def main(argv) -> int:
    parser = argparse.ArgumentParser(prog="python -m peers.janus")
    parser.add_argument("model")
    parser.add_argument("--prompt", action="append")
    parser.add_argument("--cfg", type=float, default=5.0)
    parser.add_argument("--decode", nargs=2, metavar=("TOKENS_JSON", "OUT_RAW"))
    parser.add_argument("--official-prompt", metavar="DIR")
    args = parser.parse_args(argv)
    if args.decode:
        with open(args.decode[0], encoding="utf-8") as f:
            tokens = np.asarray(json.load(f), dtype=np.int64)  # [B, H*W]
        peer_pixels(args.model, tokens).tofile(args.decode[1])
        return 0
    if not args.prompt:
        parser.error("give --prompt TEXT (or --decode)")
    grids, inputs = peer_grids(args.model, args.prompt, args.cfg, args.official_prompt)
    json.dump({"grids": grids, "inputIds": inputs}, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
