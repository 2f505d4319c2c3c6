/**
 * Error lines that cannot steer a terminal: control characters from a file name, a flag, a job
 * file, a prompt or a library's message are written escaped, never raw.
 *
 * @module
 */

/** C0 controls, DEL, C1 controls, line/paragraph separators and bidirectional overrides. */
// deno-lint-ignore no-control-regex
const UNPRINTABLE = /[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/**
 * `text` with every control character escaped as `\xNN` (or `\uNNNN` above U+00FF), so that an
 * error line carries no ESC sequence, NUL, carriage return or line break of its input.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { printable } from "./printable.ts";
 * assert.equal(printable("bad \x1b[2J\x00name\r"), "bad \\x1b[2J\\x00name\\x0d");
 * assert.equal(printable("ok: é, 猫"), "ok: é, 猫");
 * ```
 */
export function printable(text: string): string {
  return text.replace(UNPRINTABLE, (ch) => {
    const code = ch.charCodeAt(0);
    return code <= 0xff
      ? `\\x${code.toString(16).padStart(2, "0")}`
      : `\\u${code.toString(16).padStart(4, "0")}`;
  });
}
