import assert from "node:assert/strict";
import { brief, checkShape, checkVocab, GridFileError, MAX_GRID_TOKENS, position } from "./grid.ts";

Deno.test("checkShape() accepts [B, H, W] and [H, W], and caps the token count", () => {
  assert.deepEqual(checkShape([2, 3, 4], "x"), [2, 3, 4]);
  assert.deepEqual(checkShape([3, 4], "x"), [1, 3, 4]);
  assert.deepEqual(checkShape([1, 16384, 16384], "x"), [1, 16384, 16384]);
  assert.equal(16384 * 16384, MAX_GRID_TOKENS);
  for (
    const bad of [[1, 16384, 16385], [0, 1, 1], [1, -1, 1], [1, 1, 1.5], "1x1", [1, 1, 1, 1], [
      1,
      1,
      70000,
    ]]
  ) {
    assert.throws(() => checkShape(bad, "x"), GridFileError, JSON.stringify(bad));
  }
});

Deno.test("checkVocab() rejects tokens at or above meta.vocab", () => {
  const grid = {
    shape: [1, 2, 2] as [number, number, number],
    tokens: new Int32Array([0, 1, 2, 3]),
    meta: { vocab: 3 },
  };
  assert.throws(
    () => checkVocab(grid, "g"),
    /g: token 3 at \[0, 1, 1\] is not below meta\.vocab 3/,
  );
  checkVocab({ ...grid, meta: {} }, "g");
  assert.throws(
    () => checkVocab({ ...grid, meta: { vocab: "64" } }, "g"),
    /meta\.vocab must be a positive integer/,
  );
});

Deno.test("position() and brief() format for messages", () => {
  assert.equal(position([2, 3, 4], 13), "[1, 0, 1]");
  assert.equal(brief([1, 2]), "[1,2]");
  assert.equal(brief("x".repeat(100)).length, 60);
});
