import assert from "node:assert/strict";
import { join } from "node:path";
import { decodePng } from "./png.ts";
import { outputPaths, writeImages } from "./png_files.ts";

Deno.test("outputPaths() numbers a batch or fills a printf-style pattern", () => {
  assert.deepEqual(outputPaths("x.png", 1), ["x.png"]);
  assert.deepEqual(outputPaths("out/x.png", 2), ["out/x_000.png", "out/x_001.png"]);
  assert.deepEqual(outputPaths("img_%03d.png", 2), ["img_000.png", "img_001.png"]);
  assert.deepEqual(outputPaths("i%d.png", 2), ["i0.png", "i1.png"]);
});

/** Two 1×2 gray images: [0, 50] and [100, 150]. */
const IMAGES = {
  pixels: new Uint8Array([0, 50, 100, 150]),
  count: 2,
  height: 1,
  width: 2,
  channels: 1 as const,
};

Deno.test("writeImages() writes a PNG per image, or one sheet, with the pixels scaled", async () => {
  const dir = await Deno.makeTempDir({ prefix: "zipar_png_files_" });
  try {
    const files = await writeImages(IMAGES, join(dir, "img.png"), { scale: 2 });
    assert.deepEqual(files, [join(dir, "img_000.png"), join(dir, "img_001.png")]);
    const second = decodePng(await Deno.readFile(files[1]));
    assert.deepEqual([second.width, second.height, second.channels], [4, 2, 1]);
    assert.deepEqual([...second.pixels], [100, 100, 150, 150, 100, 100, 150, 150]);
    const [sheet] = await writeImages(IMAGES, join(dir, "sheet.png"), { sheet: true });
    const decoded = decodePng(await Deno.readFile(sheet));
    // Both tiles in one row, with a 2-pixel gutter around and between them.
    assert.deepEqual([decoded.width, decoded.height], [2 * 2 + 3 * 2, 1 + 2 * 2]);
    const row = [...decoded.pixels.subarray(2 * decoded.width, 3 * decoded.width)];
    assert.deepEqual(row, [32, 32, 0, 50, 32, 32, 100, 150, 32, 32]);
    await assert.rejects(() => writeImages(IMAGES, join(dir, "none", "x.png")));
    const names = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
    assert.deepEqual(names, ["img_000.png", "img_001.png", "sheet.png"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
