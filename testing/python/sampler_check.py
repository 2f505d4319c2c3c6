"""Check the worker sampler's pruned CPU argmax (sampler.keyed_argmax) against the definition
scored over every column, on random logits with ties, -inf columns, NaNs, large and tiny
spreads, temperatures and top-k.

Usage (worker/ and testing/python/ on PYTHONPATH): python -m sampler_check [--seed N]
   -> one JSON line on stdout:
{"cases": N, "mismatches": M, "columns": C, "scored": S}  (of the C columns the pruned path
saw, it scored S exactly: S < C, or the check would not test the pruning)
"""

import json
import sys

import torch

from sampler import PRUNE_STATS, gumbel_of_index, kept_mask, sample, to_i32, uniform_index, vocab_terms


def definition(logits, keys, temperature, top_k):
    """Every column hashed and scored in float64, masked by top-k (core/sampling's steps)."""
    vocab = logits.shape[-1]
    z = logits.double() / temperature
    index = uniform_index(to_i32(keys), vocab_terms(vocab, logits.device))
    scores = z + gumbel_of_index(index).double()
    if top_k > 0:
        scores = scores.masked_fill(~kept_mask(logits, z, top_k, 1.0), float("-inf"))
    return torch.argmax(scores, dim=-1)


def check(seed: int) -> dict:
    g = torch.Generator().manual_seed(seed)
    cases = mismatches = 0
    for trial in range(240):
        vocab = int(torch.randint(2, 3000, (1,), generator=g))
        rows = int(torch.randint(1, 9, (1,), generator=g))
        spread = [0.01, 1, 3, 10, 50, 1e4][trial % 6]
        logits = torch.randn(rows, vocab, generator=g) * spread
        if trial % 5 == 0:
            logits = torch.round(logits)  # many exact ties
        if trial % 7 == 0:
            logits[:, ::3] = logits[:, :1]
        if trial % 11 == 0:
            logits[:, 1::4] = float("-inf")
        if trial % 13 == 0:
            logits[0, 0] = float("nan")
        keys = torch.randint(0, 1 << 32, (rows,), generator=g, dtype=torch.int64)
        temperature = [1.0, 0.7, 2.5][trial % 3]
        for top_k in (0, 5, 100):
            got = sample(logits, keys, temperature, top_k, 1.0)
            cases += 1
            mismatches += int(not torch.equal(got, definition(logits, keys, temperature, top_k)))
    return {"cases": cases, "mismatches": mismatches, **PRUNE_STATS}


def main(argv) -> int:
    torch.set_num_threads(1)
    print(json.dumps(check(int(argv[argv.index("--seed") + 1]) if "--seed" in argv else 0)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
