import assert from "node:assert/strict";
import { join } from "node:path";
import {
  checkVqWeights,
  decodeVqWeights,
  loadVq,
  parseVqConfig,
  VQ16_CONFIG,
  vqLevels,
  vqScale,
  vqShapes,
} from "./vq_config.ts";
import { encodeSafetensors } from "./safetensors.ts";
import { randomVqWeights, tinyVqConfig, writeRandomVq } from "./webgpu/vq_random_weights.ts";

const oneLine = (pattern: RegExp) => (e: Error) => {
  assert.match(e.message, pattern);
  assert(!e.message.includes("\n"), e.message);
  return true;
};

Deno.test("parseVqConfig() fills the official VQ-16 values for missing keys", () => {
  const c = parseVqConfig({ format: "zipar-vq", formatVersion: 1 });
  assert.deepEqual(c, { ...VQ16_CONFIG });
  assert.equal(vqScale(c), 16);
});

Deno.test("vqLevels() walks the official levels coarsest first: 512, 256, 256, 128, 128", () => {
  const levels = vqLevels(VQ16_CONFIG);
  assert.deepEqual(levels.map((l) => l.cout), [512, 256, 256, 128, 128]);
  assert.deepEqual(levels.map((l) => l.cin), [512, 512, 256, 256, 128]);
  assert.deepEqual(levels.map((l) => l.attn), [true, false, false, false, false]);
  assert.deepEqual(levels.map((l) => l.upsample), [true, true, true, true, false]);
  assert(levels.every((l) => l.blocks === 3));
});

Deno.test("vqShapes() derives the official key set and shapes", () => {
  const s = vqShapes(VQ16_CONFIG);
  const expect: [string, number[] | undefined][] = [
    ["quantize.embedding.weight", [16384, 8]],
    ["post_quant_conv.weight", [256, 8, 1, 1]],
    ["post_quant_conv.bias", [256]],
    ["decoder.conv_in.weight", [512, 256, 3, 3]],
    ["decoder.mid.0.conv1.weight", [512, 512, 3, 3]],
    ["decoder.mid.1.q.weight", [512, 512, 1, 1]],
    ["decoder.mid.1.proj_out.bias", [512]],
    ["decoder.mid.2.norm2.weight", [512]],
    ["decoder.conv_blocks.0.res.0.conv1.weight", [512, 512, 3, 3]],
    ["decoder.conv_blocks.0.res.0.nin_shortcut.weight", undefined],
    ["decoder.conv_blocks.0.attn.2.v.weight", [512, 512, 1, 1]],
    ["decoder.conv_blocks.0.attn.3.v.weight", undefined],
    ["decoder.conv_blocks.0.upsample.conv.weight", [512, 512, 3, 3]],
    ["decoder.conv_blocks.1.res.0.norm1.weight", [512]],
    ["decoder.conv_blocks.1.res.0.conv1.weight", [256, 512, 3, 3]],
    ["decoder.conv_blocks.1.res.0.nin_shortcut.weight", [256, 512, 1, 1]],
    ["decoder.conv_blocks.1.res.1.nin_shortcut.weight", undefined],
    ["decoder.conv_blocks.1.attn.0.q.weight", undefined],
    ["decoder.conv_blocks.2.res.0.nin_shortcut.weight", undefined],
    ["decoder.conv_blocks.3.res.0.nin_shortcut.weight", [128, 256, 1, 1]],
    ["decoder.conv_blocks.3.upsample.conv.weight", [128, 128, 3, 3]],
    ["decoder.conv_blocks.4.res.2.conv2.weight", [128, 128, 3, 3]],
    ["decoder.conv_blocks.4.upsample.conv.weight", undefined],
    ["decoder.norm_out.weight", [128]],
    ["decoder.conv_out.weight", [3, 128, 3, 3]],
    ["decoder.conv_out.bias", [3]],
  ];
  for (const [key, shape] of expect) assert.deepEqual(s.get(key), shape, key);
  // 1 codebook + 2 post_quant + 2 conv_in + 26 mid + levels 56, 28, 26, 28, 24 + 4 out.
  assert.equal(s.size, 197);
});

Deno.test("parseVqConfig() accepts small configs from the same code", () => {
  const c = parseVqConfig({
    format: "zipar-vq",
    formatVersion: 1,
    ch: 32,
    chMult: [1, 2],
    zChannels: 32,
    codebookSize: 64,
    groups: 8,
  });
  assert.equal(vqScale(c), 2);
  const s = vqShapes(c);
  assert.deepEqual(s.get("decoder.conv_in.weight"), [64, 32, 3, 3]);
  assert.deepEqual(s.get("decoder.conv_blocks.1.res.0.nin_shortcut.weight"), [32, 64, 1, 1]);
  assert.deepEqual(s.get("decoder.conv_out.weight"), [3, 32, 3, 3]);
  assert.equal(s.has("decoder.conv_blocks.1.upsample.conv.weight"), false);
});

Deno.test("parseVqConfig() names the bad key in one line", () => {
  const good = tinyVqConfig() as unknown as Record<string, unknown>;
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ format: "zipar-llamagen" }, /"format" must be "zipar-vq"/],
    [{ formatVersion: 2 }, /"formatVersion" must be 1/],
    [{ kind: "vqgan" }, /"kind" must be "llamagen-vq16"/],
    [{ chMult: [] }, /"chMult" must be 1\.\.8 integers/],
    [{ chMult: [1, 1.5] }, /"chMult" must be/],
    [{ groups: 5 }, /"groups" 5 must divide every channel count, not ch·1 = 16/],
    [{ codebookSize: 0 }, /"codebookSize" must be an integer in 1\.\./],
    [{ eps: -1 }, /"eps" must be a positive number/],
    [{ numResBlocks: "2" }, /"numResBlocks" must be an integer/],
  ];
  for (const [patch, pattern] of cases) {
    assert.throws(() => parseVqConfig({ ...good, ...patch }, "m/vq.json"), oneLine(pattern));
  }
  assert.throws(() => parseVqConfig([], "m/vq.json"), oneLine(/expected a JSON object/));
});

Deno.test("decodeVqWeights() names a missing key or a wrong shape with the expected shape", () => {
  const config = tinyVqConfig();
  const weights = randomVqWeights(config);
  const missing = new Map(weights);
  missing.delete("decoder.mid.1.k.bias");
  assert.throws(
    () => decodeVqWeights(encodeSafetensors(missing), config, "m/vq.safetensors"),
    oneLine(
      /m\/vq\.safetensors: missing tensor decoder\.mid\.1\.k\.bias \(expected shape \[32\]\)/,
    ),
  );
  const wrong = new Map(weights);
  wrong.set("decoder.conv_out.weight", { shape: [3, 16, 1, 1], data: new Float32Array(48) });
  assert.throws(
    () => decodeVqWeights(encodeSafetensors(wrong), config),
    oneLine(/tensor decoder\.conv_out\.weight has shape \[3,16,1,1\], expected \[3,16,3,3\]/),
  );
  assert.throws(() => checkVqWeights(missing, config), oneLine(/missing tensor decoder\.mid/));
  const extra = new Map(weights);
  extra.set("encoder.conv_in.weight", { shape: [1], data: new Float32Array(1) });
  const decoded = decodeVqWeights(encodeSafetensors(extra), config);
  assert.equal(decoded.size, weights.size);
  assert.deepEqual(decoded.get("decoder.conv_in.weight"), weights.get("decoder.conv_in.weight"));
});

Deno.test("loadVq() reads vq.json + vq.safetensors and names unreadable files", async () => {
  const dir = await Deno.makeTempDir({ prefix: "zipar-vq-" });
  try {
    const config = tinyVqConfig();
    const weights = await writeRandomVq(dir, config, 5);
    const loaded = await loadVq(dir);
    assert.deepEqual(loaded.config, config);
    assert.deepEqual(
      loaded.weights.get("post_quant_conv.weight"),
      weights.get("post_quant_conv.weight"),
    );
    await Deno.remove(join(dir, "vq.safetensors"));
    await assert.rejects(() => loadVq(dir), oneLine(/Cannot read .*vq\.safetensors/));
    await Deno.writeTextFile(join(dir, "vq.json"), "{");
    await assert.rejects(() => loadVq(dir), oneLine(/vq\.json: not valid JSON/));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
