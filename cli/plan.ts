/**
 * `zipar plan`: forward passes of a schedule on a grid, computed by compiling the plan
 * (core/plan) and cross-checked with the closed form (core countSteps); optionally the pass
 * that decodes each cell, as aligned text (`--show`) or a PNG heat map (`--png`).
 *
 * @module
 */

import { compilePlan, countSteps, createLayout } from "../core/mod.ts";
import { CONTRACT } from "../core/contract.ts";
import {
  choiceFlag,
  intFlag,
  type OptionSpec,
  parseCommand,
  parseGrid,
  ValidationError,
  type Values,
} from "./flags/args.ts";
import { describeModel } from "../backends/python/describe.ts";
import { openOutput } from "./io/output_file.ts";
import { heatmapPng } from "./formats/heatmap.ts";
import type { Io } from "./io/io.ts";
import { scheduleChoice } from "./flags/schedule_flags.ts";
import {
  buildSchedule,
  type ScheduleChoice,
  scheduleEntry,
  scheduleOptions,
  SCHEDULES,
} from "./schedules.ts";
import { sizeFlags } from "./flags/backend_flags.ts";

/** Flags of `zipar plan`. */
export const PLAN_OPTIONS: OptionSpec = {
  grid: { type: "string" },
  family: { type: "string" },
  model: { type: "string" },
  python: { type: "string" },
  size: { type: "string" },
  ...scheduleOptions(SCHEDULES.filter((e) => e.fixed)),
  eol: { type: "boolean" },
  prefix: { type: "string" },
  format: { type: "string" },
  show: { type: "boolean" },
  png: { type: "string" },
  help: { type: "boolean", short: "h" },
};

/** A model family's token grid and whether its rows end with an EOL token. */
export interface FamilyLayout {
  /** [H, W] at the family's usual resolution. */
  grid: [number, number];
  /** Rows end with an end-of-line token. */
  eol: boolean;
  /** What the grid is. */
  about: string;
}

/**
 * The grids the families generate at their usual resolutions, from the contract both languages
 * read (core/contract.json `families`; the family pages: docs/llamagen.md, janus.md, …).
 */
export const FAMILY_LAYOUTS: Record<string, FamilyLayout> = Object.fromEntries(
  Object.entries(CONTRACT.families).map(([name, f]) => [
    name,
    { grid: [f.grid[0], f.grid[1]], eol: f.eol, about: f.about },
  ]),
);

/** `zipar plan --help`. */
export const PLAN_USAGE =
  `Usage: zipar plan (--grid HxW | --family NAME | --model DIR) --window s [options]

Count the forward passes a schedule takes on a grid, against raster order.

Options:
  --grid HxW               grid size, e.g. 24x24 (with --model: the size to count, of a
                           model that makes several)
  --family NAME            a model family's grid and layout: ${
    Object.entries(FAMILY_LAYOUTS).map(([k, f]) =>
      `${k} (${f.grid.join("x")}${f.eol ? " + EOL" : ""})`
    )
      .join(", ")
  }; --grid overrides its grid
  --model DIR              the grid and layout of a model directory (read by the Python
                           worker without loading the weights; --python PATH picks it)
  --size PX                with --model: the image size to count (Lumina-mGPT 512 | 768 | 1024)
  --schedule NAME          ${
    SCHEDULES.filter((e) => e.fixed).map((e) => e.name).join(" | ")
  } (default: ideal), or the compact form
                           (paper:8); the other schedules' passes depend on the model's outputs:
                           zipar generate reports them
  --window s               window s in 1..W (required unless --schedule raster)
  --proxy POLICY           proxy token for early rows: r-2 | r-1 (default: r-2)
  --eol                    rows end with an end-of-line slot (Lumina-mGPT, Emu3)
  --prefix N               conditioning slots before the image (default: 1)
  --format FMT             text | json (default: text)
  --show                   also print the pass that decodes each cell
  --png FILE               write that as a heat-map PNG (dark = early, yellow = late)
  -h, --help               show this help

Examples:
  zipar plan --grid 24x24 --window 8 --schedule paper     # 224 passes instead of 576
  zipar plan --family emu3 --window 7                     # 713 passes instead of 8,190
  zipar plan --model models/lumina-mgpt-7b --size 512 --window 15
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
  /**
   * With EOL rows: the passes of a plain loop that also generates each EOL token, H · (W + 1)
   * (transformers' generate; the paper's 8,190 for Emu3's 90×90). zipar writes the known EOL in
   * the pass that needs it, so its raster takes H · W.
   */
  eolRasterPasses?: number;
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
    ...(eol ? { eolRasterPasses: height * (width + 1) } : {}),
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
    `raster       ${r.rasterPasses}` +
    (r.eolRasterPasses
      ? ` (${r.eolRasterPasses} for a loop that also generates the EOL tokens)`
      : ""),
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
  const layout = await planLayout(values);
  const [height, width] = layout.grid;
  const named = String(values.schedule ?? "").split(":")[0];
  if (scheduleEntry(named)?.fixed === false) {
    throw new ValidationError(
      `zipar plan cannot count ${named} passes in advance: they depend on which drafts the model accepts`,
      `Run zipar generate --schedule ${named} …; it reports the passes it took.`,
    );
  }
  const choice = scheduleChoice(values, width);
  const prefix = intFlag(values, "prefix", 1, 1 << 20, layout.prefix);
  const format = choiceFlag(values, "format", ["text", "json"] as const, "text");
  if (values.png === "") throw new ValidationError("--png needs a file name");
  const report = planReport({ height, width, prefix, eol: layout.eol, ...choice });
  if (typeof values.png === "string") {
    const file = await openOutput(values.png);
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

/** The grid and layout `zipar plan` counts: from --grid, --family or --model. */
async function planLayout(
  values: Values,
): Promise<{ grid: [number, number]; eol: boolean; prefix: number }> {
  const sources = ["family", "model"].filter((k) => values[k] !== undefined);
  if (sources.length > 1) throw new ValidationError("--family and --model exclude each other");
  if (values.model !== undefined) {
    if (values.eol) throw new ValidationError("--model sets the layout: drop --eol");
    const model = values.model as string;
    if (model === "") throw new ValidationError("--model needs a model directory");
    const python = typeof values.python === "string" ? values.python : undefined;
    // --grid / --size: the size to count, of a model that makes several (the worker checks it
    // against the model's files; the weights are not loaded).
    const described = await describeModel({ model, python, ...sizeFlags(values) });
    return { grid: described.grid, eol: described.eol, prefix: described.prefix };
  }
  if (values.python !== undefined) throw new ValidationError("--python applies with --model");
  if (values.size !== undefined) throw new ValidationError("--size applies with --model");
  if (values.family !== undefined) {
    const name = String(values.family);
    const family = FAMILY_LAYOUTS[name];
    if (!family) {
      throw new ValidationError(
        `unknown family ${name}`,
        `Families: ${Object.keys(FAMILY_LAYOUTS).join(", ")}.`,
      );
    }
    if (values.eol) throw new ValidationError(`--family ${name} sets the EOL layout: drop --eol`);
    const grid = typeof values.grid === "string" ? parseGrid("--grid", values.grid) : family.grid;
    return { grid, eol: family.eol, prefix: 1 };
  }
  if (typeof values.grid !== "string") {
    throw new ValidationError(
      "--grid, --family or --model is required",
      "Example: zipar plan --grid 24x24 --window 8.",
    );
  }
  return { grid: parseGrid("--grid", values.grid), eol: values.eol === true, prefix: 1 };
}
