/**
 * The token-grid dependency tracker: what one image has decoded and what each slot holds.
 *
 * It is the referee of the fixed schedules (raster and ZipAR): it refuses a token decoded before
 * the window rule allows it, a slot written twice (except a proxy slot rewritten once by its
 * correction), and a generation that ends with a proxy slot never corrected. Reactive schedules
 * (adaptive windows, speculative Jacobi decoding) re-run slots, draft and replace tokens: their
 * referee is core/speculative/referee, which extends this one with those rules.
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
   * must be corrected before the generation ends. Only core/speculative/referee allows it.
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
   * A drafted token for the slot's own cell (speculative decoding), written as its proxy; only
   * core/speculative/referee allows it, with its rules.
   */
  draft?: number;
}

/**
 * Per-image decoding state with the window rule enforced.
 *
 * Window rule: token (r, c) may be decoded when (r, c − 1) is decoded and row r − 1 has decoded
 * columns 0 .. min(c + s, W) − 1. All decodes of a step are checked against the state before
 * the step, since tokens decoded in the same step cannot see each other: a row decodes at most
 * one token per step. A token decoded at column c ≥ 1 must be predicted from a slot holding the
 * real token of (r, c − 1).
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

  /**
   * Create an empty tracker that enforces window `window` (1 ≤ window ≤ W): every slot is
   * written once (a proxy slot once more, by its correction).
   */
  constructor(layout: Layout, window: number) {
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
  protected refusal(row: number, col: number, visible = -1, count = -1): string | null {
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
   * nothing) when a write or decode breaks the rules: a slot written twice (a proxy slot may be
   * written once more, by its correction), a proxy where the real token is known, a real image
   * token not decoded yet, a decode the window rule does not allow, two decodes of one row, a
   * decode predicted from a slot that does not hold (r, c − 1)'s token. Drafts and replacements
   * belong to reactive schedules and their referee (core/speculative/referee).
   */
  applyStep(writes: readonly SlotWrite[], decodes: readonly CellDecode[]): void {
    const written = this.checkWrites(writes);
    const rows = new Set<number>();
    for (const { row, col, token, replace } of decodes) {
      if (replace) {
        throw new Error(
          `Token (${row}, ${col}) replaced: only a reactive schedule's referee allows that`,
        );
      }
      const why = this.refusal(row, col);
      if (why) throw new Error(why);
      if (rows.has(row)) throw new Error(`Row ${row} decoded twice in one step`);
      rows.add(row);
      this.checkDecode(row, col, token, written);
    }
    this.record(writes, decodes);
  }

  /**
   * Check a step's slot writes against the state before it; returns the slots written. With
   * `rewrites`, a slot holding a token may be written again (a reactive schedule's re-run).
   */
  protected checkWrites(writes: readonly SlotWrite[], rewrites = false): Set<number> {
    const seen = new Set<number>();
    for (const { slot, proxy, draft } of writes) {
      checkInt("slot written", slot, 0, this.slots.length - 1);
      if (seen.has(slot)) throw new Error(`Slot ${slot} written twice in one step`);
      seen.add(slot);
      const state = this.slots[slot];
      if (!rewrites) {
        if (state === SlotState.Real) throw new Error(`Slot ${slot} written twice`);
        if (state === SlotState.Proxy && proxy) throw new Error(`Proxy slot ${slot} re-proxied`);
        if (draft !== undefined) {
          throw new Error(
            `Slot ${slot} written with a draft: only a reactive schedule's referee allows that`,
          );
        }
      }
      const cell = this.imageCellOf(slot);
      // A real image token (normal write or correction) must be decoded already.
      if (!proxy && cell !== null && this.tokens[cell] < 0) {
        throw new Error(`Slot ${slot} written with a real token that is not decoded yet`);
      }
      if (proxy && (cell === null || this.tokens[cell] >= 0)) {
        throw new Error(`Slot ${slot} holds a proxy though its real token is known`);
      }
    }
    return seen;
  }

  /**
   * Check one decode's token and its predictor: the query that predicted (row, col) ran at
   * its predictor slot in this step (`written`) or earlier, and, for col ≥ 1, that slot holds
   * the current token of (row, col − 1).
   */
  protected checkDecode(row: number, col: number, token: number, written: Set<number>): void {
    if (!(token >= 0) || !Number.isInteger(token)) { // hot path: name the cell only on failure
      checkInt(`token decoded at (${row}, ${col})`, token, 0, Infinity);
    }
    const predictor = predictorSlot(this.layout, row, col);
    const ran = written.has(predictor);
    if (this.slots[predictor] === SlotState.Empty && !ran) {
      throw new Error(`Token (${row}, ${col}) decoded without a query at slot ${predictor}`);
    }
    if (col > 0 && !ran && this.slots[predictor] !== SlotState.Real) {
      throw new Error(
        `Token (${row}, ${col}) predicted from slot ${predictor}, which holds a stale or proxy token`,
      );
    }
  }

  /** Record a checked step: slot states and counters, then the decoded tokens. */
  protected record(writes: readonly SlotWrite[], decodes: readonly CellDecode[]): void {
    const { width } = this.layout;
    for (const { slot, proxy } of writes) {
      const state = this.slots[slot];
      if (state === SlotState.Proxy && !proxy) this.corrections++;
      else if (state === SlotState.Empty && proxy) this.proxiesWritten++;
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
    this.steps++;
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
