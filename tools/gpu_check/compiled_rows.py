"""torch.compile over zipar's per-step body (LlamaGenGPT.forward_step, what a ModelSteps runs
and captures), on a fresh GPT object over the same weights, planned generations as in the
other rows:

- CUDA: Inductor (mode "default") under zipar's own CUDA graphs (cudaGraphs "auto": the
  compiled step is what each graph captures), raster first, then ZipAR paper s=8; then
  mode "reduce-overhead" (Inductor's own CUDA graphs) with zipar's graphs off, raster.
- CPU / --quick: dynamo with backend "eager" (tracing and guards without Inductor's
  compile time), zipar's graphs as the CPU runs them ("static").

Every distinct step shape is a recompile (the step index's host facts are guarded), so the
first generation of a setting pays them all: the row gives it apart from the warm ones, with
the number of graphs dynamo compiled. A failure to compile is the row's "failed:" line.
"""

import time

import torch

import step_graphs
from families.llamagen import LlamaGen
from families.llamagen.gpt import LlamaGenGPT
from llamagen_rows import graph_mode
from models import LlamaGenModel, PAPER_CFG, PAPER_SAMPLING, free_memory, generate, \
    images_for, open_session, plans_for, summary, wall_ms
from report import attempt, ms

COLUMNS = ("compiled", "setting", "passes", "ms/image: median (min–max, n)", "ms/pass",
           "vs graphs warm (uncompiled)", "first generation (compile + capture)")


def raise_recompile_limits() -> None:
    import torch._dynamo
    cfg = torch._dynamo.config
    for name, value in (("recompile_limit", 64), ("cache_size_limit", 64),
                        ("accumulated_recompile_limit", 512),
                        ("accumulated_cache_size_limit", 512)):
        if hasattr(cfg, name):
            setattr(cfg, name, max(getattr(cfg, name), value))


def compiled_graphs() -> int:
    try:
        from torch._dynamo.utils import counters
        return int(counters["stats"]["unique_graphs"])
    except Exception:  # noqa: BLE001 - a count we can do without
        return -1


def compiled_family(model: LlamaGenModel, kwargs: dict) -> LlamaGen:
    gpt = LlamaGenGPT(model.cfg, model.weights, model.device, model.dtype)
    gpt.steps = step_graphs.ModelSteps(torch.compile(gpt.forward_step, **kwargs),
                                       gpt.new_cache, model.device)
    return LlamaGen(f"<compiled {model.shape.name}>", model.cfg, gpt)


def variants(ctx):
    """(label, torch.compile kwargs, cudaGraphs mode, settings, estimated s per setting)."""
    if ctx.device.type == "cuda" and not ctx.quick:
        return [("Inductor default + zipar graphs", {"mode": "default"}, "auto",
                 ["raster", "paper s=8"], [90, 240]),
                ("Inductor reduce-overhead, zipar graphs off", {"mode": "reduce-overhead"},
                 "off", ["raster"], [120])]
    return [("dynamo backend=eager", {"backend": "eager"}, graph_mode(ctx.device),
             ["raster", "paper s=4"], [20, 40])]


def compiled_section(ctx, report, model: LlamaGenModel) -> None:
    raise_recompile_limits()
    table = report.table(*COLUMNS)
    side = model.cfg.width
    reps = 1 if ctx.quick else 2
    for label, kwargs, mode, settings, estimates in variants(ctx):
        box = {}
        for plan, estimate in zip(plans_for(ctx.plans, side, settings), estimates):
            def row(plan=plan):
                if "fam" not in box:
                    step_graphs.set_mode(mode)
                    box["fam"] = compiled_family(model, kwargs)
                    box["images"] = images_for(box["fam"])
                    box["session"] = open_session(box["fam"], box["images"], PAPER_CFG)
                fam, images, session = box["fam"], box["images"], box["session"]
                step_graphs.set_mode(mode)
                graphs0 = compiled_graphs()
                t0 = time.perf_counter()
                generate(fam, session, plan, images, PAPER_CFG, PAPER_SAMPLING)
                ctx.sync()
                first = time.perf_counter() - t0
                graphs = compiled_graphs() - graphs0 if graphs0 >= 0 else None
                times = [wall_ms(ctx.device, lambda: generate(
                    fam, session, plan, images, PAPER_CFG, PAPER_SAMPLING))[0]
                    for _ in range(reps)]
                med = sorted(times)[len(times) // 2]
                warm = ctx.results.get((model.shape.name, "graphs warm", plan["setting"]))
                failed = step_graphs.failure()
                table.add(label, plan["setting"], plan["passes"], summary(times),
                          ms(med / plan["passes"], 2), f"{warm / med:.2f}×" if warm else "–",
                          f"{first:.1f} s" + (f", {graphs} graphs compiled" if graphs else "")
                          + (f"; zipar capture failed: {failed}" if failed else ""))
            attempt(ctx.budget, f"{model.shape.name} compiled ({label}) {plan['setting']}",
                    estimate, row, lambda text, p=plan: table.note(
                        (label, p["setting"], p["passes"]), text), ctx.debug)
        if "session" in box:
            box["session"].close()
        box.clear()
        free_memory(ctx.device)
    step_graphs.set_mode(graph_mode(ctx.device))
