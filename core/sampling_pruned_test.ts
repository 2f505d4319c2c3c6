/**
 * sample() skips the logs of tokens that cannot win (gumbel bucket bounds) and finds top-p's
 * cut from sorted values: it must keep the tokens and pick the token of the plain definition —
 * written out here, with every kept token sorted and scored — on logits with ties, -Infinity,
 * NaN, huge and tiny spreads, every temperature, top-k and top-p.
 */

import assert from "node:assert/strict";
import { cellKey, gumbel } from "./random.ts";
import { keptTokens, resolveSampling, sample, type Sampling } from "./sampling.ts";

/** The definition's kept set, step by step: top-k by threshold, top-p by sorted tie groups. */
function plainKept(logits: Float32Array, sampling: Sampling): { kept: number[]; z: number[] } {
  const vocab = logits.length;
  const t = sampling.temperature > 0 ? sampling.temperature : 1;
  const z = Array.from(logits, (l) => l / t);
  let threshold = -Infinity;
  if (sampling.topK > 0 && sampling.topK < vocab) {
    threshold = [...logits].sort((a, b) => b - a)[sampling.topK - 1];
  }
  let kept = [...logits.keys()].filter((v) => logits[v] >= threshold);
  if (sampling.topP < 1) {
    let max = -Infinity;
    for (const v of kept) if (z[v] > max) max = z[v];
    let total = 0;
    const q = new Map<number, number>();
    for (const v of kept) {
      const e = Math.exp(z[v] - max);
      q.set(v, e);
      total += e;
    }
    const order = [...kept].sort((a, b) => z[b] - z[a] || a - b);
    const keep = new Set<number>();
    let mass = 0;
    for (let i = 0; i < order.length;) {
      if (mass >= sampling.topP) break;
      let j = i, groupMass = 0;
      while (j < order.length && z[order[j]] === z[order[i]]) {
        keep.add(order[j]);
        groupMass += q.get(order[j])! / total;
        j++;
      }
      mass += groupMass;
      i = j;
    }
    kept = kept.filter((v) => keep.has(v));
  }
  return { kept, z };
}

/** The definition's loop: every kept token scored, lowest index on ties. */
function plainSample(logits: Float32Array, key: number, sampling: Sampling): number {
  const { kept, z } = plainKept(logits, sampling);
  let best = kept[0], bestScore = -Infinity;
  for (const v of kept) {
    const score = z[v] + gumbel(key, v);
    if (score > bestScore) {
      bestScore = score;
      best = v;
    }
  }
  return best;
}

function logitsFor(trial: number): Float32Array {
  const n = 2 + (cellKey(trial, 0, 0, 0) % 3000);
  const spread = [0.01, 1, 3, 10, 50, 1e4][trial % 6];
  const out = new Float32Array(n);
  for (let v = 0; v < n; v++) {
    const u = cellKey(trial, 1, v, 0) / 2 ** 32 - 0.5;
    out[v] = trial % 5 === 0 ? Math.round(u * spread) : u * spread; // rounded: many ties
    if (trial % 7 === 0 && v % 3 === 0) out[v] = out[0];
    if (trial % 11 === 0 && v % 4 === 1) out[v] = -Infinity;
  }
  if (trial % 13 === 0) out[n >> 1] = NaN;
  return out;
}

Deno.test("sample() equals the plain loop over every kept token", () => {
  const settings = [
    { temperature: 1 },
    { temperature: 0.7 },
    { temperature: 2.5, topK: 5 },
    { temperature: 1, topK: 100 },
    { temperature: 0.9, topP: 0.8 },
    { temperature: 1.3, topK: 50, topP: 0.95 },
  ].map((s) => resolveSampling(s));
  let draws = 0;
  for (let trial = 0; trial < 120; trial++) {
    const logits = logitsFor(trial);
    for (const sampling of settings) {
      // A NaN logit: the k-th largest is the quickselect's, not a sort's; no top-k with NaN.
      if (trial % 13 === 0 && sampling.topK > 0) continue;
      const { kept } = keptTokens(logits, sampling);
      assert.deepEqual([...kept], plainKept(logits, sampling).kept, `trial ${trial} kept`);
      for (let r = 0; r < 3; r++) {
        const key = cellKey(trial, 2, r, 0);
        assert.equal(
          sample(logits, key, sampling),
          plainSample(logits, key, sampling),
          `trial ${trial}, key ${key}, ${JSON.stringify(sampling)}`,
        );
        draws++;
      }
    }
  }
  assert.equal(draws, (120 * 6 - 10 * 3) * 3);
});
