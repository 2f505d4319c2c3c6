"""Device sampling, exactly core/sampling.ts + core/random.ts on the same logits.

torch 1.13 has no uint32: hashes live in int64 tensors masked to 32 bits, and 32-bit products
are split into 16-bit halves so that no int64 product reaches 2^63.
"""

import torch

M32 = 0xFFFFFFFF
GOLDEN = 0x9E3779B9


def mul32(a: torch.Tensor, b: int) -> torch.Tensor:
    """(a * b) mod 2^32 for a: int64 tensor in [0, 2^32), b: constant in [0, 2^32)."""
    low = a * (b & 0xFFFF)  # < 2^48
    high = ((a * (b >> 16)) & 0xFFFF) << 16  # < 2^32
    return (low + high) & M32


def fmix32(h: torch.Tensor) -> torch.Tensor:
    h = h ^ (h >> 16)
    h = mul32(h, 0x85EBCA6B)
    h = h ^ (h >> 13)
    h = mul32(h, 0xC2B2AE35)
    return h ^ (h >> 16)


def fmix32_int(h: int) -> int:
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & M32
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & M32
    return h ^ (h >> 16)


def cell_key(seed: int, image: int, row: int, col: int) -> int:
    h = fmix32_int((seed ^ GOLDEN) & M32)
    h = fmix32_int((h ^ image) & M32)
    h = fmix32_int((h ^ row) & M32)
    return fmix32_int((h ^ col) & M32)


def gumbel(keys: torch.Tensor, vocab: int) -> torch.Tensor:
    """keys: [q] int64 -> Gumbel noise [q, vocab], rounded to float32 then held in float64."""
    v = torch.arange(vocab, dtype=torch.int64, device=keys.device)
    bits = fmix32((keys[:, None] + v[None, :] * GOLDEN) & M32)  # [q, vocab]
    u = (2 * (bits >> 9) + 1).double() / 16777216.0  # exact in float32, never 0 or 1
    return (-torch.log(-torch.log(u))).float().double()


def mix_cfg(cond: torch.Tensor, uncond: torch.Tensor, scale: float) -> torch.Tensor:
    """u + g*(c - u) element-wise in float32; g = 1 returns cond."""
    if scale == 1:
        return cond
    g = torch.tensor(scale, dtype=torch.float32, device=cond.device)
    return uncond + g * (cond - uncond)


def kept_mask(logits: torch.Tensor, z: torch.Tensor, top_k: int, top_p: float) -> torch.Tensor:
    """logits: [q, vocab] float32, z: logits/T float64 -> kept: [q, vocab] bool."""
    vocab = logits.shape[-1]
    keep = torch.ones_like(logits, dtype=torch.bool)
    if 0 < top_k < vocab:
        threshold = torch.topk(logits, top_k, dim=-1).values[:, -1:]  # [q, 1]
        keep = logits >= threshold
    if top_p < 1:
        zk = z.masked_fill(~keep, float("-inf"))
        zs, order = torch.sort(zk, dim=-1, descending=True)  # [q, vocab]
        e = torch.exp(zs - zs[:, :1])
        q = e / e.sum(-1, keepdim=True)
        before = torch.cumsum(q, dim=-1) - q  # mass strictly ahead in sorted order
        neg = (-zs).contiguous()
        start = torch.searchsorted(neg, neg)  # first index of each tie group
        group_before = before.gather(-1, start)
        keep_sorted = (group_before < top_p) & torch.isfinite(zs)
        keep = torch.zeros_like(keep).scatter(-1, order, keep_sorted)
    return keep


def sample(logits: torch.Tensor, keys: torch.Tensor, temperature: float, top_k: int,
           top_p: float) -> torch.Tensor:
    """logits: [q, vocab] float32, keys: [q] int64 -> tokens [q] int64."""
    if temperature == 0:
        return torch.argmax(logits, dim=-1)
    z = logits.double() / temperature
    scores = z + gumbel(keys, logits.shape[-1])
    if top_k > 0 or top_p < 1:
        scores = scores.masked_fill(~kept_mask(logits, z, top_k, top_p), float("-inf"))
    return torch.argmax(scores, dim=-1)
