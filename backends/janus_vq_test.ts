/**
 * janus_vq.ts: Janus's VQ decoder of a transformers-layout directory on the WebGPU decoder.
 * Pixels against transformers' own `decode_image_tokens` (testing/python/peers/janus.py
 * --decode) on the tiny random Janus directories; the derived config; one-line refusals of
 * corrupted directories, on the tiny models and on synthetic ones written here.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { type JanusVq, janusVqName, openJanusWebgpuDecoder, readJanusVq } from "./janus_vq.ts";
import { readConfigObject } from "./model_dir.ts";
import { encodeSafetensors, readSafetensors, type Tensor } from "./safetensors.ts";
import { VQ16_CONFIG, type VqConfig } from "./vq_config.ts";
import { openWeightDir } from "./weight_dir.ts";
import { randomVqWeights } from "./webgpu/vq_random_weights.ts";
import { removeTinyJanus, tinyJanus } from "./python/janus_test_helpers.ts";
import { oneLine, PYTHON, PYTHON_TESTS, runPython } from "./python/test_helpers.ts";
import { needs } from "../testing/runtimes.ts";

/** readJanusVq() on a directory. */
async function readDir(dir: string): Promise<JanusVq> {
  const weights = await openWeightDir(dir);
  try {
    return await readJanusVq(weights, await readConfigObject(join(dir, "config.json")), dir);
  } finally {
    weights.close();
  }
}

/** A tiny VQ-16 config of 32-channel groups: ch 32, chMult [1, 1, 2, 2, 4], codebook 64. */
const SYNTHETIC: VqConfig = {
  ...VQ16_CONFIG,
  codebookSize: 64,
  zChannels: 32,
  ch: 32,
  numResBlocks: 1,
};

/**
 * A synthetic Janus directory: the decoder's random weights under transformers' names, an
 * encoder tensor holding NaN (reading it would fail), config.json with `vq` as its vq_config.
 */
async function syntheticJanus(options: {
  config?: VqConfig;
  vq?: Record<string, unknown>;
  vision?: Record<string, unknown>;
  edit?: (tensors: Map<string, Tensor>) => void;
} = {}): Promise<{ dir: string; tensors: Map<string, Tensor> }> {
  const config = options.config ?? SYNTHETIC;
  const tensors = new Map<string, Tensor>();
  for (const [name, t] of randomVqWeights(config, 5)) tensors.set(janusVqName(name), t);
  tensors.set("model.vqmodel.encoder.conv_in.weight", {
    shape: [2],
    data: Float32Array.of(NaN, 1),
  });
  options.edit?.(tensors);
  const dir = await Deno.makeTempDir({ prefix: "zipar-janus-vq-" });
  await Deno.writeFile(join(dir, "model.safetensors"), encodeSafetensors(tensors));
  const json = {
    model_type: "janus",
    vision_config: { image_size: 64, patch_size: 16, num_image_tokens: 16, ...options.vision },
    vq_config: options.vq ?? { num_embeddings: config.codebookSize, base_channels: config.ch },
  };
  await Deno.writeTextFile(join(dir, "config.json"), JSON.stringify(json));
  return { dir, tensors };
}

Deno.test("readJanusVq() reads a synthetic Janus VQ back under LlamaGen's names", async () => {
  const { dir, tensors } = await syntheticJanus();
  try {
    const { config, weights, side } = await readDir(dir);
    assert.deepEqual(config, SYNTHETIC);
    assert.equal(side, 4);
    const want = randomVqWeights(SYNTHETIC, 5);
    assert.deepEqual([...weights.keys()].sort(), [...want.keys()].sort());
    for (const [name, t] of want) {
      assert.deepEqual(weights.get(name)!.shape, t.shape, name);
      assert.deepEqual(weights.get(name)!.data, tensors.get(janusVqName(name))!.data, name);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("readJanusVq() refuses a directory that is no Janus VQ-16 in one line", async (t) => {
  const cases: [string, Parameters<typeof syntheticJanus>[0], RegExp][] = [
    [
      "a decoder tensor missing",
      { edit: (m) => m.delete("model.vqmodel.decoder.up.0.attn.1.proj_out.bias") },
      /model\.safetensors: no tensor model\.vqmodel\.decoder\.up\.0\.attn\.1\.proj_out\.bias \(expected \[128\]\).*download/,
    ],
    [
      "a decoder tensor of a wrong shape",
      {
        edit: (m) =>
          m.set("model.vqmodel.decoder.mid.block_2.norm1.weight", {
            shape: [64],
            data: new Float32Array(64),
          }),
      },
      /model\.safetensors: tensor model\.vqmodel\.decoder\.mid\.block_2\.norm1\.weight has shape \[64\], expected \[128\]/,
    ],
    [
      "×8 upsampling (4 levels)",
      { config: { ...SYNTHETIC, chMult: [1, 2, 2, 4] } },
      /has 4 levels, upsampling ×8; Janus's VQ-16 has 5 \(×16\): this is not a Janus VQ-16 model/,
    ],
    [
      "channels that 32 groups do not divide",
      { config: { ...SYNTHETIC, ch: 16, zChannels: 16, groups: 16 } },
      /up\.3\.block\.0\.conv2\.weight gives 16 channels, not a multiple of the 32 groups/,
    ],
    [
      "an extra decoder tensor",
      {
        edit: (m) =>
          m.set("model.vqmodel.decoder.up.1.attn.0.q.bias", {
            shape: [128],
            data: new Float32Array(128),
          }),
      },
      /tensor model\.vqmodel\.decoder\.up\.1\.attn\.0\.q\.bias is no part of the VQ-16 decoder/,
    ],
    [
      "vq_config disagreeing with the codebook",
      { vq: { num_embeddings: 16384 } },
      /config\.json: vq_config\.num_embeddings is 16384, but the weights hold 64 \(model\.vqmodel\.quantize\.embedding\.weight\); the files are of two models/,
    ],
    [
      "vq_config's channels (base_channels left at transformers' 128) disagreeing",
      { vq: { channel_multiplier: [1, 1, 2, 2, 4] } },
      /vq_config\.base_channels × channel_multiplier is \[128,\[1,1,2,2,4\]\], but the weights hold \[32,32,64,64,128\]/,
    ],
    [
      "num_image_tokens not the grid's",
      { vision: { num_image_tokens: 576 } },
      /vision_config\.num_image_tokens is 576, but image_size \/ patch_size gives a 4×4 grid/,
    ],
  ];
  for (const [what, options, pattern] of cases) {
    await t.step(what, async () => {
      const { dir } = await syntheticJanus(options);
      try {
        await assert.rejects(readDir(dir), oneLine(pattern));
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    });
  }
  await t.step("a postprocess other than mean = std = 0.5", async () => {
    const { dir } = await syntheticJanus();
    try {
      const processor = { image_mean: [0.48, 0.46, 0.41], image_std: [0.5, 0.5, 0.5] };
      await Deno.writeTextFile(join(dir, "preprocessor_config.json"), JSON.stringify(processor));
      await assert.rejects(readDir(dir), oneLine(/image_mean is \[0\.48,0\.46,0\.41\]/));
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
  await t.step("openJanusWebgpuDecoder() of another layout", async () => {
    const { dir } = await syntheticJanus();
    try {
      await Deno.writeTextFile(join(dir, "config.json"), '{"model_type": "multi_modality"}');
      await assert.rejects(
        openJanusWebgpuDecoder(dir),
        oneLine(/model_type is "multi_modality", not "janus".*Python backend/),
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
});

/** The tiny models' config (testing/python/tiny_models/janus.py): VQ base 32, codebook 256. */
const TINY: VqConfig = { ...SYNTHETIC, codebookSize: 256, chMult: [1, 1, 1, 1, 1] };

Deno.test({
  name: "readJanusVq() derives the tiny Janus models' VQ config",
  ...PYTHON_TESTS,
  async fn() {
    const cases: ["test" | "mult" | "pass", VqConfig, number][] = [
      ["test", TINY, 4],
      ["mult", { ...TINY, chMult: [1, 1, 2, 2, 4] }, 4],
      ["pass", TINY, 24],
    ];
    for (const [preset, config, side] of cases) {
      const vq = await readDir(await tinyJanus(preset));
      assert.deepEqual(vq.config, config, preset);
      assert.equal(vq.side, side, preset);
    }
  },
});

Deno.test({
  name: "readJanusVq() refuses a corrupted tiny Janus directory in one line",
  ...PYTHON_TESTS,
  async fn() {
    const dir = await tinyJanus("test");
    const path = join(dir, "model.safetensors");
    const original = await Deno.readFile(path);
    const { tensors } = await readSafetensors(path);
    try {
      const removed = new Map(tensors);
      removed.delete("model.vqmodel.decoder.up.2.block.1.conv1.weight");
      await Deno.writeFile(path, encodeSafetensors(removed));
      await assert.rejects(
        readDir(dir),
        oneLine(
          /model\.safetensors: no tensor model\.vqmodel\.decoder\.up\.2\.block\.1\.conv1\.weight \(expected \[32,32,3,3\]\), which Janus's VQ decoder needs; download/,
        ),
      );
      const reshaped = new Map(tensors);
      reshaped.set("model.vqmodel.post_quant_conv.weight", {
        shape: [32, 8, 1, 1, 1],
        data: new Float32Array(256),
      });
      await Deno.writeFile(path, encodeSafetensors(reshaped));
      await assert.rejects(
        readDir(dir),
        oneLine(/post_quant_conv\.weight has shape \[32,8,1,1,1\], not 4-D/),
      );
    } finally {
      await Deno.writeFile(path, original);
    }
  },
});

/** transformers' decode_image_tokens of `tokens` [B, side²], postprocessed: RGB bytes. */
async function transformersPixels(dir: string, tokens: Int32Array, b: number) {
  const path = await Deno.makeTempFile({ prefix: "zipar-janus-tokens-", suffix: ".json" });
  try {
    const rows = Array.from({ length: b }, (_, i) => {
      const n = tokens.length / b;
      return [...tokens.subarray(i * n, (i + 1) * n)];
    });
    await Deno.writeTextFile(path, JSON.stringify(rows));
    await runPython(PYTHON!, "peers.janus", [dir, "--decode", path, `${path}.raw`]);
    return await Deno.readFile(`${path}.raw`);
  } finally {
    await Deno.remove(path);
    await Deno.remove(`${path}.raw`).catch(() => {});
  }
}

Deno.test({
  name: "openJanusWebgpuDecoder() decodes like transformers' decode_image_tokens within ±1",
  ...needs("Janus VQ: WebGPU vs transformers", ["python", "webgpu"]),
  sanitizeResources: false, // the shared WebGPU device stays open
  sanitizeOps: false,
  async fn(t) {
    // A batch of 2 at 4×4 with Janus-Pro's channel multipliers (the `test` model's decoder is
    // the same with every multiplier 1); one image at Janus-Pro's 24×24 (384 px on the software
    // adapter is the slow part of the suite's Janus checks).
    const presets: ["mult" | "pass", number, number][] = [
      ["mult", 4, 2],
      ["pass", 24, 1],
    ];
    for (const [preset, side, b] of presets) {
      await t.step(`${preset}: ${b} image(s) of ${side}×${side} tokens`, async () => {
        const dir = await tinyJanus(preset);
        const n = side * side;
        const tokens = Int32Array.from({ length: b * n }, (_, i) => (i * 37 + 11) % 256);
        const want = await transformersPixels(dir, tokens, b);
        const decoder = await openJanusWebgpuDecoder(dir);
        let got: Uint8Array;
        try {
          assert.equal(decoder.scale, 16);
          got = await decoder.decode(tokens, [b, side, side]);
        } finally {
          await decoder.close();
        }
        assert.equal(got.length, b * n * 256 * 3); // [B, 16·side, 16·side, 3]
        assert.equal(want.length, got.length);
        // Both truncate (x + 1)/2 · 255: float32 sums in another order may cross a level
        // boundary now and then, never by more than one level.
        let max = 0, min = 0, differ = 0;
        for (let i = 0; i < got.length; i++) {
          const d = got[i] - want[i];
          max = Math.max(max, d);
          min = Math.min(min, d);
          if (d !== 0) differ++;
        }
        console.log(`  ${preset}: Δ in [${min}, ${max}], ${differ} of ${got.length} values differ`);
        assert(min >= -1 && max <= 1, `${preset}: pixels differ by ${min}..${max}`);
        assert(differ <= got.length / 100, `${preset}: ${differ} values differ, more than 1 %`);
        assert(new Set(want).size > 64, `${preset}: the image is nearly flat`);
      });
    }
  },
});

Deno.test({
  name: "janus_vq tests remove their tiny directories",
  ...PYTHON_TESTS,
  fn: () => removeTinyJanus(),
});
