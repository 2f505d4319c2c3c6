import assert from "node:assert/strict";
import { openImageDecoder } from "../../backends/open.ts";
import { DEMO_MODEL } from "../generation/demo_backend.ts";
import { loadFmnistClassifier } from "./fmnist_classifier.ts";

Deno.test("the TypeScript classifier reaches the recorded accuracy on the shipped test slice", async () => {
  const info = JSON.parse(await Deno.readTextFile(`${DEMO_MODEL}/classifier.json`));
  const slice = JSON.parse(await Deno.readTextFile(`${DEMO_MODEL}/test_slice.json`));
  const decoder = await openImageDecoder({ kind: "model", dir: DEMO_MODEL });
  const images = await decoder.decode(Int32Array.from(slice.tokens), slice.shape);
  const { logits } = (await loadFmnistClassifier(DEMO_MODEL)).run(images.pixels, images.count);
  let correct = 0;
  for (let i = 0; i < images.count; i++) {
    const row = Array.from(logits.subarray(i * 10, i * 10 + 10));
    if (row.indexOf(Math.max(...row)) === slice.labels[i]) correct++;
  }
  const accuracy = correct / images.count;
  assert.ok(
    Math.abs(accuracy - info.sliceAccuracy) <= 0.004,
    `${accuracy} vs recorded ${info.sliceAccuracy}`,
  );
  assert.ok(accuracy > 0.8, `accuracy ${accuracy}`);
});
