/**
 * The adaptive window, v2: every token decoded while its row had a short window is re-verified
 * once more of the row above is visible.
 *
 * Rows run as ZipAR with the minimum window m: row r decodes (r, c) once row r − 1 has c + m
 * tokens. Such a token is *provisional*: it was drawn from a prediction that saw too little of
 * the row above. Once the row above has min(c + M, W) tokens (M: the maximum window), the query
 * that predicts it is run again — in the same pass as every other query — and the token x is
 * checked against the new prediction with core/jacobi's acceptance (SJD's min(1, p_new(x) /
 * p_old(x)) on keyed uniforms by default; on rejection a draw from the residual replaces it).
 * Either way the token is then *final*. Verification runs left to right in a row: a token is
 * checked only once the token before it is final, and a replacement ends the row's run for the
 * pass (the next prediction in the run saw the replaced token). Tokens after a replaced one stay
 * provisional and are checked against predictions that see the replacement; drawn from a
 * prediction that saw the old token, they are still valid drafts, because the acceptance rule
 * is valid for any draft distribution.
 *
 * What this buys: a row keeps the lag m (passes as ZipAR with window m, plus a short tail while
 * the last rows' verifications finish), while every final token is a draw from a prediction that
 * saw M tokens of the row above. Costs: one more query per active row and pass, never a pass.
 *
 * `trigger` decides what "the row above has n tokens" counts:
 * - `decoded` (default): its decoded tokens, provisional ones included — rows stay pipelined;
 * - `final`: its final tokens only. With M = W every final token then sees exactly raster's
 *   context (final tokens only, K/V written from final tokens), so the grid is distributed as
 *   raster's — and with `exact` acceptance it *is* raster's grid — at the cost of rows waiting
 *   for the row above to be verified.
 *
 * The first-token rule (v1, core/adaptive) verifies only a row's first token; both are kept for
 * comparison. A new token whose left neighbours are all final and whose row above already has
 * min(c + M, W) tokens is final at once; with M = m nothing is ever re-verified and the schedule
 * is ZipAR (ideal) with window m.
 *
 * @module
 */

import { checkInt } from "../check.ts";
import { type Acceptance, ACCEPTANCES, verifyCell } from "./jacobi.ts";
import { type Layout, predictorSlot } from "../layout.ts";
import { cellKey } from "../random.ts";
import { sample } from "../sampling.ts";
import {
  completionQueries,
  firstTokenQuery,
  type ImageQuery,
  prefillQueries,
  PROXY_POLICIES,
  type ProxyPolicy,
  type ResolveContext,
  sampleEach,
  type Schedule,
  type ScheduleImage,
} from "../schedule.ts";
import type { CellDecode, Tracker } from "../tracker.ts";
import { SpeculativeTracker } from "./referee.ts";

/** What counts as the row above's tokens for the maximum window; see the module doc. */
export type VerifyTrigger = "decoded" | "final";

/**
 * The triggers, for argument parsing.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { VERIFY_TRIGGERS } from "./adaptive_v2.ts";
 * assert.deepEqual(VERIFY_TRIGGERS, ["decoded", "final"]); // the default first
 * ```
 */
export const VERIFY_TRIGGERS: readonly VerifyTrigger[] = ["decoded", "final"];

/** Options for {@linkcode createAdaptiveV2Schedule}. */
export interface AdaptiveV2Options {
  /** Minimum window m: row r decodes (r, c) once row r − 1 has c + m tokens. */
  minWindow: number;
  /** A token is final once checked with the row above at min(c + M, W) tokens. @default W */
  maxWindow?: number;
  /** Proxy-token policy while the row above is incomplete (no-EOL grids). @default "r-2" */
  proxy?: ProxyPolicy;
  /** Acceptance rule (core/jacobi). @default "probabilistic" */
  acceptance?: Acceptance;
  /** What counts as the row above's tokens. @default "decoded" */
  trigger?: VerifyTrigger;
}

/** Statistics of adaptive v2 runs, over all images. */
export interface AdaptiveV2Stats {
  /** passes[i]: the steps image i needed (its batch ran until its slowest image was done). */
  passes: number[];
  /** Provisional tokens checked. */
  verifications: number;
  /** Checked tokens that stood. */
  accepted: number;
  /** accepted / verifications per row (null for row 0, or none checked). */
  acceptance: (number | null)[];
  /** Tokens final as soon as decoded (no check needed). */
  finalAtDecode: number;
}

/** One image under the re-verifying adaptive window: its referee and what is final. */
interface AdaptiveV2Image extends ScheduleImage {
  readonly tracker: SpeculativeTracker;
  /** final: [H], final tokens per row (a prefix of the row's decoded tokens). */
  final: Int32Array;
  /** Final tokens in all rows. */
  finals: number;
  /** source[cell]: the guided logits a provisional token was drawn from. */
  source: (Float32Array | null)[];
  verifications: Int32Array;
  accepted: Int32Array;
  finalAtDecode: number;
}

class AdaptiveV2Schedule implements Schedule<AdaptiveV2Image> {
  readonly fixed = false;
  readonly name: string;
  readonly window: number;
  readonly #layout: Layout;
  readonly #options: Required<Omit<AdaptiveV2Options, "minWindow">>;

  constructor(layout: Layout, options: Required<AdaptiveV2Options>) {
    this.#layout = layout;
    this.window = options.minWindow;
    this.#options = options;
    const extras = [
      options.maxWindow === layout.width ? "" : `, max=${options.maxWindow}`,
      options.trigger === "decoded" ? "" : `, ${options.trigger}`,
      options.acceptance === "probabilistic" ? "" : `, ${options.acceptance}`,
    ].join("");
    this.name = `adaptive2(m=${options.minWindow}${extras})`;
  }

  begin(): AdaptiveV2Image {
    const { height, width } = this.#layout;
    return {
      tracker: new SpeculativeTracker(this.#layout, this.window),
      final: new Int32Array(height),
      finals: 0,
      source: new Array(height * width).fill(null),
      verifications: new Int32Array(height),
      accepted: new Int32Array(height),
      finalAtDecode: 0,
    };
  }

  /**
   * Whether (row, col) may be checked now (or is final when decoded): the row above shows
   * min(col + M, W) tokens before the step — its decoded ones, or its `final` ones.
   */
  #ready(tracker: Tracker, final: Int32Array, row: number, col: number): boolean {
    if (row === 0) return true;
    const above = this.#options.trigger === "final" ? final[row - 1] : tracker.rowCount[row - 1];
    return above >= Math.min(col + this.#options.maxWindow, this.#layout.width);
  }

  complete(state: AdaptiveV2Image): boolean {
    // Every token final, and every slot a replacement left stale rewritten (./referee).
    const { tracker } = state;
    return tracker.done && state.finals === tracker.tokens.length &&
      tracker.pendingProxies.size === 0;
  }

  nextStep(state: AdaptiveV2Image): ImageQuery[] {
    const { tracker } = state;
    const layout = this.#layout;
    if (tracker.steps === 0) return prefillQueries(layout);
    const { height, width } = layout;
    const queries: ImageQuery[] = [];
    for (let row = 0; row < height; row++) {
      const decoded = tracker.rowCount[row];
      for (let col = state.final[row]; col < decoded; col++) {
        if (!this.#ready(tracker, state.final, row, col)) break;
        queries.push(this.#predictor(tracker, row, col));
      }
      if (decoded < width && (row === 0 || tracker.canDecode(row, decoded))) {
        queries.push(this.#predictor(tracker, row, decoded));
      }
    }
    const written = new Set(queries.map((q) => q.slot));
    return completionQueries(layout, tracker, (_, slot) => written.has(slot)).concat(queries);
  }

  /** The query that predicts (row, col): from the real (row, col − 1), or the first-token query. */
  #predictor(tracker: Tracker, row: number, col: number): ImageQuery {
    if (col === 0) return firstTokenQuery(this.#layout, tracker, row, this.#options.proxy);
    return {
      slot: predictorSlot(this.#layout, row, col),
      input: { kind: "cell", row, col: col - 1 },
      proxy: false,
      predicts: { row, col },
    };
  }

  resolve(
    state: AdaptiveV2Image,
    queries: readonly ImageQuery[],
    logits: readonly (Float32Array | null)[],
    ctx: ResolveContext,
  ): CellDecode[] {
    const { width } = this.#layout;
    const { tracker } = state;
    if (tracker.steps === 0) {
      state.final[0] = 1;
      state.finals++;
      state.finalAtDecode++;
      return sampleEach(queries, logits, ctx);
    }
    const finalBefore = state.final.slice(); // readiness is judged on the state before the step
    const decodes: CellDecode[] = [];
    let runRow = -1, runOpen = false; // the row whose verification run is being read
    queries.forEach((q, k) => {
      const p = logits[k];
      if (!q.predicts || !p) return;
      const { row, col } = q.predicts;
      const cell = row * width + col;
      if (row !== runRow) [runRow, runOpen] = [row, true];
      if (col < tracker.rowCount[row]) {
        // A provisional token checked with more of the row above.
        if (!runOpen) return; // a token before it was replaced in this pass
        state.verifications[row]++;
        const verdict = verifyCell(
          tracker.tokenAt(row, col),
          state.source[cell],
          p,
          { row, col, ctx },
          this.#options.acceptance,
        );
        if (verdict.accepted) state.accepted[row]++;
        else {
          decodes.push({ row, col, token: verdict.token, replace: true });
          runOpen = false;
        }
        state.source[cell] = null;
        state.final[row] = col + 1;
        state.finals++;
        return;
      }
      // The row's next token, drawn with its raster key.
      const replaced = !runOpen ? decodes.at(-1)! : null; // this row's replacement in this pass
      if (replaced && replaced.col === col - 1) return; // its input token was just replaced
      const token = sample(p, cellKey(ctx.seed, ctx.index, row, col), ctx.sampling);
      decodes.push({ row, col, token });
      if (!replaced && state.final[row] === col && this.#ready(tracker, finalBefore, row, col)) {
        state.final[row] = col + 1;
        state.finals++;
        state.finalAtDecode++;
      } else state.source[cell] = p;
    });
    return decodes;
  }

  /** Per-image steps and acceptance per row over `images`. */
  stats(images: readonly AdaptiveV2Image[]): AdaptiveV2Stats {
    const { height } = this.#layout;
    const ver = new Array(height).fill(0), acc = new Array(height).fill(0);
    let finalAtDecode = 0;
    for (const s of images) {
      for (let r = 0; r < height; r++) {
        ver[r] += s.verifications[r];
        acc[r] += s.accepted[r];
      }
      finalAtDecode += s.finalAtDecode;
    }
    return {
      passes: images.map((s) => s.tracker.steps),
      verifications: ver.reduce((a, b) => a + b, 0),
      accepted: acc.reduce((a, b) => a + b, 0),
      acceptance: ver.map((v, r) => (v > 0 ? acc[r] / v : null)),
      finalAtDecode,
    };
  }
}

/**
 * Build an adaptive-window v2 schedule (interactive mode only: it reacts to model outputs).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createAdaptiveV2Schedule } from "./adaptive_v2.ts";
 * import { createLayout } from "../layout.ts";
 * const layout = createLayout({ height: 14, width: 14 });
 * assert.equal(createAdaptiveV2Schedule(layout, { minWindow: 4 }).name, "adaptive2(m=4)");
 * const exact = createAdaptiveV2Schedule(layout, { minWindow: 2, trigger: "final", acceptance: "exact" });
 * assert.equal(exact.name, "adaptive2(m=2, final, exact)");
 * ```
 */
export function createAdaptiveV2Schedule(layout: Layout, options: AdaptiveV2Options): Schedule {
  const {
    minWindow,
    maxWindow = layout.width,
    proxy = "r-2",
    acceptance = "probabilistic",
    trigger = "decoded",
  } = options;
  checkInt("min window", minWindow, 1, layout.width, "grid width");
  checkInt("max window", maxWindow, minWindow, layout.width);
  if (!PROXY_POLICIES.includes(proxy)) {
    throw new RangeError(`proxy policy must be one of ${PROXY_POLICIES.join(", ")}, got ${proxy}`);
  }
  if (!ACCEPTANCES.includes(acceptance)) {
    throw new RangeError(`acceptance must be one of ${ACCEPTANCES.join(", ")}, got ${acceptance}`);
  }
  if (!VERIFY_TRIGGERS.includes(trigger)) {
    throw new RangeError(`trigger must be one of ${VERIFY_TRIGGERS.join(", ")}, got ${trigger}`);
  }
  return new AdaptiveV2Schedule(layout, { minWindow, maxWindow, proxy, acceptance, trigger });
}
