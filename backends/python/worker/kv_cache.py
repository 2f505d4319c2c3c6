"""The slot KV cache with its written mask, and masked attention over it (every family).

Per layer one tensor kv: [2, seqs, kv_heads, capacity, head_dim] (keys, then values); written:
[seqs, capacity]. A step first writes the K/V of all its queries (one index_put_ a layer), then
a query at position p attends to every *written* position q <= p of its own sequence:
unwritten positions are masked out, never left as zero keys. The mask is built once a step
(step_mask), additive, in the cache's dtype, over a capacity padded to a multiple of 16 (what
SDPA's memory-efficient kernels take without copying the mask); the padding is never written.

Positions: the engine speaks in slots (core/layout: prefix slots, then image slots). A family
whose condition is one slot (LlamaGen's class token) stores slot s at position s (offset 0).
A family whose prompt has a different length L[seq] per sequence (Janus, Emu3, Lumina-mGPT)
keeps the engine's one prefix slot as a "condition block": it writes the prompt at positions
0..L-1 itself when it sees the prefix query, and slot s >= 1 lives at position
s + offset[seq] with offset[seq] = L[seq] - 1. Capacity is then max(L) - 1 + slots.

Attention is torch's scaled_dot_product_attention on every device. With grouped K/V heads
(kv_heads < heads), the rep = heads / kv_heads query heads of a K/V head are folded into its
query rows ([U, heads, m, hd] -> [U, kv_heads, rep * m, hd]) and the mask is repeated once a
step, so K/V are never copied (query head h reads K/V head h // rep, as repeat_interleave).
"""

from typing import Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from step_index import StepIndex, build_index

ALIGN = 16  # capacity multiple: SDPA's efficient kernels take such a mask as it is


def padded(capacity: int) -> int:
    return -(-capacity // ALIGN) * ALIGN


class SlotKVCache:
    def __init__(self, layers: int, num_seqs: int, heads: int, head_dim: int, capacity: int,
                 dtype, device, offset: Optional[Sequence[int]] = None):
        """capacity: positions a sequence needs (allocated rounded up to ALIGN)."""
        self.heads, self.head_dim, self.device, self.dtype = heads, head_dim, device, dtype
        self.num_seqs, self.needed = num_seqs, capacity
        self.capacity = padded(capacity)
        shape = (2, num_seqs, heads, self.capacity, head_dim)
        self.kv = [torch.zeros(shape, dtype=dtype, device=device) for _ in range(layers)]
        self.written = torch.zeros(num_seqs, self.capacity, dtype=torch.bool, device=device)
        self.set_offset(offset)
        self.position_ids = torch.arange(self.capacity, device=device)  # [capacity]
        self.true = torch.ones((), dtype=torch.bool, device=device)
        self.hidden_value = torch.finfo(dtype).min  # additive mask of a hidden position

    def set_offset(self, offset: Optional[Sequence[int]]):
        # offset: [seqs] host ints, position of slot s = s + offset[seq]
        self.offset = np.zeros(self.num_seqs, dtype=np.int64) if offset is None \
            else np.asarray(offset, dtype=np.int64)

    def reset(self):
        self.written.zero_()

    def positions(self, seq: np.ndarray, slot: np.ndarray) -> np.ndarray:
        """Absolute positions [n] of engine slots [n] (host)."""
        return slot.astype(np.int64) + self.offset[seq]

    def index(self, seq: np.ndarray, slot: np.ndarray, want: np.ndarray,
              pos: Optional[np.ndarray] = None) -> StepIndex:
        """A step's host index; pos defaults to positions(seq, slot)."""
        pos = self.positions(seq, slot) if pos is None else pos
        if len(pos) and (pos.min() < 0 or pos.max() >= self.needed):
            raise ValueError(f"a step writes position {int(pos.max())}, beyond the cache's "
                             f"{self.needed}")
        return build_index(seq, slot, pos, want, self.num_seqs)

    def step_mask(self, ix: StepIndex, rep: int) -> torch.Tensor:
        """Mark the step's positions written -> mask: [U, 1, rep * m, capacity] additive in
        the cache's dtype: 0 where a query sees a position (written, not after its own), the
        dtype's lowest value elsewhere. Padding rows (pos -1) see nothing; their output is
        finite and dropped."""
        self.written.index_put_((ix.seq, ix.pos), self.true)  # a device True: graph-safe
        written = self.written if ix.useq is None else self.written[ix.useq]  # [U, capacity]
        hidden = ~(written[:, None, :] & (self.position_ids <= ix.pos_pad[:, :, None]))
        mask = torch.zeros(hidden.shape, dtype=self.dtype, device=self.device)
        mask.masked_fill_(hidden, self.hidden_value)  # [U, m, capacity]
        u, m, c = mask.shape
        return mask[:, None] if rep == 1 else mask[:, None].expand(u, rep, m, c).reshape(
            u, 1, rep * m, c)

    def write(self, layer: int, kv: torch.Tensor, ix: StepIndex):
        """kv: [n, 2, kv_heads, hd] (keys with RoPE, then values) -> the cache's positions."""
        self.kv[layer][:, ix.seq, :, ix.pos] = kv.to(self.dtype)  # index_put_, one kernel

    def attend(self, layer: int, q: torch.Tensor, ix: StepIndex,
               mask: torch.Tensor) -> torch.Tensor:
        """q: [n, heads, hd] (RoPE applied), the step's K/V written, mask: step_mask ->
        out: [n, heads * hd]."""
        n, heads, hd = q.shape
        kv_heads = self.heads
        rep = heads // kv_heads
        kv = self.kv[layer] if ix.useq is None else self.kv[layer][:, ix.useq]
        u, m = ix.num_groups, ix.width
        if ix.regular:
            qp = q.view(u, m, heads, hd)
        else:
            qp = q.new_zeros(u, m, heads, hd)
            qp[ix.group, ix.rank] = q
        qp = qp.transpose(1, 2)  # [U, heads, m, hd], a view: SDPA takes the strides
        if rep > 1:  # grouped heads: each K/V head's rep query heads folded into the rows
            qp = qp.reshape(u, kv_heads, rep * m, hd)
        out = F.scaled_dot_product_attention(qp.to(kv.dtype), kv[0], kv[1], attn_mask=mask)
        out = out.view(u, heads, m, hd).transpose(1, 2)  # [U, m, heads, hd]
        if ix.regular:
            return out.reshape(n, heads * hd)
        return out[ix.group, ix.rank].reshape(n, heads * hd)
