/**
 * Range checks with one message shape for every setting core validates: "window must be an
 * integer in 1..16 (grid width), got 0", "top-p must be a number in (0, 1] (1 = off), got 2".
 * Each throws a RangeError naming the value, the range and, optionally, a hint.
 *
 * @module
 */

/**
 * Check that `value` is an integer in `min..max` (`max` may be Infinity: "≥ min"); otherwise
 * throw a RangeError "`name` must be an integer in min..max (`hint`), got value".
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkInt } from "./check.ts";
 * checkInt("window", 8, 1, 24); // ok
 * assert.throws(() => checkInt("window", 0, 1, 24, "grid width"), {
 *   name: "RangeError",
 *   message: "window must be an integer in 1..24 (grid width), got 0",
 * });
 * assert.throws(() => checkInt("top-k", 1.5, 0, Infinity), /top-k must be an integer ≥ 0, got 1\.5/);
 * ```
 */
export function checkInt(
  name: string,
  value: number,
  min: number,
  max: number,
  hint?: string,
): void {
  if (typeof value === "number" && Number.isInteger(value) && value >= min && value <= max) return;
  const range = max === Infinity ? `≥ ${min}` : `in ${min}..${max}`;
  throw new RangeError(`${name} must be an integer ${range}${note(hint)}, got ${value}`);
}

/** Bounds of {@linkcode checkNumber}. */
export interface NumberRange {
  /** Smallest allowed value. */
  min: number;
  /** Largest allowed value. @default Infinity */
  max?: number;
  /** Whether `min` itself is refused: the range is (min, max]. @default false */
  exclusiveMin?: boolean;
}

/**
 * Check that `value` is a finite number in `range`; otherwise throw a RangeError "`name` must
 * be a finite number ≥ min (`hint`), got value" (no upper bound) or "… must be a number in
 * [min, max] …" (bounded; "(" when `exclusiveMin`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkNumber } from "./check.ts";
 * checkNumber("temperature", 0.7, { min: 0 }); // ok
 * assert.throws(() => checkNumber("temperature", -1, { min: 0 }, "0 = greedy"), {
 *   name: "RangeError",
 *   message: "temperature must be a finite number ≥ 0 (0 = greedy), got -1",
 * });
 * assert.throws(
 *   () => checkNumber("top-p", 0, { min: 0, max: 1, exclusiveMin: true }),
 *   /top-p must be a number in \(0, 1\], got 0/,
 * );
 * assert.throws(() => checkNumber("CFG scale", NaN, { min: 0 }), RangeError);
 * ```
 */
export function checkNumber(
  name: string,
  value: number,
  range: NumberRange,
  hint?: string,
): void {
  const { min, max = Infinity, exclusiveMin = false } = range;
  if (
    typeof value === "number" && Number.isFinite(value) &&
    (exclusiveMin ? value > min : value >= min) && value <= max
  ) return;
  const bounds = max === Infinity
    ? `a finite number ${exclusiveMin ? ">" : "≥"} ${min}`
    : `a number in ${exclusiveMin ? "(" : "["}${min}, ${max}]`;
  throw new RangeError(`${name} must be ${bounds}${note(hint)}, got ${value}`);
}

function note(hint: string | undefined): string {
  return hint ? ` (${hint})` : "";
}
