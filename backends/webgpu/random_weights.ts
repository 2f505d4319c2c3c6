/**
 * Random LlamaGen-shaped weights for tests and benchmarks, written as a model directory
 * (config.json + model.safetensors) with the shared format.
 *
 * @module
 */

import { join } from "node:path";
import { type LlamagenConfig, llamagenShapes, type LlamagenWeights } from "../llamagen_config.ts";
import { writeSafetensors } from "../safetensors.ts";

/** A tiny config: 2 layers, dim 64, 4 heads, hidden 256, vocab 256, 8×8 grid, 10 classes. */
export function tinyConfig(overrides: Partial<LlamagenConfig> = {}): LlamagenConfig {
  return {
    format: "zipar-llamagen",
    formatVersion: 1,
    family: "llamagen",
    preset: "tiny",
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
    ...overrides,
  };
}

/** The GPT-B config (16×16 grid). */
export function gptBConfig(): LlamagenConfig {
  return tinyConfig({
    preset: "GPT-B",
    dim: 768,
    layers: 12,
    heads: 12,
    hidden: 2048,
    vocab: 16384,
    numClasses: 1000,
    grid: [16, 16],
  });
}

/** mulberry32: a small seeded PRNG giving uniforms in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Random weights: uniform with unit-ish activations, so logits spread over a few units.
 * Norm weights are around 1.
 */
export function randomLlamagenWeights(config: LlamagenConfig, seed = 1): LlamagenWeights {
  const rand = mulberry32(seed);
  const weights: LlamagenWeights = new Map();
  for (const [name, shape] of llamagenShapes(config)) {
    const count = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(count);
    if (shape.length === 1) {
      for (let i = 0; i < count; i++) data[i] = 0.8 + 0.4 * rand();
    } else {
      const fanIn = name.includes("embedding") ? 1 : shape[1];
      const gain = name === "output.weight" ? 3 : 1;
      const scale = gain * Math.sqrt(3 / fanIn);
      for (let i = 0; i < count; i++) data[i] = (2 * rand() - 1) * scale;
    }
    weights.set(name, { shape, data });
  }
  return weights;
}

/** Write a model directory with random weights; returns the weights. */
export async function writeRandomModel(
  dir: string,
  config: LlamagenConfig,
  seed = 1,
): Promise<LlamagenWeights> {
  const weights = randomLlamagenWeights(config, seed);
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeTextFile(join(dir, "config.json"), JSON.stringify(config, null, 2) + "\n");
  await writeSafetensors(join(dir, "model.safetensors"), weights);
  return weights;
}
