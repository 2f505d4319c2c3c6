/**
 * Read a UTF-8 text input the user named (a job file, a prompts file, or `-` for stdin) with a
 * size cap, so an untrusted input cannot grow memory without bound: a file larger than the cap
 * is refused from its size, stdin is read up to the cap and refused past it.
 *
 * @module
 */

import type { Io } from "./io.ts";

/** Options of {@linkcode readTextInput}. */
export interface TextInputOptions {
  /** What the input is, for errors: "the job file", "the prompts file". */
  what: string;
  /** Most bytes read. */
  maxBytes: number;
}

/** Read up to `maxBytes` of `stream`; throws when it holds more. */
async function readCapped(
  stream: ReadableStream<Uint8Array>,
  maxBytes: number,
): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = stream.getReader();
  try {
    while (true) {
      const { value, done } = await reader.read();
      if (done) break;
      total += value.length;
      if (total > maxBytes) throw new Error(`larger than ${maxBytes} bytes`);
      chunks.push(value);
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
  const out = new Uint8Array(total);
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.length;
  }
  return out;
}

/**
 * The text of `path` (`-` = stdin), at most `maxBytes` long and valid UTF-8; a one-line Error
 * naming the input otherwise.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readTextInput } from "./text_file.ts";
 * import { memoryIo } from "./io.ts";
 * const io = memoryIo({ input: new TextEncoder().encode("a\nb\n") });
 * assert.equal(await readTextInput("-", io, { what: "the prompts file", maxBytes: 16 }), "a\nb\n");
 * await assert.rejects(
 *   readTextInput("-", memoryIo({ input: new Uint8Array(17) }), { what: "x", maxBytes: 16 }),
 *   /stdin: cannot read x \(larger than 16 bytes\)/,
 * );
 * ```
 */
export async function readTextInput(
  path: string,
  io: Io,
  options: TextInputOptions,
): Promise<string> {
  const { what, maxBytes } = options;
  const where = path === "-" ? "stdin" : path;
  let bytes: Uint8Array;
  try {
    if (path === "-") bytes = await readCapped(io.stdin(), maxBytes);
    else {
      const info = await Deno.stat(path);
      if (!info.isFile) throw new Error("not a regular file");
      if (info.size > maxBytes) throw new Error(`larger than ${maxBytes} bytes`);
      const file = await Deno.open(path);
      bytes = await readCapped(file.readable, maxBytes);
    }
  } catch (e) {
    const why = e instanceof Deno.errors.NotFound ? "no such file" : (e as Error).message;
    throw new Error(`${where}: cannot read ${what} (${why})`);
  }
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new Error(`${where}: ${what} is not UTF-8 text`);
  }
}
