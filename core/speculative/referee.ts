/**
 * The referee of reactive schedules: the adaptive windows (core/speculative/adaptive,
 * adaptive_v2) and speculative Jacobi decoding (speculative_rows). It keeps every rule of the
 * fixed schedules' referee (core/tracker: the window rule, real tokens only once decoded, every
 * proxy corrected before the end) and allows three things more, each with its own rule:
 *
 * - **Re-runs.** A slot that holds a token may be written again (a verification re-runs the
 *   query that predicted a drafted token). Counted in `rewrites`.
 * - **Drafts.** A write may carry a drafted token for its slot's own, not yet decoded, cell
 *   (`SlotWrite.draft`, always a proxy write). When the same step decodes that cell to this very
 *   token, the step's later queries saw the real token: the slot holds it (no correction
 *   needed; counted in `draftsKept`), it counts as visible to the row below for the window rule,
 *   and the row may decode its next cell in the same step from it — a row decodes a run of
 *   tokens in one step only along such kept drafts.
 * - **Replacements.** A decode with `replace` overwrites a token already decoded (a rejected
 *   draft, a re-verified token). A slot that held the old token is stale from then on, and
 *   like a proxy must be rewritten before the generation ends; no token may be predicted from
 *   a stale slot, nor from a query that read a token this step replaces.
 *
 * @module
 */

import { checkInt } from "../check.ts";
import { predictorSlot } from "../layout.ts";
import { type CellDecode, SlotState, type SlotWrite, Tracker } from "../tracker.ts";

/**
 * A tracker that also referees re-runs, drafts and replacements (see the module doc).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createLayout } from "../layout.ts";
 * import { SpeculativeTracker } from "./referee.ts";
 * const tracker = new SpeculativeTracker(createLayout({ height: 2, width: 3 }), 1);
 * tracker.applyStep([{ slot: 0, proxy: false }], [{ row: 0, col: 0, token: 5 }]);
 * // Slot 2 drafts (0, 1) = 6; the step decodes (0, 1) = 6, so (0, 2) follows in the same step.
 * tracker.applyStep([{ slot: 1, proxy: false }, { slot: 2, proxy: true, draft: 6 }], [
 *   { row: 0, col: 1, token: 6 },
 *   { row: 0, col: 2, token: 1 },
 * ]);
 * assert.equal(tracker.rowCount[0], 3);
 * assert.equal(tracker.draftsKept, 1);
 * ```
 */
export class SpeculativeTracker extends Tracker {
  /** Writes to a slot that already held a token. */
  rewrites = 0;
  /** Drafted slots whose cell the same step decoded to the draft. */
  draftsKept = 0;

  /**
   * Record one step (see the module doc for what this referee allows beyond core/tracker's).
   * Throws, and changes nothing, when a write or decode breaks the rules.
   */
  override applyStep(writes: readonly SlotWrite[], decodes: readonly CellDecode[]): void {
    const { width } = this.layout;
    const written = this.checkWrites(writes, true);
    let drafts: Map<number, number> | null = null; // slot → drafted token, this step
    for (const { slot, proxy, draft } of writes) {
      if (draft === undefined) continue;
      if (!proxy) throw new Error(`Slot ${slot} written with a draft that is not a proxy`);
      checkInt(`token drafted at slot ${slot}`, draft, 0, Infinity);
      (drafts ??= new Map()).set(slot, draft);
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
      this.checkDecode(row, col, token, written);
      if (col > 0 && (replaced || drafts)) {
        const stale = this.#staleInput(row, col, drafts, stepTokens, replaced);
        if (stale) {
          const predictor = predictorSlot(this.layout, row, col);
          throw new Error(`Token (${row}, ${col}) predicted from slot ${predictor}, ${stale}`);
        }
      }
    }
    for (const { slot, proxy } of writes) {
      const state = this.slots[slot];
      if (state === SlotState.Real || (state === SlotState.Proxy && proxy)) this.rewrites++;
    }
    this.record(writes, decodes);
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

  /** Why the query that predicted (row, col) did not hold the current (row, col − 1), or null. */
  #staleInput(
    row: number,
    col: number,
    drafts: Map<number, number> | null,
    stepTokens: Map<number, number> | null,
    replaced: Set<number> | null,
  ): string | null {
    const cell = row * this.layout.width + col - 1;
    if (replaced?.has(cell)) return "whose token this step replaces";
    const draft = drafts?.get(predictorSlot(this.layout, row, col));
    if (draft !== undefined && stepTokens?.get(cell) !== draft) {
      return "which holds a draft this step rejects";
    }
    return null;
  }
}
