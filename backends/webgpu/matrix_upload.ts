/**
 * Weight matrices on the device: row chunks that each fit one storage binding, stored as f32 or
 * as f16 (half the bytes; the matmuls' `…F16` kernels widen them to f32 as they read).
 *
 * @module
 */

import { storageBuffer } from "./device.ts";

/** How a matrix's elements are stored on the device. */
export type MatrixDtype = "f32" | "f16";

/** Rows [row0, row0 + rows) of a row-major matrix, in one buffer. */
export interface Chunk {
  /** buffer: [rows, cols] of `dtype`, padded to a multiple of 16 bytes. */
  buffer: GPUBuffer;
  /** First row of the matrix in this chunk. */
  row0: number;
  /** Rows in this chunk. */
  rows: number;
  /** Element type of `buffer`. */
  dtype: MatrixDtype;
}

/** Bytes per element of each dtype. */
const BYTES: Record<MatrixDtype, number> = { f32: 4, f16: 2 };

/**
 * Rows per chunk so that one chunk of `bytesPerElement`-byte elements fits `maxBytes`: all the
 * rows when they fit, else a multiple of 8 (the matmuls' column block). Throws a RangeError when
 * not even 8 rows fit.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { chunkRows } from "./matrix_upload.ts";
 * assert.equal(chunkRows(100, 64, 1 << 20), 100); // all of it
 * assert.equal(chunkRows(100, 64, 4096), 16); // 4096 / 256 bytes a row
 * assert.equal(chunkRows(100, 64, 4096, 2), 32); // f16 rows are half as long
 * ```
 */
export function chunkRows(
  rows: number,
  cols: number,
  maxBytes: number,
  bytesPerElement = 4,
): number {
  const fit = Math.floor(maxBytes / (cols * bytesPerElement));
  if (fit >= rows) return rows;
  const rounded = fit - (fit % 8);
  if (rounded < 8) {
    throw new RangeError(
      `Cannot split a matrix of ${cols} columns: 8 rows of ${bytesPerElement}-byte elements exceed ${maxBytes} bytes`,
    );
  }
  return rounded;
}

/**
 * Upload a row-major matrix `data`: [rows, cols] as chunks of rows that each fit `maxBytes`
 * (the device's storage binding limit), stored as `dtype`. An f16 chunk holds the values
 * rounded to nearest (as `Math.f16round`); a finite value beyond f16's range (±65504) throws a
 * RangeError rather than turning into infinity. Each chunk's buffer is labelled `label`, or
 * `label[row0:row0+rows]` when the matrix is split.
 *
 * @example
 * ```ts ignore
 * const chunks = uploadMatrix(device, "output.weight", data, vocab, dim, maxBytes, "f16");
 * ```
 */
export function uploadMatrix(
  device: GPUDevice,
  label: string,
  data: Float32Array,
  rows: number,
  cols: number,
  maxBytes: number,
  dtype: MatrixDtype,
): Chunk[] {
  if (data.length !== rows * cols) {
    throw new RangeError(`Cannot upload ${label}: ${data.length} values for [${rows}, ${cols}]`);
  }
  const per = chunkRows(rows, cols, maxBytes, BYTES[dtype]);
  const chunks: Chunk[] = [];
  for (let row0 = 0; row0 < rows; row0 += per) {
    const n = Math.min(per, rows - row0);
    const name = per === rows ? label : `${label}[${row0}:${row0 + n}]`;
    const values = data.subarray(row0 * cols, (row0 + n) * cols); // [n, cols]
    // storageBuffer pads to 16 bytes: an odd count of halves still makes a legal buffer.
    const stored = dtype === "f32" ? values : toF16(values, name, row0 * cols);
    chunks.push({ buffer: storageBuffer(device, name, stored), row0, rows: n, dtype });
  }
  return chunks;
}

/** `values` rounded to f16; throws when a finite value overflows (`offset`: its matrix index). */
function toF16(values: Float32Array, name: string, offset: number): Float16Array {
  const half = new Float16Array(values.length);
  half.set(values);
  for (let i = 0; i < half.length; i++) {
    if (!Number.isFinite(half[i]) && Number.isFinite(values[i])) {
      throw new RangeError(
        `Cannot store ${name} as f16: element ${offset + i} (${
          values[i]
        }) is beyond ±65504; use --dtype float32`,
      );
    }
  }
  return half;
}

/** The `--dtype` values the WebGPU backend takes. */
export const WEBGPU_DTYPES = ["float32", "float16"] as const;

/** What {@linkcode storageDtype} decides from. */
export interface DtypeChoice {
  /** `--dtype` as given, if given. */
  requested?: string;
  /** Whether the checkpoint stores its matrices in 16 bits (float16 or bfloat16). */
  stored16: boolean;
  /** Whether the device has `shader-f16`. */
  deviceF16: boolean;
}

/**
 * How weight matrices are stored on the device: `--dtype` when given, else f16 for a checkpoint
 * stored in 16 bits on a device with `shader-f16` (half the memory, the precision it shipped
 * with), else f32. Throws a one-line Error for a dtype WebGPU does not store, or float16 on a
 * device without `shader-f16`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { storageDtype } from "./matrix_upload.ts";
 * assert.equal(storageDtype({ stored16: true, deviceF16: true }), "f16");
 * assert.equal(storageDtype({ stored16: true, deviceF16: false }), "f32");
 * assert.equal(storageDtype({ requested: "float32", stored16: true, deviceF16: true }), "f32");
 * assert.throws(() => storageDtype({ requested: "bfloat16", stored16: true, deviceF16: true }), /float32 or float16/);
 * ```
 */
export function storageDtype(choice: DtypeChoice): MatrixDtype {
  const { requested } = choice;
  if (requested !== undefined && !(WEBGPU_DTYPES as readonly string[]).includes(requested)) {
    throw new Error(
      `--dtype ${requested}: the WebGPU backend stores weights as float32 or float16; use --backend python for ${requested}`,
    );
  }
  if (requested === "float16" && !choice.deviceF16) {
    throw new Error(
      "--dtype float16: this WebGPU adapter lacks the shader-f16 feature; use --dtype float32",
    );
  }
  if (requested) return requested === "float16" ? "f16" : "f32";
  return choice.stored16 && choice.deviceF16 ? "f16" : "f32";
}
