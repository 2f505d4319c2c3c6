import assert from "node:assert/strict";
import { cellKey } from "./random.ts";
import { argmax, keptTokens, mixCfg, probabilities, resolveSampling, sample } from "./sampling.ts";

/** Deterministic pseudo-random logits: [n]. */
function randomLogits(n: number, salt: number, scale = 3): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (((cellKey(salt, 7, i, 0) >>> 8) / 16777216) - 0.5) * scale;
  return out;
}

Deno.test("sample() with temperature 0 is argmax, lowest index on ties", () => {
  const greedy = resolveSampling({ temperature: 0 });
  for (let salt = 0; salt < 50; salt++) {
    const logits = randomLogits(100, salt);
    assert.equal(sample(logits, salt, greedy), argmax(logits));
  }
  assert.equal(sample(new Float32Array([1, 4, 4, 2]), 3, greedy), 1);
});

Deno.test("sample() with top-k never leaves the k largest logits", () => {
  for (const topK of [1, 3, 10]) {
    const sampling = resolveSampling({ topK, temperature: 1.5 });
    for (let salt = 0; salt < 200; salt++) {
      const logits = randomLogits(64, salt);
      const kth = [...logits].sort((a, b) => b - a)[topK - 1];
      const token = sample(logits, cellKey(salt, 0, 0, 0), sampling);
      assert.ok(logits[token] >= kth, `token ${token} below the top-${topK}`);
    }
  }
});

Deno.test("sample() with top-p never leaves the smallest set with mass ≥ p", () => {
  for (const topP of [0.1, 0.5, 0.9]) {
    const sampling = resolveSampling({ topP, temperature: 0.8 });
    for (let salt = 0; salt < 200; salt++) {
      const logits = randomLogits(32, salt, 6);
      const p = probabilities(logits, resolveSampling({ temperature: 0.8 }));
      const order = [...p.keys()].sort((a, b) => p[b] - p[a]);
      const nucleus = new Set<number>();
      let mass = 0;
      for (const v of order) {
        if (mass >= topP) break;
        nucleus.add(v);
        mass += p[v];
      }
      const token = sample(logits, cellKey(salt, 1, 0, 0), sampling);
      assert.ok(nucleus.has(token), `token ${token} outside the top-p=${topP} nucleus`);
      assert.deepEqual(new Set(keptTokens(logits, sampling).kept), nucleus);
    }
  }
});

Deno.test("sample() frequencies match softmax(logits / T) (chi-square, 20,000 draws)", () => {
  const logits = new Float32Array([1.0, 0.2, -0.5, 2.0, 0.0, -1.5, 0.7, 1.2]);
  for (const temperature of [1, 0.6]) {
    const sampling = resolveSampling({ temperature });
    const p = probabilities(logits, sampling);
    const counts = new Array(8).fill(0);
    const n = 20000;
    for (let i = 0; i < n; i++) counts[sample(logits, cellKey(11, i, i >> 6, i & 63), sampling)]++;
    const chi2 = counts.reduce((s, c, v) => s + (c - n * p[v]) ** 2 / (n * p[v]), 0);
    assert.ok(
      chi2 < 24.3,
      `T=${temperature}: chi-square ${chi2} over 7 dof (p = 0.001 bound 24.3)`,
    );
  }
});

Deno.test("sample() with top-k draws in proportion among the kept tokens", () => {
  const logits = new Float32Array([0.5, 2, 1, -3, 1.5, 0]);
  const sampling = resolveSampling({ topK: 3 });
  const p = probabilities(logits, sampling);
  assert.deepEqual([...p].map((x) => x > 0), [false, true, true, false, true, false]);
  const counts = new Array(6).fill(0);
  const n = 12000;
  for (let i = 0; i < n; i++) counts[sample(logits, cellKey(5, i, 0, 0), sampling)]++;
  const chi2 = [1, 2, 4].reduce((s, v) => s + (counts[v] - n * p[v]) ** 2 / (n * p[v]), 0);
  assert.ok(chi2 < 13.8, `chi-square ${chi2} over 2 dof`);
});

Deno.test("mixCfg() is u + g·(c − u), and scale 1 returns the conditional logits exactly", () => {
  const cond = randomLogits(50, 1), uncond = randomLogits(50, 2);
  assert.deepEqual(mixCfg(cond, uncond, 1), cond);
  const mixed = mixCfg(cond, uncond, 4);
  for (let i = 0; i < 50; i++) {
    assert.ok(Math.abs(mixed[i] - (uncond[i] + 4 * (cond[i] - uncond[i]))) < 1e-5);
  }
  assert.deepEqual(mixCfg(cond, uncond, 0), uncond);
  assert.throws(() => mixCfg(cond, uncond.subarray(1), 2), {
    name: "TypeError",
    message: "CFG needs logits of equal length, got 50 and 49",
  });
  assert.throws(() => mixCfg(cond, uncond, -1), /CFG scale .* got -1/);
});

Deno.test("resolveSampling() rejects bad settings naming the value and the allowed range", () => {
  assert.throws(() => resolveSampling({ temperature: -0.5 }), {
    name: "RangeError",
    message: "temperature must be a finite number ≥ 0 (0 = greedy), got -0.5",
  });
  assert.throws(() => resolveSampling({ topP: 0 }), /top-p must be a number in \(0, 1\].*got 0/);
  assert.throws(() => resolveSampling({ topP: 1.5 }), /got 1.5/);
  assert.throws(() => resolveSampling({ topK: -1 }), /top-k must be an integer ≥ 0.*got -1/);
  assert.throws(() => resolveSampling({ temperature: NaN }), RangeError);
  assert.throws(() => sample(new Float32Array(0), 0, resolveSampling()), TypeError);
});
