/**
 * Scheduling + mock model per generation, interactive loop (one image, vocab 16). Divide by the
 * steps in the bench name for the per-step figure:
 *   deno bench core/engine_bench.ts
 */
import { MockBackend } from "../backends/mock/mock.ts";
import { generate } from "./engine.ts";
import { createLayout, layoutOf } from "./layout.ts";
import { compilePlan } from "./plan.ts";
import { countSteps, createSchedule } from "./schedule.ts";

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
