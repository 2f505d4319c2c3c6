/**
 * The `.npy` token-grid format: numpy's array file, version 1.0, dtype `<i4` (little-endian
 * int32), C order, shape [B, H, W]; `numpy.load` reads it. Metadata does not fit in `.npy`: the
 * CLI writes it to a JSON sidecar `FILE.npy.json` (see cli/grid_file.ts).
 *
 * Reading accepts any integer dtype (`<i4` as is; `<i8`, `<u2`, `|u1`, … converted with a range
 * check) and rejects floats, objects, structured dtypes and Fortran order.
 *
 * @module
 */

import { brief, checkShape, GridFileError, MAX_TOKEN, position } from "./grid.ts";

/** The 6 magic bytes every `.npy` file starts with: `\x93NUMPY`. */
export const NPY_MAGIC = new Uint8Array([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]);

/** Largest header accepted (numpy's own limit for v1 is 65535). */
const MAX_HEADER = 1 << 20;

/** A parsed `.npy` header. */
export interface NpyHeader {
  /** Bytes before the data: magic, version, length, header text. */
  dataOffset: number;
  /** Bytes of data the header promises. */
  dataBytes: number;
  /** [B, H, W]. */
  shape: [number, number, number];
  /** Integer kind, item size in bytes, byte order. */
  dtype: { signed: boolean; size: 1 | 2 | 4 | 8; little: boolean; descr: string };
}

/**
 * Whether `bytes` starts with the `.npy` magic.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isNpy, NPY_MAGIC } from "./grid_npy.ts";
 * assert(isNpy(NPY_MAGIC) && !isNpy(new Uint8Array([123])));
 * ```
 */
export function isNpy(bytes: Uint8Array): boolean {
  return bytes.length >= NPY_MAGIC.length && NPY_MAGIC.every((b, i) => bytes[i] === b);
}

/**
 * Encode grids as `.npy` v1.0, `<i4`, C order, shape [B, H, W].
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeNpy, parseNpyHeader } from "./grid_npy.ts";
 * const bytes = encodeNpy([1, 2, 2], new Int32Array([1, 2, 3, 4]));
 * assert(parseNpyHeader(bytes, "x").dataOffset % 64 === 0);
 * ```
 */
export function encodeNpy(
  shape: readonly [number, number, number],
  tokens: Int32Array,
): Uint8Array {
  const dict = `{'descr': '<i4', 'fortran_order': False, 'shape': (${shape.join(", ")}), }`;
  const unpadded = 10 + dict.length + 1;
  const headerLen = dict.length + 1 + ((64 - (unpadded % 64)) % 64);
  const header = dict.padEnd(headerLen - 1, " ") + "\n";
  const out = new Uint8Array(10 + headerLen + tokens.length * 4);
  out.set(NPY_MAGIC, 0);
  out[6] = 1; // major version
  out[7] = 0; // minor version
  const view = new DataView(out.buffer);
  view.setUint16(8, headerLen, true);
  out.set(new TextEncoder().encode(header), 10);
  const base = 10 + headerLen;
  for (let i = 0; i < tokens.length; i++) view.setInt32(base + 4 * i, tokens[i], true);
  return out;
}

/**
 * Bytes needed to hold the whole header, from the first 12 bytes of a file (or more). Throws
 * when the prefix is not a supported `.npy` preamble.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeNpy, npyHeaderSize } from "./grid_npy.ts";
 * const npy = encodeNpy([1, 1, 1], new Int32Array(1));
 * assert.equal(npyHeaderSize(npy, "x"), npy.length - 4); // the header, then one int32
 * ```
 */
export function npyHeaderSize(prefix: Uint8Array, where: string): number {
  if (prefix.length < 10 || !isNpy(prefix)) {
    throw new GridFileError(`${where}: truncated .npy file (no complete header)`);
  }
  const major = prefix[6];
  const view = new DataView(prefix.buffer, prefix.byteOffset, prefix.byteLength);
  if (major === 1) return 10 + view.getUint16(8, true);
  if (major === 2 || major === 3) {
    if (prefix.length < 12) {
      throw new GridFileError(`${where}: truncated .npy file (no complete header)`);
    }
    const len = view.getUint32(8, true);
    if (len > MAX_HEADER) {
      throw new GridFileError(`${where}: .npy header of ${len} bytes is too large`);
    }
    return 12 + len;
  }
  throw new GridFileError(`${where}: unsupported .npy format version ${major}.${prefix[7]}`);
}

/**
 * Parse and validate a `.npy` header (`bytes` holds at least {@linkcode npyHeaderSize} bytes).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeNpy, parseNpyHeader } from "./grid_npy.ts";
 * const header = parseNpyHeader(encodeNpy([2, 3, 4], new Int32Array(24)), "x");
 * assert(header.dataBytes === 96 && header.shape[2] === 4);
 * ```
 */
export function parseNpyHeader(bytes: Uint8Array, where: string): NpyHeader {
  const dataOffset = npyHeaderSize(bytes, where);
  if (bytes.length < dataOffset) {
    throw new GridFileError(`${where}: truncated .npy file (no complete header)`);
  }
  const start = bytes[6] === 1 ? 10 : 12;
  const text = new TextDecoder("latin1").decode(bytes.subarray(start, dataOffset)).trim();
  if (!text.startsWith("{") || !text.endsWith("}")) {
    throw new GridFileError(`${where}: .npy header is not a dictionary: ${brief(text)}`);
  }
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(text)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(text)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^()]*)\)/.exec(text)?.[1];
  if (descr === undefined) {
    throw new GridFileError(
      `${where}: .npy dtype is not a plain integer type (structured or object arrays are not token grids)`,
    );
  }
  if (fortran === undefined || shapeText === undefined) {
    throw new GridFileError(
      `${where}: .npy header lacks 'fortran_order' or 'shape': ${brief(text)}`,
    );
  }
  if (fortran === "True") {
    throw new GridFileError(
      `${where}: Fortran-order .npy arrays are not supported; save np.ascontiguousarray(grid)`,
    );
  }
  const m = /^([<>|=])([iu])([1248])$/.exec(descr);
  if (!m || (m[1] === "|" && m[3] !== "1")) {
    throw new GridFileError(
      `${where}: .npy dtype '${descr}' is not supported; token grids are integers ('<i4'; other integer types are converted)`,
    );
  }
  const dims = shapeText.split(",").map((s) => s.trim()).filter((s) => s !== "");
  if (!dims.every((d) => /^\d{1,15}$/.test(d))) {
    throw new GridFileError(`${where}: .npy shape (${shapeText}) is not a tuple of integers`);
  }
  const shape = checkShape(dims.map(Number), where);
  const size = Number(m[3]) as 1 | 2 | 4 | 8;
  const dtype = { signed: m[2] === "i", size, little: m[1] !== ">", descr };
  return { dataOffset, dataBytes: shape[0] * shape[1] * shape[2] * size, shape, dtype };
}

/**
 * Convert `.npy` data bytes (exactly `header.dataBytes` of them) to tokens, rejecting negative
 * values and values above int32's maximum.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeNpyData, encodeNpy, parseNpyHeader } from "./grid_npy.ts";
 * const bytes = encodeNpy([1, 1, 2], new Int32Array([7, 9]));
 * const header = parseNpyHeader(bytes, "x");
 * assert(decodeNpyData(header, bytes.subarray(header.dataOffset), "x")[1] === 9);
 * ```
 */
export function decodeNpyData(header: NpyHeader, data: Uint8Array, where: string): Int32Array {
  if (data.length !== header.dataBytes) {
    throw new GridFileError(
      `${where}: .npy header promises ${header.dataBytes} bytes of data, found ${data.length}`,
    );
  }
  const { signed, size, little } = header.dtype;
  const count = data.length / size;
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const tokens = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    const o = i * size;
    let v: number;
    if (size === 1) v = signed ? view.getInt8(o) : view.getUint8(o);
    else if (size === 2) v = signed ? view.getInt16(o, little) : view.getUint16(o, little);
    else if (size === 4) v = signed ? view.getInt32(o, little) : view.getUint32(o, little);
    else {
      const big = signed ? view.getBigInt64(o, little) : view.getBigUint64(o, little);
      v = big < 0n ? -1 : big > BigInt(MAX_TOKEN) ? MAX_TOKEN + 1 : Number(big);
    }
    if (v < 0 || v > MAX_TOKEN) {
      throw new GridFileError(
        `${where}: token at ${
          position(header.shape, i)
        } must be an integer in 0..${MAX_TOKEN}, got ${
          v < 0 ? "a negative value" : "a value above int32"
        }`,
      );
    }
    tokens[i] = v;
  }
  return tokens;
}
