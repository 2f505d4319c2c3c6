/**
 * The WebGPU RoPE table equals the one the float64 reference rotates by (ropeAngles), for
 * several head dims, grids and bases; rows turn the first quarter of pairs, columns the next.
 */

import assert from "node:assert/strict";
import { ropeAngles } from "../llamagen_reference.ts";
import type { LlamagenConfig } from "../llamagen_config.ts";
import { type RopeConfig, ropeTable } from "./rope.ts";

/** The table as the reference defines it: cos/sin of its float64 angles, zeros at prefixes. */
function referenceTable(config: RopeConfig): Float32Array {
  const headDim = config.dim / config.heads;
  const slots = config.prefix + config.grid[0] * config.grid[1];
  const table = new Float32Array(slots * headDim);
  for (let s = 0; s < slots; s++) {
    const angles = ropeAngles(config as LlamagenConfig, s);
    angles?.forEach((a, j) => {
      table[s * headDim + 2 * j] = Math.cos(a);
      table[s * headDim + 2 * j + 1] = Math.sin(a);
    });
  }
  return table;
}

const CONFIGS: RopeConfig[] = [
  { dim: 64, heads: 4, prefix: 1, grid: [8, 8], ropeBase: 10000 }, // the tiny test model
  { dim: 768, heads: 12, prefix: 1, grid: [24, 24], ropeBase: 10000 }, // GPT-B at 384 px
  { dim: 128, heads: 4, prefix: 1, grid: [14, 14], ropeBase: 10000 }, // the demo model
  { dim: 24, heads: 2, prefix: 3, grid: [3, 5], ropeBase: 500 }, // odd sizes
];

Deno.test("ropeTable() equals the float64 reference's rotation, bit for bit in float32", () => {
  for (const config of CONFIGS) {
    const got = ropeTable(config), want = referenceTable(config);
    assert.equal(got.length, want.length);
    const differ = got.findIndex((v, i) => v !== want[i]);
    assert.equal(differ, -1, `${JSON.stringify(config)}: first difference at ${differ}`);
  }
});

Deno.test("ropeTable() turns the first D/4 pairs by the row and the next D/4 by the column", () => {
  const config = CONFIGS[3]; // head dim 12: pairs 0..2 rows, 3..5 columns; prefix 3; W = 5
  const t = ropeTable(config), headDim = 12, f = (j: number) => 1 / 500 ** (j / 3);
  const pair = (r: number, c: number, j: number) => {
    const at = (config.prefix + r * 5 + c) * headDim + 2 * j;
    return [t[at], t[at + 1]];
  };
  const turn = (a: number) => [Math.fround(Math.cos(a)), Math.fround(Math.sin(a))];
  assert.deepEqual(pair(2, 0, 1), turn(2 * f(1)));
  assert.deepEqual(pair(2, 0, 4), [1, 0]);
  assert.deepEqual(pair(0, 3, 1), [1, 0]);
  assert.deepEqual(pair(0, 3, 4), turn(3 * f(1)));
  assert.deepEqual([...t.subarray(0, 3 * headDim)], new Array(3 * headDim).fill(0));
});
