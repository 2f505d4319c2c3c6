/**
 * Token grids as the CLI reads and writes them: shape [B, H, W], tokens row-major, metadata.
 * Grid files are untrusted; every check here runs before large allocations where it can.
 *
 * @module
 */

/** B token grids of H×W with their metadata. */
export interface TokenGrid {
  /** [B, H, W]. */
  shape: [number, number, number];
  /** tokens: [B·H·W] row-major (C order). */
  tokens: Int32Array;
  /** Metadata: model, backend, sampling, schedule, seeds, passes, … (free-form JSON). */
  meta: Record<string, unknown>;
}

/** Most tokens a grid file may hold (2^28: 1 GiB as int32). */
export const MAX_GRID_TOKENS = 2 ** 28;
/** Largest grid side accepted in files. */
export const MAX_FILE_SIDE = 1 << 16;
/** Largest token id: int32's maximum. */
export const MAX_TOKEN = 0x7fffffff;

/** A grid file that cannot be read: truncated, oversized, malformed. Exit 1. */
export class GridFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "GridFileError";
  }
}

/**
 * Validate a shape read from a file: 3 (or 2, meaning B = 1) positive integer dimensions with
 * at most {@linkcode MAX_GRID_TOKENS} tokens. Returns [B, H, W].
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkShape } from "./grid.ts";
 * assert(checkShape([16, 16], "x")[0] === 1);
 * ```
 */
export function checkShape(shape: unknown, where: string): [number, number, number] {
  if (!Array.isArray(shape) || (shape.length !== 3 && shape.length !== 2)) {
    throw new GridFileError(`${where}: shape must be [B, H, W] (or [H, W]), got ${brief(shape)}`);
  }
  const dims = shape.length === 2 ? [1, ...shape] : shape;
  let count = 1;
  for (const d of dims) {
    if (typeof d !== "number" || !Number.isSafeInteger(d) || d < 1 || d > MAX_GRID_TOKENS) {
      throw new GridFileError(
        `${where}: shape dimensions must be positive integers, got ${brief(shape)}`,
      );
    }
    count *= d;
    if (count > MAX_GRID_TOKENS) {
      throw new GridFileError(
        `${where}: shape ${
          brief(shape)
        } holds more than ${MAX_GRID_TOKENS} tokens (2^28), the limit`,
      );
    }
  }
  if (dims[1] > MAX_FILE_SIDE || dims[2] > MAX_FILE_SIDE) {
    throw new GridFileError(
      `${where}: grid sides must be at most ${MAX_FILE_SIDE}, got ${brief(shape)}`,
    );
  }
  return dims as [number, number, number];
}

/**
 * Check every token is below `vocab` (when the metadata declares one). Values are already
 * non-negative int32 when they get here.
 *
 * @example
 * ```ts
 * import { checkVocab } from "./grid.ts";
 * checkVocab({ shape: [1, 1, 2], tokens: new Int32Array([0, 3]), meta: { vocab: 4 } }, "x");
 * ```
 */
export function checkVocab(grid: TokenGrid, where: string): void {
  const vocab = grid.meta.vocab;
  if (vocab === undefined) return;
  if (typeof vocab !== "number" || !Number.isSafeInteger(vocab) || vocab < 1) {
    throw new GridFileError(`${where}: meta.vocab must be a positive integer, got ${brief(vocab)}`);
  }
  const { tokens } = grid;
  for (let i = 0; i < tokens.length; i++) {
    if (tokens[i] >= vocab) {
      throw new GridFileError(
        `${where}: token ${tokens[i]} at ${
          position(grid.shape, i)
        } is not below meta.vocab ${vocab}`,
      );
    }
  }
}

/** "[b, r, c]" of flat index i. */
export function position(shape: readonly number[], i: number): string {
  const [, h, w] = shape;
  return `[${Math.floor(i / (h * w))}, ${Math.floor(i / w) % h}, ${i % w}]`;
}

/** A short rendering of an untrusted value for an error message. */
export function brief(value: unknown): string {
  let s: string;
  try {
    s = JSON.stringify(value) ?? String(value);
  } catch {
    s = String(value);
  }
  return s.length > 60 ? s.slice(0, 57) + "..." : s;
}
