/**
 * LlamaGen's cfg_interval on the mock (issue 15, item 13): the engine guides exactly the cells
 * LlamaGen's own loop guides (backends/llamagen_cfg_loop.ts), by raster index whatever the
 * schedule, so raster and ZipAR (within the mock's reach) give the official grid in interactive
 * and planned mode; a plan runner that does not know the interval is run interactive.
 */
import assert from "node:assert/strict";
import { plainPlanRunner } from "../testing/plain_plan_runner.ts";
import { generate, type GenerateOptions } from "../core/engine.ts";
import { layoutOf } from "../core/layout.ts";
import { createSchedule } from "../core/schedule.ts";
import type { Backend } from "../core/step.ts";
import { llamagenCfgLoop } from "./llamagen_cfg_loop.ts";
import { MockBackend } from "./mock/mock.ts";

// Reach: 2 left, 1 above-right, so ZipAR with s >= 2 gives the raster grid bit for bit.
const backend = new MockBackend({ height: 4, width: 5, vocab: 16, sharpness: 1.5 });
const images = [{ condition: 2, seed: 11, index: 0 }, { condition: 7, seed: 11, index: 1 }];
const CFG = 3;

function run(
  b: Backend,
  cfgInterval: number,
  window: number | null,
  mode: GenerateOptions["mode"],
) {
  const layout = layoutOf(b.info);
  const schedule = window === null
    ? createSchedule(layout, { kind: "raster" })
    : createSchedule(layout, { window });
  return generate(b, { images, schedule, cfgScale: CFG, cfgInterval, mode });
}

Deno.test("generate() with cfgInterval gives LlamaGen's grid on raster and ZipAR, both modes", async () => {
  const full = await llamagenCfgLoop(backend, images, CFG, -1);
  for (const interval of [-1, 0, 3, 11, 18, 100]) {
    const official = await llamagenCfgLoop(backend, images, CFG, interval);
    for (const window of [null, 2, 3]) {
      for (const mode of ["interactive", "planned"] as const) {
        const { grids, stats } = await run(backend, interval, window, mode);
        assert.equal(stats.mode, mode);
        assert.deepEqual(grids, official, `interval ${interval}, window ${window}, ${mode}`);
      }
    }
    // The interval changes the image unless it covers every token (20 cells: N + 2 >= 20).
    if (interval >= 0 && interval < 18) assert.notDeepEqual(official, full, `interval ${interval}`);
    if (interval >= 18 || interval < 0) assert.deepEqual(official, full);
  }
});

Deno.test("generate() runs cfgInterval interactive on a plan runner that does not know it", async () => {
  // The mock's sessions without their plansCfgInterval: a plan runner that guides every token.
  const unaware = plainPlanRunner(backend, "unaware");
  const official = await llamagenCfgLoop(backend, images, CFG, 4);
  const auto = await run(unaware, 4, 2, "auto");
  assert.equal(auto.stats.mode, "interactive");
  assert.deepEqual(auto.grids, official);
  assert.equal((await run(unaware, -1, 2, "auto")).stats.mode, "planned");
  await assert.rejects(run(unaware, 4, 2, "planned"), /cannot run plans with a CFG interval/);
  await assert.rejects(run(backend, -2, 2, "auto"), /cfgInterval must be an integer in -1\.\./);
});
