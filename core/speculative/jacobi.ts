/**
 * Speculative Jacobi decoding's shared pieces (Teng et al., "Accelerating Auto-regressive
 * Text-to-Image Generation with Training-free Speculative Jacobi Decoding", 2024): per-cell
 * drafts with the distribution each was drawn from, the acceptance test, and the keyed draws.
 * core/speculative_rows (SJD and ZipAR × SJD) and core/adaptive_v2 (the re-verifying adaptive
 * window) build on them.
 *
 * **Acceptance.** A token x drawn from q is checked against the model's new prediction p:
 * - `probabilistic` (SJD's): accept with probability min(1, p(x)/q(x)); on rejection draw from
 *   norm(max(0, p − q)) (core/verify). The result is distributed exactly as p, whatever q was.
 *   A draft that was chosen rather than drawn (SJD's random initialisation) has q = δ_x: it is
 *   accepted with probability p(x), and a rejection draws from p without x.
 * - `exact`: accept iff x is the token raster decoding draws from p with the cell's own key
 *   (Gumbel-max on cellKey), else take that token. The result is then raster's token itself,
 *   so a schedule whose every final token sees raster's context gives raster's grid bit for bit.
 *   With temperature 0 both rules are the same: greedy.
 *
 * **Keys.** Every draw is keyed by the cell (core/random), never taken from a stream, so results
 * do not depend on batch composition: the exact draw of (r, c) uses cellKey(seed, index, r, c)
 * as raster does; acceptance and residual use {@linkcode ACCEPT_STREAM}; a chosen initial draft
 * {@linkcode INIT_STREAM}; and a redraw of a draft, when draws are not coupled,
 * {@linkcode DRAFT_STREAM} + its count. Coupled drafts (the default) reuse the cell key for every
 * redraw, so a draft redrawn from a slightly changed distribution tends to be the same token —
 * the coupling that lifts acceptance in MC-SJD — while each draft is still a draw from its q
 * (its Gumbel noise is independent of everything q depends on).
 *
 * @module
 */

import { cellKey, gumbel, subKey, uniform } from "../random.ts";
import { probabilities, sample, type Sampling } from "../sampling.ts";
import type { ResolveContext } from "../schedule.ts";
import { verifyDraft } from "./verify.ts";

/** How a checked token is accepted; see the module doc. */
export type Acceptance = "probabilistic" | "exact";

/**
 * The acceptance rules, for argument parsing.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ACCEPTANCES } from "./jacobi.ts";
 * assert.deepEqual(ACCEPTANCES, ["probabilistic", "exact"]); // the default first
 * ```
 */
export const ACCEPTANCES: readonly Acceptance[] = ["probabilistic", "exact"];

/** How a draft is made for a cell that has none yet; see {@linkcode initialDraft}. */
export type DraftInit = "random" | "above";

/**
 * The draft initialisations, for argument parsing.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DRAFT_INITS } from "./jacobi.ts";
 * assert.deepEqual(DRAFT_INITS, ["random", "above"]); // the default first
 * ```
 */
export const DRAFT_INITS: readonly DraftInit[] = ["random", "above"];

/**
 * Sub-stream (core/random's subKey) of a cell's acceptance uniform; the residual draw uses
 * `subKey` of that key with 1 (core/verify).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ACCEPT_STREAM, DRAFT_STREAM, INIT_STREAM } from "./jacobi.ts";
 * assert.equal(new Set([ACCEPT_STREAM, INIT_STREAM, DRAFT_STREAM]).size, 3);
 * ```
 */
export const ACCEPT_STREAM = 1;

/**
 * Sub-stream of a cell's chosen (random) initial draft.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { cellKey, subKey } from "../random.ts";
 * import { INIT_STREAM } from "./jacobi.ts";
 * assert.notEqual(subKey(cellKey(0, 0, 1, 2), INIT_STREAM), cellKey(0, 0, 1, 2));
 * ```
 */
export const INIT_STREAM = 2;

/**
 * First sub-stream of uncoupled draft redraws: the k-th redraw of a cell uses `DRAFT_STREAM + k`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DRAFT_STREAM, INIT_STREAM } from "./jacobi.ts";
 * assert.ok(DRAFT_STREAM > INIT_STREAM);
 * ```
 */
export const DRAFT_STREAM = 16;

/**
 * The drafts of one image: per cell the drafted token and the guided logits it was drawn from
 * (null for a draft that was chosen, not drawn: a point mass).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Drafts } from "./jacobi.ts";
 * const drafts = new Drafts(2 * 3);
 * drafts.set(4, 7, null);
 * assert.equal(drafts.token[4], 7);
 * drafts.clear(4);
 * assert.equal(drafts.token[4], -1);
 * ```
 */
export class Drafts {
  /** token: [H·W], the drafted token per cell, −1 where none. */
  readonly token: Int32Array;
  /** source[cell]: the guided logits the draft was drawn from, null for a point mass. */
  readonly source: (Float32Array | null)[];
  /** redraws: [H·W], times each cell's draft was drawn (keys of uncoupled redraws). */
  readonly redraws: Int32Array;
  /**
   * noise[cell]: the Gumbel noise of the cell's own key over the vocabulary, kept while the
   * cell is undecoded so coupled redraws and the cell's raster draw need not recompute it.
   */
  readonly noise: (Float32Array | null)[];

  /** Empty drafts for `cells` cells. */
  constructor(cells: number) {
    this.token = new Int32Array(cells).fill(-1);
    this.source = new Array(cells).fill(null);
    this.redraws = new Int32Array(cells);
    this.noise = new Array(cells).fill(null);
  }

  /** Set the draft of `cell`. */
  set(cell: number, token: number, source: Float32Array | null): void {
    this.token[cell] = token;
    this.source[cell] = source;
  }

  /** Forget the draft of `cell` (it was decoded). */
  clear(cell: number): void {
    this.token[cell] = -1;
    this.source[cell] = null;
    this.noise[cell] = null;
  }
}

/** Whether every token is kept at a temperature > 0: the draws' fast path (core/sampling). */
function keepsAll(sampling: Sampling): boolean {
  return sampling.temperature > 0 && sampling.topK === 0 && sampling.topP === 1;
}

/**
 * core/sampling's `sample(logits, key)`, with the key's Gumbel noise over the vocabulary taken
 * from (and kept in) `drafts.noise[index]` when every token is kept: the same token, computed
 * once per cell instead of once per draw.
 */
function drawWithNoise(
  drafts: Drafts,
  index: number,
  logits: Float32Array,
  key: number,
  sampling: Sampling,
): number {
  if (!keepsAll(sampling)) return sample(logits, key, sampling);
  let noise = drafts.noise[index];
  if (!noise || noise.length !== logits.length) {
    noise = new Float32Array(logits.length);
    for (let v = 0; v < noise.length; v++) noise[v] = gumbel(key, v);
    drafts.noise[index] = noise;
  }
  const t = sampling.temperature;
  let best = 0, bestScore = -Infinity;
  for (let v = 0; v < logits.length; v++) {
    const score = logits[v] / t + noise[v]; // as sample(): float64 sum of the same terms
    if (score > bestScore) {
      bestScore = score;
      best = v;
    }
  }
  return best;
}

/**
 * The raster draw of a cell from `logits`: sample with its own key (cellKey), using the noise
 * `drafts` keeps for it (`index`: the cell's index in `drafts`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Drafts, rasterDraw } from "./jacobi.ts";
 * import { cellKey } from "../random.ts";
 * import { resolveSampling, sample } from "../sampling.ts";
 * const ctx = { sampling: resolveSampling(), seed: 5, index: 1 };
 * const logits = new Float32Array([0.3, 1.1, 0.2]);
 * const token = rasterDraw(new Drafts(4), 2, logits, { row: 0, col: 2, ctx });
 * assert.equal(token, sample(logits, cellKey(5, 1, 0, 2), ctx.sampling));
 * ```
 */
export function rasterDraw(
  drafts: Drafts,
  index: number,
  logits: Float32Array,
  cell: DrawCell,
): number {
  const { row, col, ctx } = cell;
  return drawWithNoise(drafts, index, logits, cellKey(ctx.seed, ctx.index, row, col), ctx.sampling);
}

/**
 * probabilities(logits, sampling)[x] without the vector, with exactly its arithmetic, when every
 * token is kept (else null).
 */
function probabilityOf(logits: Float32Array, x: number, sampling: Sampling): number | null {
  if (!keepsAll(sampling)) return null;
  const t = sampling.temperature;
  let max = -Infinity;
  for (let v = 0; v < logits.length; v++) {
    const z = logits[v] / t;
    if (z > max) max = z;
  }
  let total = 0;
  for (let v = 0; v < logits.length; v++) total += Math.exp(logits[v] / t - max);
  return Math.exp(logits[x] / t - max) / total;
}

/** Where a cell is and whose draws it uses. */
export interface DrawCell {
  /** Grid row. */
  row: number;
  /** Grid column. */
  col: number;
  /** Sampling settings and the image's draw key. */
  ctx: ResolveContext;
}

/**
 * Check token `x` at a cell, drawn from `source` (guided logits; null = a point mass at x),
 * against the new guided logits `logits` with rule `acceptance` (module doc). Returns whether x
 * stands and the cell's token. `drafts` (the image's drafts and the cell's index there) lends
 * the exact rule the cell's cached noise.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { verifyCell } from "./jacobi.ts";
 * import { resolveSampling } from "../sampling.ts";
 * const ctx = { sampling: resolveSampling({ temperature: 0 }), seed: 0, index: 0 };
 * const p = new Float32Array([0, 3, 1]);
 * const cell = { row: 1, col: 2, ctx };
 * assert.deepEqual(verifyCell(1, null, p, cell, "probabilistic"), { accepted: true, token: 1 });
 * assert.deepEqual(verifyCell(2, null, p, cell, "probabilistic"), { accepted: false, token: 1 });
 * assert.deepEqual(verifyCell(2, p, p, cell, "exact"), { accepted: false, token: 1 });
 * ```
 */
export function verifyCell(
  x: number,
  source: Float32Array | null,
  logits: Float32Array,
  cell: DrawCell,
  acceptance: Acceptance,
  drafts?: { drafts: Drafts; index: number },
): { accepted: boolean; token: number } {
  const { row, col, ctx } = cell;
  const key = cellKey(ctx.seed, ctx.index, row, col);
  if (acceptance === "exact") {
    const token = drafts
      ? drawWithNoise(drafts.drafts, drafts.index, logits, key, ctx.sampling)
      : sample(logits, key, ctx.sampling);
    return { accepted: token === x, token };
  }
  // Fast path: the acceptance test needs p_new(x) and p_old(x) only (core/verify's test).
  const accept = subKey(key, ACCEPT_STREAM);
  const newX = probabilityOf(logits, x, ctx.sampling);
  const oldX = source ? probabilityOf(source, x, ctx.sampling) : 1;
  if (newX !== null && oldX !== null && uniform(accept, 0) * oldX < newX) {
    return { accepted: true, token: x };
  }
  const pNew = probabilities(logits, ctx.sampling);
  let pOld: Float64Array;
  if (source) pOld = probabilities(source, ctx.sampling);
  else {
    pOld = new Float64Array(logits.length);
    pOld[x] = 1;
  }
  return verifyDraft(x, pOld, pNew, accept);
}

/**
 * Draw a cell's draft from guided logits: with the cell's own key when `coupled` (every redraw
 * reuses it), else with a fresh sub-stream per redraw. Counts the redraw in `drafts`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { drawDraft, Drafts } from "./jacobi.ts";
 * import { cellKey } from "../random.ts";
 * import { resolveSampling, sample } from "../sampling.ts";
 * const ctx = { sampling: resolveSampling(), seed: 3, index: 0 };
 * const logits = new Float32Array([0.5, 0.1, 0.9, 0.2]);
 * const drafts = new Drafts(4);
 * const token = drawDraft(drafts, 1, logits, { row: 0, col: 1, ctx }, true);
 * assert.equal(token, sample(logits, cellKey(3, 0, 0, 1), ctx.sampling)); // raster's draw
 * assert.deepEqual([drafts.token[1], drafts.redraws[1]], [token, 1]);
 * ```
 */
export function drawDraft(
  drafts: Drafts,
  index: number,
  logits: Float32Array,
  cell: DrawCell,
  coupled: boolean,
): number {
  const { row, col, ctx } = cell;
  const key = cellKey(ctx.seed, ctx.index, row, col);
  const token = coupled
    ? drawWithNoise(drafts, index, logits, key, ctx.sampling)
    : sample(logits, subKey(key, DRAFT_STREAM + drafts.redraws[index]), ctx.sampling);
  drafts.set(index, token, logits);
  drafts.redraws[index]++;
  return token;
}

/**
 * A draft for a cell that has none yet, chosen rather than drawn (a point mass, as SJD's
 * random initialisation): `random` — a uniform token from the cell's {@linkcode INIT_STREAM};
 * `above` — `aboveToken` (the token or draft of the cell above) when it is ≥ 0, else random.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { initialDraft } from "./jacobi.ts";
 * import { resolveSampling } from "../sampling.ts";
 * const cell = { row: 2, col: 5, ctx: { sampling: resolveSampling(), seed: 1, index: 0 } };
 * const t = initialDraft("random", 512, cell, -1);
 * assert.ok(Number.isInteger(t) && t >= 0 && t < 512);
 * assert.equal(initialDraft("above", 512, cell, 17), 17);
 * ```
 */
export function initialDraft(
  init: DraftInit,
  vocab: number,
  cell: DrawCell,
  aboveToken: number,
): number {
  if (init === "above" && aboveToken >= 0) return aboveToken;
  const { row, col, ctx } = cell;
  const key = subKey(cellKey(ctx.seed, ctx.index, row, col), INIT_STREAM);
  return Math.min(vocab - 1, Math.floor(uniform(key, 0) * vocab));
}
