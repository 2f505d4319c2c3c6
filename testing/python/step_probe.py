"""A step-time and allocation probe of planned mode (tests and reports, not the worker).

Runs a compiled plan (core/plan's EncodedPlan) on a model exactly as the worker's `plan`
request does (planner.run_plan), with every session forward timed and a window of steps run
under torch's profiler with memory profiling: the largest single allocation made during a step
is what tells whether a step copies the KV cache (a copy of one layer's keys is
`layerKeyBytes`; a step that repeats grouped K/V heads, or gathers a cache, allocates at least
that). Reports the process's peak RSS too.

Usage (worker/ and testing/python/ on PYTHONPATH): python -m step_probe MODEL SPEC.json
   -> JSON on stdout
SPEC.json: {"images": [{condition, seed, index}], "cfgScale", "sampling", "grid": "HxW"|null,
            "plan": {height, width, stepStart, slot, input, predicts} (lists of ints),
            "profile": [first step, end step)}
"""

import json
import resource
import sys
import time

import numpy as np
import torch
from torch.profiler import ProfilerActivity, profile

import families
from families.family import LoadOptions
from planner import run_plan


def largest_allocation(prof) -> int:
    """Bytes of the largest single allocation among a profile's memory events."""
    sizes = [e.cpu_memory_usage for e in prof.events() if e.cpu_memory_usage > 0]
    return int(max(sizes, default=0))


def probe(model: str, spec: dict) -> dict:
    torch.set_num_threads(1)  # steady under a loaded CPU; the probe measures bytes, not speed
    options = LoadOptions(torch.device("cpu"), torch.float32, grid=spec.get("grid"))
    family = families.load_family(model, options)
    images, cfg = spec["images"], float(spec["cfgScale"])
    session = family.open(family.conditions_for(images, cfg))
    first, end = spec["profile"]
    times, largest, calls = [], 0, [0]
    forward = session.forward

    def timed(*args, **kwargs):
        nonlocal largest
        j = calls[0]
        calls[0] += 1
        start = time.perf_counter()
        if first <= j < end:
            with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
                out = forward(*args, **kwargs)
            largest = max(largest, largest_allocation(prof))
        else:
            out = forward(*args, **kwargs)
            times.append(time.perf_counter() - start)
        return out

    session.forward = timed
    plan = spec["plan"]
    arrays = {k: np.asarray(plan[k], dtype=np.int32)
              for k in ("stepStart", "slot", "input", "predicts")}
    header = {"height": plan["height"], "width": plan["width"], "images": images,
              "cfgScale": cfg, "sampling": spec["sampling"]}
    grids = run_plan(family, session, header, arrays, lambda done: None)
    cache = session.cache
    layer_key = cache.kv[0][0].numel() * cache.kv[0].element_size()  # one layer's keys
    ms = np.array(times) * 1000
    quarter = max(1, len(ms) // 4)
    return {"steps": calls[0], "capacity": int(cache.capacity), "sequences": cache.num_seqs,
            "layerKeyBytes": int(layer_key), "cacheBytes": int(2 * layer_key * len(cache.kv)),
            "largestStepAllocation": largest, "profiledSteps": [first, end],
            "stepMs": {"firstQuarter": float(np.median(ms[:quarter])),
                       "lastQuarter": float(np.median(ms[-quarter:]))},
            "peakRssBytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
            "cellsDecoded": int((grids >= 0).sum())}


def main(argv) -> int:
    model, spec_path = argv[:2]
    with open(spec_path, encoding="utf-8") as f:
        spec = json.load(f)
    json.dump(probe(model, spec), sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
