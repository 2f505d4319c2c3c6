/**
 * Counter-based randomness keyed by (seed, image, row, col), portable to WGSL and PyTorch: the
 * key, hash and noise of the keyed sampler that docs/sampling.md defines.
 *
 * Every draw is a pure function of its key, so raster and ZipAR decoding of the same image use
 * the same random numbers for the same cell, whatever the order of steps, the batch or the
 * backend. Only 32-bit unsigned multiply (mod 2³²), xor and shifts are used:
 *
 * ```
 * fmix32(h):  h ^= h >> 16; h *= 0x85EBCA6B; h ^= h >> 13; h *= 0xC2B2AE35; h ^= h >> 16
 * cellKey  = fmix32(fmix32(fmix32(fmix32(seed ^ 0x9E3779B9) ^ image) ^ row) ^ col)
 * bits(v)  = fmix32(key + v * 0x9E3779B9)                      (all mod 2³²)
 * uniform  = (2·(bits >> 9) + 1) / 2²⁴                        (exact in float32, in (0, 1))
 * gumbel   = −log(−log(uniform))
 * ```
 *
 * A key for a second purpose (e.g. acceptance tests of the adaptive window) is derived with
 * {@linkcode subKey}, so streams never overlap by accident.
 *
 * @module
 */

/**
 * MurmurHash3's 32-bit finaliser: a bijection on u32 with good avalanche.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { fmix32 } from "./random.ts";
 * assert(fmix32(0) === 0 && fmix32(1) !== 1);
 * ```
 */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * Golden-ratio increment used to spread counters: ⌊2³² / φ⌋.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { GOLDEN } from "./random.ts";
 * assert.equal(GOLDEN, Math.floor(2 ** 32 / ((1 + Math.sqrt(5)) / 2)));
 * ```
 */
export const GOLDEN = 0x9e3779b9;

/**
 * Largest seed: seeds are unsigned 32-bit integers.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { MAX_SEED } from "./random.ts";
 * assert.equal(MAX_SEED, 2 ** 32 - 1);
 * ```
 */
export const MAX_SEED = 0xffffffff;

/**
 * The key of the draw for image `image`, token (row, col) under `seed`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { cellKey } from "./random.ts";
 * assert(cellKey(0, 0, 0, 0) !== cellKey(0, 0, 0, 1));
 * ```
 */
export function cellKey(seed: number, image: number, row: number, col: number): number {
  let h = fmix32((seed ^ GOLDEN) >>> 0);
  h = fmix32((h ^ image) >>> 0);
  h = fmix32((h ^ row) >>> 0);
  return fmix32((h ^ col) >>> 0);
}

/**
 * A key for a second, independent stream derived from `key` (e.g. 1 for acceptance draws).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { cellKey, subKey } from "./random.ts";
 * const key = cellKey(1, 0, 2, 3);
 * assert(subKey(key, 1) !== key);
 * ```
 */
export function subKey(key: number, stream: number): number {
  return fmix32((key ^ fmix32((stream + GOLDEN) >>> 0)) >>> 0);
}

/**
 * The 32 random bits for vocabulary entry `v` of the draw `key`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { randomBits } from "./random.ts";
 * assert(randomBits(5, 0) !== randomBits(5, 1));
 * ```
 */
export function randomBits(key: number, v: number): number {
  return fmix32((key + Math.imul(v, GOLDEN)) >>> 0);
}

/**
 * A uniform number in (0, 1) with 23 random bits: (2·(bits >> 9) + 1) / 2²⁴, an odd multiple
 * of 2⁻²⁴, so it is exact in float32 and never 0 or 1.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { uniform } from "./random.ts";
 * const u = uniform(123, 4);
 * assert(u > 0 && u < 1);
 * ```
 */
export function uniform(key: number, v: number): number {
  return (2 * (randomBits(key, v) >>> 9) + 1) / 16777216;
}

/**
 * Standard Gumbel noise for vocabulary entry `v` of the draw `key`, rounded to float32.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { gumbel } from "./random.ts";
 * assert(Number.isFinite(gumbel(7, 3)));
 * ```
 */
export function gumbel(key: number, v: number): number {
  return Math.fround(-Math.log(-Math.log(uniform(key, v))));
}
