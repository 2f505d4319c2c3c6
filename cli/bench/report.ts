/**
 * `zipar bench` results: per-setting statistics from timed runs (median, min–max, quartiles,
 * tokens per second, speedup vs raster, speedup ÷ pass ratio) and their rendering as a
 * Markdown table, JSON or CSV. Pure.
 *
 * @module
 */

/** One timed run of a setting. */
export interface BenchRun {
  /** Wall time of the generate() call, ms. */
  wallMs: number;
  /** Forward passes it took. */
  passes: number;
}

/** A setting as measured. */
export interface BenchSetting {
  /** Label: `raster`, `ideal s=8`, `paper s=8`, `adaptive m=4`. */
  setting: string;
  /** raster | ideal | paper | adaptive. */
  schedule: string;
  /** Window s (W for raster, the minimum window for adaptive). */
  window: number;
  /** The timed runs. */
  runs: BenchRun[];
  /** With `--profile` (python backend): what the worker saw (see {@linkcode StepCosts}). */
  profile?: StepCosts;
}

/**
 * `zipar bench --profile`: per planned step, the top-level torch ops launched (in all, and per
 * decoder layer) and the host reads, from one extra profiled run; the step graphs captured over
 * the timed runs. null where the setting ran no plan (adaptive, the reference loop).
 */
export interface StepCosts {
  opsPerStep: number | null;
  opsPerLayerPerStep: number | null;
  syncsPerStep: number | null;
  graphCaptures: number | null;
}

/** Median, spread and quartiles of a sample. */
export interface Spread {
  median: number;
  min: number;
  max: number;
  q1: number;
  q3: number;
}

/** A setting's row of results. */
export interface BenchResult {
  setting: string;
  schedule: string;
  window: number;
  /** Median passes over the runs (fixed schedules: every run). */
  passes: number;
  rasterPasses: number;
  /** rasterPasses / passes: how many times fewer passes than raster. */
  passRatio: number;
  /** Wall time per run (the whole batch), ms. */
  wallMs: Spread;
  /** Wall time per image, ms. */
  msPerImage: Spread;
  /** Image tokens per second at the median wall time. */
  tokensPerSecond: number;
  /** Raster median wall time / this median wall time. */
  speedup: number;
  /** speedup / passRatio: the share of the pass reduction that became wall-time speedup. */
  efficiency: number;
  /** Wall time of each run, ms, in run order. */
  runs: number[];
}

/** A row with `--profile`: its {@linkcode StepCosts} beside the timings. */
export type ProfiledResult = BenchResult & Partial<StepCosts>;

/** The whole report. */
export interface BenchReport {
  format: "zipar.bench/1";
  zipar: string;
  backend: string;
  model: string;
  grid: [number, number];
  vocab: number;
  batch: number;
  cfg: number;
  mode: string;
  seed: number;
  repeat: number;
  warmup: number;
  /** Time to open the backend (load the model), ms; not in any run's time. */
  loadMs: number;
  /** The Python worker's torch version, device, dtype and torch CPU threads (python only). */
  worker?: { torch: string; device: string; dtype: string; threads: number };
  results: ProfiledResult[];
}

/** Quantile q of sorted values (linear interpolation). */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const pos = (sorted.length - 1) * q, lo = Math.floor(pos), hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

/**
 * Median, min, max and quartiles.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { spread } from "./report.ts";
 * const s = spread([3, 1, 2, 10]);
 * assert(s.median === 2.5 && s.min === 1 && s.max === 10);
 * ```
 */
export function spread(values: readonly number[]): Spread {
  const s = [...values].sort((a, b) => a - b);
  return {
    median: quantile(s, 0.5),
    min: s[0],
    max: s[s.length - 1],
    q1: quantile(s, 0.25),
    q3: quantile(s, 0.75),
  };
}

/**
 * Results of each setting; the first setting is the raster baseline.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { summarize } from "./report.ts";
 * const r = summarize([
 *   { setting: "raster", schedule: "raster", window: 4, runs: [{ wallMs: 16, passes: 16 }] },
 *   { setting: "ideal s=2", schedule: "ideal", window: 2, runs: [{ wallMs: 10, passes: 10 }] },
 * ], { batch: 1, height: 4, width: 4 });
 * assert(r[1].speedup === 1.6 && r[1].passRatio === 1.6 && r[1].efficiency === 1);
 * ```
 */
export function summarize(
  settings: readonly BenchSetting[],
  shape: { batch: number; height: number; width: number },
): ProfiledResult[] {
  const { batch, height, width } = shape;
  const rasterPasses = height * width;
  const base = spread(settings[0].runs.map((r) => r.wallMs)).median;
  return settings.map(({ setting, schedule, window, runs, profile }) => {
    const wallMs = spread(runs.map((r) => r.wallMs));
    const msPerImage = spread(runs.map((r) => r.wallMs / batch));
    const passes = spread(runs.map((r) => r.passes)).median;
    const passRatio = rasterPasses / passes;
    const speedup = base / wallMs.median;
    return {
      setting,
      schedule,
      window,
      passes,
      rasterPasses,
      passRatio,
      wallMs,
      msPerImage,
      tokensPerSecond: (batch * height * width) / (wallMs.median / 1000),
      speedup,
      efficiency: speedup / passRatio,
      runs: runs.map((r) => r.wallMs),
      ...profile,
    };
  });
}

const f = (x: number, digits: number) => (Number.isFinite(x) ? x.toFixed(digits) : "-");

const PROFILE_COLUMNS = ["ops/step", "ops/layer/step", "syncs/step", "graph captures"];

function profiled(report: BenchReport): boolean {
  return report.results.some((r) => r.opsPerStep !== undefined);
}

function profileCells(r: ProfiledResult, digits: number): string[] {
  const g = (x: number | null | undefined) => (x === null || x === undefined ? "-" : f(x, digits));
  return [
    g(r.opsPerStep),
    g(r.opsPerLayerPerStep),
    g(r.syncsPerStep),
    r.graphCaptures === null || r.graphCaptures === undefined ? "-" : String(r.graphCaptures),
  ];
}

/** The report as a heading line and a Markdown table. */
export function renderMarkdown(report: BenchReport): string {
  const { backend, model, grid, vocab, batch, cfg, mode, repeat, warmup, loadMs } = report;
  const head =
    `zipar bench: backend ${backend}, model ${model} (${grid[0]}×${grid[1]}, vocab ${vocab}), ` +
    `batch ${batch}, cfg ${cfg}, mode ${mode}, ${repeat} timed runs per setting after ${warmup} warm-up, ` +
    `interleaved; model load ${f(loadMs, 1)} ms (not timed below)` +
    (report.worker
      ? `; torch ${report.worker.torch} on ${report.worker.device} ${report.worker.dtype}, ` +
        `${report.worker.threads} CPU threads`
      : "");
  const header = [
    "setting",
    "passes",
    "pass ratio",
    "ms/image (median)",
    "ms/image (min–max)",
    "tokens/s",
    "speedup",
    "speedup ÷ pass ratio",
    ...(profiled(report) ? PROFILE_COLUMNS : []),
  ];
  const rows = report.results.map((r) => [
    r.setting,
    String(r.passes),
    `${f(r.passRatio, 2)}×`,
    f(r.msPerImage.median, 2),
    `${f(r.msPerImage.min, 2)}–${f(r.msPerImage.max, 2)}`,
    f(r.tokensPerSecond, 0),
    `${f(r.speedup, 2)}×`,
    f(r.efficiency, 2),
    ...(profiled(report) ? profileCells(r, 1) : []),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    `| ${
      cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(" | ")
    } |`;
  const rule = `| ${
    widths.map((w, i) => (i === 0 ? "-".repeat(w) : "-".repeat(w - 1) + ":")).join(" | ")
  } |`;
  return [head, "", line(header), rule, ...rows.map(line)].join("\n") + "\n";
}

/** The report as CSV: a header and one row per setting. */
export function renderCsv(report: BenchReport): string {
  const header = [
    "setting",
    "schedule",
    "window",
    "passes",
    "raster_passes",
    "pass_ratio",
    "wall_ms_median",
    "wall_ms_min",
    "wall_ms_max",
    "ms_per_image_median",
    "ms_per_image_min",
    "ms_per_image_max",
    "tokens_per_second",
    "speedup",
    "efficiency",
    ...(profiled(report)
      ? ["ops_per_step", "ops_per_layer_per_step", "syncs_per_step", "graph_captures"]
      : []),
  ];
  const rows = report.results.map((r) =>
    [
      r.setting,
      r.schedule,
      r.window,
      r.passes,
      r.rasterPasses,
      f(r.passRatio, 4),
      f(r.wallMs.median, 3),
      f(r.wallMs.min, 3),
      f(r.wallMs.max, 3),
      f(r.msPerImage.median, 3),
      f(r.msPerImage.min, 3),
      f(r.msPerImage.max, 3),
      f(r.tokensPerSecond, 1),
      f(r.speedup, 4),
      f(r.efficiency, 4),
      ...(profiled(report) ? profileCells(r, 3) : []),
    ].join(",")
  );
  return [header.join(","), ...rows].join("\n") + "\n";
}
