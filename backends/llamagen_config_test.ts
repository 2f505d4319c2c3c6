import assert from "node:assert/strict";
import { join } from "node:path";
import {
  decodeLlamagenWeights,
  llamagenHidden,
  llamagenShapes,
  loadLlamagen,
  parseLlamagenConfig,
} from "./llamagen_config.ts";
import { encodeSafetensors } from "./safetensors.ts";
import { randomLlamagenWeights, tinyConfig, writeRandomModel } from "./webgpu/random_weights.ts";

const oneLine = (pattern: RegExp) => (e: Error) => {
  assert.match(e.message, pattern);
  assert(!e.message.includes("\n"), e.message);
  return true;
};

Deno.test("llamagenHidden() matches the LlamaGen presets", () => {
  assert.deepEqual([768, 1024, 1280].map(llamagenHidden), [2048, 2816, 3584]);
});

Deno.test("parseLlamagenConfig() accepts the shared GPT-B config", () => {
  const c = parseLlamagenConfig({
    format: "zipar-llamagen",
    formatVersion: 1,
    family: "llamagen",
    preset: "GPT-B",
    dim: 768,
    layers: 12,
    heads: 12,
    hidden: 2048,
    vocab: 16384,
    numClasses: 1000,
    prefix: 1,
    grid: [16, 16],
    normEps: 1e-5,
    ropeBase: 10000,
    dtype: "float32",
  });
  assert.equal(c.grid[1], 16);
  assert.equal(llamagenShapes(c).size, 2 + 7 * 12 + 2);
});

Deno.test("parseLlamagenConfig() names the bad key in one line", () => {
  const good = tinyConfig() as unknown as Record<string, unknown>;
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ format: "gguf" }, /"format" must be "zipar-llamagen"/],
    [{ formatVersion: 2 }, /"formatVersion" must be 1/],
    [{ dim: 63 }, /"dim" 63 must be a multiple of 4·heads/],
    [{ layers: 0 }, /"layers" must be an integer in 1\.\./],
    [{ grid: [8] }, /"grid" must be \[H, W\]/],
    [{ normEps: 0 }, /"normEps" must be a positive number/],
    [{ dtype: "int8" }, /"dtype" must be/],
    [{ vocab: undefined }, /"vocab" must be an integer/],
  ];
  for (const [patch, pattern] of cases) {
    assert.throws(
      () => parseLlamagenConfig({ ...good, ...patch }, "m/config.json"),
      oneLine(pattern),
    );
  }
});

Deno.test("decodeLlamagenWeights() rejects a missing key or a wrong shape in one line", () => {
  const config = tinyConfig({ layers: 1 });
  const weights = randomLlamagenWeights(config);
  const missing = new Map(weights);
  missing.delete("layers.0.feed_forward.w3.weight");
  assert.throws(
    () => decodeLlamagenWeights(encodeSafetensors(missing), config, "m.safetensors"),
    oneLine(/missing tensor layers\.0\.feed_forward\.w3\.weight \(expected shape \[256,64\]\)/),
  );
  const wrong = new Map(weights);
  wrong.set("output.weight", { shape: [255, 64], data: new Float32Array(255 * 64) });
  assert.throws(
    () => decodeLlamagenWeights(encodeSafetensors(wrong), config),
    oneLine(/output\.weight has shape \[255,64\], expected \[256,64\]/),
  );
  const extra = new Map(weights);
  extra.set("freqs_cis", { shape: [1], data: new Float32Array(1) });
  assert.equal(decodeLlamagenWeights(encodeSafetensors(extra), config).size, weights.size);
});

Deno.test("loadLlamagen() loads a model directory and reports truncated files", async () => {
  const dir = await Deno.makeTempDir({ prefix: "zipar-cfg-" });
  try {
    const config = tinyConfig({ layers: 1 });
    const written = await writeRandomModel(dir, config, 5);
    const { weights } = await loadLlamagen(dir);
    assert.deepEqual(weights.get("norm.weight"), written.get("norm.weight"));
    const path = join(dir, "model.safetensors");
    const bytes = await Deno.readFile(path);
    await Deno.writeFile(path, bytes.subarray(0, bytes.length - 4));
    await assert.rejects(
      loadLlamagen(dir),
      oneLine(/model\.safetensors: tensor output\.weight: data ends at/),
    );
    await Deno.writeTextFile(join(dir, "config.json"), "{");
    await assert.rejects(loadLlamagen(dir), oneLine(/config\.json: not valid JSON/));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("parseLlamagenConfig() accepts preset null for custom sizes", () => {
  const json = {
    format: "zipar-llamagen",
    formatVersion: 1,
    family: "llamagen",
    preset: null,
    dim: 64,
    layers: 2,
    heads: 4,
    hidden: 256,
    vocab: 256,
    numClasses: 10,
    prefix: 1,
    grid: [8, 8],
    normEps: 1e-5,
    ropeBase: 10000,
    dtype: "float32",
  };
  assert.equal(parseLlamagenConfig(json).preset, null);
  assert.throws(() => parseLlamagenConfig({ ...json, preset: 3 }), TypeError);
});
