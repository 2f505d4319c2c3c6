/**
 * The checks a prompt family with EOL rows passes against its peers, shared by the Lumina-mGPT
 * 1.0 and 2.0 tests (lumina_test.ts, lumina2_test.ts): each test file gives its backend, grid,
 * codebook, prompts and peer, and asserts its own family facts beside these.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { PromptCondition, Sequence } from "../../core/condition.ts";
import type { ScheduleOptions } from "../../core/schedule.ts";
import type { OracleBackend } from "../../testing/worker_oracles.ts";
import { greedyRun } from "../../testing/greedy_run.ts";
import { cfgStepsOf, codesOf, maxDiff } from "./lumina_test_helpers.ts";

/** What the checks run on. */
export interface EolFamily {
  /** Run `fn` on the family's backend opened at `grid`. */
  withBackend: (fn: (backend: OracleBackend) => Promise<void>) => Promise<void>;
  /** [H, W] of the backend's grid. */
  grid: [number, number];
  /** The codebook V (the EOL token is V). */
  vocab: number;
  /** Prompts of different lengths. */
  prompts: string[];
}

/** Greedy images of `f.prompts[which]`. */
export function runPrompts(
  f: EolFamily,
  backend: OracleBackend,
  which: number[],
  schedule: ScheduleOptions,
  cfg: number,
  mode: "interactive" | "planned" = "interactive",
) {
  const conditions: PromptCondition[] = which.map((p) => ({ prompt: f.prompts[p] }));
  return greedyRun(backend, conditions, schedule, cfg, mode);
}

/**
 * A raster run's step logits under the slot cache, conditional and unconditional rows, equal
 * `peer`'s full forward ([H·W, V] per half) over the same random codes, for prompt 1.
 */
export async function checkStepLogits(
  f: EolFamily,
  peer: (codes: number[], unconditional: boolean) => Promise<Float64Array>,
): Promise<void> {
  const [h, w] = f.grid, v = f.vocab;
  const codes = codesOf(7, h * w, v);
  assert.ok(new Set(codes).size > h * w / 2, `codes ${codes}`);
  const { steps, predicted } = cfgStepsOf(f.grid, v, { kind: "raster" }, codes);
  assert.equal(predicted.length, h * w);
  const condition = { prompt: f.prompts[1] };
  const sequences: Sequence[] = [
    { condition, unconditional: false },
    { condition, unconditional: true },
  ];
  const got: number[] = [];
  await f.withBackend(async (backend) => {
    const session = await backend.open(sequences);
    for (const step of steps) got.push(...await session.step(step));
    await session.close();
  });
  assert.equal(got.length, predicted.length * 2 * v);
  for (const unconditional of [false, true]) {
    const want = await peer(codes, unconditional);
    const mine = new Float64Array(h * w * v);
    predicted.forEach((cell, k) => {
      const row = 2 * k + (unconditional ? 1 : 0); // rows alternate cond, uncond
      mine.set(got.slice(row * v, (row + 1) * v), cell * v);
    });
    const diff = maxDiff(mine, want);
    assert.ok(diff < 1e-4, `${unconditional ? "unconditional" : "conditional"}: ${diff}`);
  }
}

/**
 * Greedy raster, interactive and planned, of each prompt alone equals `peer` (the grids of
 * prompts 0 and 1 at `cfg`), which must differ and not be uniform.
 */
export async function checkRasterEqualsPeer(
  f: EolFamily,
  cfg: number,
  peer: number[][],
): Promise<void> {
  assert.notDeepEqual(peer[0], peer[1], "prompts give the same grid");
  for (const grid of peer) assert.ok(new Set(grid).size > 8, `uniform grid ${grid}`);
  await f.withBackend(async (backend) => {
    for (const mode of ["interactive", "planned"] as const) {
      for (const i of [0, 1]) {
        const { grids, stats } = await runPrompts(f, backend, [i], { kind: "raster" }, cfg, mode);
        assert.equal(stats.mode, mode);
        assert.equal(stats.passes, f.grid[0] * f.grid[1]);
        assert.deepEqual([...grids], peer[i], `cfg ${cfg} ${mode} prompt ${i}`);
      }
    }
  });
}

/** A batch of prompts 1, 0, 1 equals `peer`'s grids; a ZipAR batch equals each image alone. */
export async function checkBatch(f: EolFamily, cfg: number, peer: number[][]): Promise<void> {
  const n = f.grid[0] * f.grid[1];
  await f.withBackend(async (backend) => {
    for (const mode of ["interactive", "planned"] as const) {
      const { grids } = await runPrompts(f, backend, [1, 0, 1], { kind: "raster" }, cfg, mode);
      assert.deepEqual([...grids], [...peer[1], ...peer[0], ...peer[1]], mode);
      const batch = await runPrompts(f, backend, [0, 1], { window: 2 }, cfg, mode);
      for (const i of [0, 1]) {
        const alone = await runPrompts(f, backend, [i], { window: 2 }, cfg, mode);
        const mine = batch.grids.subarray(n * i, n * (i + 1));
        assert.deepEqual([...mine], [...alone.grids], `${mode} image ${i}`);
      }
    }
  });
}

/**
 * ZipAR at s = W equals raster; each of `windows` takes W + (H − 1)·s passes (returned per
 * window) and its planned run equals its interactive one.
 */
export async function checkZipar(
  f: EolFamily,
  cfg: number,
  windows: number[],
): Promise<number[]> {
  const [h, w] = f.grid;
  const passes: number[] = [];
  await f.withBackend(async (backend) => {
    const raster = await runPrompts(f, backend, [0, 1], { kind: "raster" }, cfg);
    const full = await runPrompts(f, backend, [0, 1], { window: w }, cfg, "planned");
    assert.equal(full.stats.passes, h * w);
    assert.deepEqual([...full.grids], [...raster.grids], `cfg ${cfg}`);
    for (const window of windows) {
      const zipar = await runPrompts(f, backend, [0, 1], { window }, cfg);
      assert.equal(zipar.stats.passes, w + (h - 1) * window, `s=${window}`);
      passes.push(zipar.stats.passes);
      const planned = await runPrompts(f, backend, [0, 1], { window }, cfg, "planned");
      assert.deepEqual([...planned.grids], [...zipar.grids], `s=${window} planned`);
    }
  });
  return passes;
}
