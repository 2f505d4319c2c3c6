"""What a loaded model keeps across generations: its KV caches by shape, and the CUDA graphs of
its planned steps captured over them (one ModelSteps per family object).

A compiled plan fixes every step's shapes, so the steps of one shape (the same queries per
sequence, groups and widths; raster: every image step) share one captured graph, fed by copying
the step's packed index block (device_pack) and its tokens into the graph's static inputs. A
graph bakes in the addresses of the KV cache it ran over, so graphs are keyed by cache and step
shape, and the caches they use belong to the model, not to a session: a session borrows a cache
of its shape (acquire) and gives it back when it closes (release). Every later generation of
the same shape (a batch's groups, the bench's rounds, a long-running worker) replays the graphs
already captured. At most KEEP idle caches stay, with their graphs; older ones are dropped.
Without graphs (the CPU, cudaGraphs "off") nothing is kept: a session's cache is freed when
the session closes (nothing refers back to a session, so no cycle keeps it alive).

Modes (the hello's `cudaGraphs`): "auto" (graphs on CUDA, eager elsewhere), "off" (always
eager), "static" (the graph path's caches, static buffers and copies, run eagerly: what the CPU
tests cover, as capture needs CUDA). A step is idempotent (it rewrites the same K/V and written
marks from the same inputs), so the eager warm-up before capture and the replay that follows
leave the cache as one run would. A capture that fails (an op that syncs with the host) turns
graphs off for the process with one stderr line; steps then run eagerly, never retried.
"""

from dataclasses import fields, is_dataclass
from typing import Callable, Dict, List, Optional, Tuple

import torch

from device_pack import block_of, rebind
from kv_cache import SlotKVCache, padded
from protocol import log

MODES = ("auto", "off", "static")
KEEP = 2  # idle caches a model keeps (with their graphs) for the next generations
BUCKET = 64  # capacity multiple of kept caches
_state = {"mode": "auto", "failed": None}
# What the steps did (tests, gpu_check, bench --profile): graphs captured on CUDA, static input
# sets built ("static" mode's captures), replays, eager steps.
STATS = {"captured": 0, "built": 0, "replayed": 0, "eager": 0}

Body = Callable[[SlotKVCache, torch.Tensor, object], torch.Tensor]


def set_mode(mode) -> None:
    if mode is None:
        mode = "auto"
    if mode not in MODES:
        raise ValueError(f"cudaGraphs must be one of {', '.join(MODES)}, got {mode!r}")
    _state["mode"] = mode
    _state["failed"] = None


def mode() -> str:
    return _state["mode"]


def failure() -> Optional[str]:
    """Why graphs are off for this process (the failed capture's one line), or None."""
    return _state["failed"]


def uses_graphs(device: torch.device) -> bool:
    return _state["mode"] == "auto" and device.type == "cuda" and _state["failed"] is None


def keeps_caches(device: torch.device) -> bool:
    """Whether steps may be captured (or, in "static" mode, set up as if) over a cache."""
    return _state["mode"] == "static" or uses_graphs(device)


_FIELD_NAMES: Dict[type, Tuple[str, ...]] = {}  # an index class -> its field names, read once


def signature(token: torch.Tensor, ix) -> Tuple:
    """What fixes a step's kernels: the shapes of its tensors and the index's host facts. Runs
    every step on the graph path, so a class's fields are looked up once, not per step."""
    def walk(item):
        names = _FIELD_NAMES.get(type(item))
        if names is None:
            names = _FIELD_NAMES[type(item)] = tuple(f.name for f in fields(item))
        out = []
        for name in names:
            v = getattr(item, name)
            if isinstance(v, torch.Tensor):
                out.append((name, tuple(v.shape)))
            elif is_dataclass(v) and not isinstance(v, type):
                out.append((name, walk(v)))
            else:
                out.append((name, v))
        return tuple(out)
    return tuple(token.shape), walk(ix)


class _Static:
    """The static inputs and output of one step shape over one cache, and its graph."""

    def __init__(self, token: torch.Tensor, ix):
        self.token = token.clone()
        self.block = block_of(ix).clone()
        self.ix = rebind(ix, self.block)
        self.graph: Optional["torch.cuda.CUDAGraph"] = None
        self.out: Optional[torch.Tensor] = None

    def load(self, token: torch.Tensor, ix):
        self.token.copy_(token)
        self.block.copy_(block_of(ix))


class ModelSteps:
    """A model's caches and step graphs. body(cache, token, ix) -> logits is the step forward
    (the model's, never a session's); new_cache(num_seqs, capacity, offset) makes a cache."""

    def __init__(self, body: Body, new_cache: Callable[..., SlotKVCache],
                 device: torch.device):
        self.body, self.new_cache, self.device = body, new_cache, device
        self.static: Dict[Tuple, _Static] = {}  # (id(cache), signature) -> static set
        self.idle: List[SlotKVCache] = []  # kept caches not lent, least recently used first
        self.lent: Dict[int, SlotKVCache] = {}  # id -> kept caches lent to open sessions
        self.pool = None  # the graphs' shared memory pool

    def acquire(self, num_seqs: int, capacity: int, offset=None) -> SlotKVCache:
        """A cache for a new session, emptied: an idle kept one of its shape, else a new one.
        Kept caches round capacity up to BUCKET, so prompts of near lengths share graphs."""
        keep = keeps_caches(self.device)
        size = -(-capacity // BUCKET) * BUCKET if keep else capacity
        for cache in self.idle:
            if cache.num_seqs == num_seqs and cache.capacity == padded(size):
                self.idle.remove(cache)
                cache.reset()
                cache.set_offset(offset)
                break
        else:
            cache = self.new_cache(num_seqs, size, offset)
        cache.needed = capacity
        if keep:
            self.lent[id(cache)] = cache
        return cache

    def release(self, cache: SlotKVCache):
        """A session is done with its cache: kept (with its graphs) while graphs are in use,
        else forgotten here (freed once the session is gone)."""
        if self.lent.pop(id(cache), None) is None:
            return
        if keeps_caches(cache.device):
            self.idle.append(cache)
        else:
            self._drop(cache)
        while len(self.idle) > KEEP:
            self._drop(self.idle.pop(0))

    def _drop(self, cache: SlotKVCache):
        for key in [k for k in self.static if k[0] == id(cache)]:
            del self.static[key]

    def cached(self) -> int:
        """Caches this model keeps (lent or idle)."""
        return len(self.idle) + len(self.lent)

    def run(self, cache: SlotKVCache, token: torch.Tensor, ix) -> torch.Tensor:
        """A planned step's logits (ix packed); on the graph path a static tensor that the
        next step of the same shape overwrites (planned mode consumes it first)."""
        if _state["mode"] == "static" and id(cache) in self.lent:
            static = self._static(cache, token, ix)
            static.load(token, ix)
            STATS["replayed"] += 1
            return self.body(cache, static.token, static.ix)
        if not uses_graphs(cache.device) or id(cache) not in self.lent:
            STATS["eager"] += 1
            return self.body(cache, token, ix)
        static = self._static(cache, token, ix)
        static.load(token, ix)
        if static.graph is None:
            try:
                return self._capture(cache, static)
            except Exception as err:  # noqa: BLE001 - fall back to eager, said once
                _state["failed"] = f"{type(err).__name__}: {err}".split("\n")[0]
                log(f"CUDA graphs off: capture failed ({_state['failed']}); running eagerly")
                if cache.device.type == "cuda":
                    torch.cuda.synchronize(cache.device)
                self.static.clear()
                STATS["eager"] += 1
                return self.body(cache, token, ix)
        static.graph.replay()
        STATS["replayed"] += 1
        return static.out

    def _static(self, cache: SlotKVCache, token: torch.Tensor, ix) -> _Static:
        key = (id(cache), signature(token, ix))
        if key not in self.static:
            self.static[key] = _Static(token, ix)
            if _state["mode"] == "static":
                STATS["built"] += 1
        return self.static[key]

    def _capture(self, cache: SlotKVCache, static: _Static) -> torch.Tensor:
        """Warm up on a side stream (lazy tables get built, kernels picked), capture, replay."""
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            self.body(cache, static.token, static.ix)
        torch.cuda.current_stream().wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph, pool=self.pool):
            static.out = self.body(cache, static.token, static.ix)
        self.pool = graph.pool()
        static.graph = graph
        graph.replay()
        STATS["captured"] += 1
        return static.out
