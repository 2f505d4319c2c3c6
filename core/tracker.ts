/**
 * The token-grid dependency tracker: what one image has decoded and what each slot holds.
 *
 * It is the referee of every generation: it refuses a token decoded before the window rule
 * allows it, a slot written twice (except a proxy slot rewritten once by its correction), and a
 * generation that ends with a proxy slot never corrected.
 *
 * @module
 */

import { checkInt } from "./check.ts";
import { type Layout, predictorSlot, slotOf } from "./layout.ts";

/**
 * Slot contents as far as the tracker is concerned.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createLayout } from "./layout.ts";
 * import { SlotState, Tracker } from "./tracker.ts";
 * const tracker = new Tracker(createLayout({ height: 2, width: 2 }), 1);
 * tracker.applyStep([{ slot: 0, proxy: false }], [{ row: 0, col: 0, token: 3 }]);
 * tracker.applyStep([{ slot: 1, proxy: false }, { slot: 2, proxy: true }], [
 *   { row: 0, col: 1, token: 1 },
 *   { row: 1, col: 0, token: 2 },
 * ]);
 * const { Real, Proxy, Empty } = SlotState;
 * assert.deepEqual([...tracker.slots], [Real, Real, Proxy, Empty, Empty]);
 * ```
 */
export const SlotState = {
  /** Not written: masked out of attention. */
  Empty: 0,
  /** Holds its real token (or the conditioning / EOL token). */
  Real: 1,
  /** Holds a proxy token; its real token will be written by a correction. */
  Proxy: 2,
} as const;

/** One image token decoded in a step. */
export interface CellDecode {
  /** Grid row. */
  row: number;
  /** Grid column. */
  col: number;
  /** The sampled token id. */
  token: number;
  /**
   * Replace the token already decoded at (row, col) instead of decoding the next one (a rejected
   * draft, or a re-verified token). A slot that held the old token then holds a stale one and
   * must be corrected before the generation ends. Needs a tracker created with `rewrites: true`.
   */
  replace?: boolean;
}

/** One slot written in a step. */
export interface SlotWrite {
  /** Sequence slot (see core/layout). */
  slot: number;
  /** Whether the token written is a proxy for the slot's own, not yet decoded, cell. */
  proxy: boolean;
  /**
   * A drafted token for the slot's own cell (speculative decoding), written as its proxy. When the
   * same step decodes that cell to this very token, later queries of the step saw the real token:
   * the slot holds it (no correction needed), it counts as visible for the window rule, and the
   * row may decode the next cell in the same step from it.
   */
  draft?: number;
}

/**
 * Per-image decoding state with the window rule enforced.
 *
 * Window rule: token (r, c) may be decoded when (r, c − 1) is decoded and row r − 1 has decoded
 * columns 0 .. min(c + s, W) − 1. All decodes of a step are checked against the state before
 * the step, since tokens decoded in the same step cannot see each other — except through a
 * draft: a cell this step decodes to the token its slot was drafted with in this step
 * ({@linkcode SlotWrite}'s `draft`) was visible to the step's later queries, so it counts for
 * the row below and lets its own row decode the next cell in the same step (speculative
 * Jacobi decoding). A token decoded at column c ≥ 1 must be predicted from a slot holding the
 * current token of (r, c − 1).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createLayout } from "./layout.ts";
 * import { Tracker } from "./tracker.ts";
 * const tracker = new Tracker(createLayout({ height: 2, width: 2 }), 1);
 * tracker.applyStep([{ slot: 0, proxy: false }], [{ row: 0, col: 0, token: 7 }]);
 * assert(tracker.canDecode(1, 0) && tracker.tokenAt(0, 0) === 7);
 * ```
 */
export class Tracker {
  /** The sequence layout. */
  readonly layout: Layout;
  /** The smallest window s the tracker allows. */
  readonly window: number;
  /** tokens: [H, W], −1 where not decoded yet. */
  readonly tokens: Int32Array;
  /** rowCount: [H], decoded tokens per row (rows decode left to right). */
  readonly rowCount: Int32Array;
  /** slots: [numSlots], a {@linkcode SlotState} per slot. */
  readonly slots: Uint8Array;
  /** Proxy slots not yet corrected, as slot numbers. */
  readonly pendingProxies: Set<number> = new Set();
  /** Tokens decoded so far. */
  decoded = 0;
  /** Proxy writes so far. */
  proxiesWritten = 0;
  /** Correction writes so far. */
  corrections = 0;
  /** Steps applied so far. */
  steps = 0;
  /** Writes to a slot that already held a token (only with `rewrites: true`). */
  rewrites = 0;
  /** Drafted slots whose cell the same step decoded to the draft (speculative decoding). */
  draftsKept = 0;
  /** Whether written slots may be written again and drafts replaced (adaptive window). */
  readonly allowRewrites: boolean;

  /**
   * Create an empty tracker that enforces window `window` (1 ≤ window ≤ W). Fixed schedules
   * write every slot once (proxy slots: once more, by their correction); `rewrites: true` lets
   * a reactive schedule re-run written slots and replace drafted tokens.
   */
  constructor(layout: Layout, window: number, options: { rewrites?: boolean } = {}) {
    this.allowRewrites = options.rewrites ?? false;
    checkInt("window", window, 1, layout.width);
    this.layout = layout;
    this.window = window;
    this.tokens = new Int32Array(layout.height * layout.width).fill(-1);
    this.rowCount = new Int32Array(layout.height);
    this.slots = new Uint8Array(layout.numSlots);
  }

  /** Whether every image token is decoded. */
  get done(): boolean {
    return this.decoded === this.layout.height * this.layout.width;
  }

  /** The decoded token at (row, col), or −1. */
  tokenAt(row: number, col: number): number {
    return this.tokens[row * this.layout.width + col];
  }

  /** Whether (row, col) may be decoded now under window `window` (default: the tracker's). */
  canDecode(row: number, col: number, window = this.window): boolean {
    const { height, width } = this.layout;
    if (row < 0 || row >= height || col !== this.rowCount[row]) return false;
    if (col >= width) return false;
    return row === 0 || this.rowCount[row - 1] >= Math.min(col + window, width);
  }

  /**
   * Why (row, col) may not be decoded now, or null when it may: with the row above's `visible`
   * tokens (default: its decoded count) and the row's own `count` (default: its decoded count).
   */
  private refusal(row: number, col: number, visible = -1, count = -1): string | null {
    const { height, width } = this.layout;
    if (row < 0 || row >= height || col < 0 || col >= width) {
      return `Cannot decode token (${row}, ${col}): outside the ${height}×${width} grid`;
    }
    if (count < 0) count = this.rowCount[row];
    if (col !== count) {
      return `Cannot decode token (${row}, ${col}): row ${row} has ${count} tokens, so the next is column ${count}`;
    }
    const need = Math.min(col + this.window, width);
    const above = row > 0 ? (visible >= 0 ? visible : this.rowCount[row - 1]) : 0;
    if (row > 0 && above < need) {
      return `Cannot decode token (${row}, ${col}): row ${
        row - 1
      } has only ${above} tokens, window ${this.window} needs ${need}`;
    }
    return null;
  }

  /**
   * Record one step: the slots its queries wrote and the tokens it decoded. Throws (and changes
   * nothing) when a write or decode breaks the rules.
   */
  applyStep(writes: readonly SlotWrite[], decodes: readonly CellDecode[]): void {
    const { width } = this.layout;
    const seenSlots = new Set<number>();
    let drafts: Map<number, number> | null = null; // slot → drafted token, this step
    for (const { slot, proxy, draft } of writes) {
      checkInt("slot written", slot, 0, this.slots.length - 1);
      if (seenSlots.has(slot)) throw new Error(`Slot ${slot} written twice in one step`);
      seenSlots.add(slot);
      const state = this.slots[slot];
      if (!this.allowRewrites) {
        if (state === SlotState.Real) throw new Error(`Slot ${slot} written twice`);
        if (state === SlotState.Proxy && proxy) throw new Error(`Proxy slot ${slot} re-proxied`);
      }
      const cell = this.imageCellOf(slot);
      if (!proxy && cell !== null) {
        // A real image token (normal write or correction) must be decoded already.
        if (this.tokens[cell] < 0) {
          throw new Error(`Slot ${slot} written with a real token that is not decoded yet`);
        }
      }
      if (proxy && (cell === null || this.tokens[cell] >= 0)) {
        throw new Error(`Slot ${slot} holds a proxy though its real token is known`);
      }
      if (draft !== undefined) {
        if (!proxy) throw new Error(`Slot ${slot} written with a draft that is not a proxy`);
        checkInt(`token drafted at slot ${slot}`, draft, 0, Infinity);
        (drafts ??= new Map()).set(slot, draft);
      }
    }
    // This step's decodes by cell, for chains through drafts and replacements.
    let stepTokens: Map<number, number> | null = null, replaced: Set<number> | null = null;
    for (const { row, col, token, replace } of decodes) {
      if (replace) (replaced ??= new Set()).add(row * width + col);
      else if (drafts) (stepTokens ??= new Map()).set(row * width + col, token);
    }
    const counts = new Map<number, number>(); // row → tokens decoded in this step so far
    for (const { row, col, token, replace } of decodes) {
      if (replace) {
        if (!this.allowRewrites) {
          throw new Error(`Token (${row}, ${col}) replaced without rewrites`);
        }
        if (!(col >= 0 && col < this.rowCount[row])) {
          throw new Error(`Cannot replace token (${row}, ${col}): it is not decoded yet`);
        }
      } else {
        const before = counts.get(row) ?? 0;
        const why = before === 0
          ? this.refusal(row, col, drafts ? this.#visible(row - 1, drafts, stepTokens) : -1)
          : this.#chainRefusal(row, col, before, drafts, stepTokens);
        if (why) throw new Error(why);
        counts.set(row, before + 1);
      }
      if (!(token >= 0) || !Number.isInteger(token)) { // hot path: name the cell only on failure
        checkInt(`token decoded at (${row}, ${col})`, token, 0, Infinity);
      }
      const predictor = predictorSlot(this.layout, row, col);
      const written = seenSlots.has(predictor);
      if (this.slots[predictor] === SlotState.Empty && !written) {
        throw new Error(`Token (${row}, ${col}) decoded without a query at slot ${predictor}`);
      }
      if (col > 0 && (replaced || drafts || !written)) {
        const stale = this.#staleInput(row, col, predictor, written, drafts, stepTokens, replaced);
        if (stale) {
          throw new Error(`Token (${row}, ${col}) predicted from slot ${predictor}, ${stale}`);
        }
      }
    }
    for (const { slot, proxy } of writes) {
      const state = this.slots[slot];
      if (state === SlotState.Real || (state === SlotState.Proxy && proxy)) this.rewrites++;
      else if (state === SlotState.Proxy) this.corrections++;
      else if (proxy) this.proxiesWritten++;
      if (proxy) this.pendingProxies.add(slot);
      else this.pendingProxies.delete(slot);
      this.slots[slot] = proxy ? SlotState.Proxy : SlotState.Real;
    }
    for (const { row, col, token, replace } of decodes) {
      this.tokens[row * width + col] = token;
      if (!replace) {
        this.rowCount[row]++;
        this.decoded++;
      }
    }
    if (drafts && stepTokens) {
      for (const [slot, draft] of drafts) {
        if (stepTokens.get(this.imageCellOf(slot)!) !== draft) continue;
        this.slots[slot] = SlotState.Real; // the draft was the real token
        this.pendingProxies.delete(slot);
        this.draftsKept++;
      }
    }
    if (replaced) {
      for (const cell of replaced) {
        const slot = this.slotOf(Math.floor(cell / width), cell % width);
        if (this.slots[slot] !== SlotState.Real) continue;
        this.slots[slot] = SlotState.Proxy; // it holds the replaced token: stale until rewritten
        this.pendingProxies.add(slot);
      }
    }
    this.steps++;
  }

  /**
   * Tokens of `row` visible to this step's later queries: those decoded before the step, then
   * those this step decodes to the very token their slot was drafted with in this step.
   */
  #visible(
    row: number,
    drafts: Map<number, number>,
    stepTokens: Map<number, number> | null,
  ): number {
    if (row < 0) return 0;
    let n = this.rowCount[row];
    if (!stepTokens) return n;
    const { width } = this.layout;
    while (n < width) {
      const draft = drafts.get(this.slotOf(row, n));
      if (draft === undefined || stepTokens.get(row * width + n) !== draft) break;
      n++;
    }
    return n;
  }

  /** Why (row, col), the row's next token after `before` decoded in this step, may not be. */
  #chainRefusal(
    row: number,
    col: number,
    before: number,
    drafts: Map<number, number> | null,
    stepTokens: Map<number, number> | null,
  ): string | null {
    const { width } = this.layout;
    const start = this.rowCount[row];
    const draft = drafts?.get(this.slotOf(row, col - 1));
    const chained = col === start + before && col < width && draft !== undefined &&
      stepTokens?.get(row * width + col - 1) === draft;
    if (!chained) {
      // Without a draft chain a row decodes one token per step.
      return this.refusal(row, col, -1, start) ??
        `Row ${row} decoded twice in one step without a draft chain`;
    }
    return this.refusal(row, col, this.#visible(row - 1, drafts!, stepTokens), col);
  }

  /** Why the query at `predictor` did not hold the current token of (row, col − 1), or null. */
  #staleInput(
    row: number,
    col: number,
    predictor: number,
    written: boolean,
    drafts: Map<number, number> | null,
    stepTokens: Map<number, number> | null,
    replaced: Set<number> | null,
  ): string | null {
    const cell = row * this.layout.width + col - 1;
    if (replaced?.has(cell)) return "whose token this step replaces";
    const draft = drafts?.get(predictor);
    if (draft !== undefined) {
      return stepTokens?.get(cell) === draft ? null : "which holds a draft this step rejects";
    }
    if (!written && this.slots[predictor] !== SlotState.Real) {
      return "which holds a stale or proxy token";
    }
    return null;
  }

  /** Throw unless every token is decoded and every proxy slot was corrected. */
  finish(): void {
    if (!this.done) {
      throw new Error(`Generation ended with ${this.decoded} of ${this.tokens.length} tokens`);
    }
    if (this.pendingProxies.size > 0) {
      const slots = [...this.pendingProxies].join(", ");
      throw new Error(`Generation ended with proxy slots never corrected: ${slots}`);
    }
    // Every slot but the last image slot (and the last EOL slot) must hold its real token.
    const { height, width } = this.layout;
    const lastNeeded = slotOf(this.layout, height - 1, width - 1) - 1;
    for (let slot = 0; slot <= lastNeeded; slot++) {
      if (this.slots[slot] !== SlotState.Real) {
        throw new Error(`Generation ended with slot ${slot} never written`);
      }
    }
  }

  /** Cell index (row · W + col) held by `slot`, or null for prefix and EOL slots. */
  imageCellOf(slot: number): number | null {
    const { prefix, rowStride, width } = this.layout;
    if (slot < prefix) return null;
    const row = Math.floor((slot - prefix) / rowStride);
    const col = (slot - prefix) % rowStride;
    return col === width ? null : row * width + col;
  }

  /** Slot of (row, col); shorthand for core/layout's slotOf. */
  slotOf(row: number, col: number): number {
    return slotOf(this.layout, row, col);
  }
}
