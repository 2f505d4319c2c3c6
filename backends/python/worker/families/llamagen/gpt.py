"""The LlamaGen c2i GPT forward (LLAMAGEN.md): class and token embeddings, 2D RoPE, RMSNorm,
SwiGLU, grouped K/V heads (n_kv_head), and the cached multi-query step over the shared slot KV
cache (kv_cache.py).

A step is a batch of queries, each writing one slot of one sequence; all write their K/V
first, then each attends to the written slots <= its own (unwritten slots masked, never zeros).
Slot s is cache position s: the class token is one slot.
"""

from typing import Dict, List, Optional

import numpy as np
import torch
import torch.nn.functional as F

from families.family import FamilySession
from kv_cache import SlotKVCache
from step_graphs import StepGraphs
from step_index import StepIndex

from .config import ModelConfig

CONDITION_TOKEN = -1  # core/step.ts: the token of prefix slots, "this sequence's class"


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


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """x: [n, heads, head_dim]; cos, sin: [n, head_dim / 2]; adjacent pairs rotated in float32."""
    xf = x.float().reshape(*x.shape[:-1], -1, 2)  # [n, heads, D/2, 2]
    x0, x1 = xf[..., 0], xf[..., 1]
    c, s = cos[:, None, :], sin[:, None, :]
    out = torch.stack([x0 * c - x1 * s, x1 * c + x0 * s], dim=-1)
    return out.flatten(-2).type_as(x)


def rms_norm(x: torch.Tensor, weight: torch.Tensor, eps: float) -> torch.Tensor:
    xf = x.float()
    normed = xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + eps)
    return normed.type_as(x) * weight


class LlamaGenGPT:
    """Weights on the device and the cached step forward."""

    def __init__(self, cfg: ModelConfig, weights: Dict[str, torch.Tensor], device, dtype):
        self.cfg, self.device, self.dtype = cfg, device, dtype
        self.w = {k: v.to(device=device, dtype=dtype) for k, v in weights.items()}
        # Logits in float32 whatever the weights' dtype: the head's weights kept in float32.
        out = weights["output.weight"]
        self.head = self.w["output.weight"] if dtype == torch.float32 \
            else out.to(device=device, dtype=torch.float32)
        cos, sin = rope_table(cfg)
        self.cos, self.sin = cos.to(device), sin.to(device)  # [num_slots, D/2] float32

    def new_cache(self, num_seqs: int) -> SlotKVCache:
        cfg = self.cfg
        return SlotKVCache(cfg.layers, num_seqs, cfg.n_kv_heads, cfg.head_dim, cfg.num_slots,
                           self.dtype, self.device)

    def embed(self, token: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        """token: [n] (-1 = class token), cond: [n] class of the query's sequence -> [n, dim]."""
        tok = F.embedding(token.clamp(min=0), self.w["tok_embeddings.weight"])
        cls = F.embedding(cond, self.w["cls_embedding.embedding_table.weight"])
        return torch.where((token < 0)[:, None], cls, tok)

    def step(self, cache: SlotKVCache, x: torch.Tensor, ix: StepIndex) -> torch.Tensor:
        """x: [n, dim] input embeddings -> logits: [len(want), vocab] float32."""
        cfg, w = self.cfg, self.w
        n, heads, hd, kvh = x.shape[0], cfg.heads, cfg.head_dim, cfg.n_kv_heads
        cos, sin = self.cos[ix.slot], self.sin[ix.slot]  # [n, D/2]
        hidden_mask = cache.mark_written(ix)  # [U, 1, m, S]
        for layer in range(cfg.layers):
            p = f"layers.{layer}."
            h = rms_norm(x, w[p + "attention_norm.weight"], cfg.norm_eps)
            qkv = F.linear(h, w[p + "attention.wqkv.weight"])  # [n, dim + 2*kv_dim]
            q, k, v = qkv.split([heads * hd, kvh * hd, kvh * hd], dim=-1)
            q, k, v = q.view(n, heads, hd), k.view(n, kvh, hd), v.view(n, kvh, hd)
            q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
            out = cache.attend(layer, q, k, v, ix, hidden_mask)  # [n, dim]
            x = x + F.linear(out, w[p + "attention.wo.weight"])
            h = rms_norm(x, w[p + "ffn_norm.weight"], cfg.norm_eps)
            gate = F.silu(F.linear(h, w[p + "feed_forward.w1.weight"]))
            x = x + F.linear(gate * F.linear(h, w[p + "feed_forward.w3.weight"]),
                             w[p + "feed_forward.w2.weight"])
        last = rms_norm(x[ix.want], w["norm.weight"], cfg.norm_eps)
        return F.linear(last.float(), self.head)  # [w, vocab] float32


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
        super().__init__(conditions, model.new_cache(len(conditions)), cfg.num_slots)
        self.model = model
        self.cond = torch.tensor(conditions, dtype=torch.int64, device=model.device)  # [seqs]
        self.graphs = StepGraphs(self.run_step)  # planned steps: CUDA graphs (step_graphs.py)

    def check_queries(self, seq: np.ndarray, slot: np.ndarray, token: np.ndarray):
        cfg = self.model.cfg
        prefix = slot < cfg.prefix
        if np.any(token[prefix] != CONDITION_TOKEN):
            raise ValueError(f"prefix slots take the condition token {CONDITION_TOKEN}")
        image = token[~prefix]
        if image.size and (image.min() < 0 or image.max() >= cfg.vocab):
            raise ValueError(f"image token outside 0..{cfg.vocab - 1}")

    def forward(self, seq: np.ndarray, slot: np.ndarray, token: torch.Tensor,
                want: np.ndarray, index: Optional[StepIndex] = None) -> torch.Tensor:
        """A planned step (index built ahead) may replay a CUDA graph; interactive steps and
        the raster oracle run eagerly. The forward reads only tensors, never the host arrays,
        so a graph captured for one step serves every step of its shape."""
        if index is None:
            return self.run_step(token, self.index(seq, slot, want))
        return self.graphs.run(token, index)

    def run_step(self, token: torch.Tensor, ix: StepIndex) -> torch.Tensor:
        x = self.model.embed(token, self.cond[ix.seq])  # [n, dim]
        return self.model.step(self.cache, x, ix)
