"""The config of a LlamaGen t2i GPT checkpoint (docs/llamagen.md, "Text-to-image"), read from
its tensor shapes: LlamaGen's GPT (model_type "t2i") whose condition embedder is a caption
embedder, `cls_embedding.cap_proj` (an MLP fc1, GELU tanh, fc2, no biases, from the T5 feature
width to the model width) with `cls_embedding.uncond_embedding` [caption tokens, feature width],
the null caption of CFG. The rest (blocks, 2-D RoPE, head) is the c2i GPT's
(families/llamagen/config.py), whose presets and helpers this reuses.
"""

import os
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

from errors import CheckpointError
from families.llamagen.config import LIMITS, ModelConfig, check_config, expected_shapes, \
    grid_of, kv_heads_of, layer_count, preset_heads, tensor_shape

WHAT = "LlamaGen t2i GPT"
FC1 = "cls_embedding.cap_proj.fc1.weight"  # [dim, caption_dim]
FC2 = "cls_embedding.cap_proj.fc2.weight"  # [dim, dim]
UNCOND = "cls_embedding.uncond_embedding"  # [caption_tokens, caption_dim]
CLASS_TABLE = "cls_embedding.embedding_table.weight"  # the c2i GPT's, absent here
MAX_CAPTION = 4096  # caption positions (the official models: 120)
MAX_CAPTION_DIM = 65536  # T5 feature width (FLAN-T5-XL: 2048)


@dataclass
class T2IConfig(ModelConfig):
    """A c2i ModelConfig (num_classes 0, one engine prefix slot: the caption block) plus the
    caption embedder's sizes."""
    caption_dim: int = 2048  # the T5 features' width
    caption_tokens: int = 120  # LlamaGen's cls_token_num: caption positions before the image

    @property
    def positions(self) -> int:
        """Cache positions a sequence needs: the caption block, then the H*W image slots."""
        return self.caption_tokens + self.height * self.width

    def to_json(self) -> dict:
        out = {k: v for k, v in super().to_json().items()
               if k not in ("format", "formatVersion", "numClasses", "nullClass")}
        return {**out, "family": "llamagen-t2i", "captionDim": self.caption_dim,
                "captionTokens": self.caption_tokens}


def is_t2i_state(keys) -> bool:
    """Whether a state dict's keys are a t2i GPT's: the caption embedder's projection."""
    return FC1 in keys


def t2i_shapes(cfg: T2IConfig) -> Dict[str, List[int]]:
    """State-dict key -> shape, in LlamaGen's names: the c2i GPT's without its class table,
    with the caption embedder."""
    shapes = {k: v for k, v in expected_shapes(cfg).items() if k != CLASS_TABLE}
    shapes[FC1] = [cfg.dim, cfg.caption_dim]
    shapes[FC2] = [cfg.dim, cfg.dim]
    shapes[UNCOND] = [cfg.caption_tokens, cfg.caption_dim]
    return shapes


def infer_t2i_config(shapes: Dict[str, list], path: str, preset: Optional[str],
                     heads: Optional[int], grid, args: Optional[dict] = None) -> T2IConfig:
    """The config of a t2i .pt from its shapes: preset and heads as a c2i .pt's (GPT-XL for the
    released models), the grid from the flag, the training args or the file name (_256: 16x16,
    _512: 32x32), the caption sizes from the null caption [tokens, width]."""
    args = args or {}
    shape = lambda key: tensor_shape(shapes, key, path, WHAT)  # noqa: E731
    vocab, dim = shape("tok_embeddings.weight")
    tokens, caption_dim = shape(UNCOND)
    if not (1 <= tokens <= MAX_CAPTION and 1 <= caption_dim <= MAX_CAPTION_DIM):
        raise CheckpointError(f"{path}: the null caption {UNCOND} is [{tokens},{caption_dim}]; "
                              f"a {WHAT} has 1..{MAX_CAPTION} caption positions of width "
                              f"1..{MAX_CAPTION_DIM} (the released models: [120,2048])")
    layers = layer_count(shapes)
    if not layers:
        raise CheckpointError(f"{path}: no layers.N. tensors; is this a {WHAT}?")
    hidden = shape("layers.0.feed_forward.w1.weight")[0]
    preset, heads = preset_heads(path, layers, dim, preset, heads, args, convert=False)
    height, width = grid_of(path, grid, args)
    cfg = T2IConfig(dim=dim, layers=layers, heads=int(heads), hidden=hidden, vocab=vocab,
                    num_classes=0, null_class=False, height=height, width=width, preset=preset,
                    kv_heads=kv_heads_of(shapes, dim, int(heads), layers),
                    caption_dim=caption_dim, caption_tokens=tokens)
    check_config(cfg, path)
    kv_bytes = cfg.layers * 2 * cfg.positions * cfg.kv_dim * 4
    if kv_bytes > LIMITS["kvCacheBytes"]:
        raise CheckpointError(f"{path}: the KV cache of one sequence would take {kv_bytes} "
                              f"bytes, more than the {LIMITS['kvCacheBytes']} zipar allows")
    return cfg


def text_encoder_dirs(path: str) -> Tuple[str, ...]:
    """Where a checkpoint's FLAN-T5 lies when --text-encoder is not given: beside it as t5/ or
    flan-t5-xl/, or as the official sample script's default t5-ckpt/flan-t5-xl/."""
    here = os.path.dirname(os.path.abspath(path))
    return tuple(os.path.join(here, *d) for d in (("t5",), ("flan-t5-xl",),
                                                  ("t5-ckpt", "flan-t5-xl")))
