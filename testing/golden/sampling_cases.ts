/**
 * The inputs of the keyed sampler's golden table (make_sampling_table.ts adds keys, kept sets
 * and tokens): small vocabularies chosen rule by rule of docs/sampling.md — greedy and its
 * ties, plain draws at several temperatures and keys, top-k and its ties, top-p and its tie
 * groups and cuts on both sides of p, top-k then top-p, CFG mixing, negative and large logits,
 * and a 300-token vocabulary for the WGSL kernel's strided loops. Logit values are multiples of
 * small powers of two, so every implementation reads and mixes them exactly.
 *
 * @module
 */

import type { SamplingCase } from "./sampling_table.ts";

/** A case before the generator adds its key, kept set and token. */
export type CaseInput = Omit<SamplingCase, "key" | "token" | "kept">;

/** Sampling settings of a case. */
type Settings = Pick<CaseInput, "temperature" | "topK" | "topP">;

/** (seed, index, row, col) of the key vectors: edges of the u32 range and of the grid. */
export const KEY_VECTORS: [number, number, number, number][] = [
  [0, 0, 0, 0],
  [0, 0, 0, 1],
  [0, 0, 1, 0],
  [0, 1, 0, 0],
  [1, 0, 0, 0],
  [42, 3, 17, 5],
  [0x9e3779b9, 0, 0, 0], // seed ^ GOLDEN = 0
  [0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff],
  [0x80000000, 7, 63, 63],
];

/** (key, vocabulary entries) of the draw vectors. */
export const DRAW_KEYS: [number, number[]][] = [
  [0, [0, 1, 2, 255, 256, 65535]],
  [0xdeadbeef, [0, 1, 7, 1000, 16383]],
  [0xffffffff, [0, 1, 2]],
];

const GREEDY: Settings = { temperature: 0, topK: 0, topP: 1 };
const PLAIN: Settings = { temperature: 1, topK: 0, topP: 1 };

/** A case at key (seed, index, row, col); rows and columns below 64 (the WGSL test's grid). */
function at(
  name: string,
  rule: string,
  logits: number[],
  settings: Settings,
  [seed, index, row, col]: [number, number, number, number],
  cfg?: { uncond: number[]; cfg: number },
): CaseInput {
  return { name, rule, logits, ...cfg, ...settings, seed, index, row, col };
}

const V8 = [0.5, 1.5, -0.25, 1, 0, 0.75, -1, 0.25];
const FLAT = [0, 0, 0, 0, 0];
const NEG = [-3, -1.25, -2, -0.5, -4];
const BIG = [12000.5, -30000, 12000.75, 0, 11999];
const NUCLEUS = [1.5, 0, -0.5, -1, -2];

/** 300 logits, multiples of 1/256 in [-4, 4), from core/random's hash (no ties by design). */
function wide(salt: number): number[] {
  const out: number[] = [];
  const seen = new Set<number>();
  for (let v = 0, i = 0; out.length < 300; i++) {
    const x = ((Math.imul(i + 1, 0x9e3779b9) ^ salt) >>> 0) % 2048 / 256 - 4;
    if (!seen.has(x)) {
      seen.add(x);
      out.push(x);
      v++;
    }
  }
  return out;
}

/** The cases, rule by rule. */
export const CASES: CaseInput[] = [
  // Temperature 0: the lowest index of the largest logit; nothing random, settings ignored.
  at("greedy", "greedy", [0.5, 2.25, -1, 1.75, 0], GREEDY, [7, 0, 0, 0]),
  at("greedy, ties: lowest index", "greedy ties", [1, 3, -2, 3, 3], GREEDY, [7, 0, 0, 1]),
  at("greedy ignores top-k and top-p", "greedy", [1, 3, -2, 3, 3], {
    temperature: 0,
    topK: 1,
    topP: 0.5,
  }, [7, 0, 0, 2]),
  at("greedy, all negative", "greedy ties", [-5, -3.5, -3.5, -7], GREEDY, [7, 0, 0, 3]),
  at("greedy, large magnitudes", "greedy", BIG, GREEDY, [7, 0, 0, 4]),
  at("greedy, one token", "greedy", [-2], GREEDY, [7, 0, 0, 5]),
  at("greedy after CFG", "cfg", [2, 1.5, 0], GREEDY, [7, 0, 0, 6], {
    uncond: [2, 0.5, 0],
    cfg: 3,
  }),
  at("greedy after CFG, g = 0: the unconditional logits", "cfg", [2, 1.5, 0], GREEDY, [
    7,
    0,
    0,
    7,
  ], { uncond: [0, 0.5, 1.25], cfg: 0 }),
  at("greedy after CFG, ties made by the mix", "cfg", [1.5, 2, 1, 0], GREEDY, [7, 0, 0, 8], {
    uncond: [0, 1, 0.5, 0],
    cfg: 2,
  }),
  // Plain draws (T > 0, no top-k, no top-p): Gumbel-max over every token, key by key.
  at("draw, V=8, key 1", "draw", V8, PLAIN, [0, 0, 0, 0]),
  at("draw, V=8, key 2", "draw", V8, PLAIN, [0, 0, 0, 1]),
  at("draw, V=8, key 3", "draw", V8, PLAIN, [0, 0, 1, 0]),
  at("draw, V=8, key 4", "draw", V8, PLAIN, [0, 1, 0, 0]),
  at("draw, V=8, key 5", "draw", V8, PLAIN, [1, 0, 0, 0]),
  at("draw, V=8, key 6", "draw", V8, PLAIN, [42, 3, 17, 5]),
  at("draw, V=8, seed 2^32-1", "draw", V8, PLAIN, [0xffffffff, 2, 63, 63]),
  at("draw, V=8, seed = GOLDEN", "draw", V8, PLAIN, [0x9e3779b9, 0, 5, 9]),
  at("draw, V=8, large image index", "draw", V8, PLAIN, [3, 1000, 2, 40]),
  at("draw, V=8, T=0.7", "temperature", V8, { ...PLAIN, temperature: 0.7 }, [42, 3, 17, 5]),
  at("draw, V=8, T=1.3", "temperature", V8, { ...PLAIN, temperature: 1.3 }, [42, 3, 17, 5]),
  at("draw, V=8, T=0.25", "temperature", V8, { ...PLAIN, temperature: 0.25 }, [11, 0, 3, 3]),
  at("draw, flat logits: the largest Gumbel value", "draw", FLAT, PLAIN, [5, 0, 1, 1]),
  at("draw, flat logits, another key", "draw", FLAT, PLAIN, [5, 0, 1, 2]),
  at("draw, negative logits", "draw", NEG, PLAIN, [9, 1, 4, 4]),
  at("draw, negative logits, T=1.3", "temperature", NEG, { ...PLAIN, temperature: 1.3 }, [
    9,
    1,
    4,
    5,
  ]),
  at("draw, large magnitudes", "draw", BIG, PLAIN, [9, 0, 0, 0]),
  at("draw, large tied magnitudes", "draw", [20000, 20000, -20000, 19990, 20000], PLAIN, [
    9,
    0,
    0,
    1,
  ]),
  at("draw, one token", "draw", [-2], PLAIN, [9, 0, 0, 2]),
  // Top-k: keep logits ≥ the k-th largest (ties at the threshold kept); k ≥ V is off.
  at("top-k 1", "top-k", V8, { ...PLAIN, topK: 1 }, [0, 0, 0, 0]),
  at("top-k 1, another key", "top-k", V8, { ...PLAIN, topK: 1 }, [42, 3, 17, 5]),
  at("top-k 1, tied largest: both kept", "top-k ties", [1, 3, 3, 0], { ...PLAIN, topK: 1 }, [
    2,
    0,
    3,
    2,
  ]),
  at("top-k 3", "top-k", V8, { ...PLAIN, topK: 3 }, [0, 0, 1, 0]),
  at("top-k 3, T=0.7", "top-k", V8, { ...PLAIN, topK: 3, temperature: 0.7 }, [0, 0, 1, 1]),
  at("top-k 3, T=1.3", "top-k", V8, { ...PLAIN, topK: 3, temperature: 1.3 }, [0, 0, 1, 2]),
  at("top-k 3, ties at the threshold kept", "top-k ties", [2, 1, 1, 1, 0.5, 3], {
    ...PLAIN,
    topK: 3,
  }, [2, 0, 4, 4]),
  at("top-k 3, ties above the threshold", "top-k ties", [3, 3, 3, 3, 0], { ...PLAIN, topK: 3 }, [
    2,
    0,
    4,
    5,
  ]),
  at("top-k 3, negative logits", "top-k", NEG, { ...PLAIN, topK: 3 }, [2, 0, 4, 6]),
  at("top-k = V is off", "top-k", FLAT, { ...PLAIN, topK: 5 }, [5, 0, 1, 1]),
  at("top-k > V is off", "top-k", FLAT, { ...PLAIN, topK: 8 }, [5, 0, 1, 2]),
  at(
    "top-k 3 after CFG, ties made by the mix",
    "cfg",
    [1, 2, 0.5, 1.5, 0],
    {
      ...PLAIN,
      topK: 3,
    },
    [6, 0, 2, 2],
    { uncond: [1, 1, 0, 1, 0], cfg: 2 },
  ),
  // Top-p: tie groups from the most likely down while the mass before a group is < p.
  at("top-p 0.9", "top-p", V8, { ...PLAIN, topP: 0.9 }, [0, 0, 3, 0]),
  at("top-p 0.5", "top-p", V8, { ...PLAIN, topP: 0.5 }, [0, 0, 3, 1]),
  at("top-p 0.9, T=0.7", "top-p", V8, { ...PLAIN, topP: 0.9, temperature: 0.7 }, [0, 0, 3, 2]),
  at("top-p 0.9, T=1.3", "top-p", V8, { ...PLAIN, topP: 0.9, temperature: 1.3 }, [0, 0, 3, 3]),
  at("top-p 0.5, one token reaches p", "top-p", NUCLEUS, { ...PLAIN, topP: 0.5 }, [3, 0, 0, 0]),
  at("top-p just above the top token's mass", "top-p cut", NUCLEUS, { ...PLAIN, topP: 0.682 }, [
    3,
    0,
    0,
    5,
  ]),
  at("top-p just below the top token's mass", "top-p cut", NUCLEUS, { ...PLAIN, topP: 0.678 }, [
    3,
    0,
    0,
    5,
  ]),
  at("top-p, a tie group is kept whole", "top-p ties", [3, 3, 0, -1], { ...PLAIN, topP: 0.3 }, [
    2,
    0,
    3,
    0,
  ]),
  at("top-p, the tie group at the cut is kept whole", "top-p ties", [2, 1, 1, 1, -2], {
    ...PLAIN,
    topP: 0.5,
  }, [3, 0, 0, 3]),
  at("top-p, negative logits", "top-p", NEG, { ...PLAIN, topP: 0.9 }, [3, 0, 1, 0]),
  at("top-p, large magnitudes", "top-p", BIG, { ...PLAIN, topP: 0.9 }, [
    3,
    0,
    1,
    1,
  ]),
  at("top-p, flat logits keep everything", "top-p ties", FLAT, { ...PLAIN, topP: 0.5 }, [
    3,
    0,
    1,
    2,
  ]),
  // Top-k first, then top-p on the softmax over the tokens top-k kept.
  at("top-k 3 then top-p 0.5", "top-k then top-p", V8, { ...PLAIN, topK: 3, topP: 0.5 }, [
    4,
    0,
    0,
    0,
  ]),
  at("top-k 3 then top-p 0.9, T=1.3", "top-k then top-p", V8, {
    temperature: 1.3,
    topK: 3,
    topP: 0.9,
  }, [4, 0, 0, 1]),
  at("top-k 1 then top-p 0.5", "top-k then top-p", V8, { ...PLAIN, topK: 1, topP: 0.5 }, [
    4,
    0,
    0,
    2,
  ]),
  at("top-p 0.9 after CFG", "cfg", [1, 2, 0.5, 1.5, 0], { ...PLAIN, topP: 0.9 }, [6, 0, 2, 3], {
    uncond: [1, 1, 0, 1, 0],
    cfg: 1.5,
  }),
  at("draw after CFG, g = 4", "cfg", [0.25, 0.5, 0, -0.25], PLAIN, [6, 0, 2, 4], {
    uncond: [0.5, 0.25, 0, 0],
    cfg: 4,
  }),
  // A vocabulary wider than the WGSL workgroup (256): strided loops and reductions.
  at("V=300, draw", "draw", wide(1), PLAIN, [8, 0, 10, 20]),
  at("V=300, T=0.7", "temperature", wide(1), { ...PLAIN, temperature: 0.7 }, [8, 0, 10, 21]),
  at("V=300, greedy", "greedy", wide(2), GREEDY, [8, 0, 10, 22]),
  at("V=300, top-k 3", "top-k", wide(2), { ...PLAIN, topK: 3 }, [8, 0, 10, 23]),
  at("V=300, top-p 0.9", "top-p", wide(4), { ...PLAIN, topP: 0.9 }, [8, 0, 10, 24]),
  at("V=300, top-k 50 then top-p 0.5, T=1.3", "top-k then top-p", wide(3), {
    temperature: 1.3,
    topK: 50,
    topP: 0.5,
  }, [8, 0, 10, 25]),
];
