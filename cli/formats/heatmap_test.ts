import assert from "node:assert/strict";
import { decode } from "fast-png";
import { cellScale, heatmapPixels, heatmapPng, rampColor } from "./heatmap.ts";

Deno.test("rampColor() runs from dark purple to yellow and clamps", () => {
  assert.deepEqual(rampColor(0), [68, 1, 84]);
  assert.deepEqual(rampColor(1), [253, 231, 37]);
  assert.deepEqual(rampColor(-1), rampColor(0));
  assert.deepEqual(rampColor(0.5), [33, 145, 140]);
});

Deno.test("heatmapPixels() paints scale×scale blocks per cell", () => {
  const px = heatmapPixels(new Int32Array([1, 3]), 1, 2, 2);
  assert.equal(px.length, 2 * 4 * 3);
  assert.deepEqual([...px.subarray(0, 3)], [68, 1, 84]);
  assert.deepEqual([...px.subarray(9, 12)], [253, 231, 37]);
  assert.deepEqual([...px.subarray(12, 15)], [68, 1, 84]);
});

Deno.test("heatmapPng() encodes a PNG that decodes to the pixels", () => {
  const passOf = new Int32Array([1, 2, 3, 4, 5, 6]);
  const png = heatmapPng(passOf, 2, 3);
  const image = decode(png);
  const scale = cellScale(2, 3);
  assert.equal(scale, 32);
  assert.equal(image.width, 3 * scale);
  assert.equal(image.height, 2 * scale);
  assert.deepEqual([...image.data], [...heatmapPixels(passOf, 2, 3, scale)]);
});
