"""Check SlotKVCache against a dense float64 recompute, with per-sequence position offsets.

Usage (worker/ and testing/python/ on PYTHONPATH): python -m kv_cache_check [--seed N]
    -> one JSON line on stdout:
{"queries": N, "maxDiff": d, "zeroKeyDiff": z, "offsets": [...]}

Two sequences with condition blocks of different lengths L (the Janus/Emu3/Lumina layout:
the prompt at positions 0..L-1, engine slot s >= 1 at position s + L - 1) run random steps:
prompt writes, image writes, overwrites (ZipAR corrections), several queries of one sequence
per step. Each query's attention output must equal softmax over exactly the written positions
<= its own of its sequence (maxDiff). zeroKeyDiff is the same comparison against attention that
counts unwritten positions as zero keys (what the public LlamaGen code does): it must be large,
or the check could not tell the two apart.
"""

import json
import sys

import numpy as np
import torch

from device_pack import pack
from kv_cache import SlotKVCache

HEADS, HEAD_DIM, SLOTS = 2, 8, 12
PROMPTS = [1, 4]  # condition-block length of each sequence; LlamaGen's is 1


def dense(state_k, state_v, written, seq, pos, q, zero_keys):
    """q: [heads, hd] float64 -> [heads * hd] for one query over the dense state."""
    keep = np.arange(state_k.shape[2]) <= pos
    keep = keep if zero_keys else keep & written[seq]
    k, v = state_k[seq][:, keep], state_v[seq][:, keep]  # [heads, P, hd]
    scores = np.einsum("hd,hpd->hp", q, k) / np.sqrt(HEAD_DIM)
    probs = np.exp(scores - scores.max(-1, keepdims=True))
    probs /= probs.sum(-1, keepdims=True)
    return np.einsum("hp,hpd->hd", probs, v).reshape(-1)


def main(argv):
    rng = np.random.default_rng(int(argv[argv.index("--seed") + 1]) if "--seed" in argv else 0)
    offsets = [p - 1 for p in PROMPTS]
    capacity = max(offsets) + SLOTS
    cache = SlotKVCache(1, len(PROMPTS), HEADS, HEAD_DIM, capacity, torch.float64,
                        torch.device("cpu"), offsets)
    state_k = np.zeros((len(PROMPTS), HEADS, capacity, HEAD_DIM))
    state_v = np.zeros_like(state_k)
    written = np.zeros((len(PROMPTS), capacity), dtype=bool)
    steps = [[(s, None) for s in range(len(PROMPTS))]]  # step 0: both condition blocks
    # A ZipAR-like wavefront: slots 1, 5, 9 in one step, then 2, 6, 10, …: gaps stay unwritten.
    steps += [[(s, slot) for s in range(len(PROMPTS)) for slot in range(first, SLOTS, 4)]
              for first in range(1, 5)]
    steps.append([(1, 2), (0, 5), (1, 7)])  # corrections overwrite earlier slots
    max_diff = zero_diff = 0.0
    queries = 0
    for step in steps:
        seq, slot, pos = [], [], []
        for s, sl in step:
            if sl is None:  # the condition block: the family writes the prompt's positions
                seq += [s] * PROMPTS[s]
                slot += [0] * PROMPTS[s]
                pos += list(range(PROMPTS[s]))
            else:
                seq.append(s)
                slot.append(sl)
                pos.append(PROMPTS[s] + sl - 1)  # the layout, independently of the cache
        seq, slot, pos = (np.array(a, dtype=np.int64) for a in (seq, slot, pos))
        q, k, v = (rng.standard_normal((len(seq), HEADS, HEAD_DIM)) for _ in range(3))
        # The cache maps image slots itself; condition-block positions come from the family.
        cache_pos = np.where(slot == 0, pos, cache.positions(seq, slot))
        ix = pack([cache.index(seq, slot, np.ones(len(seq), dtype=bool), cache_pos)],
                  cache.device)[0]
        mask = cache.step_mask(ix, 1)
        cache.write(0, torch.from_numpy(np.stack([k, v], axis=1)), ix)  # [n, 2, heads, hd]
        out = cache.attend(0, torch.from_numpy(q), ix, mask).numpy()
        for i in range(len(seq)):  # the step writes first, then every query attends
            state_k[seq[i], :, pos[i]], state_v[seq[i], :, pos[i]] = k[i], v[i]
            written[seq[i], pos[i]] = True
        for i in range(len(seq)):
            want = dense(state_k, state_v, written, seq[i], pos[i], q[i], False)
            max_diff = max(max_diff, float(np.abs(out[i] - want).max()))
            zeros = dense(state_k, state_v, written, seq[i], pos[i], q[i], True)
            zero_diff = max(zero_diff, float(np.abs(out[i] - zeros).max()))
            queries += 1
    print(json.dumps({"queries": queries, "maxDiff": max_diff, "zeroKeyDiff": zero_diff,
                      "offsets": offsets}))


if __name__ == "__main__":
    main(sys.argv[1:])
