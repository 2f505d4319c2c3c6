/**
 * sample() over a LlamaGen-sized vocabulary (16,384): the fast path (T = 1, nothing cut), top-k,
 * top-p, and CFG mixing before the draw, beside a plain sampler (softmax + one uniform through
 * the CDF, what a non-keyed loop costs; not zipar's definition). Per call = one token of one
 * image:
 *   deno bench core/sampling_bench.ts
 */
import { mixCfg, resolveSampling, sample } from "./sampling.ts";

const VOCAB = 16384;

/** Reproducible logits spread over a few units, like a real model's. */
function logits(seed: number): Float32Array {
  const out = new Float32Array(VOCAB);
  let s = seed >>> 0;
  for (let v = 0; v < VOCAB; v++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[v] = (s / 2 ** 32) * 8 - 4;
  }
  return out;
}

const cond = logits(1), uncond = logits(2);
let key = 0;

/** softmax + inverse CDF with one uniform: the plain per-token cost. */
function plainSample(row: Float32Array, u: number): number {
  let max = -Infinity;
  for (let v = 0; v < row.length; v++) if (row[v] > max) max = row[v];
  const p = new Float64Array(row.length);
  let total = 0;
  for (let v = 0; v < row.length; v++) total += p[v] = Math.exp(row[v] - max);
  let acc = 0;
  const target = u * total;
  for (let v = 0; v < row.length; v++) if ((acc += p[v]) > target) return v;
  return row.length - 1;
}

Deno.bench({
  name: `plain softmax + inverse CDF, vocab ${VOCAB} (not keyed)`,
  group: "sample",
  fn: () => {
    plainSample(cond, (key++ % 997) / 997);
  },
});

for (
  const [name, options] of [
    ["T=1, all tokens (fast path)", {}],
    ["T=1, top-k 2000", { topK: 2000 }],
    ["T=1, top-p 0.9", { topP: 0.9 }],
    ["greedy (T=0)", { temperature: 0 }],
  ] as const
) {
  const sampling = resolveSampling(options);
  Deno.bench({
    name: `sample() vocab ${VOCAB}: ${name}`,
    group: "sample",
    baseline: name.startsWith("T=1, all"),
    fn: () => {
      sample(cond, key++, sampling);
    },
  });
}

const plain = resolveSampling();
Deno.bench({
  name: `mixCfg() + sample() vocab ${VOCAB}: CFG 2, T=1`,
  group: "cfg",
  fn: () => {
    sample(mixCfg(cond, uncond, 2), key++, plain);
  },
});
Deno.bench({
  name: `mixCfg() only, vocab ${VOCAB}`,
  group: "cfg",
  baseline: true,
  fn: () => {
    mixCfg(cond, uncond, 2);
  },
});
