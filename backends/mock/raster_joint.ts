/**
 * The mock model's exact distribution over whole grids in raster order, by enumeration: the
 * target that lossless speculative schedules (core/speculative/speculative_rows, core/speculative/adaptive_v2) must
 * sample from. For tiny grids only (vocab^(H·W) grids).
 *
 * @module
 */

import { probabilities, type Sampling } from "../../core/sampling.ts";
import type { MockBackend } from "./mock.ts";

/** What the mock reads for a neighbour that raster order has not decoded yet. */
const NOT_VISIBLE = 0x7fffffff;

/** Largest number of grids {@linkcode rasterJoint} enumerates. */
export const MAX_JOINT_GRIDS = 1 << 16;

/**
 * P(grid) under raster decoding of `backend` for class `condition` with `sampling` (no CFG), for
 * every grid: `probs[g]` for the grid whose row-major tokens are the base-vocab digits of g (the
 * first cell the most significant).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { MockBackend } from "./mock.ts";
 * import { gridIndex, rasterJoint } from "./raster_joint.ts";
 * import { resolveSampling } from "../../core/sampling.ts";
 * const backend = new MockBackend({ height: 1, width: 2, vocab: 3 });
 * const probs = rasterJoint(backend, 0, resolveSampling());
 * assert.equal(probs.length, 9);
 * assert.ok(Math.abs(probs.reduce((a, b) => a + b, 0) - 1) < 1e-12);
 * assert.equal(gridIndex([2, 1], 3), 7);
 * ```
 */
export function rasterJoint(
  backend: MockBackend,
  condition: number,
  sampling: Sampling,
): Float64Array {
  const { height, width, vocab } = backend.info;
  const cells = height * width;
  const total = vocab ** cells;
  if (!(total <= MAX_JOINT_GRIDS)) {
    throw new RangeError(`${total} grids are too many to enumerate (at most ${MAX_JOINT_GRIDS})`);
  }
  const probs = new Float64Array(total);
  const grid = new Int32Array(cells);
  const out = new Float32Array(vocab);
  for (let g = 0; g < total; g++) {
    for (let k = cells - 1, rest = g; k >= 0; k--, rest = Math.floor(rest / vocab)) {
      grid[k] = rest % vocab;
    }
    let p = 1;
    for (let k = 0; k < cells && p > 0; k++) {
      const row = Math.floor(k / width), col = k % width;
      const read = (
        r: number,
        c: number,
      ) => (r * width + c < k ? grid[r * width + c] : NOT_VISIBLE);
      backend.logitsFor(condition, row, col, read, out);
      p *= probabilities(out, sampling)[grid[k]];
    }
    probs[g] = p;
  }
  return probs;
}

/**
 * The index in {@linkcode rasterJoint}'s result of a grid given as row-major tokens.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { gridIndex } from "./raster_joint.ts";
 * assert.equal(gridIndex([0, 0, 1], 2), 1);
 * ```
 */
export function gridIndex(tokens: ArrayLike<number>, vocab: number): number {
  let g = 0;
  for (let k = 0; k < tokens.length; k++) g = g * vocab + tokens[k];
  return g;
}

/**
 * Pearson's chi-square of observed grid counts against `n` draws from `probs`, pooling grids
 * whose expected count is below 5 into one bin. Returns the statistic and its degrees of
 * freedom.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { chiSquareGrids } from "./raster_joint.ts";
 * const { chi, dof } = chiSquareGrids([50, 50], Float64Array.from([0.5, 0.5]), 100);
 * assert.deepEqual([chi, dof], [0, 1]);
 * ```
 */
export function chiSquareGrids(
  counts: ArrayLike<number>,
  probs: Float64Array,
  n: number,
): { chi: number; dof: number } {
  let chi = 0, bins = 0, poolObserved = 0, poolExpected = 0;
  for (let g = 0; g < probs.length; g++) {
    const expected = n * probs[g];
    if (expected < 5) {
      poolObserved += counts[g];
      poolExpected += expected;
      continue;
    }
    chi += (counts[g] - expected) ** 2 / expected;
    bins++;
  }
  if (poolExpected > 0) {
    chi += (poolObserved - poolExpected) ** 2 / poolExpected;
    bins++;
  }
  return { chi, dof: bins - 1 };
}

/**
 * The chi-square value a correct sampler exceeds with probability about 0.001 at `dof` degrees
 * of freedom (Wilson–Hilferty).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { chiSquareBound } from "./raster_joint.ts";
 * assert.ok(Math.abs(chiSquareBound(4) - 18.47) < 0.3);
 * assert.ok(Math.abs(chiSquareBound(100) - 149.4) < 1);
 * ```
 */
export function chiSquareBound(dof: number): number {
  const v = 2 / (9 * dof);
  return dof * (1 - v + 3.0902 * Math.sqrt(v)) ** 3;
}
