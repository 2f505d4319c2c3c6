/**
 * Sampling: classifier-free guidance mixing, temperature, top-k, top-p and Gumbel-max draws —
 * the TypeScript implementation of the keyed sampler that docs/sampling.md defines (the Python
 * worker's sampler.py and WebGPU's sample.wgsl are the other two; all three are tested against
 * the golden table testing/golden/sampling.json, which was generated from this module).
 *
 * In short, for one row of logits and a key (core/random's cellKey):
 * 1. CFG: `mixed = u + g·(c − u)` in float32 (g = 1 means no guidance: `mixed = c`).
 * 2. Temperature 0: greedy, the lowest index of the largest logit; nothing random.
 * 3. `z = mixed / T`.
 * 4. Top-k (k > 0): keep v iff z[v] ≥ the k-th largest z (ties at the threshold are kept).
 * 5. Top-p (p < 1): with `q = softmax(z over kept)`, keep v iff Σ{q[u] : q[u] > q[v]} < p —
 *    the smallest set of most likely tokens with mass ≥ p (tokens tied with its last one too).
 * 6. token = the lowest index of max over kept v of `z[v] + gumbel(key, v)` (core/random), a
 *    draw from softmax(z) over the kept tokens.
 *
 * @module
 */

import { checkInt, checkNumber } from "./check.ts";
import { randomBits } from "./random.ts";

/** Sampling settings. */
export interface SamplingOptions {
  /** Softmax temperature, ≥ 0; 0 = greedy. @default 1 */
  temperature?: number;
  /** Keep only the k most likely tokens; 0 = all. @default 0 */
  topK?: number;
  /** Keep the smallest set of tokens with mass ≥ p, 0 < p ≤ 1; 1 = all. @default 1 */
  topP?: number;
}

/** Sampling settings with every default filled in. */
export type Sampling = Required<SamplingOptions>;

/**
 * Validate sampling options and fill in defaults; throws RangeError naming the bad value.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { resolveSampling } from "./sampling.ts";
 * assert(resolveSampling({ topK: 10 }).temperature === 1);
 * ```
 */
export function resolveSampling(options: SamplingOptions = {}): Sampling {
  const { temperature = 1, topK = 0, topP = 1 } = options;
  checkNumber("temperature", temperature, { min: 0 }, "0 = greedy");
  checkInt("top-k", topK, 0, Infinity, "0 = off");
  checkNumber("top-p", topP, { min: 0, max: 1, exclusiveMin: true }, "1 = off");
  return { temperature, topK, topP };
}

/**
 * Check a CFG scale: a finite number ≥ 0 (1 = no guidance).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkCfgScale } from "./sampling.ts";
 * checkCfgScale(2.0); // ok
 * assert.throws(() => checkCfgScale(-1), /CFG scale must be a finite number ≥ 0 \(1 = off\)/);
 * ```
 */
export function checkCfgScale(scale: number): void {
  checkNumber("CFG scale", scale, { min: 0 }, "1 = off");
}

/**
 * Classifier-free guidance: `u + g·(c − u)` per element in float32; g = 1 returns `c`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mixCfg } from "./sampling.ts";
 * const mixed = mixCfg(new Float32Array([2, 0]), new Float32Array([1, 0]), 3);
 * assert(mixed[0] === 4);
 * ```
 */
export function mixCfg(cond: Float32Array, uncond: Float32Array, scale: number): Float32Array {
  if (cond.length !== uncond.length) {
    throw new TypeError(
      `CFG needs logits of equal length, got ${cond.length} and ${uncond.length}`,
    );
  }
  checkCfgScale(scale);
  const out = new Float32Array(cond.length);
  if (scale === 1) {
    out.set(cond);
    return out;
  }
  const g = Math.fround(scale);
  for (let i = 0; i < cond.length; i++) {
    out[i] = uncond[i] + Math.fround(g * Math.fround(cond[i] - uncond[i]));
  }
  return out;
}

/**
 * Index of the largest value; the lowest index on ties.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { argmax } from "./sampling.ts";
 * assert(argmax(new Float32Array([1, 3, 3])) === 1);
 * ```
 */
export function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}

/** k-th largest value of `values` (1-based k), by quickselect on a copy. */
function kthLargest(values: Float32Array, k: number): number {
  const a = Float32Array.from(values);
  let lo = 0, hi = a.length - 1;
  const target = k - 1; // index in descending order
  while (lo < hi) {
    const pivot = a[(lo + hi) >> 1];
    let i = lo, j = hi;
    while (i <= j) {
      while (a[i] > pivot) i++;
      while (a[j] < pivot) j--;
      if (i <= j) {
        const t = a[i];
        a[i] = a[j];
        a[j] = t;
        i++;
        j--;
      }
    }
    if (target <= j) hi = j;
    else if (target >= i) lo = i;
    else break;
  }
  return a[target];
}

/**
 * The tokens kept by top-k and top-p, and z = logits / T, for one row of logits.
 * Returns `kept` (indices, ascending) and the scaled logits `z` (float64).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { keptTokens } from "./sampling.ts";
 * const { kept } = keptTokens(new Float32Array([0, 5, 1]), { temperature: 1, topK: 1, topP: 1 });
 * assert(kept.length === 1 && kept[0] === 1);
 * ```
 */
export function keptTokens(
  logits: Float32Array,
  sampling: Sampling,
): { kept: Int32Array; z: Float64Array } {
  const vocab = logits.length;
  const t = sampling.temperature > 0 ? sampling.temperature : 1;
  const z = new Float64Array(vocab);
  for (let v = 0; v < vocab; v++) z[v] = logits[v] / t;
  let threshold = -Infinity;
  if (sampling.topK > 0 && sampling.topK < vocab) threshold = kthLargest(logits, sampling.topK);
  const all = new Int32Array(vocab);
  let count = 0;
  for (let v = 0; v < vocab; v++) if (logits[v] >= threshold) all[count++] = v;
  const kept = all.subarray(0, count);
  if (sampling.topP >= 1) return { kept: kept.slice(), z };
  let max = -Infinity, nan = false;
  for (const v of kept) {
    if (z[v] > max) max = z[v];
    else if (z[v] !== z[v]) nan = true;
  }
  let total = 0;
  const q = new Float64Array(vocab); // exp(z - max) of kept tokens, summed in index order
  for (const v of kept) {
    const e = Math.exp(z[v] - max);
    q[v] = e;
    total += e;
  }
  if (!nan && Number.isFinite(max)) {
    const cut = nucleusCut(kept, z, max, total, sampling.topP);
    return { kept: kept.filter((v) => z[v] >= cut), z };
  }
  const order = Array.from(kept).sort((a, b) => z[b] - z[a] || a - b);
  const keep = new Uint8Array(vocab);
  let mass = 0; // mass of tokens strictly more likely than the current group
  for (let i = 0; i < order.length;) {
    if (mass >= sampling.topP) break;
    let j = i, groupMass = 0;
    while (j < order.length && z[order[j]] === z[order[i]]) {
      keep[order[j]] = 1;
      groupMass += q[order[j]] / total;
      j++;
    }
    mass += groupMass;
    i = j;
  }
  return { kept: kept.filter((v) => keep[v] === 1), z };
}

/**
 * The z of the last tie group top-p keeps: groups of equal z in descending order, each adding
 * its tokens' exp(z − max) / total in turn, until the mass before a group reaches p. A group's
 * mass depends on its z and size only, so sorted z values (a native numeric sort) give the
 * same sums as the tokens sorted by (z, index); needs finite max and no NaN.
 */
function nucleusCut(
  kept: Int32Array,
  z: Float64Array,
  max: number,
  total: number,
  topP: number,
): number {
  const zs = new Float64Array(kept.length);
  for (let i = 0; i < kept.length; i++) zs[i] = z[kept[i]];
  zs.sort(); // ascending: walk from the end
  let mass = 0, cut = zs[zs.length - 1];
  for (let i = zs.length - 1; i >= 0;) {
    if (mass >= topP) break;
    let j = i, groupMass = 0;
    while (j >= 0 && zs[j] === zs[i]) {
      groupMass += Math.exp(zs[j] - max) / total;
      j--;
    }
    mass += groupMass;
    cut = zs[i];
    i = j;
  }
  return cut;
}

/** Bits of the Gumbel buckets: a bucket holds the uniforms of equal top 12 of 23 bits. */
const BUCKET_SHIFT = 11;
let upperBounds: Float64Array | null = null;

/**
 * The largest Gumbel value (core/random's float32 value) of each bucket of uniforms: the
 * value at the bucket's last index, as the Gumbel value rises with the uniform. [4096].
 */
function gumbelUpperBounds(): Float64Array {
  if (upperBounds) return upperBounds;
  upperBounds = new Float64Array(1 << (23 - BUCKET_SHIFT));
  for (let b = 0; b < upperBounds.length; b++) {
    const i = (b << BUCKET_SHIFT) | ((1 << BUCKET_SHIFT) - 1);
    upperBounds[b] = Math.fround(-Math.log(-Math.log((2 * i + 1) / 16777216)));
  }
  return upperBounds;
}

/**
 * The lowest v of `tokens` (all of 0..n-1 when null) maximising `logits[v] / t + gumbel(key,
 * v)`, summed in float64 as the definition. A token is hashed always, but its two logs are
 * skipped when even its bucket's largest Gumbel value cannot lift it above the best score so
 * far: that score cannot win nor tie the lowest index, so the token is the one the full loop
 * picks.
 */
function gumbelArgmax(
  logits: ArrayLike<number>,
  t: number,
  key: number,
  tokens: Int32Array | null,
): number {
  const bound = gumbelUpperBounds();
  const n = tokens ? tokens.length : logits.length;
  let best = tokens ? tokens[0] : 0, bestScore = -Infinity;
  for (let j = 0; j < n; j++) {
    const v = tokens ? tokens[j] : j;
    const z = logits[v] / t;
    const bits = randomBits(key, v) >>> 9; // core/random's uniform = (2·bits + 1) / 2^24
    if (z + bound[bits >>> BUCKET_SHIFT] <= bestScore) continue;
    const score = z + Math.fround(-Math.log(-Math.log((2 * bits + 1) / 16777216)));
    if (score > bestScore) {
      bestScore = score;
      best = v;
    }
  }
  return best;
}

/**
 * Sample one token from one row of logits with the draw key `key` (core/random's cellKey).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { resolveSampling, sample } from "./sampling.ts";
 * const logits = new Float32Array([0.1, 2.5, -1]);
 * assert(sample(logits, 42, resolveSampling({ temperature: 0 })) === 1);
 * ```
 */
export function sample(logits: Float32Array, key: number, sampling: Sampling): number {
  if (logits.length === 0) throw new TypeError("Cannot sample from empty logits");
  if (sampling.temperature === 0) return argmax(logits);
  // Fast path: every token is kept.
  if (sampling.topK === 0 && sampling.topP === 1) {
    return gumbelArgmax(logits, sampling.temperature, key, null);
  }
  const { kept, z } = keptTokens(logits, sampling);
  return gumbelArgmax(z, 1, key, kept);
}

/**
 * The distribution `sample` draws from: softmax(z) over the kept tokens, zero elsewhere
 * (one-hot at the argmax for temperature 0).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { probabilities, resolveSampling } from "./sampling.ts";
 * const p = probabilities(new Float32Array([0, 0]), resolveSampling());
 * assert(Math.abs(p[0] - 0.5) < 1e-12);
 * ```
 */
export function probabilities(logits: Float32Array, sampling: Sampling): Float64Array {
  const p = new Float64Array(logits.length);
  if (sampling.temperature === 0) {
    p[argmax(logits)] = 1;
    return p;
  }
  const { kept, z } = keptTokens(logits, sampling);
  let max = -Infinity;
  for (const v of kept) if (z[v] > max) max = z[v];
  let total = 0;
  for (const v of kept) total += p[v] = Math.exp(z[v] - max);
  for (const v of kept) p[v] /= total;
  return p;
}
