"""zipar's prepared GPU check: one run of about 8 minutes on one NVIDIA H100/H200 (Python with
torch and transformers; no Deno, no network) that drives the real worker code
(backends/python/worker: the LlamaGen GPT forward, the slot KV cache, planned mode's run_plan,
the keyed sampler, CUDA-graph capture and replay, the Janus family) with plans compiled by
zipar's core beforehand (plans.json, from make_plans.ts), on random models of published shapes,
and writes a Markdown report, flushed after every row.

    python3 tools/gpu_check/driver.py REPORT.md                     # CUDA, bf16, everything
    python3 tools/gpu_check/driver.py REPORT.md --llamagen-src ~/LlamaGen   # + official peer
    python3 tools/gpu_check/driver.py --quick --device cpu --out r.md      # tiny shapes (tests)

Sections, in order of importance (the budget drops rows from the end, and says which):
preflight (preflight.py); LlamaGen GPT-L-shaped, the paper's setting (24×24, CFG 4, top-k
2000, T 1, batch 1): raster vs ZipAR s = 4/8/16 ideal and paper, graphs warm and eager
(llamagen_rows.py); the per-pass curve beside the memory-bandwidth floor (probes.py); a
Janus-Pro-1B-shaped model, zipar vs transformers' own loop (janus_rows.py); the official
LlamaGen generate() on the same weights, eager and compiled, with --llamagen-src
(official_llamagen.py); step anatomy: ops, kernels and GPU time per step, syncs, eager-vs-graph
logits (anatomy.py); graphs cold (llamagen_rows.py); torch.compile over the step body
(compiled_rows.py); GPT-B and GPT-XL; last, on CUDA, the kernels of graph replays (the one
profile that traces inside CUDA graphs). The report and the budget: report.py; shapes,
weights, plans, timing: models.py. --quick runs every section on tiny shapes (8×8 LlamaGen,
4×4 Janus) in seconds: what gpu_check_test.ts checks on the CPU.
"""

import argparse
import os
import signal
import sys
import tempfile
import time

import models  # noqa: F401 - puts the worker on sys.path first
import torch

import anatomy
import compiled_rows
import janus_rows
import llamagen_rows
import official_llamagen
import preflight
import probes
from models import FULL, PAPER_CFG, PAPER_SAMPLING, QUICK, QUICK_SETTINGS, Costs, \
    build_llamagen, free_memory, load_plans, plans_for, sync
from report import Budget, Report, attempt, one_line

DEFAULT_BUDGET_S = 420.0  # run.sh kills at 470 s: room for the row running at the end
TOKENS_PER_PASS = [1, 2, 4, 8, 16, 32, 64]
NO_MODEL = "skipped: no GPT-L-shaped model (its build was skipped or failed above)"
NOTES = [
    "ms/image: one planned generation (run_plan as the worker's `plan` request runs it: index "
    "upload, every step, the grid read back), wall time with the device synchronised; median "
    "(min–max, n) of the timed runs.",
    "speedup = raster's ms / the row's, same mode; speedup ÷ pass ratio = the share of the "
    "pass reduction that became wall time (the paper reports ~0.9 for s = 8 on an A100).",
    "graph steps captured/replayed/eager: step_graphs.STATS over the row (warm-up included).",
    "Random weights of the published shapes: timings and counts are the models'; grids are "
    "not images.",
]


class Check:
    """What every section reads: device, dtype, plans, the report, the budget, the cost model,
    and the medians measured so far (results[(model, mode, setting)] = ms) for later rows."""

    def __init__(self, args, device: torch.device, dtype: torch.dtype, report: Report,
                 budget: Budget):
        self.args, self.device, self.dtype = args, device, dtype
        self.quick, self.debug = args.quick, args.debug
        self.plans = load_plans(args.plans)
        self.report, self.budget = report, budget
        self.costs = Costs(device)
        self.results = {}
        self.shapes = QUICK if args.quick else FULL

    def sync(self) -> None:
        sync(self.device)


def section(ctx: Check, title: str, body) -> None:
    """A `## title` section; an error outside its rows is written there and the check goes on."""
    ctx.report.heading(2, title)
    try:
        body()
    except Exception as err:  # noqa: BLE001 - the report says what failed
        ctx.budget.failed.append(title)
        if ctx.debug:
            import traceback
            traceback.print_exc()
        ctx.report.item(f"failed: {one_line(err)}")
    free_memory(ctx.device)


def paper_rows(ctx: Check, model, modes: dict, settings=None) -> None:
    """The raster vs ZipAR table of a model; modes: {mode: timed runs per row}."""
    s = model.shape
    ctx.report.line(f"{s.describe()}; CFG {PAPER_CFG:g}, top-k {PAPER_SAMPLING['topK']}, "
                    f"T {PAPER_SAMPLING['temperature']:g}, batch 1"
                    + ("" if ctx.device.type == "cuda" else "; no CUDA: \"graphs\" rows run "
                       "zipar's static mode (the graph path's buffers, eagerly)"))
    ctx.report.line()
    table = ctx.report.table(*llamagen_rows.COLUMNS)
    rows = llamagen_rows.GenerationRows(ctx, model, table, PAPER_CFG, PAPER_SAMPLING)
    plans = plans_for(ctx.plans, s.side, settings)
    llamagen_rows.generation_table(ctx, rows, modes, plans)


def build(ctx: Check, name: str):
    """The model of a shape, or None (the report says why)."""
    shape = ctx.shapes[name]
    box = {}

    def run():
        t0 = time.perf_counter()
        box["model"] = build_llamagen(shape, ctx.device, ctx.dtype)
        ctx.sync()
        ctx.report.item(f"{shape.name} built on {ctx.device.type} in {str(ctx.dtype)[6:]} in "
                        f"{time.perf_counter() - t0:.1f} s")
    attempt(ctx.budget, f"{shape.name} build", 2 if ctx.quick else 5 + shape.layers / 4, run,
            ctx.report.item, ctx.debug)
    return box.get("model")


def other_size(ctx: Check, name: str) -> None:
    model = build(ctx, name)
    if model is None:
        return
    paper_rows(ctx, model, {"graphs warm": 1 if ctx.quick else 2, "eager": 1},
               QUICK_SETTINGS[:2] if ctx.quick else None)
    del model


def anatomy_plan(ctx: Check, shape) -> dict:
    return plans_for(ctx.plans, shape.side, ["paper s=4" if ctx.quick else "paper s=8"])[0]


def run_check(ctx: Check) -> None:
    report, budget, device = ctx.report, ctx.budget, ctx.device
    L = ctx.shapes["GPT-L"]

    def preflight_rows():
        for label, fn in preflight.items(ctx):
            attempt(budget, f"preflight {label}", None,
                    lambda fn=fn, label=label: report.item(f"{label}: {fn()}"),
                    lambda text, label=label: report.item(f"{label}: {text}"), ctx.debug)
    section(ctx, "Preflight", preflight_rows)

    box = {}

    def paper():
        box["L"] = build(ctx, "GPT-L")
        if box["L"] is not None:
            paper_rows(ctx, box["L"], {"graphs warm": 1 if ctx.quick else 3, "eager": 1},
                       QUICK_SETTINGS if ctx.quick else None)
    section(ctx, f"LlamaGen {L.name}, the paper's setting: raster vs ZipAR", paper)
    model = box.get("L")

    def curve():
        gbs = {}

        def bw():
            gbs["v"] = probes.bandwidth(device, ctx.quick)
            report.item(f"memory bandwidth (device copy, read + write): {gbs['v']:.0f} GB/s")
        attempt(budget, "bandwidth probe", 1 if ctx.quick else 3, bw, report.item, ctx.debug)
        report.line()
        table = report.table("tokens per pass (per sequence)", "queries (2 sequences)",
                             "graph replay ms", "eager ms", "floor ms (bytes ÷ bandwidth)",
                             "graph ÷ floor", "graph ÷ 1-token pass")
        ks = [1, 4, 16] if ctx.quick else TOKENS_PER_PASS
        probes.curve(ctx, model, table, ks, gbs.get("v"))
    section(ctx, f"Per-pass curve and the memory-bandwidth floor ({L.name})",
            curve if model else lambda: report.item(NO_MODEL))

    if ctx.args.no_janus:
        section(ctx, "Janus vs transformers' own image loop",
                lambda: report.item("skipped: --no-janus"))
    else:
        section(ctx, "Janus vs transformers' own image loop",
                lambda: janus_rows.janus_section(ctx, report))

    def peer():
        if not ctx.args.llamagen_src:
            report.item("skipped: no --llamagen-src DIR (a checkout of "
                        "github.com/FoundationVision/LlamaGen; not shipped with zipar)")
        elif model is None:
            report.item(NO_MODEL)
        else:
            official_llamagen.peer_section(ctx, report, model, ctx.args.llamagen_src)
    section(ctx, f"Official LlamaGen generate() on the same weights ({L.name}, peer)", peer)

    def steps():
        plan = anatomy_plan(ctx, L)
        report.line(f"ZipAR {plan['setting']}, {plan['passes']} passes, the paper's setting.")
        report.line()
        table = report.table("what", "steps", "per step", "notes")
        anatomy.anatomy(ctx, model, table, plan, PAPER_CFG, PAPER_SAMPLING)
    section(ctx, f"Step anatomy: ops, kernels, syncs, logits ({L.name})",
            steps if model else lambda: report.item(NO_MODEL))

    def cold():
        paper_rows(ctx, model, {"graphs cold": 1}, QUICK_SETTINGS[:2] if ctx.quick else None)
    section(ctx, f"Graphs cold: a fresh model object per generation ({L.name})",
            cold if model else lambda: report.item(NO_MODEL))

    section(ctx, f"torch.compile over the step body ({L.name})",
            (lambda: compiled_rows.compiled_section(ctx, report, model)) if model
            else lambda: report.item(NO_MODEL))

    for name in ("GPT-B", "GPT-XL"):
        section(ctx, f"LlamaGen {ctx.shapes[name].name}: raster vs ZipAR",
                lambda name=name: other_size(ctx, name))

    if device.type == "cuda":  # last: CUPTI tracing inside graphs is the riskiest row
        def graph_kernels():
            table = report.table("what", "steps", "per step", "notes")
            anatomy.anatomy(ctx, model, table, anatomy_plan(ctx, L), PAPER_CFG,
                            PAPER_SAMPLING, graph_kernels=True)
        section(ctx, f"Step anatomy, last: kernels of graph replays ({L.name})",
                graph_kernels if model else lambda: report.item(NO_MODEL))
    box.clear()


def finish(ctx: Check) -> None:
    b, report = ctx.budget, ctx.report
    report.heading(2, "Budget")
    report.item(f"wall time {b.elapsed():.0f} s of the {ctx.args.budget_s:.0f} s budget")
    report.item(f"rows skipped for the budget: {len(b.skipped)}"
                + (f" ({'; '.join(b.skipped)})" if b.skipped else ""))
    if b.stopped:
        report.item(f"rows stopped past the budget: {'; '.join(b.stopped)}")
    report.item(f"failed rows: {len(b.failed)}" + (f" ({'; '.join(b.failed)})" if b.failed
                                                    else ""))
    report.heading(2, "Notes")
    for note in NOTES:
        report.line(f"- {note}")
    report.flush()


def parse(argv):
    p = argparse.ArgumentParser(description="zipar GPU check (tools/gpu_check)")
    p.add_argument("report", nargs="?", help="the report's path (Markdown)")
    p.add_argument("--out", help="the report's path (same as the positional argument)")
    p.add_argument("--device", default="cuda")
    p.add_argument("--dtype", default=None, help="default: bfloat16 on CUDA, float32 on CPU")
    p.add_argument("--quick", action="store_true", help="tiny shapes, seconds (tests)")
    p.add_argument("--budget-s", type=float, default=DEFAULT_BUDGET_S)
    p.add_argument("--plans", default=os.path.join(models.HERE, "plans.json"))
    p.add_argument("--llamagen-src", metavar="DIR",
                   help="a checkout of github.com/FoundationVision/LlamaGen: peer rows")
    p.add_argument("--no-janus", action="store_true")
    p.add_argument("--stop-after-rows", type=int, default=None,
                   help="exit (status 3) right after N rows are written, as a kill would")
    p.add_argument("--debug", action="store_true", help="tracebacks of failed rows on stderr")
    a = p.parse_args(argv)
    if a.report and a.out and os.path.abspath(a.report) != os.path.abspath(a.out):
        p.error("give the report's path once (positional or --out)")
    a.path = a.report or a.out or os.path.join(
        tempfile.gettempdir(), f"zipar-gpu-check-{time.strftime('%Y%m%d-%H%M%S')}.md")
    return a


def main(argv) -> int:
    a = parse(argv)
    device = torch.device(a.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        print("gpu_check: torch sees no CUDA device; pass --device cpu", file=sys.stderr)
        return 1
    dtype = {"bfloat16": torch.bfloat16, "float16": torch.float16, "float32": torch.float32}[
        a.dtype or ("bfloat16" if device.type == "cuda" else "float32")]
    torch.set_grad_enabled(False)
    report = Report(a.path, a.stop_after_rows)
    budget = Budget(a.budget_s)

    def killed(signum, frame):
        report.line()
        report.line(f"**killed by signal {signum} after {budget.elapsed():.0f} s**: the rows "
                    f"above are all that finished.")
        report.flush()
        os._exit(128 + signum)
    signal.signal(signal.SIGTERM, killed)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    report.heading(1, f"zipar GPU check — {name}")
    report.line(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; "
                f"{'--quick (tiny shapes); ' if a.quick else ''}budget {a.budget_s:.0f} s; "
                f"{str(dtype)[6:]} weights; random weights of the published shapes; "
                f"the report is rewritten after every row.")
    ctx = Check(a, device, dtype, report, budget)
    print(f"gpu_check: writing {report.path}", file=sys.stderr)
    run_check(ctx)
    finish(ctx)
    print(report.text())
    print(f"gpu_check: wrote {report.path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
