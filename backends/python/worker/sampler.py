"""Device sampling: the Python implementation of the keyed sampler that docs/sampling.md defines
(core/sampling.ts + core/random.ts and WebGPU's sample.wgsl are the other two), token for token
core/sampling's on the same logits.

The keyed Gumbel draw in 32-bit wrapping arithmetic: hashes live in int32 tensors (torch's
integer multiply wraps mod 2^32), and the logical shifts of fmix32 are arithmetic shifts masked
to the bits a logical shift keeps. A uniform has 23 random bits, so its Gumbel value is one of
2^23 numbers: gumbel_table() holds them all, computed once per device per process with the
definition itself (float64 logs on the CPU, rounded to float32), and a draw is a gather. Until
a CPU device has drawn as many values as the table holds, it computes them directly (the
same float64 formula), so short runs never pay for the table; CUDA always uses the table, built
on the CPU, so its draws are the CPU's bit for bit. On the CPU, keyed_argmax hashes every
column but scores exactly only the few that can win (bucket bounds of the Gumbel value), which
brings the draw to the cost of softmax + multinomial (sampler_bench.py). Tests:
backends/python/sampler_test.ts (every case of the golden table testing/golden/sampling.json, and
the pruned argmax is the full one) and backends/python/generate_test.ts (the worker's draws are
core/sampling's tokens on random logits).
"""

from typing import Dict, Optional, Tuple

import torch

M32 = 0xFFFFFFFF
GOLDEN = 0x9E3779B9
UNIFORM_BITS = 23  # core/random: uniform = (2·(bits >> 9) + 1) / 2^24


def i32(x: int) -> int:
    """A u32 constant as the int32 with the same bits."""
    return x - (1 << 32) if x >= 1 << 31 else x


C1, C2, GOLDEN_I32 = i32(0x85EBCA6B), i32(0xC2B2AE35), i32(GOLDEN)


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


def to_i32(keys: torch.Tensor) -> torch.Tensor:
    """keys: int64 in [0, 2^32) -> int32 with the same 32 bits."""
    return (((keys & M32) ^ (1 << 31)) - (1 << 31)).to(torch.int32)


def fmix32_(h: torch.Tensor) -> torch.Tensor:
    """MurmurHash3's finaliser on an int32 tensor, in place (u32 bits, wrapping)."""
    t = torch.empty_like(h)
    h ^= torch.bitwise_right_shift(h, 16, out=t).bitwise_and_(0xFFFF)
    h *= C1
    h ^= torch.bitwise_right_shift(h, 13, out=t).bitwise_and_(0x7FFFF)
    h *= C2
    h ^= torch.bitwise_right_shift(h, 16, out=t).bitwise_and_(0xFFFF)
    return h


_ODD: Dict[Tuple[str, int], torch.Tensor] = {}  # (device, vocab) -> v * GOLDEN, int32 [vocab]


def vocab_terms(vocab: int, device: torch.device) -> torch.Tensor:
    """v * GOLDEN mod 2^32 for v < vocab, int32 [vocab]; cached per device and vocabulary."""
    key = (str(device), vocab)
    if key not in _ODD:
        v = torch.arange(vocab, dtype=torch.int64)
        _ODD[key] = to_i32(v * GOLDEN).to(device)
    return _ODD[key]


def uniform_index(keys: torch.Tensor, terms: torch.Tensor) -> torch.Tensor:
    """keys: [q] int32, terms: [q, k] or [k] int32 vocabulary terms -> the 23 uniform bits
    (bits >> 9) of every draw, int64 [q, k]."""
    h = keys[:, None] + terms  # [q, k] int32, wraps: key + v*GOLDEN mod 2^32
    fmix32_(h)
    return torch.bitwise_right_shift(h, 9).bitwise_and_((1 << UNIFORM_BITS) - 1).long()


def gumbel_of_index(index: torch.Tensor) -> torch.Tensor:
    """The definition: -log(-log((2i + 1) / 2^24)) in float64, rounded to float32."""
    u = (2 * index.double() + 1) / 16777216.0  # exact, never 0 or 1
    return (-torch.log(-torch.log(u))).float()


_TABLE: Dict[str, torch.Tensor] = {}  # device -> float32 [2^23]
_DRAWN: Dict[str, int] = {}  # device -> values computed directly so far


def gumbel_table(device: torch.device) -> torch.Tensor:
    """float32 [2^23]: the Gumbel value of every uniform, built on the CPU once per device."""
    key = str(device)
    if key not in _TABLE:
        cpu = _TABLE.get("cpu")
        if cpu is None:
            cpu = gumbel_of_index(torch.arange(1 << UNIFORM_BITS, dtype=torch.int64))
            _TABLE["cpu"] = cpu
        _TABLE[key] = cpu.to(device)
    return _TABLE[key]


def gumbel_i32(keys: torch.Tensor, terms: torch.Tensor) -> torch.Tensor:
    """keys: [q] int32, terms: vocabulary terms [k] or [q, k] -> Gumbel noise [q, k] float32."""
    index = uniform_index(keys, terms)
    device = index.device
    key = str(device)
    if key not in _TABLE and device.type == "cpu":
        drawn = _DRAWN.get(key, 0) + index.numel()
        _DRAWN[key] = drawn
        if drawn < 1 << UNIFORM_BITS:  # not yet worth the table (2^23 values)
            return gumbel_of_index(index)
    return gumbel_table(device)[index]


def prepare(vocab: int, device: torch.device):
    """Build the tables a draw over `vocab` reads on `device` (before a planned loop, so the
    loop uploads nothing): the vocabulary terms, and on CUDA the Gumbel table."""
    vocab_terms(vocab, device)
    if device.type == "cuda":
        gumbel_table(device)


PRUNE_STATS = {"columns": 0, "scored": 0}  # keyed_argmax's pruned calls (sampler_check)
BUCKET_BITS = 12  # prune_bounds: one bucket per top 12 of the 23 uniform bits
_BOUNDS: Dict[str, Tuple[torch.Tensor, torch.Tensor]] = {}  # device -> (lower, upper) [4096]


def prune_bounds(device: torch.device) -> Tuple[torch.Tensor, torch.Tensor]:
    """float32 [2^12] each: the least and the greatest Gumbel value (the definition's float32
    values) of the uniforms whose top 12 bits are the bucket; the Gumbel value rises with the
    uniform, so they are the values at the bucket's first and last index."""
    key = str(device)
    if key not in _BOUNDS:
        shift = UNIFORM_BITS - BUCKET_BITS
        first = torch.arange(1 << BUCKET_BITS, dtype=torch.int64) << shift
        _BOUNDS[key] = (gumbel_of_index(first).to(device),
                        gumbel_of_index(first + (1 << shift) - 1).to(device))
    return _BOUNDS[key]


def keyed_argmax(values: torch.Tensor, temperature: float, keys: torch.Tensor,
                 terms: torch.Tensor, ids: Optional[torch.Tensor] = None) -> torch.Tensor:
    """The token of the largest values/T + gumbel (float64 sums; on ties the lowest token) ->
    int64 [q]; values: [q, n] float32, keys: [q] int32, terms: [n] or [q, n] int32, ids: the
    token of each column [q, n] int64 (top-k candidates, any order), else the column itself.

    On the CPU (every value finite), only the columns that can win get exact Gumbel values: a
    bucket's float32 bounds (prune_bounds) give each column a score interval, and a column
    whose upper end is below the best lower end of its row cannot be the argmax. The intervals
    are computed in float32 and widened by eps, far more than float32's rounding (2^-23
    relative on |z| + 17), so the pruning never drops the exact argmax or a tie of it; the few
    columns left are scored as the definition. Few [q, n] temporaries, reused in place (fresh
    large buffers cost page faults). CUDA, and values with infinities or NaNs, take every
    column through the Gumbel table.
    """
    q, n = values.shape
    if values.is_cuda or values.numel() == 0:
        return _keyed_argmax_full(values, temperature, keys, terms, ids)
    low_z, high_z = values.aminmax(dim=-1)  # [q] each; NaN propagates
    magnitude = torch.maximum(low_z.abs(), high_z.abs()) / temperature  # [q]
    if not bool(torch.isfinite(magnitude).all()):
        return _keyed_argmax_full(values, temperature, keys, terms, ids)
    h = keys[:, None] + terms  # [q, n] int32, wraps
    fmix32_(h)
    h = torch.bitwise_right_shift(h, 9, out=h).bitwise_and_((1 << UNIFORM_BITS) - 1)  # index
    bucket = torch.bitwise_right_shift(h, UNIFORM_BITS - BUCKET_BITS).view(-1)  # [q*n] int32
    lower, upper = prune_bounds(values.device)
    zf = values if temperature == 1 else values / temperature  # [q, n] float32
    eps = ((magnitude + 17.0) * 4e-6)[:, None]  # [q, 1]
    bound = lower.index_select(0, bucket).view(q, n).add_(zf)  # lower ends
    best_low = bound.amax(dim=-1, keepdim=True) - eps  # [q, 1]
    torch.index_select(upper, 0, bucket, out=bound.view(-1))
    bound.add_(zf).add_(eps)  # upper ends
    rows, cols = torch.nonzero(bound >= best_low, as_tuple=True)  # [c] each
    PRUNE_STATS["columns"] += q * n
    PRUNE_STATS["scored"] += int(rows.numel())
    scores = values[rows, cols].double() / temperature + \
        gumbel_of_index(h[rows, cols].long()).double()  # [c], as the definition
    top = torch.full((q,), float("-inf"), dtype=torch.float64).scatter_reduce(
        0, rows, scores, "amax")  # [q]
    token = cols if ids is None else ids[rows, cols]  # [c]
    none = torch.iinfo(torch.int64).max
    winner = torch.where(scores == top[rows], token, torch.full_like(token, none))
    return torch.full((q,), none, dtype=torch.int64).scatter_reduce(0, rows, winner, "amin")


def _keyed_argmax_full(values: torch.Tensor, temperature: float, keys: torch.Tensor,
                       terms: torch.Tensor, ids: Optional[torch.Tensor]) -> torch.Tensor:
    scores = values.double() / temperature + gumbel_i32(keys, terms).double()  # [q, n]
    if ids is None:
        return torch.argmax(scores, dim=-1)
    # NaN scores are never equal to the max: treat them as torch.argmax does, the largest.
    nan = torch.isnan(scores)
    scores = scores.masked_fill(nan, float("inf")) if bool(nan.any()) else scores
    top = scores.amax(dim=-1, keepdim=True)
    none = torch.iinfo(torch.int64).max
    return torch.where(scores == top, ids, torch.full_like(ids, none)).amin(dim=-1)


def mix_cfg(cond: torch.Tensor, uncond: torch.Tensor, scale) -> torch.Tensor:
    """u + g*(c - u) element-wise in float32; g = 1 returns cond. scale: a float, or a 0-dim
    float32 tensor on the logits' device (made once per plan: no upload per step)."""
    if not isinstance(scale, torch.Tensor):
        if scale == 1:
            return cond
        scale = torch.tensor(scale, dtype=torch.float32, device=cond.device)
    return uncond + scale * (cond - uncond)


def kept_mask(logits: torch.Tensor, z: torch.Tensor, top_k: int, top_p: float) -> torch.Tensor:
    """logits: [q, n] float32, z: logits/T float64 -> kept: [q, n] bool."""
    n = logits.shape[-1]
    keep = torch.ones_like(logits, dtype=torch.bool)
    if 0 < top_k < n:
        threshold = torch.topk(logits, top_k, dim=-1).values[:, -1:]  # [q, 1]
        keep = logits >= threshold
    if top_p < 1:
        zk = z.masked_fill(~keep, float("-inf"))
        zs, order = torch.sort(zk, dim=-1, descending=True)  # [q, n]
        e = torch.exp(zs - zs[:, :1])
        q = e / e.sum(-1, keepdim=True)
        before = torch.cumsum(q, dim=-1) - q  # mass strictly ahead in sorted order
        neg = (-zs).contiguous()
        start = torch.searchsorted(neg, neg)  # first index of each tie group
        group_before = before.gather(-1, start)
        keep_sorted = (group_before < top_p) & torch.isfinite(zs)
        keep = torch.zeros_like(keep).scatter(-1, order, keep_sorted)
    return keep


def top_k_candidates(logits: torch.Tensor, top_k: int, ordered: bool = True):
    """The top-k tokens (in ascending index order when `ordered`), when exactly k tokens reach
    the k-th largest logit in every row — the (k+1)-th is smaller, no tie at the threshold:
    cand: [q, k] int64; else None. Needs k < vocab. Checked on the host, so never while a CUDA
    graph is being captured."""
    if logits.is_cuda and torch.cuda.is_current_stream_capturing():
        return None
    values, cand = torch.topk(logits, top_k + 1, dim=-1)  # [q, k+1], descending
    if not bool((values[:, top_k - 1] > values[:, top_k]).all()) or \
            bool(torch.isnan(values[:, :top_k]).any()):  # a NaN logit is never kept
        return None
    return cand[:, :top_k].sort(dim=-1).values if ordered else cand[:, :top_k]


def sample(logits: torch.Tensor, keys: torch.Tensor, temperature: float, top_k: int,
           top_p: float, sync_free: bool = False) -> torch.Tensor:
    """logits: [q, vocab] float32, keys: [q] int64 -> tokens [q] int64.

    Top-k first: when the k kept tokens are known exactly, only they are hashed, scaled and
    ranked (the draw of a token does not depend on the others). Scores z + gumbel in float64,
    as core/sampling; argmax takes the lowest index on ties (candidates are in index order).
    sync_free: device ops only, never a host read (every column scored, the kept set masked:
    the same tokens), for a planned loop that must not stall the stream.
    """
    if temperature == 0:
        return torch.argmax(logits, dim=-1)
    vocab = logits.shape[-1]
    k32 = to_i32(keys)
    if sync_free:
        return _sample_masked(logits, k32, temperature, top_k, top_p)
    cand = top_k_candidates(logits, top_k, ordered=top_p < 1) if 0 < top_k < vocab else None
    if cand is not None:
        sub = logits.gather(-1, cand)  # [q, k]
        terms = vocab_terms(vocab, logits.device)[cand]
        if top_p == 1:
            return keyed_argmax(sub, temperature, k32, terms, ids=cand)
        z = sub.double() / temperature
        scores = z + gumbel_i32(k32, terms).double()
        scores = scores.masked_fill(~kept_mask(sub, z, 0, top_p), float("-inf"))
        return cand.gather(-1, torch.argmax(scores, dim=-1, keepdim=True))[:, 0]
    if top_k <= 0 and top_p == 1:
        return keyed_argmax(logits, temperature, k32, vocab_terms(vocab, logits.device))
    return _sample_masked(logits, k32, temperature, top_k, top_p)


def _sample_masked(logits: torch.Tensor, k32: torch.Tensor, temperature: float, top_k: int,
                   top_p: float) -> torch.Tensor:
    """Every column scored, z + gumbel in float64, the tokens top-k / top-p drop masked."""
    z = logits.double() / temperature
    scores = z + gumbel_i32(k32, vocab_terms(logits.shape[-1], logits.device)).double()
    if top_k > 0 or top_p < 1:
        scores = scores.masked_fill(~kept_mask(logits, z, top_k, top_p), float("-inf"))
    return torch.argmax(scores, dim=-1)
