/**
 * Random VQ-decoder weights for tests and benchmarks, and a tiny config, written as a VQ
 * directory (vq.json + vq.safetensors) in the shared format.
 *
 * @module
 */

import { join } from "node:path";
import { VQ16_CONFIG, type VqConfig, vqShapes, type VqWeights } from "../vq_config.ts";
import { writeSafetensors } from "../safetensors.ts";
import { mulberry32 } from "./random_weights.ts";

/** A tiny decoder: ch 16, chMult [1, 2] (×2 upsample), z 16, codebook 64 × 8, 8 groups. */
export function tinyVqConfig(overrides: Partial<VqConfig> = {}): VqConfig {
  return {
    ...VQ16_CONFIG,
    chMult: [1, 2],
    ch: 16,
    zChannels: 16,
    codebookSize: 64,
    numResBlocks: 1,
    groups: 8,
    ...overrides,
  };
}

/**
 * Random weights: convs uniform with unit variance gain (±√(3/fan_in)), biases small, norm
 * scales around 1, codebook uniform in ±1. Output pixels spread over the range.
 */
export function randomVqWeights(config: VqConfig, seed = 1): VqWeights {
  const rand = mulberry32(seed);
  const weights: VqWeights = new Map();
  for (const [name, shape] of vqShapes(config)) {
    const count = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(count);
    const isNorm = /norm[0-9_a-z]*\.weight$/.test(name) && shape.length === 1;
    for (let i = 0; i < count; i++) {
      const u = 2 * rand() - 1;
      if (isNorm) data[i] = 1 + 0.2 * u;
      else if (shape.length === 1) data[i] = 0.1 * u;
      else if (shape.length === 2) data[i] = u;
      else data[i] = u * Math.sqrt(3 / (shape[1] * shape[2] * shape[3]));
    }
    weights.set(name, { shape, data });
  }
  return weights;
}

/** Write a VQ directory with random weights; returns the weights. */
export async function writeRandomVq(dir: string, config: VqConfig, seed = 1): Promise<VqWeights> {
  const weights = randomVqWeights(config, seed);
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeTextFile(join(dir, "vq.json"), JSON.stringify(config, null, 2) + "\n");
  await writeSafetensors(join(dir, "vq.safetensors"), weights);
  return weights;
}
