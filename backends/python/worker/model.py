"""LlamaGen c2i GPT (LLAMAGEN.md): config, presets, 2D RoPE and the cached multi-query step.

The forward pass runs one *step*: a batch of queries, each writing one slot of one sequence.
All queries write their K/V into the static cache first; then a query at slot p attends to
every written slot q <= p of its own sequence (unwritten slots are masked out, never zeros).
"""

from dataclasses import dataclass
from typing import Dict, List, Optional

import numpy as np
import torch
import torch.nn.functional as F

# Presets: name -> (layers, heads, dim).
PRESETS = {
    "GPT-B": (12, 12, 768),
    "GPT-L": (24, 16, 1024),
    "GPT-XL": (36, 20, 1280),
    "GPT-XXL": (48, 24, 1536),
    "GPT-3B": (24, 32, 3200),
}

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


def preset_hidden(dim: int) -> int:
    """SwiGLU width: floor(2 * 4 * dim / 3) rounded up to a multiple of 256."""
    hidden = int(2 * (4 * dim) / 3)
    return (hidden + 255) // 256 * 256


@dataclass
class ModelConfig:
    dim: int  # model width
    layers: int  # transformer blocks
    heads: int  # attention heads (head_dim = dim / heads)
    hidden: int  # SwiGLU width
    vocab: int  # image-token vocabulary
    num_classes: int  # class ids 0..num_classes-1; num_classes = null class (CFG)
    height: int  # grid rows H
    width: int  # grid columns W
    prefix: int = 1  # class-token slots
    norm_eps: float = 1e-5  # RMSNorm epsilon
    rope_base: float = 10000.0  # RoPE base
    preset: Optional[str] = None  # preset name or None
    dtype: str = "float32"  # dtype of the stored weights

    @property
    def head_dim(self) -> int:
        return self.dim // self.heads

    @property
    def num_slots(self) -> int:
        return self.prefix + self.height * self.width

    def to_json(self) -> dict:
        return {
            "format": "zipar-llamagen", "formatVersion": 1, "family": "llamagen",
            "preset": self.preset, "dim": self.dim, "layers": self.layers, "heads": self.heads,
            "hidden": self.hidden, "vocab": self.vocab, "numClasses": self.num_classes,
            "prefix": self.prefix, "grid": [self.height, self.width], "normEps": self.norm_eps,
            "ropeBase": self.rope_base, "dtype": self.dtype,
        }


def expected_shapes(cfg: ModelConfig) -> Dict[str, List[int]]:
    """State-dict key -> shape, in LlamaGen's names."""
    d, h = cfg.dim, cfg.hidden
    shapes = {
        "cls_embedding.embedding_table.weight": [cfg.num_classes + 1, d],
        "tok_embeddings.weight": [cfg.vocab, d],
    }
    for layer in range(cfg.layers):
        p = f"layers.{layer}."
        shapes[p + "attention.wqkv.weight"] = [3 * d, d]
        shapes[p + "attention.wo.weight"] = [d, d]
        shapes[p + "feed_forward.w1.weight"] = [h, d]
        shapes[p + "feed_forward.w3.weight"] = [h, d]
        shapes[p + "feed_forward.w2.weight"] = [d, h]
        shapes[p + "attention_norm.weight"] = [d]
        shapes[p + "ffn_norm.weight"] = [d]
    shapes["norm.weight"] = [d]
    shapes["output.weight"] = [cfg.vocab, d]
    return shapes


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


@dataclass
class StepIndex:
    """Host-built layout of one step's queries, grouped by sequence for batched attention."""
    seq: torch.Tensor  # [n] sequence of each query
    slot: torch.Tensor  # [n] slot written by each query
    useq: Optional[torch.Tensor]  # [U] sequences touched (None = all, in order)
    group: torch.Tensor  # [n] index into useq
    rank: torch.Tensor  # [n] position of the query within its sequence's group
    slot_pad: torch.Tensor  # [U, m] slot of each grouped query, -1 for padding
    want: torch.Tensor  # [w] indices of the queries whose logits are returned
    rows: torch.Tensor  # [n*heads] cache rows written, (seq*heads + h)*S + slot
    num_groups: int
    width: int  # m, most queries of one sequence


def build_index(seq: np.ndarray, slot: np.ndarray, want: np.ndarray, num_seqs: int,
                device, heads: int, num_slots: int) -> StepIndex:
    """seq, slot: [n] int; want: [n] bool."""
    n = len(seq)
    useq, group = np.unique(seq, return_inverse=True)
    counts = np.bincount(group, minlength=len(useq))
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    order = np.argsort(group, kind="stable")
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n) - starts[group[order]]
    m = int(counts.max())
    slot_pad = np.full((len(useq), m), -1, dtype=np.int64)
    slot_pad[group, rank] = slot
    t = lambda a: torch.as_tensor(np.ascontiguousarray(a, dtype=np.int64)).to(device)
    rows = ((seq.astype(np.int64)[:, None] * heads + np.arange(heads)[None, :]) * num_slots
            + slot.astype(np.int64)[:, None]).reshape(-1)  # [n*heads]
    every = len(useq) == num_seqs  # unique() sorts, so this means useq == arange(num_seqs)
    return StepIndex(t(seq), t(slot), None if every else t(useq), t(group), t(rank),
                     t(slot_pad), t(np.nonzero(want)[0]), t(rows), len(useq), m)


class KVCache:
    """Static per-sequence cache: k, v [seqs, heads, num_slots, head_dim] per layer."""

    def __init__(self, cfg: ModelConfig, num_seqs: int, dtype, device):
        shape = (num_seqs, cfg.heads, cfg.num_slots, cfg.head_dim)
        self.k = [torch.zeros(shape, dtype=dtype, device=device) for _ in range(cfg.layers)]
        self.v = [torch.zeros(shape, dtype=dtype, device=device) for _ in range(cfg.layers)]
        self.written = torch.zeros(num_seqs, cfg.num_slots, dtype=torch.bool, device=device)

    def reset(self):
        self.written.zero_()


class LlamaGenGPT:
    """Weights on the device and the cached step forward."""

    def __init__(self, cfg: ModelConfig, weights: Dict[str, torch.Tensor], device, dtype):
        self.cfg, self.device, self.dtype = cfg, device, dtype
        self.w = {k: v.to(device=device, dtype=dtype) for k, v in weights.items()}
        cos, sin = rope_table(cfg)
        self.cos, self.sin = cos.to(device), sin.to(device)  # [num_slots, D/2] float32
        self.slot_ids = torch.arange(cfg.num_slots, device=device)

    def new_cache(self, num_seqs: int) -> KVCache:
        return KVCache(self.cfg, num_seqs, self.dtype, self.device)

    def embed(self, token: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        """token: [n] (-1 = class token), cond: [n] class of the query's sequence -> [n, dim]."""
        tok = F.embedding(token.clamp(min=0), self.w["tok_embeddings.weight"])
        cls = F.embedding(cond, self.w["cls_embedding.embedding_table.weight"])
        return torch.where((token < 0)[:, None], cls, tok)

    def step(self, cache: KVCache, x: torch.Tensor, ix: StepIndex) -> torch.Tensor:
        """x: [n, dim] input embeddings -> logits: [len(want), vocab] float32."""
        cfg, w = self.cfg, self.w
        n, heads, hd = x.shape[0], cfg.heads, cfg.head_dim
        cos, sin = self.cos[ix.slot], self.sin[ix.slot]  # [n, D/2]
        cache.written[ix.seq, ix.slot] = True
        written = cache.written if ix.useq is None else cache.written[ix.useq]  # [U, S]
        visible = written[:, None, :] & (self.slot_ids[None, None, :] <= ix.slot_pad[:, :, None])
        hidden_mask = ~visible[:, None]  # [U, 1, m, S]
        scale = 1.0 / (hd ** 0.5)
        for layer in range(cfg.layers):
            p = f"layers.{layer}."
            h = rms_norm(x, w[p + "attention_norm.weight"], cfg.norm_eps)
            qkv = F.linear(h, w[p + "attention.wqkv.weight"])  # [n, 3*dim]
            q, k, v = qkv.view(n, 3, heads, hd).unbind(1)  # each [n, heads, hd]
            q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
            ck, cv = cache.k[layer], cache.v[layer]
            # Scatter rows: cache viewed as [seqs*heads*S, hd], row (seq*heads + h)*S + slot.
            ck.view(-1, hd).index_copy_(0, ix.rows, k.reshape(n * heads, hd))
            cv.view(-1, hd).index_copy_(0, ix.rows, v.reshape(n * heads, hd))
            keys = ck if ix.useq is None else ck[ix.useq]  # [U, heads, S, hd]
            values = cv if ix.useq is None else cv[ix.useq]
            qp = q.new_zeros(ix.num_groups, ix.width, heads, hd)
            qp[ix.group, ix.rank] = q
            qp = qp.transpose(1, 2)  # [U, heads, m, hd]
            scores = torch.matmul(qp, keys.transpose(-1, -2)).float() * scale  # [U, heads, m, S]
            scores = scores.masked_fill(hidden_mask, torch.finfo(torch.float32).min)
            probs = torch.softmax(scores, dim=-1).to(values.dtype)
            out = torch.matmul(probs, values).transpose(1, 2)  # [U, m, heads, hd]
            out = out[ix.group, ix.rank].reshape(n, cfg.dim)  # [n, dim]
            x = x + F.linear(out, w[p + "attention.wo.weight"])
            h = rms_norm(x, w[p + "ffn_norm.weight"], cfg.norm_eps)
            gate = F.silu(F.linear(h, w[p + "feed_forward.w1.weight"]))
            x = x + F.linear(gate * F.linear(h, w[p + "feed_forward.w3.weight"]),
                             w[p + "feed_forward.w2.weight"])
        last = rms_norm(x[ix.want], w["norm.weight"], cfg.norm_eps)
        return F.linear(last, w["output.weight"]).float()  # [w, vocab]
