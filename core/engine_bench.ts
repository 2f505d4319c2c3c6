/**
 * Scheduling + mock model per generation, interactive loop (one image, vocab 16). Divide by the
 * steps in the bench name for the per-step figure:
 *   deno bench core/engine_bench.ts
 *
 * The `reactive` group runs the schedules that react to model outputs (adaptive windows,
 * speculative Jacobi decoding) beside fixed ZipAR on the same 24×24 mock; their step counts
 * (measured once, the mock is deterministic) are in the names.
 */
import { MockBackend } from "../backends/mock/mock.ts";
import { createAdaptiveSchedule } from "./speculative/adaptive.ts";
import { createAdaptiveV2Schedule } from "./speculative/adaptive_v2.ts";
import { generate } from "./engine.ts";
import { createLayout, layoutOf } from "./layout.ts";
import { compilePlan } from "./plan.ts";
import { countSteps, createSchedule, type Schedule } from "./schedule.ts";
import { createSpeculativeRowsSchedule } from "./speculative/speculative_rows.ts";

const grid24 = new MockBackend({ height: 24, width: 24, vocab: 16 });
const grid90 = new MockBackend({ height: 90, width: 90, vocab: 16, eolToken: 16 });
const images = [{ condition: 1, seed: 0, index: 0 }];

for (const [backend, window, eol] of [[grid24, 8, false], [grid90, 7, true]] as const) {
  const { height, width } = backend.info;
  const steps = countSteps({ height, width, window });
  const layout = layoutOf(backend.info);
  const schedule = createSchedule(layout, { window });
  Deno.bench({
    name: `schedule only (compilePlan) ${height}×${width}${
      eol ? " EOL" : ""
    } s=${window}: ${steps} steps`,
    group: `${height}x${width}`,
    fn: () => {
      compilePlan(createLayout({ height, width, eol }), schedule);
    },
  });
  Deno.bench({
    name: `schedule + mock + sample ${height}×${width}${
      eol ? " EOL" : ""
    } s=${window}: ${steps} steps`,
    group: `${height}x${width}`,
    baseline: true,
    fn: async () => {
      await generate(backend, { images, schedule, mode: "interactive" });
    },
  });
}

const layout24 = layoutOf(grid24.info);
const reactive: [string, Schedule][] = [
  ["ZipAR ideal s=8", createSchedule(layout24, { window: 8 })],
  ["adaptive m=8", createAdaptiveSchedule(layout24, { minWindow: 8 })],
  ["adaptive2 m=8", createAdaptiveV2Schedule(layout24, { minWindow: 8 })],
  ["sjd L=4", createSpeculativeRowsSchedule(layout24, { draft: 4 })],
  ["ideal-sjd s=8 L=4", createSpeculativeRowsSchedule(layout24, { draft: 4, window: 8 })],
];
for (const [label, schedule] of reactive) {
  const run = () => generate(grid24, { images, schedule, mode: "interactive" });
  const { stats } = await run();
  Deno.bench({
    name: `${label} 24×24: ${stats.passes} steps, ${stats.queries} queries`,
    group: "reactive",
    baseline: label.startsWith("ZipAR"),
    fn: async () => {
      await run();
    },
  });
}
