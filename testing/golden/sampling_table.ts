/**
 * The shared golden table of the keyed sampler (testing/golden/sampling.json), typed: the cases
 * that docs/sampling.md's three implementations — core/sampling.ts, the Python worker's
 * sampler.py and WebGPU's sample.wgsl — must each draw exactly. The table was generated once by
 * testing/golden/make_sampling_table.ts from core/sampling.ts; no test regenerates it.
 *
 * ```ts ignore
 * import { SAMPLING_TABLE } from "../testing/golden/sampling_table.ts";
 * for (const c of SAMPLING_TABLE.cases) console.log(c.name, c.token);
 * ```
 *
 * @module
 */

import table from "./sampling.json" with { type: "json" };

/** A key of the table: the draw key of one image's cell, as core/random's cellKey derives it. */
export interface KeyVector {
  seed: number;
  /** The image's index in its batch. */
  index: number;
  row: number;
  col: number;
  /** cellKey(seed, index, row, col), u32. */
  key: number;
}

/** One vocabulary entry's randomness under a key: the hash, the uniform, the Gumbel value. */
export interface DrawVector {
  key: number;
  /** The vocabulary entry. */
  v: number;
  /** randomBits(key, v), u32. */
  bits: number;
  /** (2·(bits >> 9) + 1) / 2²⁴. */
  uniform: number;
  /** −log(−log(uniform)) in float64, rounded to float32. */
  gumbel: number;
}

/** One sampling case: logits, settings and a key in; the token out. */
export interface SamplingCase {
  /** Unique, says what the case is about. */
  name: string;
  /** The rule of docs/sampling.md it exercises. */
  rule: string;
  /** The conditional logits (float32 values of these numbers). */
  logits: number[];
  /** The unconditional logits, when the case mixes CFG. */
  uncond?: number[];
  /** The CFG scale g (1 or absent: no mixing). */
  cfg?: number;
  temperature: number;
  topK: number;
  topP: number;
  seed: number;
  /** The image's index in its batch. */
  index: number;
  row: number;
  col: number;
  /** cellKey(seed, index, row, col). */
  key: number;
  /** The tokens top-k and top-p keep, ascending (absent at temperature 0). */
  kept?: number[];
  /** The token every implementation draws. */
  token: number;
}

/** The whole table. */
export interface SamplingTable {
  /** What the table is, who made it and how. */
  about: string[];
  keys: KeyVector[];
  draws: DrawVector[];
  cases: SamplingCase[];
}

/** The golden table, as stored. */
export const SAMPLING_TABLE: SamplingTable = table as SamplingTable;

/** The path of the table's JSON file (for the Python check, which reads it itself). */
export const SAMPLING_TABLE_PATH: URL = new URL("./sampling.json", import.meta.url);
