/**
 * Safetensors in memory and on disk: parse and decode files held in bytes, encode and write
 * float32 tensors, and read files from disk by their declared ranges (safetensors_reader.ts).
 * The format and its validation live in safetensors_format.ts: header size, JSON nesting,
 * dtypes, exact `prod(shape) × dtype size == end − begin`, ranges inside the file, no overlaps,
 * all checked before a tensor is allocated. F32, F16 and BF16 tensors become Float32Array.
 *
 * @module
 */

import {
  checkExpected,
  headerLength,
  type SafetensorsHeader,
  type Tensor,
  toFloat32,
  validateHeader,
} from "./safetensors_format.ts";
import { readSafetensorsFile } from "./safetensors_reader.ts";

export {
  MAX_HEADER_BYTES,
  MAX_HEADER_DEPTH,
  SafetensorsError,
  type SafetensorsHeader,
  type Tensor,
  type TensorEntry,
} from "./safetensors_format.ts";

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
  const length = headerLength(bytes.subarray(0, 8), bytes.length, source);
  return validateHeader(bytes.subarray(8, 8 + length), 8 + length, bytes.length, source);
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
  const [begin, end] = entry.offsets;
  const raw = bytes.subarray(header.dataStart + begin, header.dataStart + end);
  return { shape: [...entry.shape], data: toFloat32(entry.dtype, raw) };
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
  checkExpected(header, want, source, configName);
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
 * Read a safetensors file from disk: the header, then every tensor by its declared range (never
 * the whole file).
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
  return await readSafetensorsFile(path);
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
