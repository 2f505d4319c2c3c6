"""transformers' own Janus image loop on a loaded model: `JanusForConditionalGeneration.generate(
..., generation_mode="image")` over prompts' ids, the reference row of `zipar bench --reference`
(the worker's `transformers_generate` request, Janus.transformers_generate). The tests' peer
(testing/python/peers/janus.py) runs the same loop on a freshly loaded model.

--cfg 1 turns guidance off. With guidance off, transformers 5.24's loop still doubles the batch
(the unconditional rows run beside the conditional ones) but adds no CFG processor, and then
fails writing both rows' argmax into one row ("The expanded size of the tensor (1) must match the
existing size (2)"). A logits processor that keeps the conditional half (cond_half) makes it run
as intended: the conditional rows never see the others.

transformers 5.17's Janus generate() calls _prepare_static_cache without the prefill_chunk_size
its GenerationMixin requires (a TypeError before the first token; 5.24 passes it):
fit_static_cache() gives it None — no chunked prefill, the method's own meaning of None — on
such a release only, once per model.
"""

import inspect

from typing import List, Optional

import numpy as np
import torch


@torch.no_grad()
def generate_ids(model, input_ids: List[List[int]], pad_id: int, cfg: float,
                 sampling: Optional[dict] = None) -> np.ndarray:
    """transformers' image loop on a loaded model for a batch of prompts' ids (left-padded, as
    JanusProcessor pads) -> grids [B, H*W] int32. sampling: {temperature, topK, topP};
    None or temperature 0 is greedy."""
    sampling = sampling or {"temperature": 0}
    temperature = float(sampling.get("temperature", 0))
    longest = max(len(ids) for ids in input_ids)
    padded = torch.tensor([[pad_id] * (longest - len(ids)) + ids for ids in input_ids])
    mask = torch.tensor([[0] * (longest - len(ids)) + [1] * len(ids) for ids in input_ids])
    options = {"do_sample": False}
    if temperature > 0:
        top_k, top_p = int(sampling.get("topK", 0)), float(sampling.get("topP", 1))
        options = {"do_sample": True, "temperature": temperature,
                   "top_k": top_k if top_k > 0 else None, "top_p": top_p}
    device = next(model.parameters()).device
    fit_static_cache(model)
    out = model.generate(input_ids=padded.to(device), attention_mask=mask.to(device),
                         generation_mode="image", guidance_scale=cfg,
                         logits_processor=cond_half() if cfg <= 1 else None, **options)
    return out.cpu().numpy().astype(np.int32)


def fit_static_cache(model) -> str:
    """On a transformers whose Janus generate() omits _prepare_static_cache's required
    prefill_chunk_size (5.17; module doc), pass None for it on this model, once. -> what was
    done, or "" when nothing needed doing."""
    if getattr(model, "_zipar_static_cache_fit", None) is not None:
        return model._zipar_static_cache_fit
    model._zipar_static_cache_fit = ""
    try:
        params = list(inspect.signature(type(model)._prepare_static_cache).parameters)
        required = inspect.signature(type(model)._prepare_static_cache).parameters.get(
            "prefill_chunk_size")
    except (AttributeError, TypeError, ValueError):
        return ""
    if required is None or required.default is not inspect.Parameter.empty:
        return ""
    try:
        if "prefill_chunk_size" in inspect.getsource(type(model).generate):
            return ""
    except (OSError, TypeError):
        pass
    original = model._prepare_static_cache
    position = params.index("prefill_chunk_size")  # counting self: args[position - 1]

    def prepare(*args, **kwargs):
        if len(args) < position:
            kwargs.setdefault("prefill_chunk_size", None)
        return original(*args, **kwargs)
    model._prepare_static_cache = prepare
    model._zipar_static_cache_fit = ("transformers' Janus generate() omits "
                                     "_prepare_static_cache's required prefill_chunk_size in "
                                     "this release: zipar passes None")
    return model._zipar_static_cache_fit


def cond_half():
    """Keep the conditional half of the doubled batch's scores (guidance off; module doc)."""
    from transformers import LogitsProcessor, LogitsProcessorList

    class ConditionalHalf(LogitsProcessor):
        def __call__(self, input_ids, scores):
            return scores[: scores.shape[0] // 2]
    return LogitsProcessorList([ConditionalHalf()])
