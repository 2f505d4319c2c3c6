"""Lumina-mGPT's sampling loop on transformers' own Chameleon: the reference row of
`zipar bench --reference` (the worker's `transformers_generate` request,
Lumina.transformers_generate). The tests' peer (testing/python/peers/lumina.py) runs it too, on a
model it loads itself.

transformers' ChameleonForConditionalGeneration cannot generate images: its forward sets the
image tokens' logits to the dtype's minimum. Emptying its vocabulary mapping's list of image
tokens (`unmasked`) lifts exactly that and nothing else. On that model, lumina_generate runs
Lumina-mGPT's loop as its inference_solver runs it, on transformers' `generate`: after the image
header, a separate unconditional sequence (the header, then the same image tokens) with its own KV
cache mixes in as g·(c − u) + u (Lumina's
LLMImageStartTriggeredUnbatchedClassifierFreeGuidanceLogitsProcessor), then only image tokens may
follow inside a row and the new-line token ends it (MultiModalLogitsProcessor), then temperature /
top-k / top-p. Greedy is argmax. Batch 1, as Lumina's loop.
"""

from contextlib import contextmanager
from typing import List, Optional

import torch


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
