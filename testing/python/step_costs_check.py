"""Check worker/step_profile.py's sync counter and the model-level cache pool (step_graphs.py)
on a tiny random LlamaGen, in one process. Usage: python -m step_costs_check -> one JSON line:

- syncs: what the counter saw of one call of each kind of host read inside the planned loop's
  extent (step_profile.loop), after the same calls outside it (which must not count);
- outsideLoop: reads counted outside the loop (0);
- eagerCacheFreed: a session's KV cache is gone once it is closed and dropped, with the garbage
  collector off (no reference cycle holds it) and graphs off;
- staticCacheReused / keptAtMost: in "static" mode (the graph path) a closed session's cache
  goes back to its model and the next session of its shape gets it; at most KEEP stay idle;
- captureFailure: a capture that fails (here: the CPU asked to capture, as if on CUDA) logs one
  line, the step runs eagerly with the eager path's grid, and later runs never try again;
- layerOpsMarked / layerOpsByDifference: ops per layer per step from the profiler's layer
  ranges, and from the difference of a 2-layer and a 1-layer model's ops per step.
"""

import contextlib
import gc
import io
import json
import sys
import weakref

import numpy as np
import torch

import step_graphs
import step_profile
from families.llamagen import LlamaGen
from families.llamagen.config import ModelConfig, expected_shapes, preset_hidden
from families.llamagen.gpt import LlamaGenGPT
from planner import run_plan

SIDE = 4


def tiny(layers: int) -> LlamaGen:
    cfg = ModelConfig(dim=32, layers=layers, heads=4, hidden=preset_hidden(32), vocab=64,
                      num_classes=10, height=SIDE, width=SIDE, preset=None)
    gen = torch.Generator().manual_seed(0)
    weights = {k: torch.randn(shape, generator=gen) * 0.5 for k, shape in
               expected_shapes(cfg).items()}
    return LlamaGen("<tiny>", cfg, LlamaGenGPT(cfg, weights, torch.device("cpu"),
                                               torch.float32))


def raster_plan():
    cells = SIDE * SIDE
    return {"stepStart": np.arange(cells + 1, dtype=np.int32),
            "slot": np.arange(cells, dtype=np.int32),
            "input": np.arange(-1, cells - 1, dtype=np.int32),
            "predicts": np.arange(cells, dtype=np.int32)}


def generate(model: LlamaGen, session, cfg: float = 4.0):
    images = [{"condition": 3, "seed": 1, "index": 0}]
    header = {"height": SIDE, "width": SIDE, "images": images, "cfgScale": cfg,
              "sampling": {"temperature": 1.0, "topK": 8, "topP": 0.9}, "progressEvery": 0}
    return run_plan(model, session, header, raster_plan(), lambda done: None)


def reads():
    x = torch.arange(4.0)
    x[0].item()
    x.tolist()
    x.numpy()
    x.cpu()
    bool(x[0])
    _ = x[x > 1]
    torch.nonzero(x)
    torch.tensor([1])
    x.to("meta")


def main(argv):
    out = {}
    seen = step_profile.profile(lambda: (reads(), _in_loop(reads)))
    out["syncs"] = seen["syncs"]
    out["outsideLoop"] = sum(seen["syncs"].values()) - 9

    gc.disable()
    step_graphs.set_mode("off")
    model = tiny(2)
    session = model.open(model.conditions_for([{"condition": 3}], 4.0))
    generate(model, session)
    cache = weakref.ref(session.cache)
    session.close()
    del session
    out["eagerCacheFreed"] = cache() is None
    gc.enable()

    step_graphs.set_mode("static")
    model = tiny(2)
    first = model.open(model.conditions_for([{"condition": 3}], 4.0))
    generate(model, first)
    kept = first.cache
    first.close()
    second = model.open(model.conditions_for([{"condition": 5}], 4.0))
    out["staticCacheReused"] = second.cache is kept
    second.close()
    sessions = [model.open([{"condition": c}] * n) for n, c in ((1, 1), (3, 2), (4, 3), (5, 4))]
    for s in sessions:
        s.close()
    out["keptAtMost"] = model.steps.cached()
    step_graphs.set_mode("off")

    out["captureFailure"] = capture_failure()

    per_step = {}
    for layers in (1, 2):
        model = tiny(layers)
        session = model.open(model.conditions_for([{"condition": 3}], 4.0))
        per_step[layers] = step_profile.profile(lambda: generate(model, session))
        session.close()
    out["layerOpsMarked"] = per_step[2]["opsPerLayerPerStep"]
    out["layerOpsByDifference"] = per_step[2]["opsPerStep"] - per_step[1]["opsPerStep"]
    print(json.dumps(out))
    return 0


def capture_failure() -> dict:
    """Graphs "on" for the CPU: the capture fails (no CUDA streams here), as one would on a GPU
    whose step synced with the host."""
    step_graphs.set_mode("off")
    model = tiny(2)
    session = model.open(model.conditions_for([{"condition": 3}], 4.0))
    eager = generate(model, session)
    session.close()
    real = step_graphs.uses_graphs
    step_graphs.uses_graphs = lambda device: (step_graphs.mode() == "auto"
                                              and step_graphs.failure() is None)
    err = io.StringIO()
    try:
        step_graphs.set_mode("auto")
        grids, before = [], dict(step_graphs.STATS)
        with contextlib.redirect_stderr(err):
            for _ in range(2):
                session = model.open(model.conditions_for([{"condition": 3}], 4.0))
                grids.append(generate(model, session))
                session.close()
    finally:
        step_graphs.uses_graphs = real
        step_graphs.set_mode("off")
    lines = [line for line in err.getvalue().splitlines() if line]
    return {"lines": len(lines), "said": lines[0] if lines else "",
            "sameGrids": all(bool((g == eager).all()) for g in grids),
            "captured": step_graphs.STATS["captured"] - before["captured"]}


def _in_loop(fn):
    with step_profile.loop():
        fn()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
