import assert from "node:assert/strict";
import { encodeGridJson } from "./formats/grid_json.ts";
import { encodeNpy } from "./formats/grid_npy.ts";
import { inspectCommand, summarizeTokens } from "./inspect.ts";
import { memoryIo } from "./io/io.ts";

const grid = {
  shape: [1, 2, 3] as [number, number, number],
  tokens: new Int32Array([4, 4, 9, 1, 4, 9]),
  meta: { seed: 7 },
};

Deno.test("summarizeTokens() counts distinct, min, max and the most common", () => {
  assert.deepEqual(summarizeTokens(grid.tokens, 2), {
    count: 6,
    distinct: 3,
    min: 1,
    max: 9,
    mostCommon: [[4, 3], [9, 2]],
  });
  assert.deepEqual(summarizeTokens(grid.tokens, 0).mostCommon, []);
});

Deno.test("inspectCommand() summarizes JSON from stdin as text and JSON", async () => {
  const input = new TextEncoder().encode(encodeGridJson(grid));
  const text = memoryIo({ input });
  assert.equal(await inspectCommand(["-"], text), 0);
  const out = text.stdoutText();
  assert.match(
    out,
    /^file {7}stdin \(json, \d+ bytes\)\nshape {6}\[1, 2, 3\]: 1 grid of 2×3, 6 tokens\ntokens {5}distinct 3, min 1, max 9\ncommon {5}4 ×3, 9 ×2, 1 ×1\nmeta\n {2}seed {2}7\n$/,
  );
  const json = memoryIo({ input });
  await inspectCommand(["-", "--format", "json", "--top", "1"], json);
  const doc = JSON.parse(json.stdoutText());
  assert.deepEqual(doc.tokens.mostCommon, [[4, 3]]);
  assert.deepEqual(doc.shape, [1, 2, 3]);
  assert.equal(doc.meta.seed, 7);
});

Deno.test("inspectCommand() reads .npy from stdin without metadata", async () => {
  const io = memoryIo({ input: encodeNpy(grid.shape, grid.tokens) });
  await inspectCommand(["-", "--format", "json"], io);
  const doc = JSON.parse(io.stdoutText());
  assert.equal(doc.format, "npy");
  assert.equal(doc.metaSource, "none");
});

Deno.test("inspectCommand() rejects a missing FILE and bad --top", async () => {
  await assert.rejects(() => inspectCommand([], memoryIo()), /needs a FILE/);
  await assert.rejects(() => inspectCommand(["-", "--top", "x"], memoryIo()), /--top must be/);
  await assert.rejects(() => inspectCommand(["a", "b"], memoryIo()), /unexpected argument 'b'/);
});
