import assert from "node:assert/strict";
import {
  type Act,
  attention,
  conv2d,
  decodeVqReference,
  groupNorm,
  lookupCodes,
  toByte,
  upsample2x,
} from "./vq_reference.ts";
import { randomVqWeights, tinyVqConfig } from "./webgpu/vq_random_weights.ts";

const act = (c: number, h: number, w: number, values: number[]): Act => ({
  c,
  h,
  w,
  data: Float64Array.from(values),
});

Deno.test("conv2d() with a 3×3 kernel of ones gives zero-padded box sums plus bias", () => {
  const x = act(1, 3, 3, [1, 2, 3, 4, 5, 6, 7, 8, 9]);
  const y = conv2d(x, new Float32Array(9).fill(1), new Float32Array([0.5]), 3);
  assert.deepEqual([...y.data], [12, 21, 16, 27, 45, 33, 24, 39, 28].map((v) => v + 0.5));
});

Deno.test("conv2d() 1×1 mixes channels per pixel with the [cout, cin] weight", () => {
  const x = act(2, 1, 2, [1, 2, 10, 20]); // channel 0: 1, 2; channel 1: 10, 20
  const y = conv2d(x, new Float32Array([1, 1, 2, -1]), new Float32Array([0, 1]), 1);
  assert.deepEqual([...y.data], [11, 22, -7, -15]);
});

Deno.test("groupNorm() gives each group mean 0 and variance 1 before the affine", () => {
  const x = act(4, 1, 2, [1, 3, 5, 7, 0, 0, 2, 2]);
  const y = groupNorm(x, 2, 0, new Float32Array(4).fill(1), new Float32Array(4), false);
  const a = Math.sqrt(5), b = 1;
  const want = [-3 / a, -1 / a, 1 / a, 3 / a, -b, -b, b, b];
  want.forEach((v, i) => assert(Math.abs(y.data[i] - v) < 1e-12, `${i}: ${y.data[i]} vs ${v}`));
  const s = groupNorm(
    act(1, 1, 2, [0, 1]),
    1,
    0,
    new Float32Array([1]),
    new Float32Array([0]),
    true,
  );
  assert(Math.abs(s.data[0] - -1 / (1 + Math.E)) < 1e-12); // swish(−1)
});

Deno.test("upsample2x() repeats every pixel in a 2×2 block", () => {
  const y = upsample2x(act(1, 1, 2, [1, 2]));
  assert.deepEqual([y.h, y.w, ...y.data], [2, 4, 1, 1, 2, 2, 1, 1, 2, 2]);
});

Deno.test("attention() averages the values when every key is the same", () => {
  const q = act(2, 1, 3, [1, 2, 3, 4, 5, 6]);
  const k = act(2, 1, 3, [1, 1, 1, 1, 1, 1]);
  const v = act(2, 1, 3, [3, 6, 9, 0, 0, 3]);
  assert.deepEqual([...attention(q, k, v).data], [6, 6, 6, 1, 1, 1]);
});

Deno.test("lookupCodes() L2-normalises codebook rows and writes them channel-major", () => {
  const z = lookupCodes(new Float32Array([3, 4, 0, 2]), 2, [1, 0], 1, 2);
  [0, 0.6, 1, 0.8].forEach((v, i) => assert(Math.abs(z.data[i] - v) < 1e-12, `${i}`));
});

Deno.test("toByte() maps [−1, 1] to 0..255, clamped, rounding half up", () => {
  assert.deepEqual([-2, -1, 0, 1, 3].map(toByte), [0, 0, 128, 255, 255]);
});

Deno.test("decodeVqReference() gives [B, H·s, W·s, 3] bytes, one image per grid", () => {
  const config = tinyVqConfig();
  const weights = randomVqWeights(config, 2);
  const grid = Int32Array.from({ length: 6 }, (_, i) => (i * 11) % 64);
  const tokens = new Int32Array(12);
  tokens.set(grid, 0);
  tokens.set(grid, 6);
  const pixels = decodeVqReference(config, weights, tokens, [2, 2, 3]);
  assert.equal(pixels.length, 2 * 4 * 6 * 3);
  assert.deepEqual(pixels.subarray(0, 72), pixels.subarray(72));
  assert(new Set(pixels).size > 20, "pixels should spread over the range");
  const single = decodeVqReference(config, weights, grid, [1, 2, 3]);
  assert.deepEqual(single, pixels.subarray(0, 72));
});

Deno.test("decodeVqReference() rejects a token outside the codebook", () => {
  const config = tinyVqConfig();
  assert.throws(
    () => decodeVqReference(config, randomVqWeights(config), [0, 64], [1, 1, 2]),
    /Token 64 is outside the codebook \(0\.\.63\)/,
  );
});
