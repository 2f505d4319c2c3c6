/**
 * The images of a run: which class each one has and the key (seed, index) its draws use. Two
 * orders: classes cycled (`generate --class 1,4`, batch jobs, bench) and one block per class
 * (the demo's contact sheet rows, eval's per-class samples). Pure.
 *
 * @module
 */

import type { PlanImage } from "../../core/mod.ts";

/**
 * `count` images; image i has class `classes[i mod classes.length]` and the key (seed, i).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { cycleClasses } from "./images.ts";
 * assert.deepEqual(cycleClasses([1, 4], 3, 9).map((im) => [im.condition, im.seed, im.index]), [
 *   [1, 9, 0],
 *   [4, 9, 1],
 *   [1, 9, 2],
 * ]);
 * ```
 */
export function cycleClasses(classes: readonly number[], count: number, seed: number): PlanImage[] {
  if (classes.length === 0) throw new RangeError("cycleClasses() needs at least one class");
  return Array.from({ length: count }, (_, i) => ({
    condition: classes[i % classes.length],
    seed,
    index: i,
  }));
}

/**
 * `perClass` images of each class 0..numClasses−1 in turn: image i has class ⌊i / perClass⌋ and
 * the key (seed, i).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { perClassImages } from "./images.ts";
 * assert.deepEqual(perClassImages(2, 2, 0).map((im) => [im.condition, im.index]), [
 *   [0, 0],
 *   [0, 1],
 *   [1, 2],
 *   [1, 3],
 * ]);
 * ```
 */
export function perClassImages(numClasses: number, perClass: number, seed: number): PlanImage[] {
  return Array.from({ length: numClasses * perClass }, (_, i) => ({
    condition: Math.floor(i / perClass),
    seed,
    index: i,
  }));
}
