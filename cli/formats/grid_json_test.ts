import assert from "node:assert/strict";
import { GridFileError, type TokenGrid } from "./grid.ts";
import { decodeGridJson, encodeGridJson, prettyJson } from "./grid_json.ts";

const grid: TokenGrid = {
  shape: [2, 2, 3],
  tokens: Int32Array.from({ length: 12 }, (_, i) => i * 5),
  meta: { vocab: 64, seed: 7, sampling: { temperature: 1 } },
};

Deno.test("encodeGridJson() round-trips through decodeGridJson(), one grid row per line", () => {
  const text = encodeGridJson(grid);
  assert.deepEqual(decodeGridJson(text, "x"), grid);
  assert.ok(text.includes("\n    0, 5, 10,\n    15, 20, 25,\n"));
  assert.deepEqual(JSON.parse(text).shape, [2, 2, 3]);
});

Deno.test("decodeGridJson() accepts [H, W] shapes and a missing meta", () => {
  const g = decodeGridJson('{"shape": [1, 2], "tokens": [1, 2]}', "x");
  assert.deepEqual(g.shape, [1, 1, 2]);
  assert.deepEqual(g.meta, {});
});

Deno.test("decodeGridJson() rejects malformed grids with one-line messages", () => {
  const cases: [string, RegExp][] = [
    ["{", /not valid JSON/],
    ["[1, 2]", /expected a JSON object/],
    ['{"tokens": [1]}', /expected a JSON object with "shape"/],
    ['{"shape": [1, 1, 2], "tokens": [1]}', /needs 2 tokens, "tokens" has 1/],
    ['{"shape": [1, 0, 2], "tokens": []}', /positive integers/],
    ['{"shape": [1, 1, 2.5], "tokens": []}', /positive integers/],
    ['{"shape": [2, 1, 1, 1], "tokens": [1, 1]}', /shape must be \[B, H, W\]/],
    [
      '{"shape": [1, 1, 2], "tokens": [1, -3]}',
      /token at \[0, 0, 1\] must be an integer in 0\.\.2147483647, got -3/,
    ],
    ['{"shape": [1, 1, 2], "tokens": [1, 1.5]}', /got 1\.5/],
    ['{"shape": [1, 1, 2], "tokens": [1, "2"]}', /got "2"/],
    ['{"shape": [1, 1, 2], "tokens": [[1, 2], 3]}', /nested array/],
    ['{"shape": [1, 1, 2], "tokens": [1, 2], "meta": [1]}', /"meta" must be an object/],
    [
      '{"shape": [1, 1, 2], "tokens": [1, 64], "meta": {"vocab": 64}}',
      /token 64 at \[0, 0, 1\] is not below meta\.vocab 64/,
    ],
  ];
  for (const [text, message] of cases) {
    assert.throws(
      () => decodeGridJson(text, "g.json"),
      (e) =>
        e instanceof GridFileError && message.test(e.message) && !e.message.includes("\n") &&
        e.message.startsWith("g.json: "),
      text,
    );
  }
});

Deno.test("decodeGridJson() rejects oversized shapes before allocating tokens", () => {
  assert.throws(
    () => decodeGridJson('{"shape": [65536, 4096, 4096], "tokens": []}', "x"),
    /more than 268435456 tokens/,
  );
});

Deno.test("prettyJson() keeps short values on one line", () => {
  assert.equal(prettyJson({ a: [1, 2], b: { c: "d" } }, ""), '{"a": [1, 2], "b": {"c": "d"}}');
  const long = prettyJson({ list: Array.from({ length: 30 }, (_, i) => i) }, "");
  assert.ok(long.startsWith('{\n  "list": [\n    0,\n'));
  assert.deepEqual(JSON.parse(long).list.length, 30);
});
