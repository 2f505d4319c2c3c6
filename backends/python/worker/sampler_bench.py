"""The worker's keyed sampler (sampler.sample) against torch's plain sampler on the same logits:
rows x vocab float32 (16 x 16,384 by default, one 16-token pass of LlamaGen), top-k 0, 2000 and
256, temperature 1. Plain = softmax + torch.multinomial (after torch.topk for top-k), the loop
LlamaGen's own generate() runs. Settings are interleaved round by round; prints a Markdown
table of the median and range per call, or JSON with --json.

    python backends/python/worker/sampler_bench.py [--rows 16] [--vocab 16384] [--rounds 15]
        [--threads N] [--device cpu|cuda] [--json]

The Gumbel table (CUDA's path) is built before timing, so the figures are steady state.
"""

import argparse
import json
import statistics
import sys
import time
from typing import Callable, Dict, List

import torch

from sampler import gumbel_table, sample


def plain(logits: torch.Tensor, top_k: int) -> torch.Tensor:
    """softmax + multinomial, after top-k when set (LlamaGen's sample())."""
    if top_k > 0:
        values, index = torch.topk(logits, top_k, dim=-1)
        probs = torch.softmax(values, dim=-1)
        return index.gather(-1, torch.multinomial(probs, 1))[:, 0]
    return torch.multinomial(torch.softmax(logits, dim=-1), 1)[:, 0]


def sync(device: torch.device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_call(fn: Callable[[], torch.Tensor], device: torch.device, inner: int) -> float:
    """ms per call, averaged over `inner` calls."""
    sync(device)
    start = time.perf_counter()
    for _ in range(inner):
        fn()
    sync(device)
    return (time.perf_counter() - start) * 1000 / inner


def run(rows: int, vocab: int, rounds: int, inner: int, device: torch.device,
        top_ks: List[int]) -> Dict[str, List[float]]:
    gen = torch.Generator().manual_seed(0)
    logits = (torch.randn(rows, vocab, generator=gen) * 2).to(device)  # a model's spread
    keys = torch.randint(0, 1 << 32, (rows,), generator=gen, dtype=torch.int64).to(device)
    gumbel_table(device)  # CUDA gathers from it; the CPU's pruned path scores few columns
    cases: Dict[str, Callable[[], torch.Tensor]] = {}
    for k in top_ks:
        label = "all tokens" if k == 0 else f"top-k {k}"
        cases[f"keyed (zipar), {label}"] = lambda k=k: sample(logits, keys, 1.0, k, 1.0)
        cases[f"softmax + multinomial, {label}"] = lambda k=k: plain(logits, k)
    for fn in cases.values():
        fn()  # warm up
    times: Dict[str, List[float]] = {name: [] for name in cases}
    for _ in range(rounds):
        for name, fn in cases.items():
            times[name].append(time_call(fn, device, inner))
    return times


def main(argv: List[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rows", type=int, default=16)
    p.add_argument("--vocab", type=int, default=16384)
    p.add_argument("--rounds", type=int, default=15)
    p.add_argument("--inner", type=int, default=5)
    p.add_argument("--threads", type=int)
    p.add_argument("--device", default="cpu")
    p.add_argument("--top-k", default="0,2000,256")
    p.add_argument("--json", action="store_true")
    a = p.parse_args(argv)
    if a.threads is not None:
        torch.set_num_threads(a.threads)
    device = torch.device(a.device)
    top_ks = [int(k) for k in a.top_k.split(",")]
    times = run(a.rows, a.vocab, a.rounds, a.inner, device, top_ks)
    result = {"rows": a.rows, "vocab": a.vocab, "rounds": a.rounds, "device": str(device),
              "threads": torch.get_num_threads(), "torch": torch.__version__,
              "ms": {name: {"median": statistics.median(t), "min": min(t), "max": max(t)}
                     for name, t in times.items()}}
    if a.json:
        print(json.dumps(result))
        return 0
    print(f"worker sampler, {a.rows} rows x {a.vocab} vocab, T = 1, {a.rounds} interleaved "
          f"rounds of {a.inner} calls; torch {torch.__version__} on {device}, "
          f"{result['threads']} threads")
    print("\n| sampler | ms per call (median) | min–max |\n| --- | ---: | ---: |")
    for name, s in result["ms"].items():
        print(f"| {name} | {s['median']:.2f} | {s['min']:.2f}–{s['max']:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
