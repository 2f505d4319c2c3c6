"""Raster vs ZipAR per image on a LlamaGen-shaped model: one planned generation (run_plan, as
`zipar generate` runs it) per row, timed on the host around the whole call (the plan's index
upload, every step, the grid read back at the end).

Modes:
- eager: cudaGraphs "off"; one untimed warm-up generation per model first.
- graphs warm: cudaGraphs "auto" on one loaded model and one session: each setting's first
  generation captures its step shapes (untimed), the timed ones replay them. On the CPU there
  is no capture: "static" mode runs the graph path's static buffers eagerly.
- graphs cold: a new family object (new ModelSteps, nothing captured) for every timed
  generation, session opened and closed inside the timing, so capture is paid as the first
  generation of a CLI run pays it (the weights are shared: loading is not timed).
"""

from typing import Dict, List

import step_graphs
from models import LlamaGenModel, free_memory, generate, images_for, open_session, summary, \
    wall_ms
from report import Table, attempt, ms

COLUMNS = ("mode", "setting", "passes", "ms/image: median (min–max, n)", "ms/pass",
           "speedup vs raster", "speedup ÷ pass ratio", "graph steps captured/replayed/eager")


def graph_mode(device) -> str:
    return "auto" if device.type == "cuda" else "static"


def stats_delta(before: Dict[str, int]) -> str:
    now = step_graphs.STATS
    return "/".join(str(now[k] - before.get(k, 0)) for k in ("captured", "replayed", "eager"))


class GenerationRows:
    """The rows of one model's raster vs ZipAR table (shared raster baseline per mode)."""

    def __init__(self, ctx, model: LlamaGenModel, table: Table, cfg: float, sampling: dict):
        self.ctx, self.model, self.table = ctx, model, table
        self.cfg, self.sampling = cfg, sampling
        self.images = images_for(model.family)
        self.raster: Dict[str, tuple] = {}  # mode -> (ms, passes)

    def write(self, mode: str, plan: dict, times: List[float], stats: str, extra: str = ""):
        med = sorted(times)[len(times) // 2]
        passes = plan["passes"]
        if plan["setting"] == "raster":
            self.raster[mode] = (med, passes)
        base = self.raster.get(mode)
        speed = eff = "–"
        if base:
            speed = f"{base[0] / med:.2f}×"
            eff = f"{base[0] / med / (base[1] / passes):.2f}"
        self.table.add(mode, plan["setting"], passes, summary(times) + extra,
                       ms(med / passes, 2), speed, eff, stats)
        self.ctx.results[(self.model.shape.name, mode, plan["setting"])] = med
        kind = {"eager": "eager", "graphs warm": "graphs", "graphs cold": "cold"}.get(mode)
        if kind:
            self.ctx.costs.learn(self.model.shape.name, kind, med / passes)

    def estimate(self, kind: str, plan: dict, runs: int, overhead: float = 0.0) -> float:
        s = self.model.shape
        return self.ctx.costs.seconds(s.name, s.layers, kind, plan["passes"], runs, overhead)

    def session_rows(self, mode: str, plans: List[dict], reps: int) -> None:
        """eager or graphs warm: one session for every setting."""
        ctx, fam = self.ctx, self.model.family
        graphs = mode == "graphs warm"
        step_graphs.set_mode(graph_mode(ctx.device) if graphs else "off")
        session = open_session(fam, self.images, self.cfg)
        warmed = [False]
        try:
            for plan in plans:
                runs = reps + (1 if graphs or not warmed[0] else 0)
                what = f"{self.model.shape.name} {mode} {plan['setting']}"

                def row(plan=plan):
                    before = dict(step_graphs.STATS)
                    if graphs or not warmed[0]:  # capture (graphs) or warm-up (eager)
                        generate(fam, session, plan, self.images, self.cfg, self.sampling)
                        warmed[0] = True
                    times = [wall_ms(ctx.device, lambda: generate(
                        fam, session, plan, self.images, self.cfg, self.sampling))[0]
                        for _ in range(reps)]
                    failed = step_graphs.failure()
                    self.write(mode, plan, times, stats_delta(before),
                               f"; capture failed, ran eagerly: {failed}" if graphs and failed
                               else "")
                attempt(ctx.budget, what, self.estimate("graphs" if graphs else "eager", plan,
                                                        runs, 0.5),
                        row, lambda text, p=plan: self.table.note((mode, p["setting"],
                                                                   p["passes"]), text),
                        ctx.debug)
        finally:
            session.close()

    def cold_rows(self, plans: List[dict], reps: int) -> None:
        """graphs cold: a fresh family object per timed generation."""
        ctx = self.ctx
        mode = "graphs cold"
        for plan in plans:
            what = f"{self.model.shape.name} {mode} {plan['setting']}"

            def row(plan=plan):
                before = dict(step_graphs.STATS)
                times = []
                for _ in range(reps):
                    step_graphs.set_mode(graph_mode(ctx.device))
                    fam = self.model.fresh()

                    def once():
                        session = open_session(fam, self.images, self.cfg)
                        try:
                            return generate(fam, session, plan, self.images, self.cfg,
                                            self.sampling)
                        finally:
                            session.close()
                    times.append(wall_ms(ctx.device, once)[0])
                    del fam
                    free_memory(ctx.device)
                self.write(mode, plan, times, stats_delta(before))
            attempt(ctx.budget, what, self.estimate("cold", plan, reps, 3.0 * reps), row,
                    lambda text, p=plan: self.table.note((mode, p["setting"], p["passes"]),
                                                         text), ctx.debug)
        step_graphs.set_mode(graph_mode(ctx.device))


def generation_table(ctx, rows: GenerationRows, modes: Dict[str, int],
                     plans: List[dict]) -> None:
    """modes: {mode: timed generations per row}, run in that order."""
    for mode, reps in modes.items():
        if mode == "graphs cold":
            rows.cold_rows(plans, reps)
        else:
            rows.session_rows(mode, plans, reps)
