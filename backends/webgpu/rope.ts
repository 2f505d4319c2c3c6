/**
 * The WebGPU backend's 2D RoPE table (docs/llamagen.md), uploaded once per model and read by
 * rope_kv.wgsl. Image slot (r, c) rotates head-dim pair j < D/4 by r·f_j and pair D/4 + j by
 * c·f_j, f_j = base^(−j / (D/4)); prefix slots have cos = sin = 0 (LlamaGen's class token
 * gets q = k = 0). Computed here, not taken from backends/llamagen_reference.ts, so that the
 * float64 reference stays an independent check of it (rope_test.ts).
 *
 * @module
 */

import type { LlamagenConfig } from "../llamagen_config.ts";

/** The fields of a config the table depends on. */
export type RopeConfig = Pick<LlamagenConfig, "dim" | "heads" | "prefix" | "grid" | "ropeBase">;

/**
 * table: [slots, headDim/2, 2] float32 (cos, sin) pairs, slots = prefix + H·W.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ropeTable } from "./rope.ts";
 * const t = ropeTable({ dim: 8, heads: 1, prefix: 1, grid: [2, 2], ropeBase: 10000 });
 * assert.equal(t.length, 5 * 4 * 2);
 * assert.deepEqual([...t.subarray(0, 8)], [0, 0, 0, 0, 0, 0, 0, 0]); // the class slot
 * assert.equal(t[3 * 8], Math.fround(Math.cos(1))); // slot 3 = (1, 0): pair 0 turns by r·f_0 = 1
 * ```
 */
export function ropeTable(config: RopeConfig): Float32Array {
  const headDim = config.dim / config.heads, quarter = headDim / 4;
  const [height, width] = config.grid;
  const freqs = Float64Array.from(
    { length: quarter },
    (_, j) => 1 / config.ropeBase ** (j / quarter),
  );
  const table = new Float32Array((config.prefix + height * width) * headDim); // zeros: prefix
  for (let r = 0; r < height; r++) {
    for (let c = 0; c < width; c++) {
      const base = (config.prefix + r * width + c) * headDim;
      for (let j = 0; j < quarter; j++) {
        table[base + 2 * j] = Math.cos(r * freqs[j]);
        table[base + 2 * j + 1] = Math.sin(r * freqs[j]);
        table[base + 2 * (quarter + j)] = Math.cos(c * freqs[j]);
        table[base + 2 * (quarter + j) + 1] = Math.sin(c * freqs[j]);
      }
    }
  }
  return table;
}

/**
 * table: [positions, headDim/2, 2] float32 (cos, sin) pairs of 1-D rotary positions (Llama,
 * Janus): position p turns pair j by p·base^(−2j / headDim). The pairs are rope_kv.wgsl's
 * (2j, 2j + 1); a checkpoint whose rotation pairs dimensions j and j + headDim/2 (transformers'
 * `rotate_half`) has its query and key rows permuted to match at upload (janus_weights.ts).
 * Frequencies and angles are rounded to float32 where transformers' Llama rotary embedding
 * computes them in float32, so that long prompts turn by the same angles.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ropeTable1d } from "./rope.ts";
 * const t = ropeTable1d(3, 4, 10000);
 * assert.equal(t.length, 3 * 2 * 2);
 * assert.deepEqual([...t.subarray(0, 4)], [1, 0, 1, 0]); // position 0 turns nothing
 * assert.equal(t[4 + 2], Math.fround(Math.cos(Math.fround(1 / 100)))); // position 1, pair 1: base^(-2/4)
 * ```
 */
export function ropeTable1d(positions: number, headDim: number, base: number): Float32Array {
  const half = headDim / 2;
  const table = new Float32Array(positions * headDim);
  for (let j = 0; j < half; j++) {
    const f = Math.fround;
    const freq = f(1 / f(base ** f((2 * j) / headDim)));
    for (let p = 0; p < positions; p++) {
      const angle = f(p * freq);
      table[p * headDim + 2 * j] = Math.cos(angle);
      table[p * headDim + 2 * j + 1] = Math.sin(angle);
    }
  }
  return table;
}
