import assert from "node:assert/strict";
import { join } from "node:path";
import { loadLlamagen } from "./llamagen_config.ts";
import { encodeSafetensors, readSafetensors } from "./safetensors.ts";
import {
  type ByteSource,
  openFileSource,
  readExpectedTensors,
  readExpectedTensorsFile,
} from "./safetensors_reader.ts";
import { tinyConfig, writeRandomModel } from "./webgpu/random_weights.ts";

const GiB = 1 << 30;

/** A file with a hand-written header and `data` bytes. */
function rawFile(header: unknown, data: Uint8Array): Uint8Array {
  const json = new TextEncoder().encode(
    typeof header === "string" ? header : JSON.stringify(header),
  );
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

/** A source that counts the bytes it reads. */
function counting(source: ByteSource): ByteSource & { bytesRead: number; reads: number } {
  const counted = {
    size: source.size,
    bytesRead: 0,
    reads: 0,
    async read(offset: number, into: Uint8Array) {
      counted.bytesRead += into.length;
      counted.reads++;
      await source.read(offset, into);
    },
    close: () => source.close(),
  };
  return counted;
}

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "zipar-st-reader-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/**
 * Rewrite DIR/model.safetensors with one more tensor the model does not use, `unused`, of
 * 2 GiB float32s = 8 GiB, its data left as a hole (sparse: no disk); returns the model's bytes
 * (the 8-byte length, the header and its tensors) before the hole.
 */
async function withUnusedTensor(path: string): Promise<number> {
  const bytes = await Deno.readFile(path);
  const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
  const data = bytes.subarray(8 + n);
  header.unused = {
    dtype: "F32",
    shape: [2 * GiB],
    data_offsets: [data.length, data.length + 8 * GiB],
  };
  const json = new TextEncoder().encode(JSON.stringify(header));
  const head = new Uint8Array(8 + json.length);
  new DataView(head.buffer).setBigUint64(0, BigInt(json.length), true);
  head.set(json, 8);
  await Deno.writeFile(path, new Uint8Array([...head, ...data]));
  await Deno.truncate(path, head.length + data.length + 8 * GiB); // the hole: costs no disk
  return head.length + data.length;
}

Deno.test("a model beside an 8 GiB tensor it does not use loads by its ranges, with bounded memory", async () => {
  await withTempDir(async (dir) => {
    const config = tinyConfig();
    const weights = await writeRandomModel(dir, config, 3);
    const path = join(dir, "model.safetensors");
    const modelBytes = await withUnusedTensor(path);
    const shapes = new Map([...weights].map(([name, t]) => [name, t.shape]));
    const source = counting(await openFileSource(path));
    try {
      const read = await readExpectedTensors(source, shapes, path, "config.json");
      assert.equal(source.size, modelBytes + 8 * GiB);
      assert.equal(read.size, weights.size);
      assert.deepEqual(read.get("output.weight"), weights.get("output.weight"));
      // The length, the header, each tensor once: exactly the model's bytes, none of `unused`.
      assert.equal(source.bytesRead, modelBytes);
      assert.equal(source.reads, 2 + weights.size);
    } finally {
      source.close();
    }
    const rss = Deno.memoryUsage().rss;
    const loaded = await loadLlamagen(dir);
    const grown = Deno.memoryUsage().rss - rss;
    assert.equal(loaded.weights.size, weights.size);
    assert(grown < 256 * (1 << 20), `RSS grew by ${grown} bytes reading the model`);
  });
});

Deno.test("a model padded with 8 GiB after its data is refused by every reader, unread", async () => {
  await withTempDir(async (dir) => {
    const weights = await writeRandomModel(dir, tinyConfig(), 3);
    const path = join(dir, "model.safetensors");
    const size = (await Deno.stat(path)).size;
    await Deno.truncate(path, size + 8 * GiB); // sparse: costs no disk
    const shapes = new Map([...weights].map(([name, t]) => [name, t.shape]));
    const source = counting(await openFileSource(path));
    try {
      await assert.rejects(
        readExpectedTensors(source, shapes, path, "config.json"),
        /8589934592 bytes after the last tensor's data: not a file safetensors wrote/,
      );
      assert.ok(source.bytesRead < size, "it read past the header");
    } finally {
      source.close();
    }
    await assert.rejects(readSafetensors(path), /bytes after the last tensor's data/);
    await assert.rejects(loadLlamagen(dir), /bytes after the last tensor's data/);
  });
});

Deno.test("readExpectedTensorsFile() refuses hostile headers in one line naming the file and the fix", async () => {
  await withTempDir(async (dir) => {
    const cases: [string, Uint8Array, RegExp][] = [
      [
        "overlap",
        rawFile({
          a: { dtype: "F32", shape: [2], data_offsets: [0, 8] },
          b: { dtype: "F32", shape: [2], data_offsets: [4, 12] },
        }, new Uint8Array(12)),
        /tensors a and b overlap: re-export it/,
      ],
      [
        "wraps",
        rawFile(
          { a: { dtype: "F32", shape: [2 ** 32, 2 ** 32], data_offsets: [0, 0] } },
          new Uint8Array(0),
        ),
        /shape \[4294967296,4294967296\] × F32 is 73786976294838206464 bytes, offsets span 0: re-export/,
      ],
      [
        "metadata",
        rawFile({ __metadata__: { format: "pt", steps: 3 } }, new Uint8Array(0)),
        /__metadata__\.steps is 3, not a string: re-export/,
      ],
      [
        "metadata-list",
        rawFile({ __metadata__: ["pt"] }, new Uint8Array(0)),
        /__metadata__ is not an object of strings: re-export/,
      ],
      [
        "deep",
        rawFile("[".repeat(100_000) + "]".repeat(100_000), new Uint8Array(0)),
        /nests more than 3 levels deep.*: re-export/,
      ],
      [
        "deep-entry",
        rawFile({ a: { dtype: "F32", shape: [[1]], data_offsets: [0, 4] } }, new Uint8Array(4)),
        /nests more than 3 levels deep/,
      ],
      [
        "truncated",
        rawFile({ a: { dtype: "F32", shape: [4], data_offsets: [0, 16] } }, new Uint8Array(8)),
        /data ends at 16, past the data section \(8 bytes\): the file is truncated/,
      ],
      [
        "header-past-end",
        rawFile({ a: { dtype: "F32", shape: [1], data_offsets: [0, 4] } }, new Uint8Array(4))
          .subarray(0, 20),
        /header length \d+ runs past the end of the file \(20 bytes\): the file is truncated/,
      ],
      [
        "dtype",
        rawFile({ a: { dtype: "I64", shape: [1], data_offsets: [0, 8] } }, new Uint8Array(8)),
        /unsupported dtype "I64" \(F32, F16, BF16\): convert it/,
      ],
    ];
    for (const [name, bytes, pattern] of cases) {
      const path = join(dir, `${name}.safetensors`);
      await Deno.writeFile(path, bytes);
      const err = await readExpectedTensorsFile(path, new Map(), "config.json").then(
        () => null,
        (e: Error) => e,
      );
      assert(err, `${name}: accepted`);
      assert.match(err.message, pattern, name);
      assert(err.message.startsWith(`${path}: `), `${name}: ${err.message}`);
      assert(!err.message.includes("\n"), `${name}: more than one line`);
    }
    await assert.rejects(
      readExpectedTensorsFile(dir, new Map()),
      /not a regular file: point at a \.safetensors file/,
    );
    await assert.rejects(
      readExpectedTensorsFile(join(dir, "missing.safetensors"), new Map()),
      /^Error: Cannot read .*missing\.safetensors: /,
    );
  });
});

Deno.test("readExpectedTensorsFile() converts F16 and BF16 ranges and names missing tensors", async () => {
  await withTempDir(async (dir) => {
    const data = new Uint8Array(8);
    const view = new DataView(data.buffer);
    view.setUint16(0, 0x3c00, true); // f16 1.0
    view.setUint16(2, 0xc100, true); // f16 −2.5
    view.setUint16(4, 0x3fc0, true); // bf16 1.5
    view.setUint16(6, 0xc040, true); // bf16 −3.0
    const path = join(dir, "half.safetensors");
    await Deno.writeFile(
      path,
      rawFile({
        h: { dtype: "F16", shape: [2], data_offsets: [0, 4] },
        b: { dtype: "BF16", shape: [1, 2], data_offsets: [4, 8] },
      }, data),
    );
    const got = await readExpectedTensorsFile(path, new Map([["h", [2]], ["b", [1, 2]]]));
    assert.deepEqual([...got.get("h")!.data], [1, -2.5]);
    assert.deepEqual([...got.get("b")!.data], [1.5, -3]);
    await assert.rejects(
      readExpectedTensorsFile(path, new Map([["w", [2]]]), "config.json"),
      /half\.safetensors: missing tensor w \(expected shape \[2\]\)/,
    );
    await assert.rejects(
      readExpectedTensorsFile(path, new Map([["h", [3]]]), "config.json"),
      /tensor h has shape \[2\], expected \[3\] from config\.json/,
    );
  });
});

Deno.test("openFileSource() reports a file that ends before a declared range", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "t.safetensors");
    await Deno.writeFile(path, encodeSafetensors({ w: { shape: [4], data: new Float32Array(4) } }));
    const source = await openFileSource(path);
    try {
      await Deno.truncate(path, 20); // shrinks after the size was taken
      await assert.rejects(source.read(8, new Uint8Array(64)), /t\.safetensors: ended at byte 20/);
    } finally {
      source.close();
    }
  });
});
