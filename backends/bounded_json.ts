/**
 * JSON from untrusted files (model configs, job files) with a bounded nesting depth: a scan
 * counts the depth before `JSON.parse` sees the text, so a 100,000-deep array costs one pass and
 * a one-line error, on both sides of the Python worker (worker/checkpoint.py's `read_json` applies
 * the same limit, with the same words).
 *
 * @module
 */

/** Deepest nesting of objects and arrays a config or a job line may have. */
export const MAX_JSON_DEPTH = 64;

/**
 * How deep `text` nests (objects and arrays), scanning no further than the first point where it
 * exceeds `limit`. Strings are skipped, escapes included.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { jsonTextDepth } from "./bounded_json.ts";
 * assert.equal(jsonTextDepth('{"a": [1, "[[["], {"b": {}}]}', 10), 3);
 * assert.equal(jsonTextDepth("[".repeat(100000), 64), 65);
 * ```
 */
export function jsonTextDepth(text: string, limit: number): number {
  let depth = 0, deepest = 0, inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      depth++;
      if (depth > deepest) deepest = depth;
      if (deepest > limit) return deepest;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return deepest;
}

/**
 * Parse `text` as JSON; a SyntaxError `SOURCE: …` in one line when it nests deeper than
 * `maxDepth` or is not JSON.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseBoundedJson } from "./bounded_json.ts";
 * assert.deepEqual(parseBoundedJson('{"a": [1]}', "c.json"), { a: [1] });
 * assert.throws(
 *   () => parseBoundedJson("[".repeat(1000) + "]".repeat(1000), "c.json"),
 *   /^SyntaxError: c\.json: JSON nests more than 64 levels deep$/,
 * );
 * ```
 */
export function parseBoundedJson(
  text: string,
  source: string,
  maxDepth: number = MAX_JSON_DEPTH,
): unknown {
  if (jsonTextDepth(text, maxDepth) > maxDepth) {
    throw new SyntaxError(`${source}: JSON nests more than ${maxDepth} levels deep`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new SyntaxError(`${source}: not valid JSON (${(e as Error).message.split("\n")[0]})`);
  }
}
