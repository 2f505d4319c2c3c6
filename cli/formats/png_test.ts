import assert from "node:assert/strict";
import { contactSheet, decodePng, encodeImagePng, encodePixels } from "./png.ts";

Deno.test("encodeImagePng() writes a PNG that decodes back to the same pixels at the expected size", () => {
  const pixels = Uint8Array.from({ length: 2 * 3 * 4 * 3 }, (_, i) => (i * 37) % 256);
  const batch = { pixels, count: 2, height: 3, width: 4, channels: 3 as const };
  const back = decodePng(encodeImagePng(batch, 1));
  assert.deepEqual([back.height, back.width, back.channels], [3, 4, 3]);
  assert.deepEqual(back.pixels, pixels.subarray(36));
  const big = decodePng(encodeImagePng(batch, 0, 3));
  assert.deepEqual([big.height, big.width], [9, 12]);
  assert.deepEqual([...big.pixels.subarray(0, 3)], [...pixels.subarray(0, 3)]);
  assert.deepEqual([...big.pixels.subarray(6, 9)], [...pixels.subarray(0, 3)]);
});

Deno.test("contactSheet() tiles images in rows with padding", () => {
  const pixels = Uint8Array.from({ length: 3 * 2 * 2 }, (_, i) => 100 + Math.floor(i / 4));
  const sheet = contactSheet({ pixels, count: 3, height: 2, width: 2, channels: 1 }, 2, 1, 0);
  assert.deepEqual([sheet.height, sheet.width], [7, 7]);
  assert.equal(sheet.pixels[1 * 7 + 1], 100); // first image, top-left
  assert.equal(sheet.pixels[1 * 7 + 4], 101); // second image
  assert.equal(sheet.pixels[4 * 7 + 1], 102); // third image, second row
  assert.equal(sheet.pixels[4 * 7 + 4], 0); // empty tile
  assert.throws(() => encodePixels(new Uint8Array(3), 2, 2, 1), RangeError);
});
