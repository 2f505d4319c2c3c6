"""The LlamaGen c2i GPT forward (docs/llamagen.md): class and token embeddings, 2D RoPE, RMSNorm,
SwiGLU, grouped K/V heads (n_kv_head), and the cached multi-query step over the shared slot KV
cache (kv_cache.py), through the decoder-layer step every family shares (decoder_layers.py).

A step is a batch of queries, each writing one slot of one sequence; all write their K/V
first, then each attends to the written slots <= its own (unwritten slots masked, never zeros).
Slot s is cache position s: the class token is one slot.
"""

from dataclasses import dataclass
from typing import Dict, List, Optional

import numpy as np
import torch
import torch.nn.functional as F

from contract import QUERY_TOKEN_CONDITION as CONDITION_TOKEN  # a prefix slot: its class
from decoder_layers import DecoderLayers, LayerWeights, RopeStep, StackSpec
from device_pack import pack
from families.family import FamilySession
from kv_cache import SlotKVCache
from step_graphs import ModelSteps
from step_index import StepIndex

from .config import ModelConfig


def rope_table(cfg: ModelConfig):
    """cos, sin: [num_slots, head_dim / 2] float32; prefix slots are all zero (LlamaGen)."""
    half = cfg.head_dim // 2
    freqs = 1.0 / (cfg.rope_base ** (torch.arange(0, half, 2)[: half // 2].float() / half))
    rows = torch.outer(torch.arange(cfg.height).float(), freqs)  # [H, D/4]
    cols = torch.outer(torch.arange(cfg.width).float(), freqs)  # [W, D/4]
    angles = torch.cat([
        rows[:, None, :].expand(-1, cfg.width, -1),
        cols[None, :, :].expand(cfg.height, -1, -1),
    ], dim=-1).reshape(cfg.height * cfg.width, half)  # [H*W, D/2]
    zeros = torch.zeros(cfg.prefix, half)
    return torch.cat([zeros, torch.cos(angles)]), torch.cat([zeros, torch.sin(angles)])


@dataclass
class ClassIndex:
    """A LlamaGen step's index: the rows, and the class of each query's sequence."""
    rows: StepIndex
    cls: object  # [n] class id (the null class for an unconditional half)


class LlamaGenGPT:
    """Weights on the device and the cached step forward."""

    def __init__(self, cfg: ModelConfig, weights: Dict[str, torch.Tensor], device, dtype):
        self.cfg, self.device, self.dtype = cfg, device, dtype
        w = lambda k: weights[k].to(device=device, dtype=dtype)
        self.tok_embeddings = w("tok_embeddings.weight")  # [vocab, dim]
        self.load_condition(w)
        layers = []
        for i in range(cfg.layers):
            p = f"layers.{i}."
            layers.append(LayerWeights(
                attn_norm=w(p + "attention_norm.weight"), wqkv=w(p + "attention.wqkv.weight"),
                wo=w(p + "attention.wo.weight"), ffn_norm=w(p + "ffn_norm.weight"),
                w13=torch.cat([w(p + "feed_forward.w1.weight"), w(p + "feed_forward.w3.weight")]),
                w2=w(p + "feed_forward.w2.weight")))
        self.spec = StackSpec(cfg.heads, cfg.n_kv_heads, cfg.head_dim, cfg.norm_eps,
                              "interleaved")
        self.layers = DecoderLayers(self.spec, layers, w("norm.weight"))
        # Logits in float32 whatever the weights' dtype: the head's weights kept in float32.
        self.head = weights["output.weight"].to(device=device, dtype=torch.float32)
        cos, sin = rope_table(cfg)
        self.freqs = torch.complex(cos, sin).to(device)  # [num_slots, D/2] complex64
        self.steps = ModelSteps(self.forward_step, self.new_cache, device)

    def load_condition(self, w):
        """The condition embedding's weights (here the class table); w(key) -> device tensor.
        The t2i GPT (families/llamagen_t2i) loads its caption embedder instead."""
        self.cls_embeddings = w("cls_embedding.embedding_table.weight")  # [classes (+1), dim]

    def new_cache(self, num_seqs: int, capacity: Optional[int] = None,
                  offset=None) -> SlotKVCache:
        cfg = self.cfg
        return SlotKVCache(cfg.layers, num_seqs, cfg.n_kv_heads, cfg.head_dim,
                           capacity or cfg.num_slots, self.dtype, self.device)

    def embed(self, token: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        """token: [n] (-1 = class token), cond: [n] class of the query's sequence -> [n, dim]."""
        tok = F.embedding(token.clamp(min=0), self.tok_embeddings)
        cls = F.embedding(cond, self.cls_embeddings)
        return torch.where((token < 0)[:, None], cls, tok)

    def step(self, cache: SlotKVCache, x: torch.Tensor, ix: StepIndex) -> torch.Tensor:
        """x: [n, dim] input embeddings -> logits: [len(want), vocab] float32."""
        rope = RopeStep(self.spec, x.shape[0], freqs=self.freqs[ix.slot])
        last = self.layers.step(cache, x, ix, rope)  # [w, dim]
        return F.linear(last.float(), self.head)  # [w, vocab] float32

    def forward_step(self, cache: SlotKVCache, token: torch.Tensor,
                     ix: ClassIndex) -> torch.Tensor:
        """The step a graph captures: token: [n] -> logits [w, vocab] float32."""
        return self.step(cache, self.embed(token, ix.cls), ix.rows)


class LlamaGenSession(FamilySession):
    """Conditions are class ids (num_classes = the null class of CFG)."""

    def __init__(self, model: LlamaGenGPT, conditions: List):
        cfg = model.cfg
        conditions = [int(c) for c in conditions]
        if not conditions:
            raise ValueError("a session needs at least one sequence")
        top = cfg.num_classes if cfg.null_class else cfg.num_classes - 1
        for c in conditions:
            if c < 0 or c > top:
                null = f" ({cfg.num_classes} = null class)" if cfg.null_class else ""
                raise ValueError(f"class id {c} is outside 0..{top}{null}")
        super().__init__(conditions, model.steps.acquire(len(conditions), cfg.num_slots),
                         cfg.num_slots, model.steps)
        self.model = model
        self.classes = np.asarray(conditions, dtype=np.int64)  # [seqs]

    def check_queries(self, seq: np.ndarray, slot: np.ndarray, token: np.ndarray):
        cfg = self.model.cfg
        prefix = slot < cfg.prefix
        if np.any(token[prefix] != CONDITION_TOKEN):
            raise ValueError(f"prefix slots take the condition token {CONDITION_TOKEN}")
        image = token[~prefix]
        if image.size and (image.min() < 0 or image.max() >= cfg.vocab):
            raise ValueError(f"image token outside 0..{cfg.vocab - 1}")

    def index(self, seq: np.ndarray, slot: np.ndarray, want: np.ndarray) -> ClassIndex:
        return ClassIndex(self.cache.index(seq, slot, want), self.classes[seq])
