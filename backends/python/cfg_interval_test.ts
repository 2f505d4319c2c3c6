/**
 * LlamaGen's cfg_interval on the Python backend (issue 15, item 13): the worker's planned runner
 * (planner.py) and the test-mode worker's raster loop (testing/python/raster_loop.py) guide the
 * cells LlamaGen's own loop guides (backends/llamagen_cfg_loop.ts over the worker's steps), as the
 * engine's interactive mixing in TypeScript does; ZipAR agrees between the worker's and the host's
 * mixing.
 */
import assert from "node:assert/strict";
import { generate } from "../../core/engine.ts";
import { layoutOf } from "../../core/layout.ts";
import { resolveSampling } from "../../core/sampling.ts";
import { createSchedule } from "../../core/schedule.ts";
import { llamagenCfgLoop } from "../llamagen_cfg_loop.ts";
import { openTiny, PYTHON_TESTS, removeTinyModels } from "./test_helpers.ts";

const images = [{ condition: 3, seed: 5, index: 0 }, { condition: 8, seed: 5, index: 1 }];
const CFG = 4;

Deno.test({
  name:
    "Python backend: cfgInterval guides LlamaGen's cells in the worker's plan, raster loop and TS",
  ...PYTHON_TESTS,
  async fn() {
    const backend = await openTiny();
    try {
      const layout = layoutOf(backend.info);
      const raster = createSchedule(layout, { kind: "raster" });
      const zipar = createSchedule(layout, { window: 4 });
      const full = await llamagenCfgLoop(backend, images, CFG, -1);
      for (const interval of [-1, 0, 9]) {
        const official = interval < 0
          ? full
          : await llamagenCfgLoop(backend, images, CFG, interval);
        const run = (schedule: typeof raster, mode: "planned" | "interactive") =>
          generate(backend, { images, schedule, cfgScale: CFG, cfgInterval: interval, mode });
        const planned = await run(raster, "planned");
        assert.equal(planned.stats.mode, "planned");
        assert.deepEqual(planned.grids, official, `planned raster, interval ${interval}`);
        assert.deepEqual((await run(raster, "interactive")).grids, official);
        const worker = await backend.rasterInWorker(images, CFG, resolveSampling(), interval);
        assert.deepEqual(worker, official, `worker raster, interval ${interval}`);
        const zipPlanned = await run(zipar, "planned");
        assert.deepEqual(zipPlanned.grids, (await run(zipar, "interactive")).grids);
        if (interval >= 0) assert.notDeepEqual(official, full, `interval ${interval}`);
      }
    } finally {
      await backend.close();
      await removeTinyModels();
    }
  },
});
