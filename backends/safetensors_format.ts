/**
 * The safetensors format: an 8-byte little-endian header length, a JSON header
 * `{ name: { dtype, shape, data_offsets: [begin, end] }, __metadata__?: { string: string } }`,
 * then the raw little-endian tensor bytes. Offsets are relative to the end of the header.
 *
 * Validation happens here, before any tensor is allocated, for files in memory and on disk
 * alike: the header length is capped and must fit the file, the JSON may nest no deeper than
 * the format does (checked by a scan before `JSON.parse`), every tensor has a known dtype, a
 * shape of safe integers whose exact (BigInt) product × dtype size equals its byte span, a span
 * inside the file, and no two spans overlap. Errors are one line naming the file and the fix.
 *
 * @module
 */

import { CONTRACT } from "../core/contract.ts";

/** Largest accepted JSON header, in bytes (the reference implementation uses 100 MB). */
export const MAX_HEADER_BYTES: number = CONTRACT.maxSafetensorsHeaderBytes;

/** Deepest JSON nesting of a header: object → tensor entry → shape / data_offsets list. */
export const MAX_HEADER_DEPTH = 3;

/** Bytes per element of the dtypes this reader converts to float32. */
export const DTYPE_BYTES: Readonly<Record<string, number>> = { F32: 4, F16: 2, BF16: 2 };

/** A float tensor: row-major data with its shape. */
export interface Tensor {
  /** Shape, outermost first. */
  shape: number[];
  /** Row-major values, converted to float32. */
  data: Float32Array;
}

/** Header entry of one tensor. */
export interface TensorEntry {
  /** `F32`, `F16` or `BF16`. */
  dtype: string;
  /** Shape, outermost first. */
  shape: number[];
  /** [begin, end) byte offsets relative to the end of the header. */
  offsets: [number, number];
}

/** A parsed safetensors header. */
export interface SafetensorsHeader {
  /** Tensors by name. */
  tensors: Map<string, TensorEntry>;
  /** The optional `__metadata__` string map. */
  metadata: Record<string, string>;
  /** Byte offset of the data section (8 + header length). */
  dataStart: number;
}

/** Error for malformed safetensors files; the message names the file. */
export class SafetensorsError extends SyntaxError {
  override name = "SafetensorsError";
}

/** The fix for a file whose structure is wrong. */
const REEXPORT = "re-export it with safetensors' save_file or `zipar convert`";
/** The fix for a file that ends too early. */
const TRUNCATED = "the file is truncated: copy or download it again";

/**
 * The header length from the first 8 bytes of a file of `fileSize` bytes; throws when it is
 * over {@linkcode MAX_HEADER_BYTES} or runs past the end of the file.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { headerLength } from "./safetensors_format.ts";
 * const prefix = new Uint8Array(8);
 * prefix[0] = 2;
 * assert.equal(headerLength(prefix, 10, "f"), 2);
 * assert.throws(() => headerLength(prefix, 9, "f"), /f: header length 2 runs past/);
 * ```
 */
export function headerLength(prefix: Uint8Array, fileSize: number, source: string): number {
  const fail = (why: string): never => {
    throw new SafetensorsError(`${source}: ${why}`);
  };
  if (prefix.length < 8 || fileSize < 8) {
    fail(`file is ${fileSize} bytes, too short for a header length (${TRUNCATED})`);
  }
  const view = new DataView(prefix.buffer, prefix.byteOffset, 8);
  const length = view.getBigUint64(0, true);
  if (length > BigInt(MAX_HEADER_BYTES)) {
    fail(`header length ${length} exceeds ${MAX_HEADER_BYTES} bytes: not a safetensors file?`);
  }
  if (8n + length > BigInt(fileSize)) {
    fail(`header length ${length} runs past the end of the file (${fileSize} bytes): ${TRUNCATED}`);
  }
  return Number(length);
}

/**
 * How deep the JSON text in `bytes` nests (objects and lists), scanning no further than the
 * first point where it exceeds `limit` (so a hostile header costs one pass, no recursion).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { jsonDepth } from "./safetensors_format.ts";
 * const text = (s: string) => new TextEncoder().encode(s);
 * assert.equal(jsonDepth(text('{"a": {"b": [1, "[{["]}}'), 10), 3);
 * assert.equal(jsonDepth(text("[".repeat(100000)), 3), 4);
 * ```
 */
export function jsonDepth(bytes: Uint8Array, limit: number): number {
  let depth = 0, deepest = 0, inString = false;
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes[i];
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped byte
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
 * Validate the JSON header `json` (its bytes) of a file of `fileSize` bytes whose data starts at
 * `dataStart`; returns the tensors and metadata. Every tensor is checked, wanted or not.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { validateHeader } from "./safetensors_format.ts";
 * const json = new TextEncoder().encode('{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}');
 * assert.deepEqual(validateHeader(json, 16, 24, "f").tensors.get("w")!.offsets, [0, 8]);
 * assert.throws(() => validateHeader(json, 16, 20, "f"), /past the data section/);
 * ```
 */
export function validateHeader(
  json: Uint8Array,
  dataStart: number,
  fileSize: number,
  source: string,
): SafetensorsHeader {
  const fail = (why: string): never => {
    throw new SafetensorsError(`${source}: ${why}`);
  };
  const depth = jsonDepth(json, MAX_HEADER_DEPTH);
  if (depth > MAX_HEADER_DEPTH) {
    fail(
      `header JSON nests more than ${MAX_HEADER_DEPTH} levels deep, as no safetensors header ` +
        `does: ${REEXPORT}`,
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(json));
  } catch (e) {
    fail(`header is not valid UTF-8 JSON (${(e as Error).message.split("\n")[0]}): ${REEXPORT}`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    fail(`header is not a JSON object: ${REEXPORT}`);
  }
  const dataLen = fileSize - dataStart;
  const tensors = new Map<string, TensorEntry>();
  let metadata: Record<string, string> = {};
  for (const [name, raw] of Object.entries(parsed as Record<string, unknown>)) {
    if (name === "__metadata__") {
      if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
        fail(`__metadata__ is not an object of strings: ${REEXPORT}`);
      }
      for (const [k, v] of Object.entries(raw as object)) {
        if (typeof v !== "string") {
          fail(`__metadata__.${k} is ${JSON.stringify(v)}, not a string: ${REEXPORT}`);
        }
      }
      metadata = raw as Record<string, string>;
      continue;
    }
    tensors.set(name, checkEntry(name, raw, dataLen, fail));
  }
  const spans = [...tensors].filter(([, t]) => t.offsets[1] > t.offsets[0])
    .sort((a, b) => a[1].offsets[0] - b[1].offsets[0]);
  for (let i = 1; i < spans.length; i++) {
    if (spans[i][1].offsets[0] < spans[i - 1][1].offsets[1]) {
      fail(`tensors ${spans[i - 1][0]} and ${spans[i][0]} overlap: ${REEXPORT}`);
    }
  }
  // The data section is exactly the tensors' bytes: more after them is not a file safetensors
  // wrote (and could be gigabytes a reader is told to skip).
  const used = spans.reduce((m, [, t]) => Math.max(m, t.offsets[1]), 0);
  if (dataLen > used) {
    fail(
      `${dataLen - used} bytes after the last tensor's data: not a file safetensors wrote: ` +
        REEXPORT,
    );
  }
  return { tensors, metadata, dataStart };
}

/** One tensor entry, checked against a data section of `dataLen` bytes. */
function checkEntry(
  name: string,
  raw: unknown,
  dataLen: number,
  fail: (why: string) => never,
): TensorEntry {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    fail(`tensor ${name}: entry is not an object: ${REEXPORT}`);
  }
  const { dtype, shape, data_offsets: offsets } = raw as Record<string, unknown>;
  if (typeof dtype !== "string" || !Object.hasOwn(DTYPE_BYTES, dtype)) {
    fail(
      `tensor ${name}: unsupported dtype ${JSON.stringify(dtype)} (F32, F16, BF16): ` +
        "convert it with `zipar convert`",
    );
  }
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    fail(
      `tensor ${name}: shape ${JSON.stringify(shape)} is not a list of integers ≥ 0: ${REEXPORT}`,
    );
  }
  if (
    !Array.isArray(offsets) || offsets.length !== 2 ||
    !offsets.every((o) => Number.isSafeInteger(o) && o >= 0) || offsets[0] > offsets[1]
  ) {
    fail(
      `tensor ${name}: data_offsets ${JSON.stringify(offsets)} is not [begin, end]: ${REEXPORT}`,
    );
  }
  const [begin, end] = offsets as [number, number];
  if (end > dataLen) {
    fail(
      `tensor ${name}: data ends at ${end}, past the data section (${dataLen} bytes): ${TRUNCATED}`,
    );
  }
  // Exact: a [2^32, 2^32] shape must not wrap around to 0 bytes.
  const count = (shape as number[]).reduce((a, d) => a * BigInt(d), 1n);
  const want = count * BigInt(DTYPE_BYTES[dtype as string]);
  if (want !== BigInt(end - begin)) {
    fail(
      `tensor ${name}: shape [${shape}] × ${dtype} is ${want} bytes, offsets span ${
        end - begin
      }: ${REEXPORT}`,
    );
  }
  return { dtype: dtype as string, shape: [...(shape as number[])], offsets: [begin, end] };
}

/**
 * Throw a one-line RangeError unless `header` has every tensor of `want` (name → shape) with
 * that shape; `name` is the file, `configName` the file the shapes come from.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkExpected } from "./safetensors_format.ts";
 * const header = { tensors: new Map([["w", { dtype: "F32", shape: [2], offsets: [0, 8] as [number, number] }]]), metadata: {}, dataStart: 16 };
 * checkExpected(header, new Map([["w", [2]]]), "m", "config.json");
 * assert.throws(() => checkExpected(header, new Map([["v", [2]]]), "m", "c"), /m: missing tensor v/);
 * ```
 */
export function checkExpected(
  header: SafetensorsHeader,
  want: Map<string, number[]>,
  name: string,
  configName: string,
): void {
  for (const [key, shape] of want) {
    const entry = header.tensors.get(key);
    if (!entry) {
      throw new RangeError(`${name}: missing tensor ${key} (expected shape [${shape}])`);
    }
    if (entry.shape.length !== shape.length || entry.shape.some((d, i) => d !== shape[i])) {
      throw new RangeError(
        `${name}: tensor ${key} has shape [${entry.shape}], expected [${shape}] from ${configName}`,
      );
    }
  }
  // A layer beyond the config's: the config does not describe these weights (loading them would
  // silently drop the model's last layers).
  const layers = (keys: Iterable<string>) =>
    [...keys].map((k) => k.match(/^layers\.(\d+)\./)?.[1]).filter((n) => n !== undefined)
      .map(Number);
  const wanted = layers(want.keys());
  if (wanted.length > 0) {
    const count = Math.max(...wanted) + 1;
    const beyond = layers(header.tensors.keys()).filter((n) => n >= count);
    if (beyond.length > 0) {
      throw new RangeError(
        `${name}: holds weights of layer ${Math.max(...beyond)}, but ${configName} says ${count} ` +
          `layer${count === 1 ? "" : "s"}: the config does not describe these weights`,
      );
    }
  }
}

/** f16 bits → number. */
function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f, frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/**
 * Convert the raw little-endian bytes of one tensor of `dtype` to float32.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { toFloat32 } from "./safetensors_format.ts";
 * assert.deepEqual([...toFloat32("BF16", Uint8Array.of(0xc0, 0x3f))], [1.5]);
 * assert.deepEqual([...toFloat32("F16", Uint8Array.of(0x00, 0x3c))], [1]);
 * ```
 */
export function toFloat32(dtype: string, bytes: Uint8Array): Float32Array {
  const size = DTYPE_BYTES[dtype];
  if (!size) throw new RangeError(`Unsupported dtype ${dtype}`);
  const count = bytes.length / size;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const data = new Float32Array(count);
  if (dtype === "F32" && LITTLE_ENDIAN) {
    new Uint8Array(data.buffer).set(bytes);
  } else if (dtype === "F32") {
    for (let i = 0; i < count; i++) data[i] = view.getFloat32(4 * i, true);
  } else if (dtype === "F16") {
    for (let i = 0; i < count; i++) data[i] = halfToFloat(view.getUint16(2 * i, true));
  } else {
    const u32 = new Uint32Array(1), f32 = new Float32Array(u32.buffer);
    for (let i = 0; i < count; i++) {
      u32[0] = view.getUint16(2 * i, true) << 16;
      data[i] = f32[0];
    }
  }
  return data;
}
