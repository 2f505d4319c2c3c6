/**
 * Read a UTF-8 text input the user named (a job file, a prompts file, or `-` for stdin) with a
 * size cap, so an untrusted input cannot grow memory without bound: a file larger than the cap
 * is refused from its size, stdin is read up to the cap and refused past it. A file of lines
 * (prompts) can be read a line at a time, so its reader stops at a cap of its own.
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
  return concat(chunks);
}

/** Open `path` (`-` = stdin) as a byte stream, refusing a regular file larger than `maxBytes`. */
async function openInput(
  path: string,
  io: Io,
  maxBytes: number,
): Promise<ReadableStream<Uint8Array>> {
  if (path === "-") return io.stdin();
  const info = await Deno.stat(path);
  if (!info.isFile) throw new Error("not a regular file");
  if (info.size > maxBytes) throw new Error(`larger than ${maxBytes} bytes`);
  return (await Deno.open(path)).readable;
}

/** `${where}: cannot read ${what} (${why})`. */
function readError(where: string, what: string, e: unknown): Error {
  const why = e instanceof Deno.errors.NotFound ? "no such file" : (e as Error).message;
  return new Error(`${where}: cannot read ${what} (${why})`);
}

/**
 * The lines of `path` (`-` = stdin), read as they are needed: a consumer that stops early (at a
 * cap of its own) stops the reading, so a huge stdin is never read whole. Lines end at `\n`
 * (a `\r` before it is kept: the caller strips it); a last line without `\n` is yielded when
 * it is not empty. Throws a one-line Error naming the input past `maxBytes` or at a byte that
 * is not UTF-8 (with its line).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readTextLines } from "./text_file.ts";
 * import { memoryIo } from "./io.ts";
 * const io = memoryIo({ input: new TextEncoder().encode("a\nb\nc") });
 * const lines = [];
 * for await (const line of readTextLines("-", io, { what: "the prompts file", maxBytes: 16 })) {
 *   lines.push(line);
 * }
 * assert.deepEqual(lines, ["a", "b", "c"]);
 * const latin1 = memoryIo({ input: new Uint8Array([0x61, 0x0a, 0xe9, 0x0a]) });
 * await assert.rejects(
 *   Array.fromAsync(readTextLines("-", latin1, { what: "the prompts file", maxBytes: 16 })),
 *   /stdin: the prompts file is not UTF-8 text \(line 2\)/,
 * );
 * ```
 */
export async function* readTextLines(
  path: string,
  io: Io,
  options: TextInputOptions,
): AsyncGenerator<string, void, undefined> {
  const { what, maxBytes } = options;
  const where = path === "-" ? "stdin" : path;
  let reader: ReadableStreamDefaultReader<Uint8Array>;
  try {
    reader = (await openInput(path, io, maxBytes)).getReader();
  } catch (e) {
    throw readError(where, what, e);
  }
  // Split the bytes at \n (never inside a UTF-8 sequence), then decode each line: a bad byte
  // is named by its line. ignoreBOM: a BOM is dropped once, at the start of the input.
  const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
  let line = 1, total = 0;
  let pending: Uint8Array[] = [];
  const text = (bytes: Uint8Array): string => {
    let decoded: string;
    try {
      decoded = decoder.decode(bytes);
    } catch {
      throw new Error(`${where}: ${what} is not UTF-8 text (line ${line})`);
    }
    return line === 1 && decoded.startsWith("\uFEFF") ? decoded.slice(1) : decoded;
  };
  try {
    while (true) {
      let chunk: ReadableStreamReadResult<Uint8Array>;
      try {
        chunk = await reader.read();
      } catch (e) {
        throw readError(where, what, e);
      }
      if (chunk.done) break;
      const bytes = chunk.value;
      total += bytes.length;
      if (total > maxBytes) {
        throw readError(where, what, new Error(`larger than ${maxBytes} bytes`));
      }
      let from = 0;
      for (let nl = bytes.indexOf(10); nl >= 0; nl = bytes.indexOf(10, from)) {
        yield text(concat([...pending, bytes.subarray(from, nl)]));
        pending = [];
        line++;
        from = nl + 1;
      }
      if (from < bytes.length) pending.push(bytes.slice(from));
    }
    if (pending.length > 0) yield text(concat(pending));
  } finally {
    await reader.cancel().catch(() => {});
  }
}

function concat(chunks: Uint8Array[]): Uint8Array {
  if (chunks.length === 1) return chunks[0];
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
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
    bytes = await readCapped(await openInput(path, io, maxBytes), maxBytes);
  } catch (e) {
    throw readError(where, what, e);
  }
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new Error(`${where}: ${what} is not UTF-8 text`);
  }
}
