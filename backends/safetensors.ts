/**
 * Safetensors reader and writer: 8-byte little-endian header length, a JSON header
 * `{ name: { dtype, shape, data_offsets: [begin, end] }, __metadata__?: { string: string } }`,
 * then the raw little-endian tensor bytes. Offsets are relative to the end of the header.
 *
 * The reader validates everything before it allocates a tensor: header size, JSON shape,
 * dtypes, offsets inside the file, `prod(shape) × dtype size == end − begin`, and no two
 * tensors overlapping. F32, F16 and BF16 tensors are converted to Float32Array.
 *
 * @module
 */

/** Largest accepted JSON header, in bytes (the reference implementation uses 100 MB). */
export const MAX_HEADER_BYTES = 100_000_000;

/** Bytes per element of the dtypes this reader converts to float32. */
const DTYPE_BYTES: Record<string, number> = { F32: 4, F16: 2, BF16: 2 };

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

/**
 * Parse and validate the header of a safetensors file held in `bytes`.
 * `source` names the file in error messages.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeSafetensors, parseHeader } from "./safetensors.ts";
 * const bytes = encodeSafetensors({ w: { shape: [2], data: new Float32Array([1, 2]) } });
 * assert(parseHeader(bytes).tensors.get("w")!.shape[0] === 2);
 * ```
 */
export function parseHeader(bytes: Uint8Array, source = "safetensors"): SafetensorsHeader {
  const fail = (why: string): never => {
    throw new SafetensorsError(`${source}: ${why}`);
  };
  if (bytes.length < 8) fail(`file is ${bytes.length} bytes, too short for a header length`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLen = Number(view.getBigUint64(0, true));
  if (headerLen > MAX_HEADER_BYTES) fail(`header length ${headerLen} exceeds ${MAX_HEADER_BYTES}`);
  if (8 + headerLen > bytes.length) {
    fail(`header length ${headerLen} runs past the end of the file (${bytes.length} bytes)`);
  }
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(
      bytes.subarray(8, 8 + headerLen),
    ));
  } catch (e) {
    fail(`header is not valid UTF-8 JSON (${(e as Error).message})`);
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    fail("header is not a JSON object");
  }
  const dataStart = 8 + headerLen;
  const dataLen = bytes.length - dataStart;
  const tensors = new Map<string, TensorEntry>();
  let metadata: Record<string, string> = {};
  for (const [name, raw] of Object.entries(json as Record<string, unknown>)) {
    if (name === "__metadata__") {
      if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
        fail("__metadata__ is not an object");
      }
      for (const [k, v] of Object.entries(raw as object)) {
        if (typeof v !== "string") fail(`__metadata__.${k} is not a string`);
      }
      metadata = raw as Record<string, string>;
      continue;
    }
    const entry = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof entry !== "object" || entry === null) fail(`tensor ${name}: entry is not an object`);
    const { dtype, shape, data_offsets: offsets } = entry;
    if (typeof dtype !== "string" || !(dtype in DTYPE_BYTES)) {
      fail(`tensor ${name}: unsupported dtype ${JSON.stringify(dtype)} (F32, F16, BF16)`);
    }
    if (
      !Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)
    ) fail(`tensor ${name}: shape ${JSON.stringify(shape)} is not a list of integers ≥ 0`);
    if (
      !Array.isArray(offsets) || offsets.length !== 2 ||
      !offsets.every((o) => Number.isSafeInteger(o) && o >= 0) || offsets[0] > offsets[1]
    ) fail(`tensor ${name}: data_offsets ${JSON.stringify(offsets)} is not [begin, end]`);
    const [begin, end] = offsets as [number, number];
    if (end > dataLen) {
      fail(`tensor ${name}: data ends at ${end}, past the data section (${dataLen} bytes)`);
    }
    const count = (shape as number[]).reduce((a, b) => a * b, 1);
    const want = count * DTYPE_BYTES[dtype as string];
    if (want !== end - begin) {
      fail(
        `tensor ${name}: shape [${shape}] × ${dtype} is ${want} bytes, offsets span ${end - begin}`,
      );
    }
    tensors.set(name, { dtype: dtype as string, shape: shape as number[], offsets: [begin, end] });
  }
  const spans = [...tensors].filter(([, t]) => t.offsets[1] > t.offsets[0])
    .sort((a, b) => a[1].offsets[0] - b[1].offsets[0]);
  for (let i = 1; i < spans.length; i++) {
    if (spans[i][1].offsets[0] < spans[i - 1][1].offsets[1]) {
      fail(`tensors ${spans[i - 1][0]} and ${spans[i][0]} overlap`);
    }
  }
  return { tensors, metadata, dataStart };
}

/** f16 bits → number. */
function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f, frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/**
 * Decode one tensor of a validated header into float32.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeTensor, encodeSafetensors, parseHeader } from "./safetensors.ts";
 * const bytes = encodeSafetensors({ w: { shape: [1], data: new Float32Array([3]) } });
 * const header = parseHeader(bytes);
 * assert(decodeTensor(bytes, header, "w").data[0] === 3);
 * ```
 */
export function decodeTensor(bytes: Uint8Array, header: SafetensorsHeader, name: string): Tensor {
  const entry = header.tensors.get(name);
  if (!entry) throw new RangeError(`No tensor named ${name}`);
  const begin = header.dataStart + entry.offsets[0];
  const count = (entry.offsets[1] - entry.offsets[0]) / DTYPE_BYTES[entry.dtype];
  const view = new DataView(
    bytes.buffer,
    bytes.byteOffset + begin,
    count * DTYPE_BYTES[entry.dtype],
  );
  const data = new Float32Array(count);
  const littleEndian = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
  if (entry.dtype === "F32" && littleEndian) {
    new Uint8Array(data.buffer).set(new Uint8Array(view.buffer, view.byteOffset, 4 * count));
  } else if (entry.dtype === "F32") {
    for (let i = 0; i < count; i++) data[i] = view.getFloat32(4 * i, true);
  } else if (entry.dtype === "F16") {
    for (let i = 0; i < count; i++) data[i] = halfToFloat(view.getUint16(2 * i, true));
  } else {
    const u32 = new Uint32Array(1), f32 = new Float32Array(u32.buffer);
    for (let i = 0; i < count; i++) {
      u32[0] = view.getUint16(2 * i, true) << 16;
      data[i] = f32[0];
    }
  }
  return { shape: [...entry.shape], data };
}

/**
 * Decode exactly the tensors `want` names (name → shape) from a safetensors file in memory, after
 * checking every one exists with that shape; other tensors are ignored. Errors are one line and
 * name the tensor, the expected shape and `configName` (the file the shapes come from).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeExpectedTensors, encodeSafetensors } from "./safetensors.ts";
 * const bytes = encodeSafetensors({ w: { shape: [2], data: new Float32Array([1, 2]) } });
 * assert.equal(decodeExpectedTensors(bytes, new Map([["w", [2]]])).get("w")!.data[1], 2);
 * assert.throws(() => decodeExpectedTensors(bytes, new Map([["w", [3]]])), /expected \[3\]/);
 * ```
 */
export function decodeExpectedTensors(
  bytes: Uint8Array,
  want: Map<string, number[]>,
  source = "safetensors",
  configName = "the config",
): Map<string, Tensor> {
  const header = parseHeader(bytes, source);
  for (const [name, shape] of want) {
    const entry = header.tensors.get(name);
    if (!entry) {
      throw new RangeError(`${source}: missing tensor ${name} (expected shape [${shape}])`);
    }
    if (entry.shape.length !== shape.length || entry.shape.some((d, i) => d !== shape[i])) {
      throw new RangeError(
        `${source}: tensor ${name} has shape [${entry.shape}], expected [${shape}] from ${configName}`,
      );
    }
  }
  const tensors = new Map<string, Tensor>();
  for (const name of want.keys()) tensors.set(name, decodeTensor(bytes, header, name));
  return tensors;
}

/**
 * Parse a whole safetensors file held in memory into float32 tensors.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeSafetensors, encodeSafetensors } from "./safetensors.ts";
 * const bytes = encodeSafetensors({ b: { shape: [2, 1], data: new Float32Array([1, 2]) } });
 * assert(decodeSafetensors(bytes).tensors.get("b")!.data[1] === 2);
 * ```
 */
export function decodeSafetensors(
  bytes: Uint8Array,
  source = "safetensors",
): { tensors: Map<string, Tensor>; metadata: Record<string, string> } {
  const header = parseHeader(bytes, source);
  const tensors = new Map<string, Tensor>();
  for (const name of header.tensors.keys()) tensors.set(name, decodeTensor(bytes, header, name));
  return { tensors, metadata: header.metadata };
}

/**
 * Read a safetensors file from disk.
 *
 * @example
 * ```ts ignore
 * import { readSafetensors } from "./safetensors.ts";
 * const { tensors } = await readSafetensors("model/model.safetensors");
 * ```
 */
export async function readSafetensors(
  path: string,
): Promise<{ tensors: Map<string, Tensor>; metadata: Record<string, string> }> {
  return decodeSafetensors(await Deno.readFile(path), path);
}

/**
 * Encode float32 tensors as safetensors (dtype F32), in key order, 8-byte aligned data.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeSafetensors } from "./safetensors.ts";
 * const bytes = encodeSafetensors({ w: { shape: [2], data: new Float32Array(2) } });
 * assert(bytes.length > 8 + 8);
 * ```
 */
export function encodeSafetensors(
  tensors: Record<string, Tensor> | Map<string, Tensor>,
  metadata?: Record<string, string>,
): Uint8Array {
  const entries = tensors instanceof Map ? [...tensors] : Object.entries(tensors);
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = metadata;
  let offset = 0;
  for (const [name, t] of entries) {
    const count = t.shape.reduce((a, b) => a * b, 1);
    if (count !== t.data.length) {
      throw new RangeError(
        `tensor ${name}: shape [${t.shape}] needs ${count} values, got ${t.data.length}`,
      );
    }
    header[name] = { dtype: "F32", shape: t.shape, data_offsets: [offset, offset + 4 * count] };
    offset += 4 * count;
  }
  const json = JSON.stringify(header);
  const pad = (8 - (new TextEncoder().encode(json).length % 8)) % 8; // data starts 8-aligned
  const head = new TextEncoder().encode(json + " ".repeat(pad));
  const out = new Uint8Array(8 + head.length + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(head.length), true);
  out.set(head, 8);
  let at = 8 + head.length;
  const littleEndian = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
  for (const [, t] of entries) {
    if (littleEndian) {
      out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), at);
    } else {
      for (let i = 0; i < t.data.length; i++) view.setFloat32(at + 4 * i, t.data[i], true);
    }
    at += 4 * t.data.length;
  }
  return out;
}

/**
 * Write float32 tensors to a safetensors file.
 *
 * @example
 * ```ts ignore
 * import { writeSafetensors } from "./safetensors.ts";
 * await writeSafetensors("w.safetensors", { w: { shape: [1], data: new Float32Array([1]) } });
 * ```
 */
export async function writeSafetensors(
  path: string,
  tensors: Record<string, Tensor> | Map<string, Tensor>,
  metadata?: Record<string, string>,
): Promise<void> {
  await Deno.writeFile(path, encodeSafetensors(tensors, metadata));
}
