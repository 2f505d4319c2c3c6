"""The host-built layout of one step: its queries grouped by sequence for batched attention.

A query writes one cache position of one sequence. Positions are absolute (the row of the
sequence's KV cache, and what 1-D RoPE families rotate by); for LlamaGen they equal the slots.
"""

from dataclasses import dataclass
from typing import Optional

import numpy as np
import torch


@dataclass
class StepIndex:
    seq: torch.Tensor  # [n] sequence of each query
    slot: torch.Tensor  # [n] engine slot of each query (what 2-D RoPE reads)
    pos: torch.Tensor  # [n] absolute position = cache row written by each query
    useq: Optional[torch.Tensor]  # [U] sequences touched (None = all, in order)
    group: torch.Tensor  # [n] index into useq
    rank: torch.Tensor  # [n] position of the query within its sequence's group
    pos_pad: torch.Tensor  # [U, m] position of each grouped query, -1 for padding
    want: torch.Tensor  # [w] indices of the queries whose logits are returned
    rows: torch.Tensor  # [n*heads] flat cache rows written, (seq*heads + h)*capacity + pos
    num_groups: int  # U
    width: int  # m, most queries of one sequence


def build_index(seq: np.ndarray, slot: np.ndarray, pos: np.ndarray, want: np.ndarray,
                num_seqs: int, heads: int, capacity: int, device) -> StepIndex:
    """seq, slot, pos: [n] host ints; want: [n] bool; capacity: cache rows per sequence."""
    n = len(seq)
    useq, group = np.unique(seq, return_inverse=True)
    counts = np.bincount(group, minlength=len(useq))
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    order = np.argsort(group, kind="stable")
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n) - starts[group[order]]
    m = int(counts.max())
    pos_pad = np.full((len(useq), m), -1, dtype=np.int64)
    pos_pad[group, rank] = pos
    t = lambda a: torch.as_tensor(np.ascontiguousarray(a, dtype=np.int64)).to(device)
    rows = ((seq.astype(np.int64)[:, None] * heads + np.arange(heads)[None, :]) * capacity
            + pos.astype(np.int64)[:, None]).reshape(-1)  # [n*heads]
    every = len(useq) == num_seqs  # unique() sorts, so this means useq == arange(num_seqs)
    return StepIndex(t(seq), t(slot), t(pos), None if every else t(useq), t(group), t(rank),
                     t(pos_pad), t(np.nonzero(want)[0]), t(rows), len(useq), m)
