"""The per-pass curve and the memory-bandwidth floor beside it.

Per-pass curve: the cost of one forward pass (a step) as the tokens it decodes grow, on the
paper's two sequences (conditional and unconditional halves of CFG): k queries per sequence
at consecutive slots after 128 written ones, every query's logits wanted. Each k is a packed
step run through the model's ModelSteps as planned mode runs it: captured once, then replayed
from its CUDA graph and timed with CUDA events (3 batches of N replays; the eager column runs
the same step with graphs off). A step is idempotent (it rewrites the same K/V), so replays
leave the cache as one run would.

Floor: a pass must at least read every weight it multiplies by (the decoder layers, the final
norm, the float32 logits head) and the K/V its attention reads (SDPA over the cache's whole
capacity, masked), at the device's copy bandwidth measured here (a device-to-device copy:
read + write bytes / time).
"""

import statistics
import time
from typing import Callable, List

import numpy as np
import torch

import step_graphs
from device_pack import pack
from llamagen_rows import graph_mode
from models import PAPER_CFG, LlamaGenModel, images_for, open_session, sync
from report import Table, attempt, ms


def bandwidth(device: torch.device, quick: bool) -> float:
    """Device copy bandwidth in GB/s (bytes read + bytes written per second)."""
    n = (32 << 20) if quick or device.type != "cuda" else (1 << 30)
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        n = min(n, free // 4)
    a = torch.empty(n, dtype=torch.uint8, device=device).fill_(1)
    b = torch.empty_like(a)
    b.copy_(a)
    reps = 10 if device.type == "cuda" else 3
    times = timed_batches(device, lambda: b.copy_(a), reps, 3)
    del a, b
    return 2 * n / (min(times) / 1000) / 1e9


def timed_batches(device: torch.device, fn: Callable[[], object], reps: int,
                  batches: int) -> List[float]:
    """ms per call of each of `batches` batches of `reps` calls (CUDA events on CUDA)."""
    out = []
    for _ in range(batches):
        if device.type == "cuda":
            start = torch.cuda.Event(enable_timing=True)
            end = torch.cuda.Event(enable_timing=True)
            start.record()
            for _ in range(reps):
                fn()
            end.record()
            end.synchronize()
            out.append(start.elapsed_time(end) / reps)
        else:
            t0 = time.perf_counter()
            for _ in range(reps):
                fn()
            out.append((time.perf_counter() - t0) * 1000 / reps)
    return out


def pass_bytes(model: LlamaGenModel, session) -> int:
    """What one pass must read: layer weights, final norm, the float32 head, the K/V."""
    w = model.weights
    layers = sum(t.numel() * t.element_size() for k, t in w.items() if k.startswith("layers."))
    head = w["output.weight"].numel() * 4
    norm = w["norm.weight"].numel() * w["norm.weight"].element_size()
    kv = sum(t.numel() * t.element_size() for t in session.cache.kv)
    return layers + head + norm + kv


def write_prefix(session, written: int) -> None:
    """The class tokens and `written` image slots of every sequence (interactive steps)."""
    seqs = session.num_seqs
    with torch.inference_mode():
        session.step(np.arange(seqs), np.zeros(seqs, dtype=np.int64),
                     np.full(seqs, -1, dtype=np.int64), np.ones(seqs, dtype=bool))
        seq = np.repeat(np.arange(seqs), written)
        slot = np.tile(np.arange(1, written + 1), seqs)
        session.step(seq, slot, np.full(len(seq), 5, dtype=np.int64),
                     np.zeros(len(seq), dtype=bool))


def curve(ctx, model: LlamaGenModel, table: Table, ks: List[int], gbs: float) -> None:
    """Rows of the per-pass curve (the table's columns: see driver)."""
    device, fam = ctx.device, model.family
    step_graphs.set_mode(graph_mode(device))
    session = open_session(fam, images_for(fam), PAPER_CFG)  # two sequences
    try:
        cells = fam.info["height"] * fam.info["width"]
        written = min(128, cells // 2)
        write_prefix(session, written)
        floor_ms = pass_bytes(model, session) / (gbs * 1e9) * 1000 if gbs else None
        reps = 5 if ctx.quick else 30
        one = [None]
        for k in [k for k in ks if k <= cells - written]:
            def row(k=k):
                seqs = session.num_seqs
                seq = np.repeat(np.arange(seqs), k)
                slot = np.tile(np.arange(written + 1, written + 1 + k), seqs)
                want = np.ones(len(seq), dtype=bool)
                ix = pack([session.index(seq, slot, want)], device)[0]
                token = torch.full((len(seq),), 5, dtype=torch.int64, device=device)

                def step():
                    return session.forward(None, None, token, None, ix)
                out = {}
                with torch.inference_mode():
                    for name, mode in (("graphs", graph_mode(device)), ("eager", "off")):
                        step_graphs.set_mode(mode)
                        step()  # capture (graphs) or warm-up
                        step()
                        sync(device)
                        out[name] = statistics.median(timed_batches(device, step, reps, 3))
                step_graphs.set_mode(graph_mode(device))
                g = out["graphs"]
                one[0] = one[0] or g
                table.add(k, len(seq), ms(g, 3), ms(out["eager"], 3), ms(floor_ms, 3),
                          f"{g / floor_ms:.1f}×" if floor_ms else "–", f"{g / one[0]:.2f}")
            attempt(ctx.budget, f"per-pass curve k={k}", 3.0 if ctx.quick else 4.0, row,
                    lambda text, k=k: table.note((k,), text), ctx.debug)
    finally:
        session.close()
