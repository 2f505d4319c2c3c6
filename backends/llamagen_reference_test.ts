import assert from "node:assert/strict";
import { type Query, QUERY_TOKEN_CONDITION } from "../core/step.ts";
import { referenceLogits, ropeAngles } from "./llamagen_reference.ts";
import { randomLlamagenWeights, tinyConfig } from "./webgpu/random_weights.ts";

const config = tinyConfig({ layers: 1, grid: [4, 4] });
const weights = randomLlamagenWeights(config, 3);
const q = (slot: number, token: number, wantLogits = true, seq = 0): Query => ({
  seq,
  slot,
  token,
  wantLogits,
});
const prefill = [q(0, QUERY_TOKEN_CONDITION)];

Deno.test("ropeAngles() gives row angles then column angles, none for prefix slots", () => {
  assert.equal(ropeAngles(config, 0), null);
  const a = ropeAngles(config, 1 + 2 * 4 + 3)!; // (2, 3), head dim 16: f_i = 10000^(−2i/8)
  assert.equal(a.length, 8);
  assert.deepEqual([a[0], a[4]], [2, 3]);
  assert(Math.abs(a[1] - 2 / 10000 ** 0.25) < 1e-12);
});

Deno.test("referenceLogits() gives the class token the same logits for any token history", () => {
  const [first] = referenceLogits(config, weights, [2], [prefill]);
  const [, , again] = referenceLogits(config, weights, [2], [[q(1, 5)], [q(2, 6)], prefill]);
  assert.deepEqual(first, again);
  const [other] = referenceLogits(config, weights, [3], [prefill]);
  assert.notDeepEqual(first, other);
});

Deno.test("referenceLogits() hides slots written in later steps and honours corrections", () => {
  // Slot 3 written before slot 2 (as a ZipAR row start does): it must not see slot 2.
  const early = referenceLogits(config, weights, [1], [prefill, [q(1, 4)], [q(3, 9)]]);
  const late = referenceLogits(config, weights, [1], [prefill, [q(1, 4)], [q(3, 9)], [
    q(2, 8, false),
  ]]);
  assert.deepEqual(early[2], late[2]);
  const withSlot2 = referenceLogits(config, weights, [1], [prefill, [q(1, 4)], [
    q(2, 8, false),
    q(3, 9),
  ]]);
  assert.notDeepEqual(early[2], withSlot2[2]);
  // A correction rewrites slot 2: later queries see the new token.
  const proxy = referenceLogits(config, weights, [1], [prefill, [q(1, 4), q(2, 7, false)], [
    q(2, 8, false),
    q(3, 9),
  ]]);
  assert.deepEqual(proxy[2], withSlot2[2]);
});

Deno.test("referenceLogits() keeps sequences apart", () => {
  const [both] = referenceLogits(config, weights, [1, 2], [[
    q(0, QUERY_TOKEN_CONDITION, true, 0),
    q(0, QUERY_TOKEN_CONDITION, true, 1),
  ]]);
  const [one] = referenceLogits(config, weights, [2], [prefill]);
  assert.deepEqual(both.subarray(config.vocab), one);
});
