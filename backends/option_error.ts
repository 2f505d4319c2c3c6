/**
 * {@linkcode OptionError}: a backend refused an option of the caller's (a grid for a model of
 * one size, an image size it was not trained for). It is the caller's usage error, not a
 * failure of the model: the CLI exits 2 for it, as for a bad flag.
 *
 * @module
 */

/**
 * An option the model cannot take; the message names the option and the fix.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { OptionError } from "./option_error.ts";
 * const e = new OptionError("this model makes one image size; drop --grid");
 * assert.ok(e instanceof Error && e.name === "OptionError");
 * ```
 */
export class OptionError extends Error {
  /** `message`: one line naming the option and the fix. */
  constructor(message: string) {
    super(message);
    this.name = "OptionError";
  }
}
