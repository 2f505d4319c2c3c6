"""The slot KV cache with its written mask, and masked attention over it (every family).

Per layer k, v: [seqs, heads, capacity, head_dim]; written: [seqs, capacity]. A step first
writes the K/V of all its queries, then a query at position p attends to every *written*
position q <= p of its own sequence: unwritten positions are masked out, never left as zero
keys.

Positions: the engine speaks in slots (core/layout: prefix slots, then image slots). A family
whose condition is one slot (LlamaGen's class token) stores slot s at position s (offset 0).
A family whose prompt has a different length L[seq] per sequence (Janus, Emu3, Lumina-mGPT)
keeps the engine's one prefix slot as a "condition block": it writes the prompt at positions
0..L-1 itself when it sees the prefix query, and slot s >= 1 lives at position
s + offset[seq] with offset[seq] = L[seq] - 1. Capacity is then max(L) - 1 + slots.
"""

import os
from typing import Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from step_index import StepIndex, build_index


class SlotKVCache:
    def __init__(self, layers: int, num_seqs: int, heads: int, head_dim: int, capacity: int,
                 dtype, device, offset: Optional[Sequence[int]] = None):
        shape = (num_seqs, heads, capacity, head_dim)
        self.heads, self.head_dim, self.capacity, self.device = heads, head_dim, capacity, device
        self.num_seqs = num_seqs
        self.k = [torch.zeros(shape, dtype=dtype, device=device) for _ in range(layers)]
        self.v = [torch.zeros(shape, dtype=dtype, device=device) for _ in range(layers)]
        self.written = torch.zeros(num_seqs, capacity, dtype=torch.bool, device=device)
        # offset: [seqs] host ints, position of slot s = s + offset[seq]
        self.offset = np.zeros(num_seqs, dtype=np.int64) if offset is None \
            else np.asarray(offset, dtype=np.int64)
        self.position_ids = torch.arange(capacity, device=device)  # [capacity]
        self.true = torch.ones((), dtype=torch.bool, device=device)
        # torch's fused attention with the slot mask on CUDA (ZIPAR_SDPA=1: on the CPU too,
        # for tests); the explicit float32 softmax elsewhere.
        self.sdpa = device.type == "cuda" or os.environ.get("ZIPAR_SDPA") == "1"

    def reset(self):
        self.written.zero_()

    def positions(self, seq: np.ndarray, slot: np.ndarray) -> np.ndarray:
        """Absolute positions [n] of engine slots [n] (host)."""
        return slot.astype(np.int64) + self.offset[seq]

    def index(self, seq: np.ndarray, slot: np.ndarray, want: np.ndarray,
              pos: Optional[np.ndarray] = None) -> StepIndex:
        """A step's index; pos defaults to positions(seq, slot)."""
        pos = self.positions(seq, slot) if pos is None else pos
        return build_index(seq, slot, pos, want, self.num_seqs, self.heads, self.capacity,
                           self.device)

    def mark_written(self, ix: StepIndex) -> torch.Tensor:
        """Mark the step's positions written -> hidden: [U, 1, m, capacity] bool, the
        positions each query may not see (unwritten, or after its own)."""
        self.written.index_put_((ix.seq, ix.pos), self.true)  # a device True: graph-safe
        written = self.written if ix.useq is None else self.written[ix.useq]  # [U, capacity]
        visible = written[:, None, :] & (self.position_ids[None, None, :]
                                         <= ix.pos_pad[:, :, None])  # [U, m, capacity]
        return ~visible[:, None]

    def attend(self, layer: int, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
               ix: StepIndex, hidden: torch.Tensor) -> torch.Tensor:
        """q: [n, heads, head_dim], k, v: [n, kv_heads, head_dim] (RoPE applied) ->
        out: [n, heads * head_dim].

        Writes k, v at the step's positions, then attends; scores and softmax in float32. With
        grouped K/V heads (kv_heads = the cache's heads < heads), query head h reads K/V head
        h // rep, rep = heads / kv_heads, as LlamaGen's repeat_interleave: the rep query heads
        of a K/V head are folded into its query rows, so K/V are never copied.
        """
        n, heads, hd = q.shape
        kv_heads = k.shape[1]
        rep = heads // kv_heads
        ck, cv = self.k[layer], self.v[layer]
        # Scatter rows: cache viewed as [seqs*kv_heads*capacity, hd].
        ck.view(-1, hd).index_copy_(0, ix.rows, k.reshape(n * kv_heads, hd))
        cv.view(-1, hd).index_copy_(0, ix.rows, v.reshape(n * kv_heads, hd))
        keys = ck if ix.useq is None else ck[ix.useq]  # [U, kv_heads, capacity, hd]
        values = cv if ix.useq is None else cv[ix.useq]
        u, m = ix.num_groups, ix.width
        qp = q.new_zeros(u, m, heads, hd)
        qp[ix.group, ix.rank] = q
        qp = qp.transpose(1, 2).reshape(u, kv_heads, rep * m, hd)  # [U, kv_heads, rep*m, hd]
        if rep > 1:
            hidden = hidden.repeat(1, 1, rep, 1)  # [U, 1, rep*m, C]
        if self.sdpa:  # padding rows see nothing (NaN or 0 there); they are dropped below
            out = F.scaled_dot_product_attention(qp, keys, values, attn_mask=~hidden)
            out = out.reshape(u, heads, m, hd).transpose(1, 2)  # [U, m, heads, hd]
            return out[ix.group, ix.rank].reshape(n, heads * hd)
        scores = torch.matmul(qp, keys.transpose(-1, -2)).float() * (1.0 / (hd ** 0.5))
        scores = scores.masked_fill(hidden, torch.finfo(torch.float32).min)  # [U, kvh, rep*m, C]
        probs = torch.softmax(scores, dim=-1).to(values.dtype)
        out = torch.matmul(probs, values).reshape(u, heads, m, hd).transpose(1, 2)  # [U, m, h, hd]
        return out[ix.group, ix.rank].reshape(n, heads * hd)
