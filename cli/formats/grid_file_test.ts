import assert from "node:assert/strict";
import { ValidationError } from "../flags/args.ts";
import { GridFileError, type TokenGrid } from "./grid.ts";
import { openGridOutput, readGrid, resolveFormat } from "./grid_file.ts";
import { encodeGridJson } from "./grid_json.ts";
import { encodeNpy } from "./grid_npy.ts";
import { memoryIo } from "../io/io.ts";

const grid: TokenGrid = {
  shape: [1, 2, 3],
  tokens: new Int32Array([1, 2, 3, 4, 5, 6]),
  meta: { seed: 7, vocab: 8 },
};

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "zipar_grid_file_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function rejects(
  source: string,
  io: ReturnType<typeof memoryIo>,
  message: RegExp,
): Promise<void> {
  await assert.rejects(
    () => readGrid(source, io),
    (e) => e instanceof GridFileError && message.test(e.message) && !e.message.includes("\n"),
  );
}

Deno.test("openGridOutput() writes JSON, and .npy with its sidecar, read back by readGrid()", async () => {
  await withDir(async (dir) => {
    const io = memoryIo();
    await (await openGridOutput(`${dir}/g.json`, "json", io)).write(grid);
    await (await openGridOutput(`${dir}/g.npy`, "npy", io)).write(grid);
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name).sort(), [
      "g.json",
      "g.npy",
      "g.npy.json",
    ]);
    const json = await readGrid(`${dir}/g.json`, io);
    assert.deepEqual(json.grid, grid);
    assert.equal(json.format, "json");
    const npy = await readGrid(`${dir}/g.npy`, io);
    assert.deepEqual(npy.grid, grid);
    assert.equal(npy.metaSource, "sidecar");
    assert.equal(npy.dtype, "<i4");
    const sidecar = JSON.parse(await Deno.readTextFile(`${dir}/g.npy.json`));
    assert.equal(sidecar.format, "zipar.npy-meta/1");
    assert.deepEqual(sidecar.shape, [1, 2, 3]);
  });
});

Deno.test("openGridOutput() abort leaves no file; '-' writes to stdout", async () => {
  await withDir(async (dir) => {
    const io = memoryIo();
    await (await openGridOutput(`${dir}/g.npy`, "npy", io)).abort();
    assert.deepEqual([...Deno.readDirSync(dir)], []);
    await (await openGridOutput("-", "npy", io)).write(grid);
    assert.equal(io.stdoutBytes()[0], 0x93);
  });
});

Deno.test("readGrid() reads JSON and .npy from stdin, sniffing the magic bytes", async () => {
  const fromJson = await readGrid(
    "-",
    memoryIo({ input: new TextEncoder().encode(encodeGridJson(grid)) }),
  );
  assert.deepEqual(fromJson.grid, grid);
  const fromNpy = await readGrid("-", memoryIo({ input: encodeNpy(grid.shape, grid.tokens) }));
  assert.deepEqual(fromNpy.grid.tokens, grid.tokens);
  assert.equal(fromNpy.metaSource, "none");
});

Deno.test("readGrid() rejects truncated, padded, empty and foreign input", async () => {
  const npy = encodeNpy(grid.shape, grid.tokens);
  await rejects("-", memoryIo({ input: npy.subarray(0, npy.length - 3) }), /truncated \.npy data/);
  await rejects("-", memoryIo({ input: new Uint8Array([...npy, 1]) }), /continues past/);
  await rejects("-", memoryIo({ input: npy.subarray(0, 5) }), /truncated \.npy file/);
  await rejects("-", memoryIo({ input: new Uint8Array() }), /empty input/);
  await rejects("-", memoryIo({ input: new TextEncoder().encode("hello") }), /not a grid file/);
  await rejects("-", memoryIo({ input: new Uint8Array([0x7b, 0xff, 0xfe]) }), /not valid UTF-8/);
  await withDir(async (dir) => {
    const io = memoryIo();
    await Deno.writeFile(`${dir}/short.npy`, npy.subarray(0, npy.length - 4));
    await rejects(
      `${dir}/short.npy`,
      io,
      /truncated \.npy file: shape \[1,2,3\] × 4 bytes needs 152 bytes, file has 148/,
    );
    await Deno.writeFile(`${dir}/long.npy`, new Uint8Array([...npy, 0, 0]));
    await rejects(`${dir}/long.npy`, io, /2 bytes after the data/);
    await rejects(`${dir}/missing.json`, io, /no such file/);
    await rejects(dir, io, /not a regular file/);
    await Deno.writeFile(`${dir}/g.npy`, npy);
    await Deno.writeTextFile(`${dir}/g.npy.json`, JSON.stringify({ shape: [1, 3, 2], meta: {} }));
    await rejects(`${dir}/g.npy`, io, /sidecar shape \[1,3,2\] does not match/);
    await Deno.writeTextFile(`${dir}/g.npy.json`, "{");
    await rejects(`${dir}/g.npy`, io, /sidecar is not valid JSON/);
  });
});

Deno.test("readGrid() checks a huge .npy header against the file size before reading data", async () => {
  await withDir(async (dir) => {
    const lying = encodeNpy([1, 4096, 4096], new Int32Array(0)); // header promises 64 MiB, has none
    await Deno.writeFile(`${dir}/lie.npy`, lying);
    await rejects(`${dir}/lie.npy`, memoryIo(), /needs 67108992 bytes, file has 128/);
  });
});

Deno.test("resolveFormat() takes --format, else the extension, else JSON on stdout", () => {
  assert.equal(resolveFormat("a.json", undefined), "json");
  assert.equal(resolveFormat("a.NPY", undefined), "npy");
  assert.equal(resolveFormat("a.bin", "npy"), "npy");
  assert.equal(resolveFormat("-", "npy"), "npy");
  assert.throws(() => resolveFormat("a.bin", undefined), ValidationError);
  assert.throws(() => resolveFormat("a.json", "npy"), /contradicts/);
});
