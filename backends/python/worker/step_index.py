"""The host-built layout of one step: its queries grouped by sequence for batched attention.

A query writes one cache position of one sequence. Positions are absolute (the row of the
sequence's KV cache, and what 1-D RoPE families rotate by); for LlamaGen they equal the slots.
build_index() makes the arrays with numpy on the host; device_pack.pack() moves the indexes of
a whole plan to the device in one copy, so a planned step never builds or uploads an index.

A step is *regular* when every sequence of the session has the same number m of queries and
they come sequence-major, in order: its queries already are the [seqs, m] grid that attention
runs on, so no padding scatter or gather is needed (every planned step of core/plan is).
"""

from dataclasses import dataclass
from typing import Optional

import numpy as np
Array = object  # np.ndarray on the host, torch.Tensor (int64) once packed


@dataclass
class StepIndex:
    seq: Array  # [n] sequence of each query
    slot: Array  # [n] engine slot of each query (what 2-D RoPE reads)
    pos: Array  # [n] absolute position = cache row written by each query
    useq: Optional[Array]  # [U] sequences touched (None = all, in order)
    group: Array  # [n] index into useq
    rank: Array  # [n] position of the query within its sequence's group
    pos_pad: Array  # [U, m] position of each grouped query, -1 for padding
    want: Array  # [w] indices of the queries whose logits are returned
    num_groups: int  # U
    width: int  # m, most queries of one sequence
    regular: bool  # all sequences, m queries each, sequence-major: no padding
    want_all: bool  # every query's logits, in query order (want = 0..n-1)


def build_index(seq: np.ndarray, slot: np.ndarray, pos: np.ndarray, want: np.ndarray,
                num_seqs: int) -> StepIndex:
    """seq, slot, pos: [n] host ints; want: [n] bool -> a host StepIndex (numpy arrays)."""
    n = len(seq)
    seq = seq.astype(np.int64)
    useq, group = np.unique(seq, return_inverse=True)
    counts = np.bincount(group, minlength=len(useq))
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    order = np.argsort(group, kind="stable")
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n) - starts[group[order]]
    m = int(counts.max())
    pos_pad = np.full((len(useq), m), -1, dtype=np.int64)
    pos_pad[group, rank] = pos
    every = len(useq) == num_seqs  # unique() sorts, so this means useq == arange(num_seqs)
    regular = every and bool(np.all(counts == m)) and bool(
        np.array_equal(seq, np.repeat(np.arange(num_seqs), m)))
    return StepIndex(seq, slot.astype(np.int64), pos.astype(np.int64),
                     None if every else useq.astype(np.int64), group.astype(np.int64), rank,
                     pos_pad, np.flatnonzero(want).astype(np.int64), len(useq), m, regular,
                     bool(np.all(want)))

