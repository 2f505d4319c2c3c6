/**
 * `zipar plan`: forward passes of a schedule on a grid, computed by compiling the plan
 * (core/plan) and cross-checked with the closed form (core countSteps); optionally the pass
 * that decodes each cell, as aligned text (`--show`) or a PNG heat map (`--png`).
 *
 * @module
 */

import { compilePlan, countSteps, createLayout } from "../core/mod.ts";
import {
  choiceFlag,
  intFlag,
  type OptionSpec,
  parseCommand,
  parseGrid,
  ValidationError,
} from "./flags/args.ts";
import { AtomicFile } from "./io/atomic_write.ts";
import { heatmapPng } from "./formats/heatmap.ts";
import type { Io } from "./io/io.ts";
import { buildSchedule, type ScheduleChoice, scheduleChoice } from "./flags/schedule_flags.ts";

/** Flags of `zipar plan`. */
export const PLAN_OPTIONS: OptionSpec = {
  grid: { type: "string" },
  window: { type: "string" },
  "min-window": { type: "string" },
  "max-window": { type: "string" },
  schedule: { type: "string" },
  proxy: { type: "string" },
  eol: { type: "boolean" },
  prefix: { type: "string" },
  format: { type: "string" },
  show: { type: "boolean" },
  png: { type: "string" },
  help: { type: "boolean", short: "h" },
};

/** `zipar plan --help`. */
export const PLAN_USAGE = `Usage: zipar plan --grid HxW --window s [options]

Count the forward passes a schedule takes on a grid, against raster order.

Options:
  --grid HxW               grid size, e.g. 24x24 (required)
  --window s               window s in 1..W (required unless --schedule raster)
  --min-window m           with --schedule adaptive: refused, since adaptive pass counts depend
  --max-window M           on the model's outputs (zipar generate reports them)
  --schedule NAME          raster | ideal | paper (default: ideal); adaptive pass counts
                           depend on the model: zipar generate reports them
  --proxy POLICY           proxy token for early rows: r-2 | r-1 (default: r-2)
  --eol                    rows end with an end-of-line slot (Lumina-mGPT, Emu3)
  --prefix N               conditioning slots before the image (default: 1)
  --format FMT             text | json (default: text)
  --show                   also print the pass that decodes each cell
  --png FILE               write that as a heat-map PNG (dark = early, yellow = late)
  -h, --help               show this help

Example:
  zipar plan --grid 24x24 --window 8 --schedule paper     # 224 passes instead of 576
`;

/** What `zipar plan` reports. */
export interface PlanReport extends ScheduleChoice {
  /** [H, W]. */
  grid: [number, number];
  /** Conditioning slots. */
  prefix: number;
  /** Whether rows have EOL slots. */
  eol: boolean;
  /** Core schedule name, e.g. `zipar(paper, s=8)`. */
  scheduleName: string;
  /** Forward passes. */
  passes: number;
  /** Raster passes: H · W. */
  rasterPasses: number;
  /** Fewer passes than raster, in percent (one decimal). */
  reduction: number;
  /** Most tokens decoded in one pass. */
  maxTokensPerPass: number;
  /** Tokens per pass on average: H·W / passes. */
  meanTokensPerPass: number;
  /** Proxy writes (each followed by a correction). */
  proxies: number;
  /** passOf: [H·W], the 1-based pass that decodes each cell. */
  passOf: Int32Array;
}

/** Inputs of {@linkcode planReport}. */
export interface PlanInput extends ScheduleChoice {
  /** Grid rows. */
  height: number;
  /** Grid columns. */
  width: number;
  /** Conditioning slots. @default 1 */
  prefix?: number;
  /** EOL slots. @default false */
  eol?: boolean;
}

/**
 * Compile the plan and summarize it; throws if it disagrees with the closed form.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { planReport } from "./plan.ts";
 * const r = planReport({ height: 24, width: 24, window: 8, schedule: "paper", proxy: "r-2" });
 * assert(r.passes === 224 && r.rasterPasses === 576);
 * ```
 */
export function planReport(input: PlanInput): PlanReport {
  const { height, width, prefix = 1, eol = false, ...choice } = input;
  const layout = createLayout({ height, width, prefix, eol });
  const schedule = buildSchedule(layout, choice);
  const plan = compilePlan(layout, schedule);
  const passOf = new Int32Array(height * width);
  let maxTokens = 0, proxies = 0;
  plan.steps.forEach((queries, j) => {
    let n = 0;
    for (const q of queries) {
      if (q.proxy) proxies++;
      if (!q.predicts) continue;
      passOf[q.predicts.row * width + q.predicts.col] = j + 1;
      n++;
    }
    maxTokens = Math.max(maxTokens, n);
  });
  const passes = plan.steps.length;
  const variant = choice.schedule === "paper" ? "paper" : "ideal";
  const expected = countSteps({ height, width, window: choice.window, variant });
  if (passes !== expected) {
    throw new Error(
      `internal error: the compiled plan has ${passes} passes, the closed form ${expected}`,
    );
  }
  const rasterPasses = height * width;
  return {
    ...choice,
    grid: [height, width],
    prefix,
    eol,
    scheduleName: schedule.name,
    passes,
    rasterPasses,
    reduction: Math.round(1000 * (1 - passes / rasterPasses)) / 10,
    maxTokensPerPass: maxTokens,
    meanTokensPerPass: Math.round(100 * rasterPasses / passes) / 100,
    proxies,
    passOf,
  };
}

/**
 * The pass numbers as an aligned grid of text, one line per row.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { renderPassGrid } from "./plan.ts";
 * assert(renderPassGrid(new Int32Array([1, 2, 3, 10]), 2, 2) === " 1  2\n 3 10\n");
 * ```
 */
export function renderPassGrid(passOf: Int32Array, height: number, width: number): string {
  let max = 0;
  for (const p of passOf) max = Math.max(max, p);
  const digits = String(max).length;
  let out = "";
  for (let r = 0; r < height; r++) {
    const row = Array.from(
      passOf.subarray(r * width, (r + 1) * width),
      (p) => String(p).padStart(digits),
    );
    out += row.join(" ") + "\n";
  }
  return out;
}

/**
 * The report as aligned text.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { planReport, renderPlanText } from "./plan.ts";
 * const text = renderPlanText(planReport({ height: 4, width: 4, window: 4, schedule: "raster", proxy: "r-2" }));
 * assert(text.includes("passes       16"));
 * ```
 */
export function renderPlanText(r: PlanReport): string {
  const [h, w] = r.grid;
  const proxy = r.eol || r.schedule === "raster" ? "" : `, proxy ${r.proxy} (${r.proxies} proxies)`;
  return [
    `grid         ${h}×${w}, prefix ${r.prefix}, ${r.eol ? "EOL slot per row" : "no EOL"}`,
    `schedule     ${r.scheduleName}${proxy}`,
    `passes       ${r.passes}`,
    `raster       ${r.rasterPasses}`,
    `reduction    ${r.reduction.toFixed(1)}%`,
    `tokens/pass  max ${r.maxTokensPerPass}, mean ${r.meanTokensPerPass.toFixed(2)}`,
    "",
  ].join("\n");
}

/** The report as a JSON-ready object (with `passOf` rows when `show`). */
export function planJson(r: PlanReport, show: boolean): Record<string, unknown> {
  const { passOf, ...rest } = r;
  const out: Record<string, unknown> = { ...rest };
  if (show) {
    const [h, w] = r.grid;
    out.passOf = Array.from(
      { length: h },
      (_, i) => Array.from(passOf.subarray(i * w, (i + 1) * w)),
    );
  }
  return out;
}

/** Run `zipar plan`; returns the exit code. */
export async function planCommand(args: string[], io: Io): Promise<number> {
  const { values } = parseCommand(args, PLAN_OPTIONS);
  if (values.help) {
    await io.writeStdout(new TextEncoder().encode(PLAN_USAGE));
    return 0;
  }
  if (typeof values.grid !== "string") {
    throw new ValidationError("--grid is required", "Example: zipar plan --grid 24x24 --window 8.");
  }
  const [height, width] = parseGrid("--grid", values.grid);
  const choice = scheduleChoice(values, width);
  if (choice.schedule === "adaptive") {
    throw new ValidationError(
      "zipar plan cannot count adaptive passes in advance: they depend on which drafts the model accepts",
      "Run zipar generate --schedule adaptive --min-window m; it reports the passes it took.",
    );
  }
  const prefix = intFlag(values, "prefix", 1, 1 << 20, 1);
  const format = choiceFlag(values, "format", ["text", "json"] as const, "text");
  if (values.png === "") throw new ValidationError("--png needs a file name");
  const report = planReport({ height, width, prefix, eol: values.eol === true, ...choice });
  if (typeof values.png === "string") {
    const file = await AtomicFile.create(values.png);
    try {
      await file.write(heatmapPng(report.passOf, height, width));
      await file.commit();
    } catch (e) {
      await file.abort();
      throw e;
    }
  }
  const show = values.show === true;
  const text = format === "json"
    ? JSON.stringify(planJson(report, show)) + "\n"
    : renderPlanText(report) + (show ? "\n" + renderPassGrid(report.passOf, height, width) : "");
  await io.writeStdout(new TextEncoder().encode(text));
  return 0;
}
