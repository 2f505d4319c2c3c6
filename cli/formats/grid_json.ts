/**
 * The JSON token-grid format (docs/design.md §5):
 * `{ "shape": [B, H, W], "tokens": [...flat row-major...], "meta": {...} }`.
 * Written with one grid row per line so diffs of golden files stay readable.
 *
 * @module
 */

import {
  brief,
  checkShape,
  checkVocab,
  GridFileError,
  MAX_TOKEN,
  position,
  type TokenGrid,
} from "./grid.ts";

/**
 * Serialize a grid as JSON text (ends with a newline).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeGridJson } from "./grid_json.ts";
 * const text = encodeGridJson({ shape: [1, 1, 2], tokens: new Int32Array([4, 5]), meta: {} });
 * assert(JSON.parse(text).tokens[1] === 5);
 * ```
 */
export function encodeGridJson(grid: TokenGrid): string {
  const [b, h, w] = grid.shape;
  const rows: string[] = [];
  for (let r = 0; r < b * h; r++) {
    rows.push("    " + Array.from(grid.tokens.subarray(r * w, (r + 1) * w)).join(", "));
  }
  const meta = prettyJson(grid.meta, "  ");
  return `{\n  "shape": [${b}, ${h}, ${w}],\n  "tokens": [\n${
    rows.join(",\n")
  }\n  ],\n  "meta": ${meta}\n}\n`;
}

/**
 * JSON text indented by two spaces, with short arrays and objects kept on one line.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { prettyJson } from "./grid_json.ts";
 * assert.equal(prettyJson({ grid: [16, 16] }, ""), '{"grid": [16, 16]}'); // short: one line
 * const long = prettyJson({ tokens: Array.from({ length: 30 }, (_, i) => i) }, "");
 * assert.equal(long.split("\n").length, 34); // long: one element a line, 30 + 4
 * ```
 */
export function prettyJson(value: unknown, indent: string): string {
  const inline = oneLine(value);
  if (inline.length <= 72 || value === null || typeof value !== "object") return inline;
  const inner = indent + "  ";
  if (Array.isArray(value)) {
    return `[\n${value.map((v) => inner + prettyJson(v ?? null, inner)).join(",\n")}\n${indent}]`;
  }
  const entries = Object.entries(value).filter(([, v]) => v !== undefined);
  const body = entries.map(([k, v]) => `${inner}${JSON.stringify(k)}: ${prettyJson(v, inner)}`);
  return `{\n${body.join(",\n")}\n${indent}}`;
}

function oneLine(value: unknown): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value) ?? "null";
  if (Array.isArray(value)) return `[${value.map((v) => oneLine(v ?? null)).join(", ")}]`;
  const entries = Object.entries(value).filter(([, v]) => v !== undefined);
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}: ${oneLine(v)}`).join(", ")}}`;
}

/**
 * Parse and validate JSON grid text; `where` names the source in errors.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeGridJson } from "./grid_json.ts";
 * const grid = decodeGridJson('{"shape": [1, 1, 2], "tokens": [4, 5]}', "x.json");
 * assert(grid.tokens[1] === 5);
 * ```
 */
export function decodeGridJson(text: string, where: string): TokenGrid {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new GridFileError(`${where}: not valid JSON (${(e as Error).message.split("\n")[0]})`);
  }
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) {
    throw new GridFileError(`${where}: expected a JSON object with "shape" and "tokens"`);
  }
  const { shape: rawShape, tokens: rawTokens, meta = {} } = doc as Record<string, unknown>;
  if (rawShape === undefined || rawTokens === undefined) {
    throw new GridFileError(`${where}: expected a JSON object with "shape" and "tokens"`);
  }
  const shape = checkShape(rawShape, where);
  const count = shape[0] * shape[1] * shape[2];
  if (!Array.isArray(rawTokens)) throw new GridFileError(`${where}: "tokens" must be an array`);
  if (rawTokens.length !== count) {
    throw new GridFileError(
      `${where}: shape ${brief(rawShape)} needs ${count} tokens, "tokens" has ${rawTokens.length}`,
    );
  }
  if (typeof meta !== "object" || meta === null || Array.isArray(meta)) {
    throw new GridFileError(`${where}: "meta" must be an object, got ${brief(meta)}`);
  }
  const tokens = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    const t = rawTokens[i];
    if (typeof t !== "number" || !Number.isInteger(t) || t < 0 || t > MAX_TOKEN) {
      const what = Array.isArray(t) ? "a nested array (tokens must be flat, row-major)" : brief(t);
      throw new GridFileError(
        `${where}: token at ${
          position(shape, i)
        } must be an integer in 0..${MAX_TOKEN}, got ${what}`,
      );
    }
    tokens[i] = t;
  }
  const grid = { shape, tokens, meta: meta as Record<string, unknown> };
  checkVocab(grid, where);
  return grid;
}
