/**
 * Schedules: given an image's tracker, the queries of its next step (forward pass), and how the
 * step's logits become tokens.
 *
 * `raster` decodes one token per step. `zipar` starts row r once row r − 1 is `window` tokens
 * ahead, so a step decodes one token of every active row (He et al., ZipAR, ICML 2025):
 * - variant `ideal` (default): every row r ≥ 1 follows the window rule → W + (H − 1)·s steps;
 * - variant `paper`: row 0 is decoded fully before row 1 starts (the public code and the paper's
 *   LlamaGen numbers) → 2W + (H − 2)·s steps.
 *
 * The first step of every schedule is the prefill ({@linkcode prefillQueries}): it writes the
 * prefix slots and its last query predicts (0, 0). Every later step decodes.
 *
 * Without end-of-line slots, the query that predicts (r, 0) sits at slot (r − 1, W − 1), which
 * row r − 1 has not decoded yet when row r starts: it is fed a *proxy* token chosen by a named
 * {@linkcode ProxyPolicy}, and once the real token is decoded the next step rewrites the slot (a
 * correction query, no logits). With s = W no proxy is ever needed — unlike the public code,
 * which feeds a proxy even then.
 *
 * Every schedule has the same shape: `nextStep` names the queries, `resolve` turns their logits
 * into tokens. Fixed schedules resolve with {@linkcode sampleEach} (one draw per predicted cell);
 * the reactive schedules (core/speculative) draft and verify instead.
 *
 * @module
 */

import { checkInt } from "./check.ts";
import { type Layout, predictorSlot } from "./layout.ts";
import { cellKey } from "./random.ts";
import { sample, type Sampling } from "./sampling.ts";
import { type CellDecode, SlotState, Tracker } from "./tracker.ts";

/** Where a query's input token comes from. */
export type TokenInput =
  /** A prefix slot: the sequence's conditioning token (class id, text token). */
  | { kind: "condition" }
  /** An end-of-line slot: the model's EOL token, known in advance. */
  | { kind: "eol" }
  /** The token decoded at (row, col) — real, or a proxy when the query says so. */
  | { kind: "cell"; row: number; col: number };

/** A cell of the token grid. */
export interface Cell {
  /** Grid row. */
  row: number;
  /** Grid column. */
  col: number;
}

/** One query of one image in one step; core/cfg expands it over sequences (CFG halves). */
export interface ImageQuery {
  /** The slot this query writes. */
  slot: number;
  /** The token written there. */
  input: TokenInput;
  /** True when `input` is a stand-in for this slot's own, not yet decoded, cell. */
  proxy: boolean;
  /** The cell decoded from this query's logits; null for writes without logits. */
  predicts: Cell | null;
  /**
   * A drafted token for this slot's own, not yet decoded, cell (speculative decoding, core/speculative/jacobi):
   * written instead of `input`'s token, with `proxy` true; `input` then names the cell itself.
   */
  draft?: number;
}

/** Which decoded token stands in for (r − 1, W − 1) when row r starts early. */
export type ProxyPolicy =
  /** Newest decoded token of row r − 2 (row r − 1 for r = 1): what the public code does. */
  | "r-2"
  /** Newest decoded token of row r − 1. */
  | "r-1";

/**
 * The proxy policies, for argument parsing.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { PROXY_POLICIES } from "./schedule.ts";
 * assert.deepEqual(PROXY_POLICIES, ["r-2", "r-1"]); // the default first
 * ```
 */
export const PROXY_POLICIES: readonly ProxyPolicy[] = ["r-2", "r-1"];

/** ZipAR variants, see the module doc. */
export type ZiparVariant = "ideal" | "paper";

/**
 * The ZipAR variants, for argument parsing.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ZIPAR_VARIANTS } from "./schedule.ts";
 * assert.deepEqual(ZIPAR_VARIANTS, ["ideal", "paper"]); // the default first
 * ```
 */
export const ZIPAR_VARIANTS: readonly ZiparVariant[] = ["ideal", "paper"];

/**
 * One image under a schedule: its referee, and whatever else the schedule keeps for the image
 * (a reactive schedule's per-row phases, drafts and counts). The schedule creates it
 * ({@linkcode Schedule.begin}) and is the only one to read its own fields.
 */
export interface ScheduleImage {
  /** The image's referee: core/tracker, or core/speculative/referee for reactive schedules. */
  readonly tracker: Tracker;
}

/**
 * A schedule: the queries of the next step for one image, and how their logits become tokens.
 * `I` is the per-image state it creates.
 */
export interface Schedule<I extends ScheduleImage = ScheduleImage> {
  /** Human-readable name, e.g. `zipar(ideal, s=8)`. */
  readonly name: string;
  /** Smallest window any token is decoded with: the tracker enforces it. */
  readonly window: number;
  /**
   * True when the queries never depend on token values, so the whole generation can be compiled
   * into a plan (core/plan) and run on a device. A schedule that reacts to model outputs (the
   * adaptive window) sets it false and runs interactively.
   */
  readonly fixed: boolean;
  /** Start one image: a fresh referee and the schedule's state for the image. */
  begin(): I;
  /** Queries of the image's next step; empty when the image is complete. */
  nextStep(image: I): ImageQuery[];
  /**
   * Turn a step's guided logits into decoded tokens: `logits[k]` belongs to `queries[k]` (null
   * when it asked for none). Fixed schedules sample every predicted cell
   * ({@linkcode sampleEach}); the adaptive window also verifies drafts.
   */
  resolve(
    image: I,
    queries: readonly ImageQuery[],
    logits: readonly (Float32Array | null)[],
    ctx: ResolveContext,
  ): CellDecode[];
  /** Schedule-specific statistics over the images, reported with the generation. */
  stats?(images: readonly I[]): unknown;
  /**
   * Whether the image needs no more steps (default: every token decoded, `tracker.done`). A
   * schedule that re-verifies decoded tokens (core/speculative/adaptive_v2) is complete only
   * once they are final.
   */
  complete?(image: I): boolean;
}

/** What a schedule needs to sample one image's tokens. */
export interface ResolveContext {
  /** Sampling settings. */
  sampling: Sampling;
  /** The image's seed. */
  seed: number;
  /** The image's draw index. */
  index: number;
}

/** Options for {@linkcode createSchedule}. */
export interface ScheduleOptions {
  /** `raster` (one token per step) or `zipar`. @default "zipar" */
  kind?: "raster" | "zipar";
  /** Window s, 1 ≤ s ≤ W; s = W is raster order. Ignored for raster. */
  window?: number;
  /** ZipAR variant. @default "ideal" */
  variant?: ZiparVariant;
  /** Proxy-token policy for grids without EOL slots. @default "r-2" */
  proxy?: ProxyPolicy;
}

/** A schedule with a fixed window per row (raster and both ZipAR variants). */
class FixedWindowSchedule implements Schedule {
  readonly fixed = true;
  readonly name: string;
  readonly window: number;
  readonly #layout: Layout;
  readonly #variant: ZiparVariant;
  readonly #proxy: ProxyPolicy;

  constructor(layout: Layout, window: number, variant: ZiparVariant, proxy: ProxyPolicy) {
    this.#layout = layout;
    this.window = window;
    this.#variant = variant;
    this.#proxy = proxy;
    this.name = window === layout.width ? "raster" : `zipar(${variant}, s=${window})`;
  }

  begin(): ScheduleImage {
    return { tracker: new Tracker(this.#layout, this.window) };
  }

  nextStep({ tracker }: ScheduleImage): ImageQuery[] {
    const layout = this.#layout;
    if (tracker.steps === 0) return prefillQueries(layout);
    const { height, width } = layout;
    const queries = completionQueries(layout, tracker);
    for (let row = 0; row < height; row++) {
      const col = tracker.rowCount[row];
      if (col >= width) continue;
      const window = this.#variant === "paper" && row === 1 ? width : this.window;
      if (!tracker.canDecode(row, col, window)) {
        if (col === 0) break; // later rows cannot have started either
        continue;
      }
      queries.push(this.#queryFor(tracker, row, col));
    }
    return queries;
  }

  resolve(
    _image: ScheduleImage,
    queries: readonly ImageQuery[],
    logits: readonly (Float32Array | null)[],
    ctx: ResolveContext,
  ): CellDecode[] {
    return sampleEach(queries, logits, ctx);
  }

  #queryFor(tracker: Tracker, row: number, col: number): ImageQuery {
    if (col === 0) return firstTokenQuery(this.#layout, tracker, row, this.#proxy);
    const slot = predictorSlot(this.#layout, row, col);
    return {
      slot,
      input: { kind: "cell", row, col: col - 1 },
      proxy: false,
      predicts: { row, col },
    };
  }
}

/**
 * How a fixed schedule resolves a step: sample every predicted cell (r, c) from its logits with
 * the draw key (seed, index, r, c), in query order.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { resolveSampling } from "./sampling.ts";
 * import { sampleEach } from "./schedule.ts";
 * import type { ImageQuery } from "./schedule.ts";
 * const queries: ImageQuery[] = [
 *   { slot: 0, input: { kind: "condition" }, proxy: false, predicts: null },
 *   { slot: 1, input: { kind: "cell", row: 0, col: 0 }, proxy: false, predicts: { row: 0, col: 1 } },
 * ];
 * const ctx = { sampling: resolveSampling({ temperature: 0 }), seed: 0, index: 0 };
 * const decodes = sampleEach(queries, [null, new Float32Array([0, 2, 1])], ctx);
 * assert.deepEqual(decodes, [{ row: 0, col: 1, token: 1 }]);
 * ```
 */
export function sampleEach(
  queries: readonly ImageQuery[],
  logits: readonly (Float32Array | null)[],
  ctx: ResolveContext,
): CellDecode[] {
  const decodes: CellDecode[] = [];
  queries.forEach((q, k) => {
    const l = logits[k];
    if (!q.predicts || !l) return;
    const { row, col } = q.predicts;
    decodes.push({
      row,
      col,
      token: sample(l, cellKey(ctx.seed, ctx.index, row, col), ctx.sampling),
    });
  });
  return decodes;
}

/**
 * Writes without logits that complete the slots of decoded tokens: the correction of every proxy
 * (or stale) slot whose real token is now decoded (unless `skipCorrection(row, slot)` says
 * another query of the step rewrites it anyway), and, with EOL slots, the slot of (r, W − 1)
 * once it is decoded (no query predicts from it there).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createLayout } from "./layout.ts";
 * import { completionQueries } from "./schedule.ts";
 * import { Tracker } from "./tracker.ts";
 * const layout = createLayout({ height: 2, width: 1 });
 * const tracker = new Tracker(layout, 1);
 * tracker.applyStep([{ slot: 0, proxy: false }], [{ row: 0, col: 0, token: 3 }]);
 * assert.deepEqual(completionQueries(layout, tracker), []);
 * ```
 */
export function completionQueries(
  layout: Layout,
  tracker: Tracker,
  skipCorrection: (row: number, slot: number) => boolean = () => false,
): ImageQuery[] {
  const { height, width } = layout;
  const queries: ImageQuery[] = [];
  for (const slot of tracker.pendingProxies) {
    const cell = tracker.imageCellOf(slot)!;
    const row = Math.floor(cell / width);
    if (tracker.tokens[cell] < 0 || skipCorrection(row, slot)) continue;
    const input = { kind: "cell", row, col: cell % width } as const;
    queries.push({ slot, input, proxy: false, predicts: null });
  }
  if (layout.eol) {
    for (let row = 0; row < height - 1 && tracker.rowCount[row] === width; row++) {
      const slot = tracker.slotOf(row, width - 1);
      if (tracker.slots[slot] !== SlotState.Empty) continue;
      const input = { kind: "cell", row, col: width - 1 } as const;
      queries.push({ slot, input, proxy: false, predicts: null });
    }
  }
  return queries;
}

/**
 * The query that predicts (row, 0), row ≥ 1: it writes the EOL slot of row − 1 with the EOL
 * token, or the slot of (row − 1, W − 1) with its real token when decoded, else with a proxy
 * chosen by `proxy` (newest decoded token of row − 2, or of row − 1; row − 1 for row 1).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createLayout } from "./layout.ts";
 * import { firstTokenQuery } from "./schedule.ts";
 * import { Tracker } from "./tracker.ts";
 * const layout = createLayout({ height: 2, width: 3 });
 * const tracker = new Tracker(layout, 1);
 * tracker.applyStep([{ slot: 0, proxy: false }], [{ row: 0, col: 0, token: 5 }]);
 * const q = firstTokenQuery(layout, tracker, 1, "r-2");
 * assert.deepEqual([q.slot, q.proxy, q.input], [3, true, { kind: "cell", row: 0, col: 0 }]);
 * ```
 */
export function firstTokenQuery(
  layout: Layout,
  tracker: Tracker,
  row: number,
  proxy: ProxyPolicy,
): ImageQuery {
  const slot = predictorSlot(layout, row, 0);
  const predicts = { row, col: 0 };
  if (layout.eol) return { slot, input: { kind: "eol" }, proxy: false, predicts };
  const last = layout.width - 1;
  if (tracker.tokenAt(row - 1, last) >= 0) {
    return { slot, input: { kind: "cell", row: row - 1, col: last }, proxy: false, predicts };
  }
  const from = proxy === "r-2" && row >= 2 ? row - 2 : row - 1;
  const input = { kind: "cell", row: from, col: tracker.rowCount[from] - 1 } as const;
  return { slot, input, proxy: true, predicts };
}

/**
 * The prefill, every schedule's first step: write every prefix slot; the last one predicts (0, 0).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createLayout } from "./layout.ts";
 * import { prefillQueries } from "./schedule.ts";
 * const queries = prefillQueries(createLayout({ height: 4, width: 4, prefix: 2 }));
 * assert(queries.length === 2 && queries[1].predicts?.col === 0);
 * ```
 */
export function prefillQueries(layout: Layout): ImageQuery[] {
  const queries: ImageQuery[] = [];
  for (let slot = 0; slot < layout.prefix; slot++) {
    const last = slot === layout.prefix - 1;
    queries.push({
      slot,
      input: { kind: "condition" },
      proxy: false,
      predicts: last ? { row: 0, col: 0 } : null,
    });
  }
  return queries;
}

/**
 * Build a fixed-window schedule: raster, or ZipAR with window s.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createLayout } from "./layout.ts";
 * import { createSchedule } from "./schedule.ts";
 * const layout = createLayout({ height: 24, width: 24 });
 * const schedule = createSchedule(layout, { window: 8, variant: "paper" });
 * assert(schedule.name === "zipar(paper, s=8)");
 * ```
 */
export function createSchedule(layout: Layout, options: ScheduleOptions = {}): Schedule {
  const { kind = "zipar", variant = "ideal", proxy = "r-2" } = options;
  if (kind !== "raster" && kind !== "zipar") {
    throw new RangeError(`schedule kind must be raster or zipar, got ${kind}`);
  }
  if (!ZIPAR_VARIANTS.includes(variant)) {
    throw new RangeError(
      `ZipAR variant must be one of ${ZIPAR_VARIANTS.join(", ")}, got ${variant}`,
    );
  }
  if (!PROXY_POLICIES.includes(proxy)) {
    throw new RangeError(`proxy policy must be one of ${PROXY_POLICIES.join(", ")}, got ${proxy}`);
  }
  const window = kind === "raster" ? layout.width : options.window;
  if (window === undefined) throw new TypeError("A zipar schedule needs a window");
  checkInt("window", window, 1, layout.width, "grid width");
  return new FixedWindowSchedule(layout, window, variant, proxy);
}

/** Grid and window for {@linkcode countSteps}. */
export interface StepCountOptions {
  /** Grid rows H. */
  height: number;
  /** Grid columns W. */
  width: number;
  /** Window s (W = raster). */
  window: number;
  /** ZipAR variant. @default "ideal" */
  variant?: ZiparVariant;
}

/**
 * Steps (forward passes) of a fixed-window schedule, in closed form: `W + (H − 1)·s` (ideal) or
 * `2W + (H − 2)·s` (paper, H ≥ 2); EOL slots do not change it. This is what
 * `GenerationStats.passes` reports for such a schedule.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { countSteps } from "./schedule.ts";
 * assert.equal(countSteps({ height: 24, width: 24, window: 8, variant: "paper" }), 224);
 * assert.equal(countSteps({ height: 24, width: 24, window: 8 }), 208);
 * assert.equal(countSteps({ height: 24, width: 24, window: 24 }), 576); // raster
 * ```
 */
export function countSteps(options: StepCountOptions): number {
  const { height: h, width: w, window: s, variant = "ideal" } = options;
  if (variant === "paper" && h >= 2) return 2 * w + (h - 2) * s;
  return w + (h - 1) * s;
}
