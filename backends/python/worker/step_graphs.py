"""CUDA-graph replay of planned steps: a compiled plan fixes every step's shapes, so the steps of
one shape (the same queries per sequence, groups and widths; raster: every image step) share
one captured graph, fed by copying the step's index tensors into the graph's static inputs.

Modes (the hello's `cudaGraphs`): "auto" (graphs on CUDA for families that declare their
planned forward graph-safe, eager elsewhere), "off" (always eager), "static" (the graph path's
static buffers and copies, run eagerly: what the CPU tests cover, as capture needs CUDA).
Capture is only entered on CUDA. A step is idempotent (it rewrites the same K/V and written
marks from the same inputs), so the eager warm-up before capture and the replay that follows
leave the cache as one run would. A capture that fails (an op that syncs with the host) turns
graphs off for the process with one stderr line; the step runs eagerly.
"""

from dataclasses import fields
from typing import Callable, Dict, Optional, Tuple

import torch

from protocol import log
from step_index import StepIndex

MODES = ("auto", "off", "static")
_state = {"mode": "auto", "failed": None}
STATS = {"captured": 0, "replayed": 0, "eager": 0}  # what the steps did (tests, gpu_check)


def set_mode(mode) -> None:
    if mode is None:
        mode = "auto"
    if mode not in MODES:
        raise ValueError(f"cudaGraphs must be one of {', '.join(MODES)}, got {mode!r}")
    _state["mode"] = mode
    _state["failed"] = None


def mode() -> str:
    return _state["mode"]


def uses_graphs(device: torch.device) -> bool:
    return _state["mode"] == "auto" and device.type == "cuda" and _state["failed"] is None


def _tensors(ix: StepIndex):
    return [(f.name, getattr(ix, f.name)) for f in fields(ix)
            if isinstance(getattr(ix, f.name), torch.Tensor)]


def signature(token: torch.Tensor, ix: StepIndex) -> Tuple:
    """What fixes a step's kernels: every input's shape and the index's host ints."""
    return (tuple(token.shape), ix.useq is None, ix.num_groups, ix.width,
            tuple((name, tuple(t.shape)) for name, t in _tensors(ix)))


class _Static:
    """Static inputs and output of one step shape, and its graph (None in "static" mode)."""

    def __init__(self, token: torch.Tensor, ix: StepIndex):
        self.token = token.clone()
        values = {f.name: getattr(ix, f.name) for f in fields(ix)}
        for name, t in _tensors(ix):
            values[name] = t.clone()
        self.ix = StepIndex(**values)
        self.graph: Optional["torch.cuda.CUDAGraph"] = None
        self.out: Optional[torch.Tensor] = None

    def load(self, token: torch.Tensor, ix: StepIndex):
        self.token.copy_(token)
        for name, t in _tensors(ix):
            getattr(self.ix, name).copy_(t)


class StepGraphs:
    """One session's graphs, by step signature. `body(token, ix) -> logits` is the forward."""

    def __init__(self, body: Callable[[torch.Tensor, StepIndex], torch.Tensor]):
        self.body = body
        self.static: Dict[Tuple, _Static] = {}
        self.pool = None

    def run(self, token: torch.Tensor, ix: StepIndex) -> torch.Tensor:
        """The step's logits; on the graph path a static tensor that the next step of the
        same shape overwrites (planned mode consumes it first)."""
        device = token.device
        if _state["mode"] == "static":
            static = self._static(token, ix)
            static.load(token, ix)
            STATS["eager"] += 1
            return self.body(static.token, static.ix)
        if not uses_graphs(device):
            STATS["eager"] += 1
            return self.body(token, ix)
        key = signature(token, ix)
        static = self.static.get(key)
        if static is None or static.graph is None:
            static = self._static(token, ix)
            static.load(token, ix)
            try:
                return self._capture(static)
            except Exception as err:  # noqa: BLE001 - fall back to eager, said once
                _state["failed"] = f"{type(err).__name__}: {err}".split("\n")[0]
                log(f"CUDA graphs off: capture failed ({_state['failed']}); running eagerly")
                torch.cuda.synchronize(device)
                STATS["eager"] += 1
                return self.body(token, ix)
        static.load(token, ix)
        static.graph.replay()
        STATS["replayed"] += 1
        return static.out

    def _static(self, token: torch.Tensor, ix: StepIndex) -> _Static:
        key = signature(token, ix)
        if key not in self.static:
            self.static[key] = _Static(token, ix)
        return self.static[key]

    def _capture(self, static: _Static) -> torch.Tensor:
        """Warm up on a side stream (lazy tables get built, kernels picked), capture, replay."""
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            self.body(static.token, static.ix)
        torch.cuda.current_stream().wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph, pool=self.pool):
            static.out = self.body(static.token, static.ix)
        self.pool = graph.pool()
        static.graph = graph
        graph.replay()
        STATS["captured"] += 1
        return static.out
