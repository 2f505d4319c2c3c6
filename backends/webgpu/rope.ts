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
