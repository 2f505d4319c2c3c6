import assert from "node:assert/strict";
import { join } from "node:path";
import {
  decodeSafetensors,
  encodeSafetensors,
  parseHeader,
  readSafetensors,
  SafetensorsError,
  writeSafetensors,
} from "./safetensors.ts";

/** A file with a hand-written header and `data` bytes. */
function rawFile(header: unknown, data: Uint8Array): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

Deno.test("encodeSafetensors() and decodeSafetensors() round-trip F32 tensors and metadata", () => {
  const a = { shape: [2, 3], data: Float32Array.from([1, -2, 3.5, 0, 1e-8, -7]) };
  const b = { shape: [0], data: new Float32Array(0) };
  const bytes = encodeSafetensors({ a, "ü.b": b }, { format: "pt" });
  assert.equal((new DataView(bytes.buffer).getUint32(0, true) + 8) % 8, 0);
  const { tensors, metadata } = decodeSafetensors(bytes);
  assert.deepEqual(tensors.get("a"), a);
  assert.deepEqual(tensors.get("ü.b")!.shape, [0]);
  assert.deepEqual(metadata, { format: "pt" });
});

Deno.test("decodeSafetensors() converts F16 and BF16 to float32", () => {
  const data = new Uint8Array(8);
  const view = new DataView(data.buffer);
  view.setUint16(0, 0x3c00, true); // f16 1.0
  view.setUint16(2, 0xc100, true); // f16 −2.5
  view.setUint16(4, 0x3fc0, true); // bf16 1.5
  view.setUint16(6, 0xc040, true); // bf16 −3.0
  const bytes = rawFile({
    h: { dtype: "F16", shape: [2], data_offsets: [0, 4] },
    b: { dtype: "BF16", shape: [2], data_offsets: [4, 8] },
  }, data);
  const { tensors } = decodeSafetensors(bytes);
  assert.deepEqual([...tensors.get("h")!.data], [1, -2.5]);
  assert.deepEqual([...tensors.get("b")!.data], [1.5, -3]);
});

Deno.test("parseHeader() rejects malformed files before allocating", () => {
  const ok = { w: { dtype: "F32", shape: [2], data_offsets: [0, 8] } };
  const cases: [Uint8Array, RegExp][] = [
    [new Uint8Array(4), /too short/],
    [rawFile(ok, new Uint8Array(4)), /past the data section/],
    [
      rawFile({ w: { dtype: "F32", shape: [3], data_offsets: [0, 8] } }, new Uint8Array(8)),
      /12 bytes, offsets span 8/,
    ],
    [
      rawFile({ w: { dtype: "I64", shape: [1], data_offsets: [0, 8] } }, new Uint8Array(8)),
      /unsupported dtype/,
    ],
    [
      rawFile({ w: { dtype: "F32", shape: [-1], data_offsets: [0, 8] } }, new Uint8Array(8)),
      /shape/,
    ],
    [
      rawFile({ w: { dtype: "F32", shape: [1], data_offsets: [4, 0] } }, new Uint8Array(8)),
      /data_offsets/,
    ],
    [
      rawFile({
        a: { dtype: "F32", shape: [2], data_offsets: [0, 8] },
        b: { dtype: "F32", shape: [2], data_offsets: [4, 12] },
      }, new Uint8Array(12)),
      /overlap/,
    ],
    [rawFile([1, 2], new Uint8Array(0)), /not a JSON object/],
    [rawFile({ __metadata__: { a: 1 } }, new Uint8Array(0)), /__metadata__\.a/],
    [
      rawFile(
        { w: { dtype: "F32", shape: [2 ** 32, 2 ** 32], data_offsets: [0, 0] } },
        new Uint8Array(0),
      ),
      /73786976294838206464 bytes, offsets span 0/,
    ],
    [rawFile({ w: [[[[]]]] }, new Uint8Array(0)), /nests more than 3 levels/],
  ];
  for (const [bytes, pattern] of cases) {
    assert.throws(() => parseHeader(bytes, "f.safetensors"), (e: Error) => {
      assert(e instanceof SafetensorsError, String(e));
      assert.match(e.message, pattern);
      assert.match(e.message, /^f\.safetensors: /);
      assert(!e.message.includes("\n"));
      return true;
    });
  }
  const huge = new Uint8Array(16);
  new DataView(huge.buffer).setBigUint64(0, 1n << 40n, true);
  assert.throws(() => parseHeader(huge), /exceeds/);
});

Deno.test("writeSafetensors() writes a file readSafetensors() reads back", async () => {
  const dir = await Deno.makeTempDir({ prefix: "zipar-st-" });
  try {
    const path = join(dir, "t.safetensors");
    const w = { shape: [4], data: Float32Array.from([1, 2, 3, 4]) };
    await writeSafetensors(path, new Map([["w", w]]));
    assert.deepEqual((await readSafetensors(path)).tensors.get("w"), w);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
