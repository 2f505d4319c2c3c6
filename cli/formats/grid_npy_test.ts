import assert from "node:assert/strict";
import { GridFileError } from "./grid.ts";
import {
  decodeNpyData,
  encodeNpy,
  isNpy,
  type NpyHeader,
  npyHeaderSize,
  parseNpyHeader,
} from "./grid_npy.ts";

/** A .npy file with a hand-written header dict and raw data. */
function npy(dict: string, data: Uint8Array, major = 1): Uint8Array {
  const pre = major === 1 ? 10 : 12;
  const text = dict + " ".repeat((64 - ((pre + dict.length + 1) % 64)) % 64) + "\n";
  const out = new Uint8Array(pre + text.length + data.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, major, 0]);
  const view = new DataView(out.buffer);
  if (major === 1) view.setUint16(8, text.length, true);
  else view.setUint32(8, text.length, true);
  out.set(new TextEncoder().encode(text), pre);
  out.set(data, pre + text.length);
  return out;
}

function decode(bytes: Uint8Array): Int32Array {
  const header = parseNpyHeader(bytes, "x.npy");
  return decodeNpyData(header, bytes.subarray(header.dataOffset), "x.npy");
}

Deno.test("encodeNpy() writes a v1.0 '<i4' C-order header aligned to 64 bytes", () => {
  const bytes = encodeNpy([2, 3, 4], Int32Array.from({ length: 24 }, (_, i) => i * 1000));
  assert.ok(isNpy(bytes));
  assert.equal(bytes[6], 1);
  const header = parseNpyHeader(bytes, "x");
  assert.equal(header.dataOffset % 64, 0);
  assert.equal(header.dtype.descr, "<i4");
  assert.deepEqual(header.shape, [2, 3, 4]);
  const text = new TextDecoder().decode(bytes.subarray(10, header.dataOffset));
  assert.match(text, /^\{'descr': '<i4', 'fortran_order': False, 'shape': \(2, 3, 4\), \} *\n$/);
  assert.deepEqual(decode(bytes), Int32Array.from({ length: 24 }, (_, i) => i * 1000));
  assert.equal(bytes.length, header.dataOffset + 96);
});

Deno.test("decodeNpyData() converts other integer dtypes with a range check", () => {
  const u2 = new Uint8Array(new Uint16Array([1, 65535]).buffer);
  assert.deepEqual(
    decode(npy("{'descr': '<u2', 'fortran_order': False, 'shape': (1, 2), }", u2)),
    new Int32Array([1, 65535]),
  );
  const i8 = new Uint8Array(new BigInt64Array([5n, 2147483647n]).buffer);
  assert.deepEqual(
    decode(npy("{'descr': '<i8', 'fortran_order': False, 'shape': (1, 1, 2), }", i8)),
    new Int32Array([5, 2147483647]),
  );
  const be = new Uint8Array([0, 0, 1, 0]);
  assert.deepEqual(
    decode(npy("{'descr': '>i4', 'fortran_order': False, 'shape': (1,1,1), }", be)),
    new Int32Array([256]),
  );
  const u1 = new Uint8Array([7, 200]);
  assert.deepEqual(
    decode(npy("{'descr': '|u1', 'fortran_order': False, 'shape': (1, 1, 2), }", u1, 2)),
    new Int32Array([7, 200]),
  );
  const big = new Uint8Array(new BigInt64Array([2147483648n]).buffer);
  assert.throws(
    () => decode(npy("{'descr': '<i8', 'fortran_order': False, 'shape': (1, 1, 1), }", big)),
    /above int32/,
  );
  const neg = new Uint8Array(new Int32Array([3, -1]).buffer);
  assert.throws(
    () => decode(npy("{'descr': '<i4', 'fortran_order': False, 'shape': (1, 1, 2), }", neg)),
    /\[0, 0, 1\].*negative/,
  );
});

Deno.test("parseNpyHeader() rejects unsupported arrays with one-line messages", () => {
  const data = new Uint8Array(8);
  const cases: [string, RegExp][] = [
    [
      "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1, 2), }",
      /dtype '<f4' is not supported/,
    ],
    [
      "{'descr': '|O', 'fortran_order': False, 'shape': (1, 1, 2), }",
      /dtype '\|O' is not supported/,
    ],
    [
      "{'descr': [('a', '<i4')], 'fortran_order': False, 'shape': (1, 1, 2), }",
      /structured or object/,
    ],
    ["{'descr': '<i4', 'fortran_order': True, 'shape': (1, 1, 2), }", /Fortran-order/],
    ["{'descr': '<i4', 'fortran_order': False, 'shape': (), }", /shape must be/],
    ["{'descr': '<i4', 'fortran_order': False, 'shape': (1, 1, 2, 1), }", /shape must be/],
    ["{'descr': '<i4', 'fortran_order': False, 'shape': (1, x, 2), }", /not a tuple of integers/],
    [
      "{'descr': '<i4', 'fortran_order': False, 'shape': (65536, 65536, 65536), }",
      /more than 268435456 tokens/,
    ],
    ["{'descr': '<i4', 'shape': (1, 1, 2), }", /lacks 'fortran_order'/],
    ["descr", /not a dictionary/],
  ];
  for (const [dict, message] of cases) {
    assert.throws(
      () => parseNpyHeader(npy(dict, data), "x.npy"),
      (e) => e instanceof GridFileError && message.test(e.message) && !e.message.includes("\n"),
      dict,
    );
  }
});

Deno.test("npyHeaderSize() and decodeNpyData() catch truncation", () => {
  const bytes = encodeNpy([1, 2, 2], new Int32Array(4));
  assert.throws(() => npyHeaderSize(bytes.subarray(0, 8), "x"), /truncated/);
  assert.throws(() => parseNpyHeader(bytes.subarray(0, 40), "x"), /truncated/);
  const bad = bytes.slice(0, 12);
  bad[6] = 9;
  assert.throws(() => npyHeaderSize(bad, "x"), /unsupported \.npy format version 9/);
  const header: NpyHeader = parseNpyHeader(bytes, "x");
  assert.throws(
    () => decodeNpyData(header, bytes.subarray(header.dataOffset, bytes.length - 1), "x"),
    /promises 16 bytes of data, found 15/,
  );
});
