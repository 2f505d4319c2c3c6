"""zipar's prepared GPU check: drives the real worker code (backends/python/worker: the LlamaGen
GPT forward, the slot KV cache, planned mode's run_plan, the keyed sampler, CUDA-graph replay,
the Janus family) with plans compiled beforehand by zipar's core (plans.json, from
make_plans.ts), on random models of the published shapes. Needs Python + torch (+ transformers
for the Janus part); no Deno, no network. Writes a Markdown report.

    python3 tools/gpu_check/driver.py --out report.md              # CUDA, bf16, the full check
    python3 tools/gpu_check/driver.py --quick --device cpu --out r.md   # seconds, tiny models

Modes per setting: interactive (emulated without Deno: each plan step is a worker `step` whose
logits go to the host, mixed and sampled there by the worker's sampler on the CPU — the TS
engine's own overhead is not in it), planned (run_plan, graphs off) and planned + CUDA graphs
(run_plan with step_graphs in "auto"; eager off CUDA and for families that are not graph-safe).
"""

import argparse
import json
import os
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
WORKER = os.path.join(HERE, "..", "..", "backends", "python", "worker")
sys.path.insert(0, os.path.abspath(WORKER))

import numpy as np  # noqa: E402
import torch  # noqa: E402

import step_graphs  # noqa: E402
from families.family import LoadOptions  # noqa: E402
from families.llamagen import LlamaGen  # noqa: E402
from families.llamagen.config import ModelConfig, expected_shapes, preset_hidden  # noqa: E402
from families.llamagen.gpt import LlamaGenGPT  # noqa: E402
from planner import draw_keys, run_plan  # noqa: E402
from sampler import mix_cfg, sample  # noqa: E402

TOKENS_PER_PASS = [1, 2, 4, 8, 16, 32, 64]
SAMPLING = {"temperature": 1.0, "topK": 0, "topP": 1.0}


class Clock:
    def __init__(self, device: torch.device, budget_s: float):
        self.device, self.start, self.budget_s = device, time.perf_counter(), budget_s

    def sync(self):
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)

    def time(self, fn) -> float:
        """ms of one call, synchronised."""
        self.sync()
        t0 = time.perf_counter()
        fn()
        self.sync()
        return (time.perf_counter() - t0) * 1000

    def left(self) -> float:
        return self.budget_s - (time.perf_counter() - self.start)


def random_llamagen(name: str, layers: int, heads: int, dim: int, side: int, vocab: int,
                    device, dtype) -> LlamaGen:
    cfg = ModelConfig(dim=dim, layers=layers, heads=heads, hidden=preset_hidden(dim),
                      vocab=vocab, num_classes=1000, height=side, width=side, preset=name)
    gen = torch.Generator(device=device).manual_seed(0)
    weights = {}
    for key, shape in expected_shapes(cfg).items():
        if key.endswith("norm.weight"):
            weights[key] = torch.ones(shape, device=device, dtype=dtype)
        else:
            weights[key] = (torch.randn(shape, generator=gen, device=device) * 0.02).to(dtype)
    return LlamaGen(f"<random {name}>", cfg, LlamaGenGPT(cfg, weights, device, dtype))


def plan_arrays(plan: dict) -> dict:
    return {k: np.asarray(plan[k], dtype=np.int32)
            for k in ("stepStart", "slot", "input", "predicts")}


def images_for(family, cfg: float):
    cond = 207 if family.info["conditioning"] == "class" else {"prompt": "a red fox in snow"}
    images = [{"condition": cond, "seed": 1, "index": 0}]
    return images, family.conditions_for(images, cfg)


def run_planned(family, session, plan: dict, images, cfg: float, graphs: str):
    step_graphs.set_mode(graphs)
    header = {"height": family.info["height"], "width": family.info["width"], "images": images,
              "cfgScale": cfg, "sampling": SAMPLING, "progressEvery": 0}
    return run_plan(family, session, header, plan_arrays(plan), lambda done: None)


@torch.inference_mode()
def run_interactive(family, session, plan: dict, images, cfg: float):
    """Each plan step as a worker step: logits to the host, CFG mix and draw on the host CPU."""
    info, b = family.info, len(images)
    height, width = info["height"], info["width"]
    eol = -1 if info["eolToken"] is None else int(info["eolToken"])
    arrays = plan_arrays(plan)
    keys = draw_keys(images, height * width, width, torch.device("cpu"))  # [B, cells]
    grid = np.full((b, height * width), -1, dtype=np.int64)
    session.reset()
    seqs, start = session.num_seqs, arrays["stepStart"]
    for j in range(len(start) - 1):
        lo, hi = int(start[j]), int(start[j + 1])
        inp, pred = arrays["input"][lo:hi], arrays["predicts"][lo:hi]
        seq = np.repeat(np.arange(seqs), hi - lo)
        image = seq % b
        slot = np.tile(arrays["slot"][lo:hi], seqs)
        src = np.tile(inp, seqs)
        token = np.where(src >= 0, grid[image, np.maximum(src, 0)],
                         np.where(src == -2, eol, -1))
        want = np.tile(pred >= 0, seqs)
        logits = torch.from_numpy(session.step(seq, slot, token, want))  # host [rows, vocab]
        nw = int((pred >= 0).sum())
        if nw:
            halves = logits.view(seqs // b, b, nw, -1)
            mixed = mix_cfg(halves[0], halves[-1], cfg).reshape(b * nw, -1)
            cells = np.tile(pred[pred >= 0], b)
            img = np.repeat(np.arange(b), nw)
            tokens = sample(mixed, keys[img, cells], 1.0, 0, 1.0)
            grid[img, cells] = tokens.numpy()
    return grid


def per_pass(family, clock: Clock, reps: int) -> list:
    """ms per forward vs queries per pass (one sequence, 128 slots already written)."""
    session = family.open(family.conditions_for(images_for(family, 1.0)[0], 1.0))
    written = min(128, family.info["height"] * family.info["width"] // 2)
    prefix = np.zeros(1, dtype=np.int64)
    tok = lambda n: np.full(n, 5, dtype=np.int64)  # noqa: E731
    with torch.inference_mode():
        session.step(prefix, prefix, np.full(1, -1, dtype=np.int64), np.ones(1, dtype=bool))
        slots = np.arange(1, written + 1)
        session.step(np.zeros(written, dtype=np.int64), slots, tok(written),
                     np.zeros(written, dtype=bool))
    rows = []
    cap = family.info["height"] * family.info["width"] - written
    for k in [k for k in TOKENS_PER_PASS if k <= cap]:
        seq = np.zeros(k, dtype=np.int64)
        slot = np.arange(written + 1, written + 1 + k)
        want = np.ones(k, dtype=bool)
        ix = session.index(seq, slot, want)
        token = torch.full((k,), 5, dtype=torch.int64, device=session.device)
        step_graphs.set_mode("off")
        with torch.inference_mode():
            session.forward(seq, slot, token, want, ix)  # warm-up
            times = [clock.time(lambda: session.forward(seq, slot, token, want, ix))
                     for _ in range(reps)]
        rows.append((k, statistics.median(times), min(times), max(times)))
    return rows


SKIPPED = {"runs": 0}  # timed runs the budget left out


def compare(family, plans: list, clock: Clock, repeat: int, interactive_for, graphs_ok: bool,
            cfgs=(1.0, 4.0)):
    """Rows: (cfg, mode, setting, passes, median ms, min, max) per image at batch 1."""
    rows = []
    modes = [("interactive", None), ("planned", "off")] + \
        ([("planned + CUDA graphs", "auto")] if graphs_ok else [])
    for cfg in cfgs:
        images, sequences = images_for(family, cfg)
        session = family.open(sequences)
        for mode, graphs in modes:
            chosen = [p for p in plans if mode != "interactive" or p["setting"] in interactive_for]
            runs = {p["setting"]: [] for p in chosen}
            for r in range(repeat + 1):  # round 0 warms up (graphs are captured there)
                for p in chosen:
                    if clock.left() < 0:
                        SKIPPED["runs"] += 1
                        continue
                    fn = (lambda: run_interactive(family, session, p, images, cfg)) \
                        if graphs is None else \
                        (lambda: run_planned(family, session, p, images, cfg, graphs))
                    ms = clock.time(fn)
                    if r > 0:
                        runs[p["setting"]].append(ms)
            for p in chosen:
                t = runs[p["setting"]]
                if t:
                    rows.append((cfg, mode, p["setting"], p["passes"], statistics.median(t),
                                 min(t), max(t)))
        step_graphs.set_mode("auto")
    return rows


def table(head, rows) -> str:
    out = ["| " + " | ".join(head) + " |", "| " + " | ".join("---" for _ in head) + " |"]
    return "\n".join(out + ["| " + " | ".join(str(c) for c in r) + " |" for r in rows])


def compare_table(rows) -> str:
    raster = {(cfg, mode): ms for cfg, mode, s, _, ms, _, _ in rows if s == "raster"}
    passes_raster = {(cfg, mode): n for cfg, mode, s, n, *_ in rows if s == "raster"}
    out = []
    for cfg, mode, setting, passes, ms, lo, hi in rows:
        base = raster.get((cfg, mode))
        ratio = passes_raster.get((cfg, mode), passes) / passes
        speedup = base / ms if base else float("nan")
        out.append((f"{cfg:g}", mode, setting, passes, f"{ratio:.2f}×", f"{ms:.1f}",
                    f"{lo:.1f}–{hi:.1f}", f"{speedup:.2f}×", f"{speedup / ratio:.2f}"))
    return table(["CFG", "mode", "setting", "passes", "pass ratio", "ms/image (median)",
                  "min–max", "speedup", "speedup ÷ pass ratio"], out)


def curve_table(rows) -> str:
    one = rows[0][1]
    return table(["tokens per pass", "ms per pass (median)", "min–max", "× the 1-token pass"],
                 [(k, f"{ms:.2f}", f"{lo:.2f}–{hi:.2f}", f"{ms / one:.2f}")
                  for k, ms, lo, hi in rows])


def janus_family(preset: str, device, dtype, work: str):
    from families import load_family
    from families.janus import tiny
    if preset == "pro1b":  # Janus-Pro-1B's language model and grid, random weights
        tiny.PRESETS["pro1b"] = tiny.Preset(side=24, codebook=16384, hidden=2048, layers=24,
                                            heads=16, kv_heads=16, intermediate=5632,
                                            context=1024)
    path = os.path.join(work, f"janus-{preset}")
    tiny.write_model(path, preset)
    return load_family(path, LoadOptions(device, dtype))


def main(argv) -> int:
    p = argparse.ArgumentParser(description="zipar GPU check")
    p.add_argument("--out", default="gpu_check_report.md")
    p.add_argument("--device", default="cuda")
    p.add_argument("--dtype", default=None, help="default: bfloat16 on CUDA, float32 on CPU")
    p.add_argument("--quick", action="store_true", help="tiny models, seconds (tests)")
    p.add_argument("--budget-s", type=float, default=420.0)
    p.add_argument("--plans", default=os.path.join(HERE, "plans.json"))
    p.add_argument("--no-janus", action="store_true")
    a = p.parse_args(argv)
    device = torch.device(a.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        print("gpu_check: torch sees no CUDA device; pass --device cpu", file=sys.stderr)
        return 1
    dtype = {"bfloat16": torch.bfloat16, "float16": torch.float16, "float32": torch.float32}[
        a.dtype or ("bfloat16" if device.type == "cuda" else "float32")]
    with open(a.plans, encoding="utf-8") as f:
        plans = json.load(f)
    clock = Clock(device, a.budget_s)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    lines = [f"# zipar GPU check — {name}", "",
             f"torch {torch.__version__}, {str(dtype)[6:]} weights (float32 logits), "
             f"{torch.get_num_threads()} CPU threads; plans from zipar {plans['zipar']} "
             f"(core/plan via make_plans.ts); random weights of the published shapes; "
             f"batch 1, T = 1, no top-k; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
             ""]
    if a.quick:  # the CPU test: tiny models, raster and one window, CFG off and on
        models = [("tiny", 2, 4, 64, 8, 256)]
        reps, repeat, interactive_for = 2, 1, {"raster", "ideal s=4"}
        keep = lambda grid: [p for p in grid if p["setting"] in interactive_for]  # noqa: E731
        TOKENS_PER_PASS[:] = [1, 4]
        cfgs = (1.0, 2.0)
    else:
        models = [("GPT-B", 12, 12, 768, 16, 16384), ("GPT-L", 24, 16, 1024, 16, 16384)]
        reps, repeat, interactive_for = 20, 2, {"raster", "ideal s=8", "paper s=8"}
        keep = lambda grid: grid  # noqa: E731
        cfgs = (1.0, 4.0)
    graphs_ok = device.type == "cuda"

    def flush():  # the report so far: a run killed at the time limit still leaves one
        with open(a.out, "w", encoding="utf-8") as f:
            f.write("\n".join(lines))
    flush()
    for mname, layers, heads, dim, side, vocab in models:
        family = random_llamagen(mname, layers, heads, dim, side, vocab, device, dtype)
        grid = keep(plans["grids"][f"{side}x{side}"])
        lines += [f"## {mname}-shaped LlamaGen ({layers} layers, dim {dim}, {side}×{side}, "
                  f"vocab {vocab})", "", "### Per-pass time vs tokens per pass", "",
                  curve_table(per_pass(family, clock, reps)), "",
                  "### Raster vs ZipAR per image", "",
                  compare_table(compare(family, grid, clock, repeat, interactive_for,
                                        graphs_ok, cfgs)), ""]
        lines += [f"CUDA-graph steps so far: {step_graphs.STATS}", ""]
        flush()
        del family
        if device.type == "cuda":
            torch.cuda.empty_cache()
    if not a.no_janus:
        preset = "test" if a.quick else "pro1b"
        lines += [f"## Janus-shaped model ({'Janus-Pro-1B language model' if preset == 'pro1b' else 'tiny'}"
                  f", random weights)", ""]
        if clock.left() < 60 and not a.quick:
            lines += ["skipped: the time budget was spent", ""]
        else:
            try:
                with tempfile.TemporaryDirectory(prefix="zipar-gpu-check-") as work:
                    family = janus_family(preset, device, dtype, work)
                    side = family.info["width"]
                    grid = keep(plans["grids"][f"{side}x{side}"])
                    lines += ["### Per-pass time vs tokens per pass", "",
                              curve_table(per_pass(family, clock, reps)), "",
                              "### Raster vs ZipAR per image", "",
                              "(CUDA graphs: the Janus forward is not declared graph-safe, so "
                              "planned mode runs it eagerly)", "",
                              compare_table(compare(family, grid, clock, repeat,
                                                    interactive_for, False, cfgs)), ""]
            except Exception as err:  # noqa: BLE001 - the report says what failed
                lines += [f"failed: {type(err).__name__}: {str(err).splitlines()[0]}", ""]
    lines += ["## Notes", "",
              "- speedup = raster's median / the setting's, same mode and CFG; pass ratio = "
              "raster passes / passes; speedup ÷ pass ratio = the share of the pass reduction "
              "that became wall time (the paper reports 0.90 at s = 8 on an A100).",
              f"- wall time of this check: {time.perf_counter() - clock.start:.0f} s"
              + (f"; the {a.budget_s:.0f} s budget left out {SKIPPED['runs']} timed runs "
                 f"(rows with fewer runs, or missing)" if SKIPPED["runs"] else "") + ".", ""]
    flush()
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
