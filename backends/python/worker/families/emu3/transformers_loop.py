"""transformers' own Emu3 image generation on a loaded model: `generate` on
Emu3ForConditionalGeneration with the prefix constraint and classifier-free guidance of
transformers' Emu3 image-generation example (docs/source/en/model_doc/emu3.md, transformers
5.24), the reference row of `zipar bench --reference` (the worker's `transformers_generate`
request, Emu3.transformers_generate). The tests' peer (testing/python/peers/emu3.py) runs the same
loop on a freshly loaded model.

The negative prompt goes in as `negative_prompt_ids` with `guidance_scale` (transformers then runs
UnbatchedClassifierFreeGuidanceLogitsProcessor: a separate unconditional forward).
"""

from typing import List, Optional

import numpy as np
import torch


def allowed_tokens(model, tokenizer, height: int, width: int):
    """transformers' example prefix_allowed_tokens_fn for an H x W image."""
    device = model.device
    visual_tokens = model.vocabulary_mapping.image_tokens
    image_wrapper_token_id = torch.tensor([tokenizer.image_wrapper_token_id], device=device)
    eoi_token_id = torch.tensor([tokenizer.eoi_token_id], device=device)
    eos_token_id = torch.tensor([tokenizer.eos_token_id], device=device)
    pad_token_id = torch.tensor([tokenizer.pad_token_id], device=device)
    eof_token_id = torch.tensor([tokenizer.eof_token_id], device=device)
    eol_token_id = tokenizer.encode("<|extra_200|>", return_tensors="pt")[0]

    def prefix_allowed_tokens_fn(batch_id, input_ids):
        position = torch.nonzero(input_ids == image_wrapper_token_id, as_tuple=True)[0][0]
        offset = input_ids.shape[0] - position
        if offset % (width + 1) == 0:
            return (eol_token_id,)
        elif offset == (width + 1) * height + 1:
            return (eof_token_id,)
        elif offset == (width + 1) * height + 2:
            return (eoi_token_id,)
        elif offset == (width + 1) * height + 3:
            return (eos_token_id,)
        elif offset > (width + 1) * height + 3:
            return (pad_token_id,)
        else:
            return visual_tokens
    return prefix_allowed_tokens_fn


def left_pad(ids: List[List[int]], pad_id: int, device):
    longest = max(len(x) for x in ids)
    padded = torch.tensor([[pad_id] * (longest - len(x)) + x for x in ids], device=device)
    mask = torch.tensor([[0] * (longest - len(x)) + [1] * len(x) for x in ids], device=device)
    return padded, mask


@torch.no_grad()
def generate_ids(model, tokenizer, input_ids: List[List[int]],
                 negative_ids: Optional[List[List[int]]], height: int, width: int, cfg: float,
                 sampling: Optional[dict] = None) -> np.ndarray:
    """transformers' generate for a batch of prompts' ids (left-padded, as the processor pads
    them) -> the generated ids [B, H*(W+1) + 3]: rows of visual tokens each ending in EOL, then
    the end tokens. negative_ids: the negative prompts' ids (CFG when cfg != 1). sampling:
    {temperature, topK, topP}; None or temperature 0 is greedy."""
    sampling = sampling or {"temperature": 0}
    temperature = float(sampling.get("temperature", 0))
    options = {"do_sample": False}
    if temperature > 0:
        top_k, top_p = int(sampling.get("topK", 0)), float(sampling.get("topP", 1))
        options = {"do_sample": True, "temperature": temperature,
                   "top_k": top_k if top_k > 0 else None, "top_p": top_p}
    device = model.device
    ids, mask = left_pad(input_ids, tokenizer.pad_token_id, device)
    if cfg != 1:
        neg, neg_mask = left_pad(negative_ids, tokenizer.pad_token_id, device)
        options.update(negative_prompt_ids=neg, negative_prompt_attention_mask=neg_mask)
    out = model.generate(input_ids=ids, attention_mask=mask, guidance_scale=cfg,
                         max_new_tokens=height * (width + 1) + 3,
                         prefix_allowed_tokens_fn=allowed_tokens(model, tokenizer, height, width),
                         **options)
    return out[:, ids.shape[1]:].cpu().numpy()


def to_grids(model, generated: np.ndarray, height: int, width: int) -> np.ndarray:
    """Generated ids [B, H*(W+1)+3] -> codebook grids [B, H, W] via transformers' bpe2img."""
    rows = torch.as_tensor(generated[:, :height * (width + 1)]).view(-1, height, width + 1)
    return model.vocabulary_mapping.convert_bpe2img(rows).numpy().astype(np.int32)
