"""What one planned step is made of, on the paper's setting (one plan, usually ZipAR paper s=8):

- ops: step_profile.profile over a generation with graphs off: the aten ops a step and a
  layer ask of torch, and the host reads the sync counter saw inside the planned loop (the
  numbers `zipar bench --profile` reports).
- kernels: torch.profiler with CUDA activity over a generation: GPU activities (kernels,
  memcpy, memset) and their summed GPU time per step, eager and replayed from graphs, beside
  the wall time per step (GPU busy = GPU time / wall time).
- syncs: on CUDA a generation under torch.cuda.set_sync_debug_mode("warn"), each warning
  counted inside or outside the planned loop (step_profile.loop's extent; 0 inside expected).
- logits: every planned step run both ways on the same cache: replayed from its graph (on
  the CPU: "static" mode's buffers) and eagerly (the model's step body); max |difference| of
  the logits, and whether whole generations with graphs and without give the same grid.
"""

import warnings
from typing import List

import numpy as np
import torch

import step_graphs
import step_profile
from llamagen_rows import graph_mode
from models import LlamaGenModel, generate, images_for, open_session, sync, wall_ms
from report import Table, attempt, ms


def _session_run(fam, mode: str, cfg: float, sampling: dict, plan: dict, fn=None):
    """Open a session in `mode`, run fn(session) (default: one generation), close it."""
    step_graphs.set_mode(mode)
    images = images_for(fam)
    session = open_session(fam, images, cfg)
    try:
        if fn is None:
            return generate(fam, session, plan, images, cfg, sampling)
        return fn(session, images)
    finally:
        session.close()


def ops_row(ctx, model: LlamaGenModel, table: Table, plan: dict, cfg: float, sampling: dict):
    fam = model.family
    seen = _session_run(fam, "off", cfg, sampling, plan, lambda session, images:
                        step_profile.profile(lambda: generate(fam, session, plan, images, cfg,
                                                              sampling)))
    per_layer = seen.get("opsPerLayerPerStep")
    syncs = ", ".join(f"{k} ×{v}" for k, v in sorted(seen.get("syncs", {}).items())) or "none"
    table.add("aten ops (step_profile, graphs off)", seen["steps"],
              f"{seen['opsPerStep']:.1f} per step, "
              f"{per_layer:.1f} per layer" if per_layer is not None else
              f"{seen['opsPerStep']:.1f} per step",
              f"host reads in the loop: {seen['syncsPerStep']:.3f} per step ({syncs})")


def gpu_activity(prof) -> tuple:
    """(activities, GPU µs) of the CUDA events of a finished profile."""
    from torch.autograd import DeviceType
    count, us = 0, 0.0
    for e in prof.events():
        if getattr(e, "device_type", None) == DeviceType.CUDA:
            count += 1
            us += e.time_range.elapsed_us()
    return count, us


def kernels_row(ctx, model: LlamaGenModel, table: Table, plan: dict, cfg: float,
                sampling: dict, graphs: bool):
    from torch.profiler import ProfilerActivity, profile
    fam, device = model.family, ctx.device
    mode = graph_mode(device) if graphs else "off"

    def run(session, images):
        if graphs:  # capture outside the profile: the row is about replays
            generate(fam, session, plan, images, cfg, sampling)
        sync(device)
        with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
            wall, _ = wall_ms(device, lambda: generate(fam, session, plan, images, cfg,
                                                       sampling))
        return prof, wall
    prof, wall = _session_run(fam, mode, cfg, sampling, plan, run)
    count, us = gpu_activity(prof)
    steps = plan["passes"]
    gpu = us / 1000 / steps
    label = "kernels, graphs replayed" if graphs else "kernels, eager"
    table.add(label, steps, f"{count / steps:.1f} GPU activities per step, "
              f"GPU {ms(gpu, 3)} ms per step",
              f"wall {ms(wall / steps, 3)} ms per step under the profiler; GPU busy "
              f"{100 * gpu / (wall / steps):.0f}%" + ("" if count else
                                                      "; no kernel was traced"))


class _LoopMarker:
    """Stands in for step_profile's counter: the planned loop flips `on` (loop())."""
    on = False


def warnings_by_loop(run) -> tuple:
    """run() with every warning recorded as raised inside or outside the planned loop ->
    (inside, outside) first lines, known (whether the loop's extent could be told)."""
    marker = _LoopMarker()
    records: List[tuple] = []

    def show(message, category, filename, lineno, file=None, line=None):
        records.append((marker.on, str(message).splitlines()[0][:120]))
    with step_profile.watching(marker):
        with warnings.catch_warnings():
            warnings.simplefilter("always")
            warnings.showwarning = show
            run()
    return [m for on, m in records if on], [m for on, m in records if not on], True


def syncs_row(ctx, model: LlamaGenModel, table: Table, plan: dict, cfg: float,
              sampling: dict, graphs: bool):
    fam, device = model.family, ctx.device
    label = "sync-debug, graphs replayed" if graphs else "sync-debug, eager"
    if device.type != "cuda":
        table.add(label, plan["passes"], "n/a on the CPU",
                  "step_profile's host-read count (aten ops row) is the CPU's measure")
        return

    def run(session, images):
        if graphs:
            generate(fam, session, plan, images, cfg, sampling)  # captured before counting
        sync(device)

        def debugged():
            torch.cuda.set_sync_debug_mode("warn")
            try:
                generate(fam, session, plan, images, cfg, sampling)
            finally:
                torch.cuda.set_sync_debug_mode("default")
        return warnings_by_loop(debugged)
    inside, outside, known = _session_run(fam, graph_mode(device) if graphs else "off", cfg,
                                          sampling, plan, run)
    where = "" if known else " (loop extent unknown: all counted outside)"
    first = f"; first inside: {inside[0]}" if inside else ""
    table.add(label, plan["passes"], f"{len(inside)} inside the loop (0 expected)",
              f"{len(outside)} outside it (index upload, grid read back){where}{first}")


def logits_row(ctx, model: LlamaGenModel, table: Table, plan: dict, cfg: float,
               sampling: dict):
    fam, device = model.family, ctx.device
    diffs, scales = [], []

    def run(session, images):
        real, steps = session.forward, session.steps

        def both(seq, slot, token, want, index=None):
            if index is None:
                return real(seq, slot, token, want, index)
            replayed = steps.run(session.cache, token, index).clone()
            eager = steps.body(session.cache, token, index)
            diffs.append((replayed - eager).abs().max())
            scales.append(eager.abs().max())
            return replayed
        session.forward = both
        try:
            return generate(fam, session, plan, images, cfg, sampling)
        finally:
            del session.forward
    before = dict(step_graphs.STATS)
    _session_run(fam, graph_mode(device), cfg, sampling, plan, run)
    path = "replayed" if step_graphs.STATS["replayed"] > before["replayed"] else "not replayed"
    d = float(torch.stack(diffs).max()) if diffs else float("nan")
    s = float(torch.stack(scales).max()) if scales else float("nan")
    graph_grid = _session_run(fam, graph_mode(device), cfg, sampling, plan)
    eager_grid = _session_run(fam, "off", cfg, sampling, plan)
    same = int(np.sum(graph_grid == eager_grid))
    table.add("logits, graph vs eager", plan["passes"],
              f"max |Δ| {d:.3g} over {len(diffs)} steps (max |logit| {s:.3g}; graphs {path})",
              f"whole generations: {same}/{graph_grid.size} tokens equal")


def anatomy(ctx, model: LlamaGenModel, table: Table, plan: dict, cfg: float, sampling: dict,
            graph_kernels: bool = False):
    """Every row, in order of importance, each within the budget. graph_kernels: only the
    profile of graph replays (CUPTI tracing inside CUDA graphs is the riskiest thing the
    check does, so the driver runs it last)."""
    s = model.shape
    run_s = ctx.costs.seconds(s.name, s.layers, "eager", plan["passes"], 1)
    graph_s = ctx.costs.seconds(s.name, s.layers, "graphs", plan["passes"], 1)
    cuda = ctx.device.type == "cuda"
    rows = [] if graph_kernels else [
        ("aten ops per step", 3 * run_s + 2, lambda: ops_row(ctx, model, table, plan, cfg,
                                                             sampling)),
        ("syncs, graphs replayed", 2 * graph_s + 2,
         lambda: syncs_row(ctx, model, table, plan, cfg, sampling, True)),
        ("logits graph vs eager", 3 * run_s + 2 * graph_s + 2,
         lambda: logits_row(ctx, model, table, plan, cfg, sampling)),
    ]
    if cuda and not graph_kernels:
        rows += [
            ("kernels per step, eager", 4 * run_s + 15,
             lambda: kernels_row(ctx, model, table, plan, cfg, sampling, False)),
            ("syncs, eager", run_s + 2,
             lambda: syncs_row(ctx, model, table, plan, cfg, sampling, False)),
        ]
    if graph_kernels:
        rows = [("kernels per step, graphs", 3 * graph_s + 10,
                 lambda: kernels_row(ctx, model, table, plan, cfg, sampling, True))]
    for what, estimate, fn in rows:
        attempt(ctx.budget, f"{s.name} {what}", estimate, fn,
                lambda text, what=what: table.note((what, plan["passes"]), text), ctx.debug)
    step_graphs.set_mode(graph_mode(ctx.device))
