/**
 * LlamaGen GPT model directories: `config.json` (the shared zipar format) + `model.safetensors`
 * with LlamaGen state-dict key names (shared/LLAMAGEN.md). Every key and shape is checked
 * against the config before any weight is decoded; errors are one line naming the key.
 *
 * @module
 */

import { readModelFiles, readModelWeights } from "./model_dir.ts";
import { decodeExpectedTensors, type Tensor } from "./safetensors.ts";

/** A validated LlamaGen GPT config. */
export interface LlamagenConfig {
  /** Always `zipar-llamagen`. */
  format: "zipar-llamagen";
  /** Always 1. */
  formatVersion: 1;
  /** Always `llamagen`. */
  family: "llamagen";
  /** Preset name, e.g. `GPT-B`; null (or any label) for custom sizes. */
  preset: string | null;
  /** Model width; a multiple of 4·heads. */
  dim: number;
  /** Transformer blocks. */
  layers: number;
  /** Attention heads; head_dim = dim / heads. */
  heads: number;
  /** SwiGLU hidden width; a multiple of 4. */
  hidden: number;
  /** Image-token vocabulary size. */
  vocab: number;
  /** Classes; class id numClasses is the null class (CFG). */
  numClasses: number;
  /** Conditioning slots (1 for class-conditional models). */
  prefix: number;
  /** Token grid [H, W]. */
  grid: [number, number];
  /** RMSNorm epsilon (1e-5). */
  normEps: number;
  /** RoPE base (10000). */
  ropeBase: number;
  /** Weight dtype in the file: `float32`, `float16` or `bfloat16`. */
  dtype: "float32" | "float16" | "bfloat16";
}

/** Named presets: [layers, heads, dim]. */
export const LLAMAGEN_PRESETS: Record<string, [number, number, number]> = {
  "GPT-B": [12, 12, 768],
  "GPT-L": [24, 16, 1024],
  "GPT-XL": [36, 20, 1280],
  "GPT-XXL": [48, 24, 1536],
  "GPT-3B": [24, 32, 3200],
};

/** LlamaGen's SwiGLU width: ⌊2·4·dim/3⌋ rounded up to a multiple of 256. */
export function llamagenHidden(dim: number): number {
  return Math.ceil(Math.floor((2 * 4 * dim) / 3) / 256) * 256;
}

/**
 * Validate a parsed config.json; throws a one-line TypeError/RangeError naming the key.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseLlamagenConfig } from "./llamagen_config.ts";
 * const c = parseLlamagenConfig({ format: "zipar-llamagen", formatVersion: 1, family: "llamagen",
 *   preset: "tiny", dim: 64, layers: 2, heads: 4, hidden: 256, vocab: 256, numClasses: 10,
 *   prefix: 1, grid: [8, 8], normEps: 1e-5, ropeBase: 10000, dtype: "float32" });
 * assert(c.dim / c.heads === 16);
 * ```
 */
export function parseLlamagenConfig(json: unknown, source = "config.json"): LlamagenConfig {
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw new TypeError(`${source}: expected a JSON object`);
  }
  const c = json as Record<string, unknown>;
  const str = (key: string, allowed?: string[]) => {
    const v = c[key];
    if (typeof v !== "string" || (allowed && !allowed.includes(v))) {
      throw new TypeError(
        `${source}: "${key}" must be ${
          allowed ? allowed.map((a) => `"${a}"`).join(" or ") : "a string"
        }, got ${JSON.stringify(v)}`,
      );
    }
    return v;
  };
  const int = (key: string, min: number, max = 1 << 24) => {
    const v = c[key];
    if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
      throw new RangeError(
        `${source}: "${key}" must be an integer in ${min}..${max}, got ${JSON.stringify(v)}`,
      );
    }
    return v;
  };
  const pos = (key: string) => {
    const v = c[key];
    if (typeof v !== "number" || !(v > 0) || !Number.isFinite(v)) {
      throw new RangeError(
        `${source}: "${key}" must be a positive number, got ${JSON.stringify(v)}`,
      );
    }
    return v;
  };
  str("format", ["zipar-llamagen"]);
  if (c.formatVersion !== 1) {
    throw new RangeError(
      `${source}: "formatVersion" must be 1, got ${JSON.stringify(c.formatVersion)}`,
    );
  }
  str("family", ["llamagen"]);
  const grid = c.grid;
  if (
    !Array.isArray(grid) || grid.length !== 2 ||
    !grid.every((g) => Number.isInteger(g) && g >= 1 && g <= 4096)
  ) {
    throw new RangeError(
      `${source}: "grid" must be [H, W] with integers in 1..4096, got ${JSON.stringify(grid)}`,
    );
  }
  const config: LlamagenConfig = {
    format: "zipar-llamagen",
    formatVersion: 1,
    family: "llamagen",
    preset: c.preset === null ? null : str("preset"),
    dim: int("dim", 4),
    layers: int("layers", 1, 1024),
    heads: int("heads", 1, 1024),
    hidden: int("hidden", 4),
    vocab: int("vocab", 1),
    numClasses: int("numClasses", 1),
    prefix: int("prefix", 1, 1 << 16),
    grid: [grid[0], grid[1]],
    normEps: pos("normEps"),
    ropeBase: pos("ropeBase"),
    dtype: str("dtype", ["float32", "float16", "bfloat16"]) as LlamagenConfig["dtype"],
  };
  if (config.dim % (4 * config.heads) !== 0) {
    throw new RangeError(
      `${source}: "dim" ${config.dim} must be a multiple of 4·heads (${4 * config.heads})`,
    );
  }
  if (config.hidden % 4 !== 0) {
    throw new RangeError(`${source}: "hidden" ${config.hidden} must be a multiple of 4`);
  }
  return config;
}

/**
 * Every tensor a LlamaGen GPT of this config has, with its expected shape, in state-dict order.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { llamagenShapes } from "./llamagen_config.ts";
 * const s = llamagenShapes({ dim: 8, layers: 1, hidden: 32, vocab: 16, numClasses: 3 });
 * assert(s.get("layers.0.attention.wqkv.weight")![0] === 24);
 * ```
 */
export function llamagenShapes(
  config: Pick<LlamagenConfig, "dim" | "layers" | "hidden" | "vocab" | "numClasses">,
): Map<string, number[]> {
  const { dim, layers, hidden, vocab, numClasses } = config;
  const shapes = new Map<string, number[]>();
  shapes.set("cls_embedding.embedding_table.weight", [numClasses + 1, dim]);
  shapes.set("tok_embeddings.weight", [vocab, dim]);
  for (let l = 0; l < layers; l++) {
    const p = `layers.${l}.`;
    shapes.set(p + "attention.wqkv.weight", [3 * dim, dim]);
    shapes.set(p + "attention.wo.weight", [dim, dim]);
    shapes.set(p + "feed_forward.w1.weight", [hidden, dim]);
    shapes.set(p + "feed_forward.w3.weight", [hidden, dim]);
    shapes.set(p + "feed_forward.w2.weight", [dim, hidden]);
    shapes.set(p + "attention_norm.weight", [dim]);
    shapes.set(p + "ffn_norm.weight", [dim]);
  }
  shapes.set("norm.weight", [dim]);
  shapes.set("output.weight", [vocab, dim]);
  return shapes;
}

/** Weights of a LlamaGen GPT by state-dict key, float32. */
export type LlamagenWeights = Map<string, Tensor>;

/**
 * Check that a safetensors file of `bytes` holds exactly the tensors `config` needs, then decode
 * them. Extra keys (e.g. `freqs_cis`) are ignored. Throws a one-line error naming the key.
 *
 * @example
 * ```ts ignore
 * const weights = decodeLlamagenWeights(bytes, config, "model.safetensors");
 * ```
 */
export function decodeLlamagenWeights(
  bytes: Uint8Array,
  config: LlamagenConfig,
  source = "model.safetensors",
): LlamagenWeights {
  return decodeExpectedTensors(bytes, llamagenShapes(config), source, "config.json");
}

/**
 * Load a model directory: `config.json` + `model.safetensors`.
 *
 * @example
 * ```ts ignore
 * import { loadLlamagen } from "./llamagen_config.ts";
 * const { config, weights } = await loadLlamagen("models/gpt-b");
 * ```
 */
export async function loadLlamagen(
  dir: string,
): Promise<{ config: LlamagenConfig; weights: LlamagenWeights }> {
  const { configPath, json, weightsPath } = await readModelFiles(
    dir,
    "config.json",
    "model.safetensors",
  );
  const config = parseLlamagenConfig(json, configPath);
  const weights = await readModelWeights(weightsPath, llamagenShapes(config), "config.json");
  return { config, weights };
}
