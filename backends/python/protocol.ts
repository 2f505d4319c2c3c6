/**
 * Framed binary messages between the client and the Python worker (see PROTOCOL.md).
 *
 * Frame: u32 LE header length, u32 LE payload length, UTF-8 JSON header, payload. The header's
 * `buffers` lists `[name, dtype, length]` of the raw little-endian arrays packed in the payload,
 * so logits travel as raw float32, never as JSON.
 *
 * @module
 */

import { CONTRACT } from "../../core/contract.ts";

/** Protocol version; the worker refuses a hello with another one. */
export const PROTOCOL_VERSION: number = CONTRACT.protocolVersion;

/**
 * Largest JSON header of a frame, either way: the worker (worker/protocol.py's MAX_HEADER)
 * refuses a longer one, so {@linkcode encodeFrame} never sends one.
 */
export const MAX_HEADER_BYTES: number = CONTRACT.maxFrameHeaderBytes;

/** `bytes` as MiB with one decimal. */
export function mib(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}

/**
 * A request whose JSON header is longer than {@linkcode MAX_HEADER_BYTES}: refused before it is
 * sent, in one line (the worker would answer with a ProtocolError).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { FrameTooLargeError } from "./protocol.ts";
 * const e = new FrameTooLargeError("open", 3 * 2 ** 20);
 * assert.match(e.message, /^the "open" request takes 3\.0 MiB of JSON, more than the 1 MiB/);
 * ```
 */
export class FrameTooLargeError extends Error {
  /** The request's `type` and its header's length in bytes. */
  constructor(readonly type: string, readonly bytes: number) {
    super(
      `the "${type}" request takes ${mib(bytes)} of JSON, more than the ${
        mib(MAX_HEADER_BYTES).replace(".0", "")
      } the Python worker reads in one frame`,
    );
    this.name = "FrameTooLargeError";
  }
}

/** A typed array that can travel in a frame. */
export type FrameArray = Int32Array | Uint8Array | Float32Array;

/** One message: a JSON header and named raw arrays. */
export interface Frame {
  /** The JSON header; `type` names the message. */
  header: { type: string; [key: string]: unknown };
  /** The raw arrays of the payload, by name. */
  arrays: Record<string, FrameArray>;
}

function dtypeOf(array: FrameArray): "int32" | "uint8" | "float32" {
  if (array instanceof Int32Array) return "int32";
  if (array instanceof Float32Array) return "float32";
  return "uint8";
}

/**
 * Encode a frame (little-endian hosts: typed arrays are copied as they lie in memory). A header
 * longer than {@linkcode MAX_HEADER_BYTES} throws a {@linkcode FrameTooLargeError}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeFrame } from "./protocol.ts";
 * const bytes = encodeFrame({ type: "step" }, { seq: new Int32Array([0, 1]) });
 * assert(bytes.length > 8 + 8);
 * ```
 */
export function encodeFrame(header: Frame["header"], arrays: Frame["arrays"] = {}): Uint8Array {
  const buffers = Object.entries(arrays).map(([name, a]) => [name, dtypeOf(a), a.length]);
  const head = new TextEncoder().encode(JSON.stringify({ ...header, buffers }));
  if (head.length > MAX_HEADER_BYTES) throw new FrameTooLargeError(header.type, head.length);
  const payloadLength = Object.values(arrays).reduce((n, a) => n + a.byteLength, 0);
  const out = new Uint8Array(8 + head.length + payloadLength);
  const view = new DataView(out.buffer);
  view.setUint32(0, head.length, true);
  view.setUint32(4, payloadLength, true);
  out.set(head, 8);
  let offset = 8 + head.length;
  for (const a of Object.values(arrays)) {
    out.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), offset);
    offset += a.byteLength;
  }
  return out;
}

/** Reads whole frames from a byte stream (the worker's stdout). */
export class FrameReader {
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>;
  #chunks: Uint8Array[] = [];
  #buffered = 0;

  /** Wrap `stream`; the reader holds its lock until {@linkcode FrameReader.cancel}. */
  constructor(stream: ReadableStream<Uint8Array>) {
    this.#reader = stream.getReader();
  }

  /** The next `n` bytes, or null at end of stream before the first byte. */
  async #take(n: number): Promise<Uint8Array | null> {
    while (this.#buffered < n) {
      const { value, done } = await this.#reader.read();
      if (done) {
        if (this.#buffered === 0) return null;
        throw new Error(`worker output ended inside a frame (${this.#buffered}/${n} bytes)`);
      }
      this.#chunks.push(value);
      this.#buffered += value.length;
    }
    const all = this.#chunks.length === 1 ? this.#chunks[0] : concat(this.#chunks, this.#buffered);
    const out = all.slice(0, n);
    this.#chunks = all.length > n ? [all.subarray(n)] : [];
    this.#buffered -= n;
    return out;
  }

  /** The next frame, or null when the stream ended cleanly. */
  async read(): Promise<Frame | null> {
    const head = await this.#take(8);
    if (head === null) return null;
    const view = new DataView(head.buffer, head.byteOffset, 8);
    const headerLength = view.getUint32(0, true), payloadLength = view.getUint32(4, true);
    if (headerLength > MAX_HEADER_BYTES) {
      throw new Error(`worker sent a ${headerLength}-byte header`);
    }
    const headerBytes = await this.#take(headerLength);
    if (headerBytes === null) throw new Error("worker output ended inside a frame");
    const header = JSON.parse(new TextDecoder().decode(headerBytes));
    const payload = payloadLength > 0 ? await this.#take(payloadLength) : new Uint8Array(0);
    if (payload === null) throw new Error("worker output ended inside a frame");
    const arrays: Frame["arrays"] = {};
    let offset = 0;
    for (const [name, dtype, length] of header.buffers ?? []) {
      const size = (dtype === "uint8" ? 1 : 4) * length;
      if (offset + size > payload.length) throw new Error(`buffer ${name} runs past the payload`);
      const bytes = payload.slice(offset, offset + size).buffer;
      arrays[name] = dtype === "int32"
        ? new Int32Array(bytes)
        : dtype === "float32"
        ? new Float32Array(bytes)
        : new Uint8Array(bytes);
      offset += size;
    }
    return { header, arrays };
  }

  /** Stop reading and release the stream. */
  async cancel(): Promise<void> {
    await this.#reader.cancel().catch(() => {});
  }
}

function concat(chunks: Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total);
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.length;
  }
  return out;
}
