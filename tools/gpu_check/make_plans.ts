/**
 * Compile the plans tools/gpu_check/driver.py runs, with zipar's own core (core/plan), into
 * tools/gpu_check/plans.json — the GPU machine may have no Deno. Per grid (LlamaGen 16×16 and
 * 24×24, Janus 24×24; prefix 1, no EOL): raster and ZipAR ideal/paper s = 4, 8, 16, each as
 * core's EncodedPlan arrays plus the passes core counts.
 *
 *   deno run --allow-write tools/gpu_check/make_plans.ts [OUT.json] && deno fmt tools/gpu_check/plans.json
 *
 * @module
 */

import { createLayout } from "../../core/layout.ts";
import { compilePlan, encodePlan } from "../../core/plan.ts";
import { createSchedule, type ScheduleOptions } from "../../core/schedule.ts";
import { VERSION } from "../../cli/generation/version.ts";

/** One compiled plan, as the worker's `plan` request takes it. */
export interface GpuCheckPlan {
  setting: string;
  passes: number;
  stepStart: number[];
  slot: number[];
  input: number[];
  predicts: number[];
}

/** The settings of every grid. */
export const SETTINGS: [string, ScheduleOptions][] = [
  ["raster", { kind: "raster" }],
  ...[4, 8, 16].flatMap((s): [string, ScheduleOptions][] => [
    [`ideal s=${s}`, { window: s, variant: "ideal" }],
    [`paper s=${s}`, { window: s, variant: "paper" }],
  ]),
];

/** Plans for a height × width grid (prefix 1, no EOL), by setting. */
export function plansFor(height: number, width: number): GpuCheckPlan[] {
  const layout = createLayout({ height, width });
  return SETTINGS.filter(([, o]) => (o.window ?? 0) <= width).map(([setting, options]) => {
    const plan = compilePlan(layout, createSchedule(layout, options));
    const e = encodePlan(plan);
    return {
      setting,
      passes: plan.steps.length,
      stepStart: [...e.stepStart],
      slot: [...e.slot],
      input: [...e.input],
      predicts: [...e.predicts],
    };
  });
}

if (import.meta.main) {
  const out = Deno.args[0] ?? new URL("./plans.json", import.meta.url).pathname;
  const grids = [[4, 4], [8, 8], [16, 16], [24, 24]];
  const json = {
    format: "zipar.gpu_check.plans/1",
    zipar: VERSION,
    note: "compiled by tools/gpu_check/make_plans.ts from core/plan (encodePlan)",
    grids: Object.fromEntries(grids.map(([h, w]) => [`${h}x${w}`, plansFor(h, w)])),
  };
  await Deno.writeTextFile(out, JSON.stringify(json) + "\n");
  console.log(`wrote ${out}`);
}
