/**
 * LlamaGen GPT model directories: `config.json` (the shared zipar format) + `model.safetensors`
 * with LlamaGen state-dict key names (docs/llamagen.md). Every key and shape is checked
 * against the config before any weight is decoded; errors are one line naming the key.
 *
 * @module
 */

import { readModelFiles, readModelWeights } from "./model_dir.ts";
import { decodeExpectedTensors, type Tensor } from "./safetensors.ts";
import { CONTRACT } from "../core/contract.ts";

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
  /**
   * Key/value heads (LlamaGen's `n_kv_head`), dividing `heads`: query head h reads K/V head
   * ⌊h / (heads / kvHeads)⌋. @default heads
   */
  kvHeads?: number;
  /** SwiGLU hidden width; a multiple of 4. */
  hidden: number;
  /** Image-token vocabulary size. */
  vocab: number;
  /** Classes 0..numClasses−1. */
  numClasses: number;
  /**
   * Whether the class table has the null class `numClasses` (CFG's unconditional row). A model
   * trained with class dropout 0 has none, and cannot guide. @default true
   */
  nullClass?: boolean;
  /** Conditioning slots: always 1 (the class token). */
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
export const LLAMAGEN_PRESETS: Readonly<Record<string, readonly [number, number, number]>> =
  CONTRACT.llamagenPresets;

/**
 * The caps of a valid LlamaGen model directory (core/contract.json's `llamagenLimits`, which the
 * Python worker reads too; fixtures/model_dirs/cases.json's shared cases exercise both): grid
 * side, layers, heads, dim, hidden, vocab, classes, and the KV cache of one sequence at float32
 * (layers × 2 × slots × kvHeads·headDim × 4 bytes). Checked before anything is allocated.
 */
export const LLAMAGEN_LIMITS = CONTRACT.llamagenLimits;

/** LlamaGen's SwiGLU width: ⌊2·4·dim/3⌋ rounded up to a multiple of 256. */
export function llamagenHidden(dim: number): number {
  return Math.ceil(Math.floor((2 * 4 * dim) / 3) / 256) * 256;
}

/**
 * Validate a parsed config.json; throws a one-line TypeError/RangeError naming the key. The
 * rules and their words are the Python worker's too (worker/families/llamagen/config.py).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseLlamagenConfig } from "./llamagen_config.ts";
 * const c = parseLlamagenConfig({ format: "zipar-llamagen", formatVersion: 1, family: "llamagen",
 *   preset: "tiny", dim: 64, layers: 2, heads: 4, hidden: 256, vocab: 256, numClasses: 10,
 *   prefix: 1, grid: [8, 8], normEps: 1e-5, ropeBase: 10000, dtype: "float32" });
 * assert(c.dim / c.heads === 16 && c.kvHeads === 4 && c.nullClass === true);
 * assert.throws(() => parseLlamagenConfig({ ...c, prefix: 2 }), /"prefix" must be 1/);
 * ```
 */
export function parseLlamagenConfig(json: unknown, source = "config.json"): LlamagenConfig {
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw new TypeError(`${source}: expected a JSON object`);
  }
  const c = json as Record<string, unknown>;
  const got = (key: string) => JSON.stringify(c[key]) ?? "nothing";
  const str = (key: string, allowed?: string[]) => {
    const v = c[key];
    if (typeof v !== "string" || (allowed && !allowed.includes(v))) {
      throw new TypeError(
        `${source}: "${key}" must be ${
          allowed ? allowed.map((a) => `"${a}"`).join(" or ") : "a string"
        }, got ${got(key)}`,
      );
    }
    return v;
  };
  const int = (key: string, min: number, max: number) => {
    const v = c[key];
    if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
      throw new RangeError(
        `${source}: "${key}" must be an integer in ${min}..${max}, got ${got(key)}`,
      );
    }
    return v;
  };
  const pos = (key: string) => {
    const v = c[key];
    if (typeof v !== "number" || !(v > 0) || !Number.isFinite(v)) {
      throw new RangeError(`${source}: "${key}" must be a positive number, got ${got(key)}`);
    }
    return v;
  };
  const L = LLAMAGEN_LIMITS;
  str("format", ["zipar-llamagen"]);
  if (c.formatVersion !== 1) {
    throw new RangeError(`${source}: "formatVersion" must be 1, got ${got("formatVersion")}`);
  }
  str("family", ["llamagen"]);
  const grid = c.grid;
  if (
    !Array.isArray(grid) || grid.length !== 2 ||
    !grid.every((g) => Number.isInteger(g) && g >= 1 && g <= L.gridSide)
  ) {
    throw new RangeError(
      `${source}: "grid" must be [H, W] with integers in 1..${L.gridSide}, got ${got("grid")}`,
    );
  }
  if (c.prefix !== 1) {
    throw new RangeError(
      `${source}: "prefix" must be 1 (LlamaGen conditions on one class token), got ${
        got("prefix")
      }`,
    );
  }
  const heads = int("heads", 1, L.heads);
  const kvHeads = c.kvHeads === undefined ? heads : int("kvHeads", 1, heads);
  if (c.nullClass !== undefined && typeof c.nullClass !== "boolean") {
    throw new TypeError(`${source}: "nullClass" must be true or false, got ${got("nullClass")}`);
  }
  const config: LlamagenConfig = {
    format: "zipar-llamagen",
    formatVersion: 1,
    family: "llamagen",
    preset: c.preset === null || c.preset === undefined ? null : str("preset"),
    dim: int("dim", 4, L.dim),
    layers: int("layers", 1, L.layers),
    heads,
    kvHeads,
    hidden: int("hidden", 4, L.hidden),
    vocab: int("vocab", 1, L.vocab),
    numClasses: int("numClasses", 1, L.numClasses),
    nullClass: c.nullClass !== false,
    prefix: 1,
    grid: [grid[0], grid[1]],
    normEps: pos("normEps"),
    ropeBase: pos("ropeBase"),
    dtype: str("dtype", ["float32", "float16", "bfloat16"]) as LlamagenConfig["dtype"],
  };
  if (config.dim % (4 * heads) !== 0) {
    throw new RangeError(
      `${source}: "dim" ${config.dim} must be a multiple of 4·heads (${4 * heads})`,
    );
  }
  if (heads % kvHeads !== 0) {
    throw new RangeError(`${source}: "heads" ${heads} must be a multiple of "kvHeads" ${kvHeads}`);
  }
  if (config.hidden % 4 !== 0) {
    throw new RangeError(`${source}: "hidden" ${config.hidden} must be a multiple of 4`);
  }
  const kvBytes = kvCacheBytes(config);
  if (kvBytes > L.kvCacheBytes) {
    throw new RangeError(
      `${source}: the KV cache of one sequence would take ${kvBytes} bytes (layers × 2 × slots × ` +
        `kvHeads·headDim × 4), more than the ${L.kvCacheBytes} zipar allows`,
    );
  }
  return config;
}

/**
 * Width of one slot's K (or V) over all K/V heads: kvHeads · headDim (= dim without grouping).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { kvDimOf } from "./llamagen_config.ts";
 * assert.equal(kvDimOf({ dim: 64, heads: 4, kvHeads: 2 }), 32);
 * assert.equal(kvDimOf({ dim: 64, heads: 4 }), 64);
 * ```
 */
export function kvDimOf(config: Pick<LlamagenConfig, "dim" | "heads" | "kvHeads">): number {
  return ((config.kvHeads ?? config.heads) * config.dim) / config.heads;
}

/** The KV cache of one sequence at float32, bytes: layers × 2 × slots × kvHeads·headDim × 4. */
export function kvCacheBytes(
  config: Pick<LlamagenConfig, "layers" | "dim" | "heads" | "kvHeads" | "prefix" | "grid">,
): number {
  const slots = config.prefix + config.grid[0] * config.grid[1];
  return config.layers * 2 * slots * kvDimOf(config) * 4;
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
 * // Grouped KV heads: 2 query heads of 4 share one K/V head; no null class row.
 * const g = llamagenShapes({ dim: 8, layers: 1, hidden: 32, vocab: 16, numClasses: 3, heads: 2,
 *   kvHeads: 1, nullClass: false });
 * assert.deepEqual(g.get("layers.0.attention.wqkv.weight"), [16, 8]);
 * assert.deepEqual(g.get("cls_embedding.embedding_table.weight"), [3, 8]);
 * ```
 */
export function llamagenShapes(
  config:
    & Pick<LlamagenConfig, "dim" | "layers" | "hidden" | "vocab" | "numClasses">
    & Partial<Pick<LlamagenConfig, "heads" | "kvHeads" | "nullClass">>,
): Map<string, number[]> {
  const { dim, layers, hidden, vocab, numClasses } = config;
  const heads = config.heads ?? 1, kvHeads = config.kvHeads ?? heads;
  const kvDim = (kvHeads * dim) / heads; // LlamaGen's n_kv_head · head_dim
  const shapes = new Map<string, number[]>();
  const classRows = numClasses + (config.nullClass === false ? 0 : 1);
  shapes.set("cls_embedding.embedding_table.weight", [classRows, dim]);
  shapes.set("tok_embeddings.weight", [vocab, dim]);
  for (let l = 0; l < layers; l++) {
    const p = `layers.${l}.`;
    // wqkv rows: q [dim], then k [kvDim], then v [kvDim]
    shapes.set(p + "attention.wqkv.weight", [dim + 2 * kvDim, dim]);
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
