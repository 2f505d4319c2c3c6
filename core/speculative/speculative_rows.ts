/**
 * Speculative rows: ZipAR × speculative Jacobi decoding (SJD, Teng et al. 2024), and plain SJD
 * (raster order + Jacobi) as the case s = W.
 *
 * Every active row keeps a Jacobi window of L drafts beyond its frontier A (its decoded count).
 * One step runs, for each active row, the query that predicts (r, A) from the decoded (r, A − 1)
 * and L queries that write the drafts of (r, A) … (r, A + L − 1) and predict the cells after
 * them — all rows' windows in the same forward pass. Resolving, left to right in a row:
 * - the draft of (r, A) is checked against the prediction from decoded tokens
 *   (core/jacobi's acceptance: SJD's min(1, p_t(x)/p_{t−1}(x)) by default); a rejection draws
 *   from the residual. Either way the cell is decoded.
 * - while drafts are accepted, the next cell's prediction saw only decoded tokens, so its
 *   draft is checked too; after the whole window is accepted, the last prediction is a plain
 *   draw (SJD's bonus token).
 * - the first rejection ends the row's run; every later prediction becomes that cell's draft
 *   for the next step (drawn from it, so p_{t−1} is known), as SJD keeps them.
 * - the window rule between rows still holds: a cell is decoded only when the row above has
 *   min(c + s, W) tokens *visible* — decoded before the step, or accepted in this step as the
 *   very draft its slot was written with (core/tracker referees exactly this; a draft is not
 *   decoded until accepted). A row is active in a step only when it could decode a token in it.
 *
 * With s = W (plain SJD) the rows share one window of L drafts in raster order: it runs on from
 * the end of a row into the next, and the query that predicts (r + 1, 0) writes the draft of
 * (r, W − 1), as SJD's single sequence does. With s < W every active row has its own L; the
 * query that predicts (r, 0) writes the row above's draft of (r − 1, W − 1) when it has one (the
 * best proxy there is), else the proxy policy's token. In grids with EOL slots the draft of
 * (r − 1, W − 1) is written by a query without logits.
 *
 * A new draft for a cell that has none is chosen (core/jacobi `init`: SJD's random token, or the
 * token above); later drafts are the model's own predictions, redrawn with the cell's key
 * (coupled) or a fresh one. The first draw from a prediction that saw only decoded tokens uses
 * the cell's raster key, so a row whose drafts always match decodes raster's tokens.
 *
 * Drafts of a row are written to its slots, so rows below see them through attention (they are
 * a better stand-in than the empty, masked slots of fixed ZipAR); tokens of rows below decoded
 * meanwhile keep what they saw, as ZipAR keeps stale K/V.
 *
 * @module
 */

import { checkInt } from "../check.ts";
import {
  type Acceptance,
  ACCEPTANCES,
  DRAFT_INITS,
  type DraftInit,
  Drafts,
  drawDraft,
  initialDraft,
  rasterDraw,
  verifyCell,
} from "./jacobi.ts";
import { type Layout, slotOf } from "../layout.ts";
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
  ZIPAR_VARIANTS,
  type ZiparVariant,
} from "../schedule.ts";
import type { CellDecode, Tracker } from "../tracker.ts";
import { SpeculativeTracker } from "./referee.ts";

/** Options for {@linkcode createSpeculativeRowsSchedule}. */
export interface SpeculativeRowsOptions {
  /** Draft tokens per row's Jacobi window, L ≥ 1 (with s = W: of the one raster window). */
  draft: number;
  /** ZipAR window s, 1 ≤ s ≤ W; s = W is plain SJD. @default W */
  window?: number;
  /** ZipAR variant (`paper`: row 1 waits for row 0 to finish). @default "ideal" */
  variant?: ZiparVariant;
  /** Proxy policy where no draft stands in for (r − 1, W − 1). @default "r-2" */
  proxy?: ProxyPolicy;
  /** Acceptance rule (core/jacobi). @default "probabilistic" (SJD) */
  acceptance?: Acceptance;
  /** A new cell's first draft: SJD's random token, or the token above. @default "random" */
  init?: DraftInit;
  /** Redraw drafts with the cell's own key (true) or a fresh one each time. @default true */
  coupled?: boolean;
}

/** Statistics of a speculative-rows run, over all images. */
export interface SpeculativeRowsStats {
  /** passes[i]: the steps image i needed (its batch ran until its slowest image was done). */
  passes: number[];
  /** Drafts checked against a prediction from decoded tokens. */
  verifications: number;
  /** Drafts accepted. */
  accepted: number;
  /** accepted / verifications, or null when nothing was checked. */
  acceptance: number | null;
  /** Mean tokens decoded per row per step in which the row was active. */
  tokensPerRowStep: number | null;
}

/** One active row's window in the step being built. */
interface RowWindow {
  /** Frontier: the row's decoded count before the step. */
  start: number;
  /** Cells predicted: start … start + cells − 1. */
  cells: number;
  /** Whether slot (r, W − 1) is written with the draft of (r, W − 1) in this step. */
  lastDrafted: boolean;
}

/** One image under SJD or ZipAR × SJD: its referee, drafts and the step being built. */
interface ImageState extends ScheduleImage {
  readonly tracker: SpeculativeTracker;
  /** The image's sampling settings and draw key (known from its first resolve). */
  ctx: ResolveContext | null;
  /** The model's vocabulary (the length of its logits, known from its first resolve). */
  vocab: number;
  drafts: Drafts;
  /** The windows of the step being built, per row (null: row inactive). */
  windows: (RowWindow | null)[];
  verifications: number;
  accepted: number;
  rowSteps: number;
  rowTokens: number;
}

class SpeculativeRowsSchedule implements Schedule<ImageState> {
  readonly fixed = false;
  readonly name: string;
  readonly window: number;
  readonly #layout: Layout;
  readonly #options: Required<Omit<SpeculativeRowsOptions, "window">>;
  readonly #shared: boolean;

  constructor(
    layout: Layout,
    window: number,
    options: Required<Omit<SpeculativeRowsOptions, "window">>,
  ) {
    this.#layout = layout;
    this.window = window;
    this.#options = options;
    this.#shared = window === layout.width;
    const extras = [
      options.acceptance !== "probabilistic" ? `, ${options.acceptance}` : "",
      options.init !== "random" ? `, init=${options.init}` : "",
      options.coupled ? "" : ", uncoupled",
    ].join("");
    this.name = this.#shared
      ? `sjd(L=${options.draft}${extras})`
      : `zipar-sjd(${options.variant}, s=${window}, L=${options.draft}${extras})`;
  }

  begin(): ImageState {
    const { height, width } = this.#layout;
    return {
      tracker: new SpeculativeTracker(this.#layout, this.window),
      ctx: null,
      vocab: 0,
      drafts: new Drafts(height * width),
      windows: new Array(height).fill(null),
      verifications: 0,
      accepted: 0,
      rowSteps: 0,
      rowTokens: 0,
    };
  }

  /** The window the tracker enforces for row `row`'s decodes. */
  #windowOf(row: number): number {
    return this.#options.variant === "paper" && row === 1 ? this.#layout.width : this.window;
  }

  nextStep(state: ImageState): ImageQuery[] {
    const { tracker } = state;
    const layout = this.#layout;
    if (tracker.steps === 0) return prefillQueries(layout);
    const { height, width } = layout;
    const { windows } = state;
    windows.fill(null);
    const L = this.#options.draft;
    let budget = L; // drafts left in the shared raster window (s = W)
    let aboveVisible = width; // what row r − 1 may show to row r's queries after this step
    const queries: ImageQuery[] = [];
    for (let row = 0; row < height; row++) {
      const start = tracker.rowCount[row];
      if (start >= width) {
        aboveVisible = width;
        continue;
      }
      // Active when it could decode in this step: the row above shows enough if its drafts are
      // accepted. A row whose row above has decoded nothing yet waits (no speculation on
      // speculation, and the proxy policy needs a decoded token).
      const need = Math.min(start + this.#windowOf(row), width);
      if (row > 0 && (aboveVisible < need || tracker.rowCount[row - 1] === 0)) {
        aboveVisible = start; // inactive: it cannot decode in this step
        continue;
      }
      const cells = Math.min((this.#shared ? budget : L) + 1, width - start);
      if (this.#shared) budget -= cells - 1;
      windows[row] = { start, cells, lastDrafted: false };
      state.rowSteps++;
      queries.push(this.#frontierQuery(tracker, state, row, start));
      for (let col = start; col < start + cells - 1; col++) {
        queries.push(this.#draftQuery(tracker, state, row, col, true));
      }
      // What the row shows the row below: its decoded tokens and every draft written now.
      aboveVisible = start + cells - 1;
      if (start + cells === width && row + 1 < height && (!this.#shared || budget > 0)) {
        // The window reaches (r, W − 1): its draft goes to slot (r, W − 1), written by the next
        // row's first query (no EOL) or here without logits.
        if (this.#shared) budget--;
        aboveVisible = width;
        windows[row]!.lastDrafted = true;
      }
    }
    // The draft of (r, W − 1) for rows whose window reached it: the next row's first query
    // writes it when that row starts now without EOL slots; otherwise a write without logits.
    for (let row = 0; row + 1 < height; row++) {
      const w = windows[row];
      if (!w?.lastDrafted) continue;
      const next = windows[row + 1];
      if (!next) {
        w.lastDrafted = false; // the next row did not start: nobody looks at the slot
        continue;
      }
      if (!layout.eol && next.start === 0) continue; // #frontierQuery wrote it
      queries.push(this.#draftQuery(tracker, state, row, width - 1, false));
    }
    const written = new Set(queries.map((q) => q.slot));
    return completionQueries(layout, tracker, (_, slot) => written.has(slot)).concat(queries);
  }

  /** The query that predicts (row, start) from decoded tokens (or the proxy for start = 0). */
  #frontierQuery(tracker: Tracker, state: ImageState, row: number, start: number): ImageQuery {
    const layout = this.#layout;
    const predicts = { row, col: start };
    if (start > 0) {
      const slot = slotOf(layout, row, start - 1);
      return { slot, input: { kind: "cell", row, col: start - 1 }, proxy: false, predicts };
    }
    if (row === 0 || layout.eol || tracker.tokenAt(row - 1, layout.width - 1) >= 0) {
      return firstTokenQuery(layout, tracker, row, this.#options.proxy);
    }
    // No EOL and (r − 1, W − 1) not decoded: its draft is the best proxy, if it has one.
    const above = state.windows[row - 1];
    if (above?.lastDrafted || state.drafts.token[row * layout.width - 1] >= 0) {
      const q = this.#draftQuery(tracker, state, row - 1, layout.width - 1, false);
      return { ...q, predicts };
    }
    return firstTokenQuery(layout, tracker, row, this.#options.proxy);
  }

  /**
   * The query that writes the draft of (row, col), choosing one when the cell has none; it
   * predicts (row, col + 1) when `predicts` (and col + 1 < W).
   */
  #draftQuery(
    tracker: Tracker,
    state: ImageState,
    row: number,
    col: number,
    predicts: boolean,
  ): ImageQuery {
    const { width } = this.#layout;
    const cell = row * width + col;
    let token = state.drafts.token[cell];
    if (token < 0) {
      const above = row > 0
        ? (tracker.tokenAt(row - 1, col) >= 0
          ? tracker.tokenAt(row - 1, col)
          : state.drafts.token[cell - width])
        : -1;
      const at = { row, col, ctx: state.ctx! };
      token = initialDraft(this.#options.init, state.vocab, at, above);
      state.drafts.set(cell, token, null);
    }
    return {
      slot: slotOf(this.#layout, row, col),
      input: { kind: "cell", row, col },
      proxy: true,
      draft: token,
      predicts: predicts && col + 1 < width ? { row, col: col + 1 } : null,
    };
  }

  resolve(
    state: ImageState,
    queries: readonly ImageQuery[],
    logits: readonly (Float32Array | null)[],
    ctx: ResolveContext,
  ): CellDecode[] {
    const { height, width } = this.#layout;
    const { tracker } = state;
    if (tracker.steps === 0) {
      state.ctx = ctx; // the image's draw key and vocabulary, for the drafts nextStep chooses
      state.vocab = logits[queries.length - 1]!.length;
      return sampleEach(queries, logits, ctx);
    }
    const { drafts, windows } = state;
    // predictions[row][k]: guided logits predicting (row, start + k).
    const predictions: Float32Array[][] = windows.map(() => []);
    queries.forEach((q, k) => {
      const l = logits[k];
      if (q.predicts && l) predictions[q.predicts.row].push(l);
    });
    const { acceptance, coupled } = this.#options;
    const decodes: CellDecode[] = [];
    let aboveVisible = width; // row r − 1's tokens visible to this step's queries of row r
    for (let row = 0; row < height; row++) {
      const w = windows[row];
      if (!w) {
        aboveVisible = tracker.rowCount[row];
        continue;
      }
      const need = (col: number) => Math.min(col + this.#windowOf(row), width);
      let chain = true, visible = w.start;
      predictions[row].forEach((p, k) => {
        const col = w.start + k, cell = row * width + col;
        const at = { row, col, ctx };
        if (chain && (row === 0 || aboveVisible >= need(col))) {
          let token: number, accepted = false;
          if (drafts.token[cell] >= 0) {
            state.verifications++;
            ({ token, accepted } = verifyCell(
              drafts.token[cell],
              drafts.source[cell],
              p,
              at,
              acceptance,
              { drafts, index: cell },
            ));
            if (accepted) state.accepted++;
          } else {
            token = rasterDraw(drafts, cell, p, at);
          }
          decodes.push({ row, col, token });
          state.rowTokens++;
          drafts.clear(cell);
          // The next prediction saw this cell's draft: valid only if the draft was kept.
          const slotDrafted = col < w.start + w.cells - 1 || (col === width - 1 && w.lastDrafted);
          chain = accepted && slotDrafted;
          if (chain) visible = col + 1;
        } else {
          chain = false;
          drawDraft(drafts, cell, p, at, coupled);
        }
      });
      aboveVisible = visible;
    }
    return decodes;
  }

  /** Per-image steps, acceptance and tokens per active row-step over `images`. */
  stats(images: readonly ImageState[]): SpeculativeRowsStats {
    let verifications = 0, accepted = 0, rowSteps = 0, rowTokens = 0;
    for (const s of images) {
      verifications += s.verifications;
      accepted += s.accepted;
      rowSteps += s.rowSteps;
      rowTokens += s.rowTokens;
    }
    return {
      passes: images.map((s) => s.tracker.steps),
      verifications,
      accepted,
      acceptance: verifications > 0 ? accepted / verifications : null,
      tokensPerRowStep: rowSteps > 0 ? rowTokens / rowSteps : null,
    };
  }
}

/**
 * Build a speculative-rows schedule (ZipAR × SJD; plain SJD with `window` = W). Interactive mode
 * only: it reacts to model outputs.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createLayout } from "../layout.ts";
 * import { createSpeculativeRowsSchedule } from "./speculative_rows.ts";
 * const layout = createLayout({ height: 14, width: 14 });
 * const rows = createSpeculativeRowsSchedule(layout, { window: 7, draft: 4, variant: "paper" });
 * assert.equal(rows.name, "zipar-sjd(paper, s=7, L=4)");
 * assert.equal(createSpeculativeRowsSchedule(layout, { draft: 8 }).name, "sjd(L=8)");
 * assert.equal(rows.fixed, false);
 * ```
 */
export function createSpeculativeRowsSchedule(
  layout: Layout,
  options: SpeculativeRowsOptions,
): Schedule {
  const {
    draft,
    window = layout.width,
    variant = "ideal",
    proxy = "r-2",
    acceptance = "probabilistic",
    init = "random",
    coupled = true,
  } = options;
  checkInt("draft length", draft, 1, 1 << 16);
  checkInt("window", window, 1, layout.width, "grid width");
  if (!ZIPAR_VARIANTS.includes(variant)) {
    throw new RangeError(
      `ZipAR variant must be one of ${ZIPAR_VARIANTS.join(", ")}, got ${variant}`,
    );
  }
  if (!PROXY_POLICIES.includes(proxy)) {
    throw new RangeError(`proxy policy must be one of ${PROXY_POLICIES.join(", ")}, got ${proxy}`);
  }
  if (!ACCEPTANCES.includes(acceptance)) {
    throw new RangeError(`acceptance must be one of ${ACCEPTANCES.join(", ")}, got ${acceptance}`);
  }
  if (!DRAFT_INITS.includes(init)) {
    throw new RangeError(`draft init must be one of ${DRAFT_INITS.join(", ")}, got ${init}`);
  }
  return new SpeculativeRowsSchedule(layout, window, {
    draft,
    variant,
    proxy,
    acceptance,
    init,
    coupled,
  });
}
