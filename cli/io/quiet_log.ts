/**
 * The Python worker's stderr under `--quiet`: its `note:` lines (which num_classes a `.pt`
 * used, tensors a checkpoint has that the model does not use) stay unsaid; anything else (a
 * warning, a library's complaint) is still written as `[python] line`.
 *
 * @module
 */

/**
 * Whether a worker stderr line is kept under `--quiet`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { keptWhenQuiet } from "./quiet_log.ts";
 * assert.equal(keptWhenQuiet("note: num_classes = 1000 (from the checkpoint's training args)"), false);
 * assert.equal(keptWhenQuiet("UserWarning: something"), true);
 * ```
 */
export function keptWhenQuiet(line: string): boolean {
  return !line.startsWith("note:");
}

/** `onLog` of a worker started under `--quiet`: writes the lines {@linkcode keptWhenQuiet}. */
export function quietWorkerLog(line: string): void {
  if (keptWhenQuiet(line)) Deno.stderr.writeSync(new TextEncoder().encode(`[python] ${line}\n`));
}
