"""The one decoder-layer step every family runs (LlamaGen's GPT, and the Llama-style text models
of Janus, Emu3 and Lumina-mGPT's Chameleon): pre-norm attention and SwiGLU over the slot KV
cache, written for few kernels a step.

Per layer, on n query rows x: [n, dim] (MHA, float32: 12 top-level ops; the op budget is
checked by testing/python/step_ops_check.py):

    h   = rms_norm(x)                                  one op (F.rms_norm)
    qkv = h @ wqkv^T                                   one matmul: q, k, v fused at load
    qkv = rope(qkv)                                    q, k and v in one expression; v's
                                                       rotation is the identity
    cache.write(k, v)                                  one index_put_
    out = attend(q)                                    SDPA, the step's mask built once
    x   = x + out @ wo^T                               addmm
    h   = rms_norm(x); g, u = h @ w13^T                gate and up fused at load
    x   = x + (silu(g) * u) @ w2^T                     addmm

RoPE comes in the two pairings of the field: "interleaved" (LlamaGen: dims 2i, 2i+1, applied in
float32 as one complex multiply) and "half" (transformers' rotate_half: dims i, i + hd/2, in the
model's dtype: x * cos + roll(x, hd/2) * sin with the sign folded into sin). Chameleon's q/k
LayerNorm (per head, over head_dim, eps 1e-5, then each head's own weight and bias) is applied
to q and k before RoPE.
"""

from dataclasses import dataclass
from typing import List, Optional, Tuple

import torch
import torch.nn.functional as F

from kv_cache import SlotKVCache
from step_profile import LAYER, scope
from step_index import StepIndex

QK_NORM_EPS = 1e-5  # ChameleonLayerNorm's


@dataclass
class LayerWeights:
    attn_norm: torch.Tensor  # [dim]
    wqkv: torch.Tensor  # [(heads + 2 * kv_heads) * hd, dim]: q rows, then k, then v
    wo: torch.Tensor  # [dim, heads * hd]
    ffn_norm: torch.Tensor  # [dim]
    w13: torch.Tensor  # [2 * ffn, dim]: gate rows, then up
    w2: torch.Tensor  # [dim, ffn]
    qk_norm: Optional[Tuple[torch.Tensor, torch.Tensor]] = None  # [heads + kv_heads, hd] w, b


@dataclass
class StackSpec:
    heads: int
    kv_heads: int
    head_dim: int
    eps: float  # the RMSNorms'
    rope: str  # "interleaved" (LlamaGen) or "half" (transformers' rotate_half)


class RopeStep:
    """One step's rotation tables for q, k and v rows at once: [n, heads + 2 kv_heads, ...].

    interleaved: freqs complex64 [n, 1, hd / 2] per row (cos + i sin; v's heads 1 + 0i).
    half: cos, sin [n, 1, hd] in the model's dtype (transformers' tables; v's heads 1 and 0).
    """

    def __init__(self, spec: StackSpec, n: int, freqs: Optional[torch.Tensor] = None,
                 cos: Optional[torch.Tensor] = None, sin: Optional[torch.Tensor] = None):
        qk, kv = spec.heads + spec.kv_heads, spec.kv_heads
        self.spec = spec
        if spec.rope == "interleaved":
            ident = torch.ones_like(freqs)[:, None].expand(n, kv, -1)
            self.freqs = torch.cat([freqs[:, None].expand(n, qk, -1), ident], dim=1)
        else:
            half = spec.head_dim // 2
            sign = torch.ones(spec.head_dim, dtype=sin.dtype, device=sin.device)
            sign[:half] = -1
            self.cos = torch.cat([cos[:, None].expand(n, qk, -1),
                                  torch.ones_like(cos[:, None]).expand(n, kv, -1)], dim=1)
            self.sin = torch.cat([(sin * sign)[:, None].expand(n, qk, -1),
                                  torch.zeros_like(sin[:, None]).expand(n, kv, -1)], dim=1)

    def apply(self, qkv: torch.Tensor) -> torch.Tensor:
        """qkv: [n, heads + 2 kv_heads, hd] -> rotated, same shape and dtype."""
        if self.spec.rope == "interleaved":
            n, h, hd = qkv.shape
            pairs = torch.view_as_complex(qkv.float().view(n, h, hd // 2, 2))
            return torch.view_as_real(pairs * self.freqs).view(n, h, hd).to(qkv.dtype)
        partner = qkv.roll(self.spec.head_dim // 2, dims=-1)  # (x2, x1): rotate_half's halves
        return torch.addcmul(qkv * self.cos, partner, self.sin)


class DecoderLayers:
    """A stack of LayerWeights and the final norm; step() runs them over the slot KV cache."""

    def __init__(self, spec: StackSpec, layers: List[LayerWeights], norm: torch.Tensor):
        self.spec, self.layers, self.norm = spec, layers, norm
        self.dim = int(norm.shape[0])

    def step(self, cache: SlotKVCache, x: torch.Tensor, ix: StepIndex,
             rope: RopeStep) -> torch.Tensor:
        """x: [n, dim] row inputs -> final-norm hidden states [len(ix.want), dim] of the rows
        whose logits are wanted, in row order."""
        s = self.spec
        mask = cache.step_mask(ix, s.heads // s.kv_heads)  # [U, 1, rep*m, capacity], once a step
        for i, w in enumerate(self.layers):
            with scope(LAYER):
                x = self.layer(cache, x, ix, rope, mask, i, w)
        last = x if ix.want_all else x[ix.want]
        return F.rms_norm(last, (self.dim,), self.norm, s.eps)

    def layer(self, cache: SlotKVCache, x: torch.Tensor, ix: StepIndex, rope: RopeStep,
              mask: torch.Tensor, i: int, w: LayerWeights) -> torch.Tensor:
        """Layer i over the n rows x: [n, dim] -> [n, dim]."""
        s = self.spec
        n, heads, kvh, hd = x.shape[0], s.heads, s.kv_heads, s.head_dim
        h = F.rms_norm(x, (self.dim,), w.attn_norm, s.eps)
        qkv = F.linear(h, w.wqkv).view(n, heads + 2 * kvh, hd)
        if w.qk_norm is not None:
            qkv = self.qk_norm(qkv, w.qk_norm)
        qkv = rope.apply(qkv)  # [n, heads + 2 kvh, hd]
        cache.write(i, qkv[:, heads:].view(n, 2, kvh, hd), ix)
        out = cache.attend(i, qkv[:, :heads], ix, mask)  # [n, heads * hd]
        x = torch.addmm(x, out, w.wo.t())
        h = F.rms_norm(x, (self.dim,), w.ffn_norm, s.eps)
        gate, up = F.linear(h, w.w13).chunk(2, dim=-1)  # [n, ffn] each
        return torch.addmm(x, F.silu(gate) * up, w.w2.t())

    def qk_norm(self, qkv: torch.Tensor, norm: Tuple[torch.Tensor, torch.Tensor]):
        """Chameleon: LayerNorm of each q and k head over head_dim, then the head's weight
        and bias; v untouched. qkv: [n, heads + 2 kvh, hd]."""
        s = self.spec
        n, qk = qkv.shape[0], s.heads + s.kv_heads
        # One op: a group per head over its head_dim channels is that head's LayerNorm, and
        # group_norm's per-channel affine is each head's own weight and bias.
        normed = F.group_norm(qkv[:, :qk].reshape(n, qk * s.head_dim), qk,
                              norm[0].reshape(-1), norm[1].reshape(-1), QK_NORM_EPS)
        return torch.cat([normed.view(n, qk, s.head_dim), qkv[:, qk:]], dim=1)

