/**
 * The adaptive window (ZipAR, ICML version): rows start early on a drafted first token that is
 * verified by speculative sampling as more of the row above becomes visible.
 *
 * Choices where the paper is silent (see docs/schedules.md, "Adaptive window (v1)"):
 * - Only a row's first token is drafted and verified; the rest of the row follows the fixed
 *   lag it started with (every active row advances one token per step).
 * - Drafting is optimistic: in the step that verifies (r, 0), the same step also predicts (r, 1)
 *   from the draft. On acceptance that prediction stands, so a row whose first draft is accepted
 *   costs exactly what a fixed window m costs; each rejection delays the row by one step (the
 *   window grows by one). Verification queries share the step with every other row's queries.
 * - The verification query re-runs the slot that predicts (r, 0) — the proxy slot (r − 1, W − 1)
 *   or the EOL slot — so its K/V and logits see everything written since. Once the real
 *   (r − 1, W − 1) is decoded, that re-run is the correction, and the verification is final
 *   (accepted, or the residual draw is kept). It is also final once the row above has
 *   `maxWindow` tokens.
 * - With m = 1 a row may draft on the row above's own draft; every re-run then sees the
 *   replaced token, and speculative verification stays valid whatever the draft was drawn from.
 * - The draft of (r, 0) is the token a fixed window m would sample (same key), so when every
 *   draft is accepted the grid equals ZipAR with window m.
 *
 * @module
 */

import { checkInt } from "../check.ts";
import { type Layout, predictorSlot } from "../layout.ts";
import { cellKey, subKey } from "../random.ts";
import { probabilities, sample } from "../sampling.ts";
import {
  completionQueries,
  firstTokenQuery,
  type ImageQuery,
  prefillQueries,
  PROXY_POLICIES,
  type ProxyPolicy,
  type ResolveContext,
  type Schedule,
  type ScheduleImage,
} from "../schedule.ts";
import type { CellDecode } from "../tracker.ts";
import { SpeculativeTracker } from "./referee.ts";
import { verifyDraft } from "./verify.ts";

/** Options for {@linkcode createAdaptiveSchedule}. */
export interface AdaptiveOptions {
  /** Minimum window m: row r drafts its first token when row r − 1 has m tokens. */
  minWindow: number;
  /** Verification is final once the row above has this many tokens. @default W */
  maxWindow?: number;
  /** Proxy-token policy while the row above is incomplete (no-EOL grids). @default "r-2" */
  proxy?: ProxyPolicy;
}

/** Per-row state of one image. */
interface RowState {
  phase: "waiting" | "drafting" | "running";
  /** Distribution the current draft was drawn from. */
  pOld: Float64Array | null;
  verifications: number;
  accepted: number;
  /** Lag behind the row above once running: the effective window. */
  window: number;
}

/** What the adaptive schedule's `#verify` checks: the re-run of a drafted first token. */
interface DraftCheck {
  /** The image (its tracker holds the state before the step). */
  image: AdaptiveImage;
  /** The drafting row r; its draft is the token at (r, 0). */
  row: number;
  /** Guided logits of the re-run query that predicts (r, 0): [vocab]. */
  logits: Float32Array;
  /** Sampling settings and the image's draw key. */
  ctx: ResolveContext;
}

/** Statistics of adaptive runs, over all images. */
export interface AdaptiveStats {
  /** passes[i]: the steps image i needed (its batch ran until its slowest image was done). */
  passes: number[];
  /** acceptance[r]: accepted drafts / verifications of row r (null for row 0 or none). */
  acceptance: (number | null)[];
  /** Verifications over all rows and images. */
  verifications: number;
  /** Accepted drafts over all rows and images. */
  accepted: number;
  /** windows[s]: rows that ran with effective window s. */
  windows: number[];
}

/** One image under the adaptive window: its referee and its rows' states. */
interface AdaptiveImage extends ScheduleImage {
  readonly tracker: SpeculativeTracker;
  /** rows[r]: row r's phase, draft distribution and counts. */
  readonly rows: RowState[];
}

class AdaptiveSchedule implements Schedule<AdaptiveImage> {
  readonly fixed = false;
  readonly name: string;
  readonly window: number;
  readonly #layout: Layout;
  readonly #maxWindow: number;
  readonly #proxy: ProxyPolicy;

  constructor(layout: Layout, options: Required<AdaptiveOptions>) {
    this.#layout = layout;
    this.window = options.minWindow;
    this.#maxWindow = options.maxWindow;
    this.#proxy = options.proxy;
    const max = options.maxWindow === layout.width ? "" : `, max=${options.maxWindow}`;
    this.name = `adaptive(m=${options.minWindow}${max})`;
  }

  begin(): AdaptiveImage {
    const rows = Array.from({ length: this.#layout.height }, (_, r): RowState => ({
      phase: r === 0 ? "running" : "waiting",
      pOld: null,
      verifications: 0,
      accepted: 0,
      window: 0,
    }));
    return { tracker: new SpeculativeTracker(this.#layout, this.window), rows };
  }

  nextStep({ tracker, rows }: AdaptiveImage): ImageQuery[] {
    const layout = this.#layout;
    if (tracker.steps === 0) return prefillQueries(layout);
    const { height, width } = layout;
    const queries: ImageQuery[] = [];
    for (let row = 0; row < height; row++) {
      const col = tracker.rowCount[row];
      const { phase } = rows[row];
      if (phase === "waiting") {
        if (tracker.rowCount[row - 1] < Math.min(this.window, width)) {
          break; // later rows cannot have started either
        }
        queries.push(firstTokenQuery(this.#layout, tracker, row, this.#proxy));
      } else if (phase === "drafting") {
        queries.push(firstTokenQuery(this.#layout, tracker, row, this.#proxy));
        if (tracker.canDecode(row, 1)) {
          queries.push({
            slot: tracker.slotOf(row, 0),
            input: { kind: "cell", row, col: 0 },
            proxy: false,
            predicts: { row, col: 1 },
          });
        }
      } else if (col < width && tracker.canDecode(row, col)) {
        const slot = predictorSlot(layout, row, col);
        queries.push({
          slot,
          input: { kind: "cell", row, col: col - 1 },
          proxy: false,
          predicts: { row, col },
        });
      }
    }
    // A slot this step re-runs anyway (a drafting row's proxy slot, a replaced draft's slot)
    // needs no separate correction.
    const written = new Set(queries.map((q) => q.slot));
    return completionQueries(layout, tracker, (_, slot) => written.has(slot)).concat(queries);
  }

  resolve(
    image: AdaptiveImage,
    queries: readonly ImageQuery[],
    logits: readonly (Float32Array | null)[],
    ctx: ResolveContext,
  ): CellDecode[] {
    const { tracker, rows } = image;
    const { width } = this.#layout;
    const decodes: CellDecode[] = [];
    const speculative = new Map<number, CellDecode>();
    const phases = rows.map((r) => r.phase); // roles are decided by the state before the step
    const verified = new Map<number, boolean>(); // row → keep its speculative (r, 1)
    const draw = (l: Float32Array, row: number, col: number) =>
      sample(l, cellKey(ctx.seed, ctx.index, row, col), ctx.sampling);
    queries.forEach((q, k) => {
      const l = logits[k];
      if (!q.predicts || !l) return;
      const { row, col } = q.predicts;
      const state = rows[row], phase = phases[row];
      if (phase === "running") {
        decodes.push({ row, col, token: draw(l, row, col) });
      } else if (phase === "drafting" && col === 1) {
        speculative.set(row, { row, col, token: draw(l, row, col) });
      } else if (phase === "waiting") {
        state.pOld = probabilities(l, ctx.sampling);
        state.phase = "drafting";
        decodes.push({ row, col: 0, token: draw(l, row, 0) });
      } else {
        const replacement = this.#verify({ image, row, logits: l, ctx });
        if (replacement) decodes.push(replacement);
        verified.set(row, replacement === null);
      }
    });
    for (const [row, keep] of verified) {
      const next = speculative.get(row);
      if (keep && next) decodes.push(next);
    }
    for (const d of decodes) {
      if (d.col !== 1 || d.replace || d.row === 0) continue;
      // The effective window: how far the row above is ahead when (row, 1) is decoded.
      const above = tracker.rowCount[d.row - 1];
      rows[d.row].window = above === width ? width : above - 1;
    }
    return decodes;
  }

  /**
   * Verify the draft of (row, 0) against its re-run: null when accepted (the row runs on, and
   * (row, 1) predicted from the draft stands), else the replacing decode drawn from the
   * residual (the row keeps drafting unless this verification was final).
   */
  #verify({ image, row, logits, ctx }: DraftCheck): CellDecode | null {
    const { tracker } = image;
    const state = image.rows[row];
    const pNew = probabilities(logits, ctx.sampling);
    const key = subKey(cellKey(ctx.seed, ctx.index, row, 0), 1 + state.verifications);
    state.verifications++;
    const verdict = verifyDraft(tracker.tokenAt(row, 0), state.pOld!, pNew, key);
    if (verdict.accepted) {
      state.accepted++;
      state.phase = "running";
      return null;
    }
    const visible = tracker.rowCount[row - 1];
    if (visible >= Math.min(this.#maxWindow, this.#layout.width)) state.phase = "running";
    state.pOld = pNew;
    return { row, col: 0, token: verdict.token, replace: true };
  }

  /** Per-image steps, acceptance per row and the distribution of effective windows. */
  stats(images: readonly AdaptiveImage[]): AdaptiveStats {
    const { height, width } = this.#layout;
    const ver = new Array(height).fill(0), acc = new Array(height).fill(0);
    const windows = new Array(width + 1).fill(0);
    for (const image of images) {
      image.rows.forEach((s, r) => {
        ver[r] += s.verifications;
        acc[r] += s.accepted;
        if (r > 0) windows[s.window]++;
      });
    }
    return {
      passes: images.map((image) => image.tracker.steps),
      acceptance: ver.map((v, r) => (v > 0 ? acc[r] / v : null)),
      verifications: ver.reduce((a, b) => a + b, 0),
      accepted: acc.reduce((a, b) => a + b, 0),
      windows,
    };
  }
}

/**
 * Build an adaptive-window schedule (interactive mode only: it reacts to model outputs).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createAdaptiveSchedule } from "./adaptive.ts";
 * import { createLayout } from "../layout.ts";
 * const schedule = createAdaptiveSchedule(createLayout({ height: 24, width: 24 }), { minWindow: 4 });
 * assert.equal(schedule.name, "adaptive(m=4)");
 * assert.equal(schedule.fixed, false);
 * ```
 */
export function createAdaptiveSchedule(layout: Layout, options: AdaptiveOptions): Schedule {
  const { minWindow, maxWindow = layout.width, proxy = "r-2" } = options;
  checkInt("min window", minWindow, 1, layout.width, "grid width");
  checkInt("max window", maxWindow, minWindow, layout.width);
  if (!PROXY_POLICIES.includes(proxy)) {
    throw new RangeError(`proxy policy must be one of ${PROXY_POLICIES.join(", ")}, got ${proxy}`);
  }
  return new AdaptiveSchedule(layout, { minWindow, maxWindow, proxy });
}
