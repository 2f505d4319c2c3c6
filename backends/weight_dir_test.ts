import assert from "node:assert/strict";
import { join } from "node:path";
import { encodeSafetensors } from "./safetensors.ts";
import { openWeightDir, SHARD_INDEX, SINGLE_FILE } from "./weight_dir.ts";

const t = (shape: number[], from = 0) => ({
  shape,
  data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => from + i),
});

async function dirWith(files: Record<string, Uint8Array | string>): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "zipar-weights-" });
  for (const [name, content] of Object.entries(files)) {
    const path = join(dir, name);
    if (typeof content === "string") await Deno.writeTextFile(path, content);
    else await Deno.writeFile(path, content);
  }
  return dir;
}

Deno.test("weight dir: one model.safetensors, tensors whole and by rows", async () => {
  const dir = await dirWith({ [SINGLE_FILE]: encodeSafetensors({ e: t([4, 3]), b: t([2], 50) }) });
  const w = await openWeightDir(dir);
  try {
    assert.deepEqual([...w.entries.keys()].sort(), ["b", "e"]);
    assert.equal(w.storedBytes, (12 + 2) * 4);
    assert.deepEqual([...await w.readRows("e", [3, 0])], [9, 10, 11, 0, 1, 2]);
    assert.deepEqual([...(await w.read(new Map([["b", [2]]]))).get("b")!.data], [50, 51]);
    await assert.rejects(w.read(new Map([["b", [3]]])), /expected \[3\]/);
    await assert.rejects(w.read(new Map([["x", [1]]])), /the weights lack x/);
    await assert.rejects(w.readRows("e", [4]), /row 4 is not in 0\.\.3/);
  } finally {
    w.close();
  }
  await Deno.remove(dir, { recursive: true });
});

Deno.test("weight dir: shards through the index, each tensor from its own shard", async () => {
  const index = { weight_map: { a: "s-1.safetensors", b: "s-2.safetensors" } };
  const dir = await dirWith({
    "s-1.safetensors": encodeSafetensors({ a: t([2, 2]) }),
    "s-2.safetensors": encodeSafetensors({ b: t([2, 2], 7) }),
    [SHARD_INDEX]: JSON.stringify(index),
  });
  const w = await openWeightDir(dir);
  try {
    const got = await w.read(new Map([["a", [2, 2]], ["b", [2, 2]]]));
    assert.deepEqual([...got.get("b")!.data], [7, 8, 9, 10]);
    assert.deepEqual([...await w.readRows("b", [1])], [9, 10]);
  } finally {
    w.close();
  }
  await Deno.remove(dir, { recursive: true });
});

Deno.test("weight dir: a bad index, a missing shard or tensor is one line naming the file", async () => {
  const cases: [Record<string, unknown>, Record<string, Uint8Array>, RegExp][] = [
    [{ weight_map: { a: "../x.safetensors" } }, {}, /not a \.safetensors file of this directory/],
    [{ weight_map: [] }, {}, /no weight_map object/],
    [{ weight_map: {} }, {}, /weight_map is empty/],
    [{ weight_map: { a: "s.safetensors" } }, {}, /Cannot read .*s\.safetensors.*download/],
    [
      { weight_map: { a: "s.safetensors", z: "s.safetensors" } },
      { "s.safetensors": encodeSafetensors({ a: t([1]) }) },
      /has no tensor z, which model\.safetensors\.index\.json puts there/,
    ],
  ];
  for (const [index, files, want] of cases) {
    const dir = await dirWith({ ...files, [SHARD_INDEX]: JSON.stringify(index) });
    await assert.rejects(openWeightDir(dir), (e: Error) => {
      assert.match(e.message, want);
      assert.doesNotMatch(e.message, /\n/);
      return true;
    });
    await Deno.remove(dir, { recursive: true });
  }
  const empty = await dirWith({});
  await assert.rejects(openWeightDir(empty), /Cannot read .*model\.safetensors/);
  await Deno.remove(empty, { recursive: true });
});
