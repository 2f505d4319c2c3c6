/**
 * The WGSL sampler (sample.wgsl through DeviceSampler) draws every case of the shared golden
 * table of docs/sampling.md exactly, and core/sampling's tokens on wide random logits at every
 * setting (a float32 near-tie may flip one there).
 */

import assert from "node:assert/strict";
import { cellKey } from "../../core/random.ts";
import { mixCfg, resolveSampling, sample, type SamplingOptions } from "../../core/sampling.ts";
import { SAMPLING_TABLE } from "../../testing/golden/sampling_table.ts";
import { needs } from "../../testing/runtimes.ts";
import { openGpu } from "./device.ts";
import { Kernels } from "./kernels.ts";
import { mulberry32 } from "./random_weights.ts";
import { type HarnessJob, SamplerHarness } from "./sampler_harness.ts";

const VOCAB = 3000; // not a multiple of the workgroup: the tail of every loop runs
const GRID = [4, 8] as const;
const IMAGES = [{ seed: 7, index: 0 }, { seed: 7, index: 1 }, { seed: 0xfffffff0, index: 9 }];

/**
 * Logits of three kinds, row by row: smooth random (σ = 3), heavy ties (values in 12 levels, so
 * top-k and top-p cut inside tie groups) and peaked (one token far above the rest).
 */
function makeLogits(rows: number, seed: number): Float32Array<ArrayBuffer> {
  const rand = mulberry32(seed);
  const out = new Float32Array(rows * VOCAB); // logits: [rows, vocab]
  for (let r = 0; r < rows; r++) {
    const kind = r % 3;
    for (let v = 0; v < VOCAB; v++) {
      const u = rand() + rand() + rand() - 1.5;
      out[r * VOCAB + v] = kind === 0 ? 6 * u : kind === 1 ? Math.round(4 * u) / 2 : u;
    }
    if (kind === 2) out[r * VOCAB + Math.floor(rand() * VOCAB)] = 9;
  }
  return out;
}

/** Every cell of every image: cond row i, uncond row i + half (the CFG half). */
function makeJobs(): { jobs: HarnessJob[]; rows: number } {
  const cells = GRID[0] * GRID[1];
  const jobs: HarnessJob[] = [];
  const half = IMAGES.length * cells;
  IMAGES.forEach((_, image) => {
    for (let cell = 0; cell < cells; cell++) {
      const cond = image * cells + cell;
      jobs.push({ cond, uncond: cond + half, image, cell });
    }
  });
  return { jobs, rows: 2 * half };
}

const SETTINGS: [SamplingOptions, number][] = [
  [{ temperature: 0 }, 1],
  [{ temperature: 0 }, 4],
  [{ temperature: 1 }, 1],
  [{ temperature: 0.7 }, 3],
  [{ temperature: 1, topK: 1 }, 1],
  [{ temperature: 1, topK: 20 }, 2],
  [{ temperature: 1.3, topK: VOCAB - 1 }, 1],
  [{ temperature: 1, topP: 0.8 }, 1],
  [{ temperature: 0.6, topP: 0.3 }, 2],
  [{ temperature: 1, topK: 50, topP: 0.9 }, 4],
  [{ temperature: 1, topK: 400, topP: 0.999 }, 1],
];

Deno.test({
  name: "the device sampler draws core/sampling's tokens from the same logits, every setting",
  ...needs("WebGPU sampler tests", ["webgpu"]),
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const gpu = await openGpu();
    const kernels = new Kernels(gpu.device);
    const { jobs, rows } = makeJobs();
    const logits = makeLogits(rows, 3);
    const row = (r: number) => logits.subarray(r * VOCAB, (r + 1) * VOCAB);
    let total = 0, differ = 0;
    const failures: string[] = [];
    for (const [options, cfgScale] of SETTINGS) {
      const sampling = resolveSampling(options);
      const harness = new SamplerHarness({
        gpu,
        kernels,
        logits,
        vocab: VOCAB,
        grid: GRID,
        images: IMAGES,
        jobs,
        cfgScale,
        sampling,
      });
      try {
        await harness.run();
        const got = await harness.tokens();
        let bad = 0;
        jobs.forEach((j, i) => {
          const mixed = cfgScale === 1 ? row(j.cond) : mixCfg(row(j.cond), row(j.uncond), cfgScale);
          const { seed, index } = IMAGES[j.image];
          const key = cellKey(seed, index, Math.floor(j.cell / GRID[1]), j.cell % GRID[1]);
          if (sample(mixed, key, sampling) !== got[i]) bad++;
        });
        total += jobs.length;
        differ += bad;
        // A near-tie (float32 sums on the device, float64 on the host) may flip one draw.
        if (bad > 1) failures.push(`${JSON.stringify(options)} g=${cfgScale}: ${bad} differ`);
      } finally {
        harness.destroy();
      }
    }
    console.log(`device sampler vs core/sampling: ${differ} of ${total} tokens differ`);
    assert.deepEqual(failures, []);
    assert(differ <= 2, `${differ} of ${total} tokens differ`);
  },
});

/** The golden table's grid: every case's (row, col) is inside it. */
const TABLE_GRID = [64, 64] as const;

Deno.test({
  name: "the device sampler draws the golden table's token in every case",
  ...needs("WebGPU sampler tests", ["webgpu"]),
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const gpu = await openGpu();
    const kernels = new Kernels(gpu.device);
    const failures: string[] = [];
    for (const c of SAMPLING_TABLE.cases) {
      assert.ok(c.row < TABLE_GRID[0] && c.col < TABLE_GRID[1], `${c.name}: cell off the grid`);
      const vocab = c.logits.length;
      const harness = new SamplerHarness({
        gpu,
        kernels,
        logits: Float32Array.from([...c.logits, ...(c.uncond ?? [])]), // [1 or 2, vocab]
        vocab,
        grid: TABLE_GRID,
        images: [{ seed: c.seed, index: c.index }],
        jobs: [{
          cond: 0,
          uncond: c.uncond ? 1 : 0,
          image: 0,
          cell: c.row * TABLE_GRID[1] + c.col,
        }],
        cfgScale: c.cfg ?? 1,
        sampling: resolveSampling(c),
      });
      try {
        await harness.run();
        const [token] = await harness.tokens();
        if (token !== c.token) failures.push(`${c.name}: ${token}, table ${c.token}`);
      } finally {
        harness.destroy();
      }
    }
    assert.deepEqual(failures, []);
  },
});
