/**
 * Writes testing/golden/sampling.json, the keyed sampler's golden table (docs/sampling.md), ONCE:
 * the expected tokens are core/sampling.ts's, checked here against the definition written out
 * step by step. No test runs this script; the tests read the stored table, so a change of any
 * implementation shows as a failing case, not as a silently regenerated table.
 *
 * A case goes into the table only when every implementation must agree on it, whatever its
 * floating-point precision (docs/sampling.md, "Precision"): CFG inputs whose mix is exact in
 * float32, top-p cuts at least {@linkcode MASS_MARGIN} away from p, and a winning score ahead of
 * the runner-up by more than both scores' float32 error bounds. A case that fails these is
 * refused with its name, and the script writes nothing.
 *
 * ```sh
 * deno run --allow-write=testing/golden testing/golden/make_sampling_table.ts
 * ```
 *
 * @module
 */

import { cellKey, gumbel, randomBits, uniform } from "../../core/random.ts";
import { keptTokens, mixCfg, resolveSampling, sample } from "../../core/sampling.ts";
import type { DrawVector, KeyVector, SamplingCase, SamplingTable } from "./sampling_table.ts";
import { CASES, DRAW_KEYS, KEY_VECTORS } from "./sampling_cases.ts";

/** Least distance between p and the mass before any tie group (top-p's cut). */
export const MASS_MARGIN = 1e-4;

/**
 * A bound on how far float32 arithmetic (WGSL) may move a token's score z + gumbel from the
 * float64 definition: the division z = m / T and the sum, each within a few float32 ulps of
 * |z| + |gumbel|, and WGSL's log, whose absolute error on [0.5, 2] is 2⁻²¹ — on the inner
 * −log(u) of a uniform near 1 that is a relative error of 2⁻²¹ / −log(u), which the outer log
 * turns into an absolute one. Generous by design (×2 and more).
 */
function scoreError(z: number, g: number, u: number): number {
  return 1e-5 * (Math.abs(z) + Math.abs(g) + 20) + 2 ** -20 / -Math.log(u);
}

/** The definition, step by step: kept tokens of top-k then top-p (tie groups whole). */
function definitionKept(mixed: Float32Array, t: number, topK: number, topP: number): number[] {
  const vocab = mixed.length;
  const z = Array.from(mixed, (m) => m / t);
  let kept = [...mixed.keys()];
  if (topK > 0 && topK < vocab) {
    const kth = [...mixed].sort((a, b) => b - a)[topK - 1];
    kept = kept.filter((v) => mixed[v] >= kth);
  }
  if (topP < 1) {
    const max = Math.max(...kept.map((v) => z[v]));
    const total = kept.reduce((s, v) => s + Math.exp(z[v] - max), 0);
    const groups = [...new Set(kept.map((v) => z[v]))].sort((a, b) => b - a);
    let before = 0;
    const keep = new Set<number>();
    for (const zg of groups) {
      if (before >= topP) break;
      for (const v of kept) if (z[v] === zg) keep.add(v);
      before += kept.filter((v) => z[v] === zg).length * Math.exp(zg - max) / total;
    }
    kept = kept.filter((v) => keep.has(v));
  }
  return kept;
}

/** Why a case is ambiguous across precisions, or null when every implementation must agree. */
function ambiguity(c: SamplingCase, mixed: Float32Array): string | null {
  if (c.uncond && c.cfg !== undefined && c.cfg !== 1) {
    for (let v = 0; v < mixed.length; v++) {
      const u = c.uncond[v], d = c.logits[v] - u;
      const exact = u + c.cfg * d; // float64: exact for the table's few-bit inputs
      if (Math.fround(d) !== d || Math.fround(c.cfg * d) !== c.cfg * d || mixed[v] !== exact) {
        return `CFG mix of token ${v} is not exact in float32`;
      }
    }
  }
  if (c.temperature === 0) return null;
  const t = c.temperature;
  if (c.topP < 1) {
    const after = definitionKept(mixed, t, c.topK, 1);
    const z = after.map((v) => mixed[v] / t);
    const max = Math.max(...z);
    const total = z.reduce((s, x) => s + Math.exp(x - max), 0);
    for (const zg of new Set(z)) {
      const before = z.filter((x) => x > zg).reduce((s, x) => s + Math.exp(x - max), 0) / total;
      if (Math.abs(before - c.topP) < MASS_MARGIN) {
        return `top-p ${c.topP} is ${Math.abs(before - c.topP)} from a cut (mass ${before})`;
      }
    }
  }
  const scores = c.kept!.map((v) => {
    const z = mixed[v] / t, g = gumbel(c.key, v);
    return { v, score: z + g, error: scoreError(z, g, uniform(c.key, v)) };
  }).sort((a, b) => b.score - a.score);
  if (scores.length > 1) {
    const [best, next] = scores;
    if (best.score - next.score <= best.error + next.error) {
      return `draw margin ${best.score - next.score} between tokens ${best.v} and ${next.v}`;
    }
  }
  return null;
}

function makeCase(input: Omit<SamplingCase, "key" | "token" | "kept">): SamplingCase {
  const sampling = resolveSampling(input);
  const cond = Float32Array.from(input.logits);
  const cfg = input.cfg ?? 1;
  const mixed = input.uncond ? mixCfg(cond, Float32Array.from(input.uncond), cfg) : cond;
  const key = cellKey(input.seed, input.index, input.row, input.col);
  const token = sample(mixed, key, sampling);
  const c: SamplingCase = { ...input, key, token };
  if (sampling.temperature > 0) {
    c.kept = [...keptTokens(mixed, sampling).kept];
    const plain = definitionKept(mixed, sampling.temperature, sampling.topK, sampling.topP);
    if (JSON.stringify(plain) !== JSON.stringify(c.kept)) {
      throw new Error(`${input.name}: core keeps ${c.kept}, the definition ${plain}`);
    }
    let best = -1, bestScore = -Infinity;
    for (const v of plain) {
      const score = mixed[v] / sampling.temperature + gumbel(key, v);
      if (score > bestScore) [best, bestScore] = [v, score];
    }
    if (best !== token) {
      throw new Error(`${input.name}: core draws ${token}, the definition ${best}`);
    }
  }
  const why = ambiguity(c, mixed);
  if (why) throw new Error(`${input.name}: ambiguous across precisions: ${why}`);
  return c;
}

/** The table: key vectors, draw vectors and the cases of sampling_cases.ts, checked. */
export function makeTable(): SamplingTable {
  const names = new Set<string>();
  const refused: string[] = [];
  const cases = CASES.flatMap((input) => {
    if (names.has(input.name)) refused.push(`two cases are named ${input.name}`);
    names.add(input.name);
    try {
      return [makeCase(input)];
    } catch (e) {
      refused.push((e as Error).message);
      return [];
    }
  });
  if (refused.length) throw new Error(`refused:\n${refused.join("\n")}`);
  const keys: KeyVector[] = KEY_VECTORS.map(([seed, index, row, col]) => ({
    seed,
    index,
    row,
    col,
    key: cellKey(seed, index, row, col),
  }));
  const draws: DrawVector[] = DRAW_KEYS.flatMap(([key, vs]) =>
    vs.map((v) => ({
      key,
      v,
      bits: randomBits(key, v),
      uniform: uniform(key, v),
      gumbel: gumbel(key, v),
    }))
  );
  return {
    about: [
      "The keyed sampler's golden table: docs/sampling.md defines the rules, every case here is",
      "drawn exactly by core/sampling.ts, backends/python/worker/sampler.py and",
      "backends/webgpu/sample.wgsl (core/sampling_golden_test.ts, backends/python/sampler_test.ts,",
      "backends/webgpu/sampler_test.ts). Generated once by testing/golden/make_sampling_table.ts",
      "from core/sampling.ts (inputs: testing/golden/sampling_cases.ts); no test regenerates it.",
      "Logits are the float32 values of these numbers; keys are u32.",
    ],
    keys,
    draws,
    cases,
  };
}

if (import.meta.main) {
  const table = makeTable();
  const out = new URL("./sampling.json", import.meta.url);
  // One case per line, the table reading as a table (deno.json keeps `deno fmt` off this file).
  const lines = (items: unknown[]) => items.map((x) => "    " + JSON.stringify(x)).join(",\n");
  const text = [
    "{",
    `  "about": [\n${lines(table.about)}\n  ],`,
    `  "keys": [\n${lines(table.keys)}\n  ],`,
    `  "draws": [\n${lines(table.draws)}\n  ],`,
    `  "cases": [\n${lines(table.cases)}\n  ]`,
    "}",
    "",
  ].join("\n");
  await Deno.writeTextFile(out, text);
  console.log(`wrote ${table.cases.length} cases to ${out.pathname}`);
}
