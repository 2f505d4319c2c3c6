"""The preflight section: what ran the check (versions, the GPU, zipar's revision), which
scaled_dot_product_attention backend torch picks for zipar's step shapes, and whether CUDA
graph capture works (a bare torch.cuda.graph, then zipar's own planned steps on a tiny model:
captured, replayed, and the same grid as eager). Every item is one row of the report."""

import importlib
import os
import platform
import subprocess
import sys

import numpy as np
import torch
import torch.nn.functional as F

import step_graphs
from llamagen_rows import graph_mode
from models import HERE, QUICK, build_llamagen, generate, images_for, open_session, plans_for

PINNED_TRANSFORMERS = "5.24.0"  # backends/python/requirements.txt


def version(name: str) -> str:
    try:
        return getattr(importlib.import_module(name), "__version__", "?")
    except Exception as err:  # noqa: BLE001
        return f"missing ({type(err).__name__})"


def versions() -> str:
    cuda = torch.version.cuda or "none"
    cudnn = torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None
    tf = version("transformers")
    older = ""
    try:
        def key(v):
            return tuple(int(x) for x in v.split(".")[:3])
        if key(tf) < key(PINNED_TRANSFORMERS):
            older = f" (older than the pin {PINNED_TRANSFORMERS})"
        elif key(tf) > key(PINNED_TRANSFORMERS):
            older = f" (newer than the pin {PINNED_TRANSFORMERS})"
    except ValueError:
        pass
    return (f"Python {platform.python_version()} ({sys.executable}), torch {torch.__version__} "
            f"(CUDA {cuda}, cuDNN {cudnn}), triton {version('triton')}, transformers "
            f"{tf}{older}, numpy {np.__version__}, tokenizers {version('tokenizers')}, "
            f"safetensors {version('safetensors')}")


def git_revision() -> str:
    root = os.path.abspath(os.path.join(HERE, "..", ".."))
    try:
        rev = subprocess.run(["git", "-C", root, "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True, timeout=5).stdout.strip()
        dirty = subprocess.run(["git", "-C", root, "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "no git"
    if not rev:
        return "no git checkout"
    return rev + (f" + {len(dirty.splitlines())} changed files" if dirty else "")


def device_line(device: torch.device) -> str:
    if device.type != "cuda":
        return f"CPU ({platform.processor() or platform.machine()}), {torch.get_num_threads()} " \
               f"torch threads"
    p = torch.cuda.get_device_properties(device)
    driver = ""
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=driver_version,clocks.max.sm,"
                              "clocks.max.mem,power.limit", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=10).stdout.strip()
        if out:
            driver = f"; nvidia-smi: driver, max SM / memory clock, power limit = " \
                     f"{out.splitlines()[0]}"
    except (OSError, subprocess.SubprocessError, IndexError):
        pass
    return (f"{p.name}, {p.total_memory / 2**30:.1f} GiB, compute capability "
            f"{p.major}.{p.minor}, {p.multi_processor_count} SMs{driver}")


def sdpa_choice(device: torch.device, dtype: torch.dtype, heads: int, head_dim: int, m: int,
                capacity: int) -> str:
    """The backend torch picks for zipar's attention call (kv_cache.attend: 2 sequences, an
    additive mask over the padded capacity), by torch's chooser and by the profiled op."""
    q = torch.randn(2, heads, m, head_dim, device=device, dtype=dtype)
    k = torch.randn(2, heads, capacity, head_dim, device=device, dtype=dtype)
    mask = torch.zeros(2, 1, m, capacity, device=device, dtype=dtype)
    chooser = "?"
    try:
        from torch.nn.attention import SDPBackend
        chooser = SDPBackend(int(torch._fused_sdp_choice(q, k, k, mask, 0.0, False))).name
    except Exception as err:  # noqa: BLE001 - a private chooser; the profile still says
        chooser = f"chooser unavailable ({type(err).__name__})"
    from torch.profiler import ProfilerActivity, profile
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        F.scaled_dot_product_attention(q, k, k, attn_mask=mask)
    ops = sorted({e.name for e in prof.events()
                  if "attention" in e.name and e.name != "aten::scaled_dot_product_attention"})
    return f"{chooser} (ops: {', '.join(ops) or 'none'})"


def bare_capture(device: torch.device) -> str:
    if device.type != "cuda":
        return "n/a (no CUDA): the graph rows run zipar's \"static\" mode (graph path, eager)"
    x = torch.randn(64, 64, device=device)
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        y = x @ x
    torch.cuda.current_stream().wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        y = x @ x
    x.copy_(torch.eye(64, device=device))
    graph.replay()
    torch.cuda.synchronize(device)
    ok = bool(torch.equal(y, torch.eye(64, device=device)))
    return "ok (a matmul captured and replayed)" if ok else "replay gave a wrong result"


def zipar_capture(ctx) -> str:
    """zipar's planned steps on a tiny model: graphs (static on the CPU) vs eager grids."""
    model = build_llamagen(QUICK["GPT-L"], ctx.device, ctx.dtype)
    fam = model.family
    plan = plans_for(ctx.plans, model.cfg.width, ["paper s=4"])[0]
    images = images_for(fam)
    sampling = {"temperature": 1.0, "topK": 16, "topP": 1.0}
    grids = {}
    before = dict(step_graphs.STATS)
    for mode in (graph_mode(ctx.device), "off"):
        step_graphs.set_mode(mode)
        session = open_session(fam, images, 4.0)
        try:
            grids[mode] = generate(fam, session, plan, images, 4.0, sampling)
            if mode != "off":
                grids[mode] = generate(fam, session, plan, images, 4.0, sampling)
        finally:
            session.close()
        failed = step_graphs.failure()
        if failed:
            return f"capture FAILED, steps ran eagerly: {failed}"
    step_graphs.set_mode(graph_mode(ctx.device))
    d = {k: step_graphs.STATS[k] - before.get(k, 0) for k in step_graphs.STATS}
    same = bool(np.array_equal(grids[graph_mode(ctx.device)], grids["off"]))
    what = "captured" if ctx.device.type == "cuda" else "built (static)"
    count = d["captured"] if ctx.device.type == "cuda" else d["built"]
    ok = count > 0 and d["replayed"] > 0 and same
    return (f"{'ok' if ok else 'NOT OK'}: tiny model, ZipAR paper s=4 plan twice, {count} step "
            f"shapes {what}, {d['replayed']} steps replayed, {d['eager']} eager; grid "
            f"{'equals' if same else 'differs from'} the eager run's")


def janus_import() -> str:
    try:
        import families.janus  # noqa: F401 - registers zipar's attention with transformers
        from transformers import JanusForConditionalGeneration  # noqa: F401
        return "families.janus and transformers' JanusForConditionalGeneration import: ok"
    except Exception as err:  # noqa: BLE001
        return f"families.janus import FAILED: {type(err).__name__}: {str(err)[:200]}"


def items(ctx):
    """(label, function -> text) in order; the driver runs each as a row."""
    d, dt = ctx.device, ctx.dtype
    return [
        ("versions", versions),
        ("zipar", lambda: f"{git_revision()}; plans from zipar {ctx.plans.get('zipar')} "
                          f"(core/plan via make_plans.ts)"),
        ("device", lambda: device_line(d)),
        ("dtype", lambda: f"{str(dt)[6:]} weights, float32 logits; TF32 matmul "
                          f"{torch.backends.cuda.matmul.allow_tf32}, float32 matmul precision "
                          f"{torch.get_float32_matmul_precision()}"),
        ("SDPA, LlamaGen step (16 heads × 64)", lambda: sdpa_choice(d, dt, 16, 64, 4, 592)),
        ("SDPA, Janus-Pro-1B step (16 heads × 128)", lambda: sdpa_choice(d, dt, 16, 128, 4,
                                                                          640)),
        ("graph capture", lambda: bare_capture(d)),
        ("zipar step graphs", lambda: zipar_capture(ctx)),
        ("transformers families", janus_import),
    ]
