/**
 * The checks every prompt family's parity tests make the same way, on a greedy runner bound to
 * that family's open backend and prompts (testing/greedy_run.ts): a batch mixing prompts gives
 * each image its peer's grid and its own grid alone; ZipAR at s = W is raster, and a window s < W
 * takes W + (H − 1)·s passes with the planned and the interactive run agreeing.
 *
 * ```ts ignore
 * import { assertZiparWindows } from "../../testing/family_parity.ts";
 * await assertZiparWindows((which, schedule, cfg, mode) => run(backend, which, schedule, cfg, mode),
 *   { height: 6, width: 6, cfgs: [1, 4], windows: [1, 2, 4] });
 * ```
 *
 * @module
 */

import assert from "node:assert/strict";
import type { ScheduleOptions } from "../core/schedule.ts";
import type { greedyRun } from "./greedy_run.ts";

/** Greedy images of the prompts `which` (indices into the test's prompts) under `schedule`. */
export type GreedyRunner = (
  which: number[],
  schedule: ScheduleOptions,
  cfgScale: number,
  mode?: "interactive" | "planned",
) => ReturnType<typeof greedyRun>;

/** `count` random codes below `vocab` from `seed` (a 32-bit LCG): a grid to feed a model. */
export function lcgCodes(seed: number, count: number, vocab: number): number[] {
  let state = seed;
  return Array.from({ length: count }, () => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return (state >>> 16) % vocab;
  });
}

/**
 * Each of prompts 0 and 1 alone, raster, interactive and planned: H·W passes and the peer's
 * greedy grid (`cells` = H·W).
 */
export async function assertRasterEqualsPeer(
  run: GreedyRunner,
  peer: number[][],
  cells: number,
  cfgScale: number,
): Promise<void> {
  for (const mode of ["interactive", "planned"] as const) {
    for (const i of [0, 1]) {
      const { grids, stats } = await run([i], { kind: "raster" }, cfgScale, mode);
      assert.equal(stats.mode, mode);
      assert.equal(stats.passes, cells);
      assert.deepEqual([...grids], peer[i], `cfg ${cfgScale} ${mode} prompt ${i}`);
    }
  }
}

/**
 * Raster batches [1, 0, 1] give the peer's grids of prompts 1, 0, 1; a ZipAR batch of prompts 0
 * and 1 at `window` gives each image its grid alone; in both modes.
 */
export async function assertBatchEqualsAlone(
  run: GreedyRunner,
  peer: number[][],
  cells: number,
  cfgScale: number,
  window: number,
): Promise<void> {
  for (const mode of ["interactive", "planned"] as const) {
    const { grids } = await run([1, 0, 1], { kind: "raster" }, cfgScale, mode);
    assert.deepEqual([...grids], [...peer[1], ...peer[0], ...peer[1]], `${mode} raster batch`);
    const batch = await run([0, 1], { window }, cfgScale, mode);
    for (const i of [0, 1]) {
      const alone = await run([i], { window }, cfgScale, mode);
      const mine = batch.grids.subarray(cells * i, cells * (i + 1));
      assert.deepEqual([...mine], [...alone.grids], `${mode} image ${i}`);
    }
  }
}

/**
 * Prompts 0 and 1: ZipAR at s = W (planned) equals raster in H·W passes; each of `windows` takes
 * W + (H − 1)·s passes, planned equal to interactive; for each CFG scale of `cfgs`. Returns the
 * passes of each window (the same at every scale).
 */
export async function assertZiparWindows(
  run: GreedyRunner,
  options: { height: number; width: number; cfgs: number[]; windows: number[] },
): Promise<number[]> {
  const { height: H, width: W } = options;
  let passes: number[] = [];
  for (const cfg of options.cfgs) {
    passes = [];
    const raster = await run([0, 1], { kind: "raster" }, cfg);
    const full = await run([0, 1], { window: W }, cfg, "planned");
    assert.equal(full.stats.passes, H * W);
    assert.deepEqual([...full.grids], [...raster.grids], `cfg ${cfg}`);
    for (const window of options.windows) {
      const zipar = await run([0, 1], { window }, cfg);
      assert.equal(zipar.stats.passes, W + (H - 1) * window, `s=${window}`);
      passes.push(zipar.stats.passes);
      const planned = await run([0, 1], { window }, cfg, "planned");
      assert.deepEqual([...planned.grids], [...zipar.grids], `s=${window} planned`);
    }
  }
  return passes;
}
