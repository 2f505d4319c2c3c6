/**
 * Sequence layout: where each conditioning, image and end-of-line (EOL) token sits.
 *
 * A generation is `prefix` conditioning slots, then for each row `width` image slots, plus one
 * EOL slot per row when the model family has one (Lumina-mGPT, Emu3). RoPE and KV-cache indices
 * use these slot numbers.
 *
 * @module
 */

import { checkInt } from "./check.ts";
import type { ModelInfo } from "./step.ts";

/** Options for {@linkcode createLayout}. */
export interface LayoutOptions {
  /** Grid rows H, 1 ≤ H ≤ 4096. */
  height: number;
  /** Grid columns W, 1 ≤ W ≤ 4096. */
  width: number;
  /** Conditioning slots before the first image token (class token = 1). @default 1 */
  prefix?: number;
  /** Whether an end-of-line slot follows every image row. @default false */
  eol?: boolean;
}

/** A resolved, validated sequence layout. Create it with {@linkcode createLayout}. */
export interface Layout {
  /** Grid rows H. */
  readonly height: number;
  /** Grid columns W. */
  readonly width: number;
  /** Conditioning slots before the first image token. */
  readonly prefix: number;
  /** Whether an EOL slot follows every row. */
  readonly eol: boolean;
  /** Slots per row: W, or W + 1 with EOL. */
  readonly rowStride: number;
  /** Total slots: prefix + H · rowStride. */
  readonly numSlots: number;
}

/**
 * Largest accepted grid side; bigger grids are almost certainly a typo.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createLayout, MAX_GRID_SIDE } from "./layout.ts";
 * assert.throws(() => createLayout({ height: MAX_GRID_SIDE + 1, width: 2 }), /1\.\.4096/);
 * ```
 */
export const MAX_GRID_SIDE = 4096;

/**
 * Validate layout options and derive slot counts.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createLayout } from "./layout.ts";
 * const layout = createLayout({ height: 24, width: 24 });
 * assert(layout.numSlots === 1 + 576);
 * ```
 */
export function createLayout(options: LayoutOptions): Layout {
  const { height, width, prefix = 1, eol = false } = options;
  checkInt("grid height", height, 1, MAX_GRID_SIDE);
  checkInt("grid width", width, 1, MAX_GRID_SIDE);
  checkInt("prefix length", prefix, 1, 1 << 20);
  const rowStride = width + (eol ? 1 : 0);
  return { height, width, prefix, eol, rowStride, numSlots: prefix + height * rowStride };
}

/**
 * The sequence layout of a model: its grid, prefix length, and EOL slots when it has an EOL
 * token.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { layoutOf } from "./layout.ts";
 * const info = { name: "m", family: "mock", vocab: 8, height: 4, width: 5, prefix: 1,
 *   eolToken: null, numClasses: 10 };
 * assert.equal(layoutOf(info).numSlots, 21);
 * assert.equal(layoutOf({ ...info, eolToken: 8 }).numSlots, 1 + 4 * 6);
 * ```
 */
export function layoutOf(
  info: Pick<ModelInfo, "height" | "width" | "prefix" | "eolToken">,
): Layout {
  return createLayout({
    height: info.height,
    width: info.width,
    prefix: info.prefix,
    eol: info.eolToken !== null,
  });
}

/**
 * Slot of image token (row, col).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createLayout, slotOf } from "./layout.ts";
 * assert(slotOf(createLayout({ height: 2, width: 3 }), 1, 0) === 4);
 * ```
 */
export function slotOf(layout: Layout, row: number, col: number): number {
  return layout.prefix + row * layout.rowStride + col;
}

/**
 * Slot of the EOL token after `row` (only for layouts with EOL).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createLayout, eolSlotOf } from "./layout.ts";
 * assert(eolSlotOf(createLayout({ height: 2, width: 3, eol: true }), 0) === 4);
 * ```
 */
export function eolSlotOf(layout: Layout, row: number): number {
  if (!layout.eol) throw new TypeError("This layout has no end-of-line slots");
  return layout.prefix + row * layout.rowStride + layout.width;
}

/** What a slot holds: a conditioning token, an image cell, or an EOL token. */
export type SlotKind =
  | { kind: "prefix"; index: number }
  | { kind: "image"; row: number; col: number }
  | { kind: "eol"; row: number };

/**
 * Inverse of {@linkcode slotOf}: what a slot holds.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { cellOf, createLayout } from "./layout.ts";
 * const kind = cellOf(createLayout({ height: 2, width: 3 }), 4);
 * assert(kind.kind === "image" && kind.row === 1 && kind.col === 0);
 * ```
 */
export function cellOf(layout: Layout, slot: number): SlotKind {
  checkInt("slot", slot, 0, layout.numSlots - 1);
  if (slot < layout.prefix) return { kind: "prefix", index: slot };
  const rel = slot - layout.prefix;
  const row = Math.floor(rel / layout.rowStride);
  const col = rel % layout.rowStride;
  return col === layout.width ? { kind: "eol", row } : { kind: "image", row, col };
}

/**
 * The slot whose query predicts image token (row, col): the slot just before it in raster
 * order — (row, col − 1), the EOL slot of row − 1, (row − 1, W − 1), or the last prefix slot.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createLayout, predictorSlot } from "./layout.ts";
 * const layout = createLayout({ height: 2, width: 3 });
 * assert(predictorSlot(layout, 0, 0) === 0); // the class token predicts (0, 0)
 * assert(predictorSlot(layout, 1, 0) === 3); // (0, 2) predicts (1, 0)
 * ```
 */
export function predictorSlot(layout: Layout, row: number, col: number): number {
  if (col > 0) return slotOf(layout, row, col - 1);
  if (row === 0) return layout.prefix - 1;
  return layout.eol ? eolSlotOf(layout, row - 1) : slotOf(layout, row - 1, layout.width - 1);
}
