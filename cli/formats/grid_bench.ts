/**
 * Grid file encode/decode for a 64×24×24 batch (36,864 tokens, vocab 16,384): JSON and .npy,
 * in memory (no disk):
 *   deno bench cli/grid_bench.ts
 */
import type { TokenGrid } from "./grid.ts";
import { decodeGridJson, encodeGridJson } from "./grid_json.ts";
import { decodeNpyData, encodeNpy, parseNpyHeader } from "./grid_npy.ts";

const [B, H, W] = [64, 24, 24];
const tokens = new Int32Array(B * H * W);
for (let i = 0; i < tokens.length; i++) tokens[i] = Math.imul(i, 2654435761) >>> 18; // 0..16383
const grid: TokenGrid = { shape: [B, H, W], tokens, meta: { vocab: 16384, model: "bench" } };
const json = encodeGridJson(grid);
const npy = encodeNpy(grid.shape, tokens);

Deno.bench({
  name: `encode JSON ${B}×${H}×${W}`,
  group: "json",
  fn: () => {
    encodeGridJson(grid);
  },
});
Deno.bench({
  name: `decode JSON ${B}×${H}×${W} (${(json.length / 1024).toFixed(0)} KiB)`,
  group: "json",
  fn: () => {
    decodeGridJson(json, "bench");
  },
});
Deno.bench({
  name: `encode .npy ${B}×${H}×${W}`,
  group: "npy",
  fn: () => {
    encodeNpy(grid.shape, tokens);
  },
});
Deno.bench({
  name: `decode .npy ${B}×${H}×${W} (${(npy.length / 1024).toFixed(0)} KiB)`,
  group: "npy",
  fn: () => {
    const header = parseNpyHeader(npy, "bench");
    decodeNpyData(header, npy.subarray(header.dataOffset), "bench");
  },
});
