import assert from "node:assert/strict";
import { decodeVqReference } from "../vq_reference.ts";
import type { VqConfig, VqWeights } from "../vq_config.ts";
import { openWebgpuVqDecoder } from "./vq_decoder.ts";
import { checkVqTokens } from "../vq_config.ts";
import { randomVqWeights, tinyVqConfig, writeRandomVq } from "./vq_random_weights.ts";
import { convChunkWidth } from "./vq_weights.ts";
import { needs } from "../../testing/runtimes.ts";

const gpuTest = (name: string, fn: () => Promise<void>) =>
  Deno.test({
    name,
    ...needs("WebGPU backend tests", ["webgpu"]),
    sanitizeResources: false,
    sanitizeOps: false,
    fn: async () => {
      await fn();
    },
  });

const oneLine = (pattern: RegExp) => (e: Error) => {
  assert.match(e.message, pattern);
  assert(!e.message.includes("\n"), e.message);
  return true;
};

/** Mean and max |a − b| of two byte arrays. */
function pixelDiff(a: Uint8Array, b: Uint8Array): { mean: number; max: number } {
  assert.equal(a.length, b.length);
  let sum = 0, max = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    sum += d;
    max = Math.max(max, d);
  }
  return { mean: sum / a.length, max };
}

function grid(config: VqConfig, length: number, seed: number): Int32Array {
  return Int32Array.from({ length }, (_, i) => (i * 37 + seed * 11 + 5) % config.codebookSize);
}

async function checkParity(
  config: VqConfig,
  weights: VqWeights,
  shape: [number, number, number],
  options: { maxBindingBytes?: number } = {},
): Promise<void> {
  const tokens = grid(config, shape[0] * shape[1] * shape[2], 1);
  const want = decodeVqReference(config, weights, tokens, shape);
  const decoder = await openWebgpuVqDecoder({ config, weights }, options);
  try {
    const got = await decoder.decode(tokens, shape);
    const s = decoder.scale;
    assert.equal(got.length, shape[0] * shape[1] * s * shape[2] * s * 3);
    const { mean, max } = pixelDiff(got, want);
    assert(mean < 1 && max < 4, `mean ${mean}, max ${max}`);
    assert(new Set(want).size > 20, "pixels should spread over the range");
  } finally {
    await decoder.close();
  }
}

gpuTest("decode() matches the float64 reference on a tiny decoder, 2 images of 3×5", async () => {
  const config = tinyVqConfig();
  await checkParity(config, randomVqWeights(config, 3), [2, 3, 5]);
});

gpuTest("decode() matches the reference with conv weights split across bindings", async () => {
  const config = tinyVqConfig({
    ch: 8,
    chMult: [1, 1, 2],
    zChannels: 64,
    numResBlocks: 0,
    groups: 4,
  });
  assert.equal(convChunkWidth(16, 64, 3, 20000), 8); // conv_in: 2 chunks of 8 channels
  await checkParity(config, randomVqWeights(config, 4), [1, 2, 3], { maxBindingBytes: 20000 });
});

gpuTest("decode() reads a VQ directory and decodes grids of different shapes", async () => {
  const dir = await Deno.makeTempDir({ prefix: "zipar-vq-" });
  const config = tinyVqConfig({ chMult: [2], numResBlocks: 0, groups: 32, ch: 16 });
  const weights = await writeRandomVq(dir, config, 6);
  const decoder = await openWebgpuVqDecoder({ dir });
  try {
    assert.equal(decoder.scale, 1);
    for (const shape of [[1, 4, 4], [3, 2, 7], [1, 4, 4]] as [number, number, number][]) {
      const tokens = grid(config, shape[0] * shape[1] * shape[2], shape[2]);
      const { mean, max } = pixelDiff(
        await decoder.decode(tokens, shape),
        decodeVqReference(config, weights, tokens, shape),
      );
      assert(mean < 1 && max < 4, `[${shape}]: mean ${mean}, max ${max}`);
    }
  } finally {
    await decoder.close();
    await Deno.remove(dir, { recursive: true });
  }
});

gpuTest("decode() rejects bad tokens and grids that do not fit, in one line", async () => {
  const config = tinyVqConfig();
  const decoder = await openWebgpuVqDecoder(
    { config, weights: randomVqWeights(config) },
    { maxBindingBytes: 16384 },
  );
  try {
    const bad = new Int32Array(6);
    bad[4] = 64;
    await assert.rejects(
      () => decoder.decode(bad, [1, 2, 3]),
      oneLine(/Token 64 at image 0, \(1, 1\) is outside the codebook \(0\.\.63\)/),
    );
    await assert.rejects(
      () => decoder.decode(new Int32Array(2048), [2, 32, 32]),
      oneLine(/A 32×32 grid decodes to 64×64 .* more than one storage binding \(16384 bytes\)/),
    );
  } finally {
    await decoder.close();
  }
});

Deno.test("checkVqTokens() rejects out-of-codebook tokens and mismatched shapes", () => {
  const config = tinyVqConfig();
  assert.throws(() => checkVqTokens(config, [0, -1], [1, 1, 2]), oneLine(/Token -1 at image 0/));
  assert.throws(() => checkVqTokens(config, [0, 1.5], [1, 1, 2]), oneLine(/Token 1\.5/));
  assert.throws(
    () => checkVqTokens(config, [0, 1, 2], [1, 2, 2]),
    oneLine(/Grid shape \[1,2,2\] needs 4 tokens, got 3/),
  );
  assert.throws(() => checkVqTokens(config, [], [0, 2, 2]), oneLine(/Grid shape must be/));
  checkVqTokens(config, [0, 63], [2, 1, 1]);
});

Deno.test("openWebgpuVqDecoder() names a missing key before touching the GPU", async () => {
  const config = tinyVqConfig();
  const weights = randomVqWeights(config);
  weights.delete("decoder.norm_out.bias");
  await assert.rejects(
    () => openWebgpuVqDecoder({ config, weights }),
    oneLine(/missing tensor decoder\.norm_out\.bias \(expected shape \[16\]\)/),
  );
});
