"""What a planned generation costs per step: launched ops (torch's profiler) and host reads
(a sync counter), the numbers `zipar bench --profile` reports and the op budget's check
(testing/python/step_ops_check.py) asserts. The same counts on a CPU and a GPU: they are what
the worker's Python asks of torch, not timings.

- ops: the profiler's top-level aten ops inside a step (planner's "zipar.step" ranges), a pure
  view (view, slice, expand, transpose, ...) counting only for the copies it makes; ops inside a
  decoder layer ("zipar.layer" ranges) give the per-layer count.
- syncs: inside the planned loop, every call that makes the host wait for the device or hand
  it host data: item, tolist, numpy, cpu, bool/int/float of a tensor (Python branching on a
  device value), nonzero, boolean-mask indexing, tensors made from host data (torch.tensor,
  as_tensor, from_numpy) and host-to-device copies. On a GPU, torch.cuda.set_sync_debug_mode
  ("warn") confirms it from the driver's side.

The ranges are only opened while a profile runs (scope() is a no-op otherwise), so the fast
path pays one branch per step.
"""

import contextlib
import os
import sys
from typing import Callable, Dict, Optional

import torch
from torch.overrides import TorchFunctionMode

STEP, LAYER = "zipar.step", "zipar.layer"

# aten ops that launch nothing of their own: views, allocations, metadata. One counts only for
# what its children launch (a reshape that has to copy counts its copy).
VIEWS = {
    "aten::view", "aten::_unsafe_view", "aten::reshape", "aten::_reshape_alias", "aten::expand",
    "aten::expand_as", "aten::slice", "aten::select", "aten::narrow", "aten::as_strided",
    "aten::t", "aten::transpose", "aten::permute", "aten::squeeze", "aten::unsqueeze",
    "aten::chunk", "aten::split", "aten::split_with_sizes", "aten::unbind", "aten::alias",
    "aten::detach", "aten::view_as_complex", "aten::view_as_real", "aten::view_as",
    "aten::contiguous", "aten::to", "aten::empty", "aten::empty_like", "aten::empty_strided",
    "aten::resolve_conj", "aten::resolve_neg", "aten::lift_fresh", "aten::numpy_T",
    "aten::result_type", "aten::flatten", "aten::unflatten", "aten::movedim", "aten::_to_dense",
}


def profiling() -> bool:
    return torch.autograd._profiler_enabled()


def scope(name: str):
    """A profiler range while a profile runs, else nothing."""
    return torch.profiler.record_function(name) if profiling() else contextlib.nullcontext()


def launches(event) -> int:
    """Ops an aten event launches: 1 unless it is a view, whose children are counted."""
    if event.name not in VIEWS:
        return 1
    return sum(launches(c) for c in event.cpu_children if c.name.startswith("aten::"))


def count_ops(events) -> Dict[str, int]:
    """Top-level aten ops inside STEP and LAYER ranges, and how many ranges of each."""
    out = {"steps": 0, "layers": 0, "stepOps": 0, "layerOps": 0}
    for e in events:
        if e.name == STEP:
            out["steps"] += 1
        elif e.name == LAYER:
            out["layers"] += 1
        if not e.name.startswith("aten::"):
            continue
        inside, parent = set(), e.cpu_parent
        while parent is not None:
            if parent.name.startswith("aten::"):
                break  # not top-level: counted with its parent
            inside.add(parent.name)
            parent = parent.cpu_parent
        else:
            if STEP in inside:
                n = launches(e)
                out["stepOps"] += n
                out["layerOps"] += n if LAYER in inside else 0
    return out


SYNC_METHODS = {
    "item", "tolist", "numpy", "cpu", "__bool__", "__int__", "__float__", "__index__",
    "__array__", "nonzero", "argwhere", "masked_select", "unique",
}
UPLOADS = {"tensor", "as_tensor", "from_numpy", "asarray"}


class SyncCounter(TorchFunctionMode):
    """Counts the host reads and uploads the worker's Python asks for while `on`."""

    def __init__(self):
        super().__init__()
        self.on = False
        self.count = 0
        self.seen: Dict[str, int] = {}

    def _hit(self, name: str):
        self.count += 1
        self.seen[name] = self.seen.get(name, 0) + 1

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if self.on:
            name = getattr(func, "__name__", str(func))
            if name in SYNC_METHODS or name in UPLOADS:
                self._hit(name)
            elif name in ("to", "copy_") and _crosses(func, args, kwargs):
                self._hit(name)
            elif name in ("__getitem__", "__setitem__") and len(args) > 1 \
                    and _bool_index(args[1]):
                self._hit(name + "[bool]")
        return func(*args, **kwargs)


def _crosses(func, args, kwargs) -> bool:
    """A .to() to another device, or a copy_ from one."""
    if getattr(func, "__name__", "") == "copy_":
        return len(args) > 1 and isinstance(args[1], torch.Tensor) \
            and args[1].device != args[0].device
    target = kwargs.get("device")
    for a in args[1:]:
        if isinstance(a, (torch.device, str)):
            target = a
    return target is not None and torch.device(target) != args[0].device


def _bool_index(index) -> bool:
    items = index if isinstance(index, tuple) else (index,)
    return any(isinstance(i, torch.Tensor) and i.dtype == torch.bool for i in items)


_active: Dict[str, Optional[SyncCounter]] = {"counter": None}


@contextlib.contextmanager
def watching(marker):
    """While inside, the planned loop flips `marker.on` (True inside its extent) instead of a
    profile's counter: how tools/gpu_check tells warnings raised inside the loop from those
    outside it."""
    saved = _active["counter"]
    _active["counter"] = marker
    try:
        yield marker
    finally:
        _active["counter"] = saved


@contextlib.contextmanager
def loop():
    """The planned loop's extent: syncs are counted inside it while a counter runs."""
    counter = _active["counter"]
    if counter is None:
        yield
        return
    counter.on = True
    try:
        yield
    finally:
        counter.on = False


@contextlib.contextmanager
def _quiet_stderr():
    sys.stderr.flush()
    saved = os.dup(2)
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(null)


def profile(run: Callable[[], object]) -> Dict[str, object]:
    """Run a planned generation under the profiler and the sync counter. Returns the result
    and {"opsPerStep", "opsPerLayerPerStep", "syncsPerStep", "steps", "syncs"}."""
    counter = SyncCounter()
    prof = torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU])
    with _quiet_stderr():  # the profiler's library prints a line at start and at stop
        prof.start()
    _active["counter"] = counter
    try:
        with counter:
            result = run()
    finally:
        _active["counter"] = None
        with _quiet_stderr():
            prof.stop()
    ops = count_ops(prof.events())
    steps = max(ops["steps"], 1)
    per_layer = ops["layerOps"] / ops["layers"] if ops["layers"] else None
    return {
        "result": result,
        "steps": ops["steps"],
        "opsPerStep": ops["stepOps"] / steps,
        "opsPerLayerPerStep": per_layer,
        "syncsPerStep": counter.count / steps,
        "syncs": dict(counter.seen),
    }
