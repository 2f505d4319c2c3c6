/**
 * End to end through core/engine: raster equals the worker's own raster loop, ZipAR runs, and
 * interactive and planned (device-sampled) modes give identical grids; the device sampler equals
 * core/sampling on the same logits.
 */

import assert from "node:assert/strict";
import { generate } from "../../core/engine.ts";
import { layoutOf } from "../../core/layout.ts";
import { cellKey } from "../../core/random.ts";
import { resolveSampling, sample, type SamplingOptions } from "../../core/sampling.ts";
import { createSchedule, type ScheduleOptions } from "../../core/schedule.ts";
import type { OracleBackend } from "../../testing/worker_oracles.ts";
import { openTiny, PYTHON_TESTS, removeTinyModels } from "./test_helpers.ts";

const IMAGES = [
  { condition: 3, seed: 11, index: 0 },
  { condition: 7, seed: 11, index: 1 },
];

async function withTiny(fn: (backend: OracleBackend) => Promise<void>): Promise<void> {
  const backend = await openTiny();
  try {
    await fn(backend);
  } finally {
    await backend.close();
  }
}

async function run(
  backend: OracleBackend,
  schedule: ScheduleOptions,
  mode: "interactive" | "planned",
  cfgScale: number,
  sampling: SamplingOptions,
) {
  const s = createSchedule(layoutOf(backend.info), schedule);
  return await generate(backend, { images: IMAGES, schedule: s, cfgScale, sampling, mode });
}

Deno.test({
  name: "generate() raster equals the worker's plain raster loop, interactive and planned",
  ...PYTHON_TESTS,
  async fn() {
    await withTiny(async (backend) => {
      const sampling = { temperature: 1, topK: 50, topP: 1 };
      const oracle = await backend.rasterInWorker(IMAGES, 2, sampling);
      assert.ok(new Set(oracle).size > 16, "the oracle grid is suspiciously uniform");
      for (const mode of ["interactive", "planned"] as const) {
        const { grids, stats } = await run(backend, { kind: "raster" }, mode, 2, sampling);
        assert.equal(stats.mode, mode);
        assert.deepEqual([...grids], [...oracle], `${mode} raster differs from the worker loop`);
      }
    });
  },
});

Deno.test({
  name: "generate() ZipAR gives identical grids in interactive and planned mode",
  ...PYTHON_TESTS,
  async fn() {
    await withTiny(async (backend) => {
      const cases: [ScheduleOptions, number, SamplingOptions][] = [
        [{ window: 2 }, 2, { temperature: 1, topK: 0, topP: 1 }],
        [{ window: 3, variant: "paper" }, 1, { temperature: 0.8, topK: 40, topP: 0.9 }],
        [{ window: 4, proxy: "r-1" }, 3, { temperature: 0 }],
      ];
      for (const [schedule, cfg, sampling] of cases) {
        const a = await run(backend, schedule, "interactive", cfg, sampling);
        const b = await run(backend, schedule, "planned", cfg, sampling);
        assert.equal(a.stats.passes, b.stats.passes);
        assert.ok(a.stats.passes < 64, `ZipAR took ${a.stats.passes} passes`);
        assert.deepEqual([...a.grids], [...b.grids], `window ${schedule.window} differs`);
      }
    });
  },
});

Deno.test({
  name: "device sampling equals core/sampling sample() on the same logits",
  ...PYTHON_TESTS,
  async fn() {
    try {
      await withTiny(async (backend) => {
        const vocab = backend.info.vocab, rows = 1500;
        let state = 12345;
        const rand = () => (state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 2 ** 32;
        const logits = new Float32Array(rows * vocab);
        for (let i = 0; i < logits.length; i++) {
          // Peaked rows with some exact duplicates, like real logits after CFG.
          logits[i] = Math.round((rand() * 2 - 1) * (i % 3 === 0 ? 2000 : 600)) / 100;
        }
        const keys = new Uint32Array(rows);
        for (let r = 0; r < rows; r++) keys[r] = cellKey(r, r % 3, r % 16, r % 7);
        const settings: SamplingOptions[] = [
          { temperature: 0 },
          { temperature: 1 },
          { temperature: 0.7, topK: 20 },
          { temperature: 1.3, topP: 0.8 },
          { temperature: 1, topK: 50, topP: 0.9 },
        ];
        let mismatches = 0, total = 0;
        for (const options of settings) {
          const sampling = resolveSampling(options);
          const device = await backend.sampleInWorker(logits, keys, sampling);
          for (let r = 0; r < rows; r++) {
            const row = logits.subarray(r * vocab, (r + 1) * vocab);
            if (sample(row, keys[r], sampling) !== device[r]) mismatches++;
            total++;
          }
        }
        // The same definition in 32-bit hashes and float64 scores: not one draw may differ.
        assert.equal(mismatches, 0, `${mismatches} of ${total} draws differ`);
      });
    } finally {
      await removeTinyModels();
    }
  },
});
