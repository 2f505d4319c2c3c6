import assert from "node:assert/strict";
import { needs } from "../../testing/runtimes.ts";
import { openGpu, readBack } from "./device.ts";
import { type Chunk, chunkRows, uploadMatrix } from "./matrix_upload.ts";
import { mulberry32 } from "./random_weights.ts";

const gpuTest = (name: string, fn: () => Promise<void>) =>
  Deno.test({
    name,
    ...needs("WebGPU matrix upload tests", ["webgpu"]),
    sanitizeResources: false,
    sanitizeOps: false,
    fn,
  });

/** A [rows, cols] matrix of awkward values: random, tiny (f16 subnormal or zero), near ±65504. */
function awkward(rows: number, cols: number, seed: number): Float32Array {
  const rand = mulberry32(seed);
  const data = Float32Array.from({ length: rows * cols }, () => 8 * rand() - 4);
  data.set([1 / 3, 1e-6, 1e-9, -65504, 65519, -0.1], 0);
  return data;
}

/** The chunks' elements read back as numbers, in matrix order. */
async function readChunks(chunks: Chunk[], cols: number): Promise<number[]> {
  const gpu = await openGpu();
  const values: number[] = [];
  for (const chunk of chunks) {
    const elements = chunk.rows * cols;
    const bytes = await readBack(gpu, chunk.buffer, elements * (chunk.dtype === "f16" ? 2 : 4));
    values.push(...(chunk.dtype === "f16" ? new Float16Array(bytes) : new Float32Array(bytes)));
  }
  return values;
}

gpuTest("uploadMatrix() f16 chunks hold the values rounded to f16, 8-row multiples", async () => {
  const { device } = await openGpu();
  const rows = 37, cols = 12;
  const data = awkward(rows, cols, 3);
  const chunks = uploadMatrix(device, "m", data, rows, cols, 16 * cols * 2, "f16");
  try {
    assert.deepEqual(chunks.map((c) => [c.row0, c.rows, c.dtype, c.buffer.label]), [
      [0, 16, "f16", "m[0:16]"],
      [16, 16, "f16", "m[16:32]"],
      [32, 5, "f16", "m[32:37]"],
    ]);
    const want = Array.from(data, Math.f16round);
    assert.deepEqual(await readChunks(chunks, cols), want);
    // 1/3 and −0.1 rounded; 1e-6 a subnormal (17 · 2⁻²⁴), 1e-9 gone; 65519 rounds to the max.
    assert.deepEqual(want.slice(0, 6), [
      1365 / 4096,
      17 * 2 ** -24,
      0,
      -65504,
      65504,
      -0.0999755859375,
    ]);
  } finally {
    for (const c of chunks) c.buffer.destroy();
  }
});

gpuTest("uploadMatrix() f32 chunks hold the values as they are", async () => {
  const { device } = await openGpu();
  const rows = 37, cols = 12;
  const data = awkward(rows, cols, 4);
  const chunks = uploadMatrix(device, "m", data, rows, cols, 20 * cols * 4, "f32");
  try {
    assert.deepEqual(chunks.map((c) => [c.row0, c.rows, c.dtype]), [
      [0, 16, "f32"],
      [16, 16, "f32"],
      [
        32,
        5,
        "f32",
      ],
    ]);
    assert.deepEqual(await readChunks(chunks, cols), Array.from(data));
    const whole = uploadMatrix(device, "whole", data, rows, cols, 1 << 20, "f32");
    assert.deepEqual(whole.map((c) => [c.row0, c.rows, c.buffer.label]), [[0, 37, "whole"]]);
    whole[0].buffer.destroy();
  } finally {
    for (const c of chunks) c.buffer.destroy();
  }
});

gpuTest("uploadMatrix() pads an odd count of halves and refuses what f16 cannot hold", async () => {
  const { device } = await openGpu();
  const [odd] = uploadMatrix(
    device,
    "odd",
    Float32Array.of(1, 2, 3, 4, 5, 6, 7, 8, 9),
    3,
    3,
    1024,
    "f16",
  );
  try {
    assert.equal(odd.buffer.size % 4, 0);
    assert.deepEqual(await readChunks([odd], 3), [1, 2, 3, 4, 5, 6, 7, 8, 9]);
  } finally {
    odd.buffer.destroy();
  }
  const big = new Float32Array(16).fill(0.5);
  big[13] = 70000;
  assert.throws(
    () => uploadMatrix(device, "big", big, 4, 4, 1024, "f16"),
    RangeError,
    "Cannot store big as f16: element 13 (70000) is beyond ±65504",
  );
  assert.throws(
    () => uploadMatrix(device, "short", big, 5, 4, 1024, "f32"),
    RangeError,
    "16 values for [5, 4]",
  );
});

Deno.test("chunkRows() fits f16 rows twice as many per chunk, in multiples of 8", () => {
  assert.equal(chunkRows(1000, 2048, 128 << 20), 1000);
  assert.equal(chunkRows(102400, 2048, 128 << 20), 16384);
  assert.equal(chunkRows(102400, 2048, 128 << 20, 2), 32768);
  assert.equal(chunkRows(100, 10, 17 * 40), 16); // 17 rows fit: rounded down to 16
  assert.equal(chunkRows(100, 10, 17 * 40, 2), 32); // 34 fit
  assert.throws(() => chunkRows(100, 10, 7 * 40), RangeError, "8 rows of 4-byte elements");
  assert.equal(chunkRows(100, 10, 8 * 20, 2), 8);
});
