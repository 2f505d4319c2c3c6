/**
 * VQ decoder directories: `vq.json` (the zipar VQ format) + `vq.safetensors` with LlamaGen
 * VQ-16 state-dict key names (docs/llamagen.md). The expected key set and shapes are derived
 * from the config and checked before any weight is decoded; errors are one line naming the key.
 *
 * @module
 */

import { readModelFiles, readModelWeights } from "./model_dir.ts";
import { decodeExpectedTensors, type Tensor } from "./safetensors.ts";

/** A validated VQ decoder config. */
export interface VqConfig {
  /** Always `zipar-vq`. */
  format: "zipar-vq";
  /** Always 1. */
  formatVersion: 1;
  /** Always `llamagen-vq16` (the architecture; any size of it). */
  kind: "llamagen-vq16";
  /** Codebook rows (image-token vocabulary), 16384 in the official model. */
  codebookSize: number;
  /** Codebook row width, 8. */
  codebookDim: number;
  /** Channels of post_quant_conv's output / conv_in's input, 256. */
  zChannels: number;
  /** Base channel count, 128. */
  ch: number;
  /** Channel multipliers, finest level first, [1, 1, 2, 2, 4]; the decoder walks them reversed. */
  chMult: number[];
  /** Res blocks per encoder level, 2; the decoder has numResBlocks + 1 per level. */
  numResBlocks: number;
  /** GroupNorm groups, 32; must divide every channel count. */
  groups: number;
  /** GroupNorm epsilon, 1e-6. */
  eps: number;
}

/** The official LlamaGen VQ-16 decoder (`vq_ds16_c2i.pt`). */
export const VQ16_CONFIG: Readonly<VqConfig> = Object.freeze({
  format: "zipar-vq",
  formatVersion: 1,
  kind: "llamagen-vq16",
  codebookSize: 16384, // image-token vocabulary
  codebookDim: 8, // codebook row width
  zChannels: 256, // post_quant_conv output
  ch: 128, // base channels
  chMult: [1, 1, 2, 2, 4], // finest → coarsest
  numResBlocks: 2, // decoder: 3 per level
  groups: 32, // GroupNorm groups
  eps: 1e-6, // GroupNorm epsilon
});

/** One decoder level, coarsest first. */
export interface VqLevel {
  /** Channels entering the level. */
  cin: number;
  /** Channels of every res block's output. */
  cout: number;
  /** Res blocks (numResBlocks + 1). */
  blocks: number;
  /** Whether an AttnBlock follows every res block (coarsest level only). */
  attn: boolean;
  /** Whether the level ends with nearest ×2 upsample + 3×3 conv (all but the finest). */
  upsample: boolean;
}

/** The decoder's levels, coarsest first: channels ch·chMult reversed. */
export function vqLevels(config: Pick<VqConfig, "ch" | "chMult" | "numResBlocks">): VqLevel[] {
  const n = config.chMult.length;
  let cin = config.ch * config.chMult[n - 1];
  return config.chMult.slice().reverse().map((m, i) => {
    const level = {
      cin,
      cout: config.ch * m,
      blocks: config.numResBlocks + 1,
      attn: i === 0,
      upsample: i !== n - 1,
    };
    cin = level.cout;
    return level;
  });
}

/** Pixels per token side: 2^(levels − 1), 16 for the official decoder. */
export function vqScale(config: Pick<VqConfig, "chMult">): number {
  return 2 ** (config.chMult.length - 1);
}

/**
 * Most tokens of one image a VQ decoder takes: the attention of its coarsest level is over all
 * H·W positions (quadratic), 64×64 = 1024×1024 pixels for VQ-16. The Python worker's decoder
 * (worker/families/llamagen/vq_config.py) has the same cap; WebGPU's device limits are lower.
 */
export const MAX_VQ_POSITIONS = 4096;

/** Largest activation of one image's decode, bytes at float32. */
export const MAX_VQ_ACTIVATION_BYTES = 2 ** 31;

/** The largest activation of one image's decode of an h × w grid, in floats. */
export function vqLargestActivation(
  config: Pick<VqConfig, "ch" | "chMult" | "numResBlocks" | "codebookDim" | "zChannels">,
  h: number,
  w: number,
): number {
  const levels = vqLevels(config);
  let hw = h * w;
  let largest = Math.max(config.codebookDim, config.zChannels, levels[0].cin) * hw;
  for (const level of levels) {
    largest = Math.max(largest, Math.max(level.cin, level.cout) * hw);
    if (level.upsample) hw *= 4;
    largest = Math.max(largest, level.cout * hw);
  }
  return largest;
}

/**
 * Throw a one-line RangeError when an h × w grid is more than a VQ decoder takes, before
 * anything is allocated: more than {@linkcode MAX_VQ_POSITIONS} tokens, or an activation over
 * {@linkcode MAX_VQ_ACTIVATION_BYTES}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkVqGridSize, VQ16_CONFIG } from "./vq_config.ts";
 * checkVqGridSize(VQ16_CONFIG, 24, 24);
 * assert.throws(() => checkVqGridSize(VQ16_CONFIG, 1024, 1024), /1048576 attention positions/);
 * ```
 */
export function checkVqGridSize(
  config: Pick<VqConfig, "ch" | "chMult" | "numResBlocks" | "codebookDim" | "zChannels">,
  h: number,
  w: number,
): void {
  if (h * w > MAX_VQ_POSITIONS) {
    throw new RangeError(
      `A ${h}×${w} grid has ${h * w} attention positions; the VQ decoder takes at most ` +
        `${MAX_VQ_POSITIONS} (64×64 tokens): decode a smaller grid`,
    );
  }
  const bytes = vqLargestActivation(config, h, w) * 4;
  if (bytes > MAX_VQ_ACTIVATION_BYTES) {
    throw new RangeError(
      `A ${h}×${w} grid needs a ${bytes}-byte activation per image, more than the ` +
        `${MAX_VQ_ACTIVATION_BYTES} the VQ decoder allows: decode a smaller grid`,
    );
  }
}

/**
 * Check a grid's shape and tokens against a decoder config: a one-line RangeError for a shape
 * that is not [B, H, W] of positive integers matching `tokens.length`, or a token outside the
 * codebook.
 */
export function checkVqTokens(
  config: VqConfig,
  tokens: ArrayLike<number>,
  shape: readonly number[],
): void {
  if (shape.length !== 3 || !shape.every((d) => Number.isInteger(d) && d >= 1)) {
    throw new RangeError(`Grid shape must be [B, H, W] of positive integers, got [${shape}]`);
  }
  const [b, h, w] = shape;
  if (tokens.length !== b * h * w) {
    throw new RangeError(`Grid shape [${shape}] needs ${b * h * w} tokens, got ${tokens.length}`);
  }
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i];
    if (!Number.isInteger(t) || t < 0 || t >= config.codebookSize) {
      const img = Math.floor(i / (h * w)), r = Math.floor((i % (h * w)) / w), c = i % w;
      throw new RangeError(
        `Token ${t} at image ${img}, (${r}, ${c}) is outside the codebook (0..${
          config.codebookSize - 1
        })`,
      );
    }
  }
}

/**
 * Validate a parsed vq.json; missing keys take the official VQ-16 values. Throws a one-line
 * TypeError/RangeError naming the key.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseVqConfig } from "./vq_config.ts";
 * const c = parseVqConfig({ format: "zipar-vq", formatVersion: 1, ch: 32, chMult: [1, 2],
 *   zChannels: 32, codebookSize: 64, groups: 8 });
 * assert(c.codebookDim === 8 && c.numResBlocks === 2);
 * ```
 */
export function parseVqConfig(json: unknown, source = "vq.json"): VqConfig {
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw new TypeError(`${source}: expected a JSON object`);
  }
  const c = { ...VQ16_CONFIG, ...(json as Record<string, unknown>) } as Record<string, unknown>;
  const literal = (key: string, value: unknown) => {
    if (c[key] !== value) {
      throw new TypeError(
        `${source}: "${key}" must be ${JSON.stringify(value)}, got ${JSON.stringify(c[key])}`,
      );
    }
  };
  const int = (key: string, min: number, max = 1 << 20) => {
    const v = c[key];
    if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
      throw new RangeError(
        `${source}: "${key}" must be an integer in ${min}..${max}, got ${JSON.stringify(v)}`,
      );
    }
    return v;
  };
  literal("format", "zipar-vq");
  if (c.formatVersion !== 1) {
    throw new RangeError(
      `${source}: "formatVersion" must be 1, got ${JSON.stringify(c.formatVersion)}`,
    );
  }
  literal("kind", "llamagen-vq16");
  const chMult = c.chMult;
  if (
    !Array.isArray(chMult) || chMult.length < 1 || chMult.length > 8 ||
    !chMult.every((m) => Number.isInteger(m) && m >= 1 && m <= 64)
  ) {
    throw new RangeError(
      `${source}: "chMult" must be 1..8 integers in 1..64, got ${JSON.stringify(chMult)}`,
    );
  }
  const eps = c.eps;
  if (typeof eps !== "number" || !(eps > 0) || !Number.isFinite(eps)) {
    throw new RangeError(`${source}: "eps" must be a positive number, got ${JSON.stringify(eps)}`);
  }
  const config: VqConfig = {
    format: "zipar-vq",
    formatVersion: 1,
    kind: "llamagen-vq16",
    codebookSize: int("codebookSize", 1, 1 << 24),
    codebookDim: int("codebookDim", 1, 4096),
    zChannels: int("zChannels", 1, 1 << 14),
    ch: int("ch", 1, 1 << 14),
    chMult: [...chMult],
    numResBlocks: int("numResBlocks", 0, 64),
    groups: int("groups", 1, 1 << 14),
    eps,
  };
  for (const m of config.chMult) {
    if ((config.ch * m) % config.groups !== 0) {
      throw new RangeError(
        `${source}: "groups" ${config.groups} must divide every channel count, not ch·${m} = ${
          config.ch * m
        }`,
      );
    }
  }
  return config;
}

/** Shapes of one GroupNorm named `p` over `c` channels. */
function norm(shapes: Map<string, number[]>, p: string, c: number): void {
  shapes.set(`${p}.weight`, [c]);
  shapes.set(`${p}.bias`, [c]);
}

/** Shapes of one conv named `p`: weight [cout, cin, k, k], bias [cout]. */
function conv(shapes: Map<string, number[]>, p: string, cin: number, cout: number, k: number) {
  shapes.set(`${p}.weight`, [cout, cin, k, k]);
  shapes.set(`${p}.bias`, [cout]);
}

/** Shapes of a ResnetBlock `p` from `cin` to `cout` channels. */
function resBlock(shapes: Map<string, number[]>, p: string, cin: number, cout: number): void {
  norm(shapes, `${p}.norm1`, cin);
  conv(shapes, `${p}.conv1`, cin, cout, 3);
  norm(shapes, `${p}.norm2`, cout);
  conv(shapes, `${p}.conv2`, cout, cout, 3);
  if (cin !== cout) conv(shapes, `${p}.nin_shortcut`, cin, cout, 1);
}

/** Shapes of an AttnBlock `p` over `c` channels. */
function attnBlock(shapes: Map<string, number[]>, p: string, c: number): void {
  norm(shapes, `${p}.norm`, c);
  for (const name of ["q", "k", "v", "proj_out"]) conv(shapes, `${p}.${name}`, c, c, 1);
}

/**
 * Every tensor the decoder of `config` needs, with its expected shape, in forward order.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { VQ16_CONFIG, vqShapes } from "./vq_config.ts";
 * const s = vqShapes(VQ16_CONFIG);
 * assert(s.get("decoder.conv_in.weight")!.join() === "512,256,3,3");
 * ```
 */
export function vqShapes(config: Omit<VqConfig, "format" | "formatVersion" | "kind">) {
  const shapes = new Map<string, number[]>();
  const levels = vqLevels(config);
  const top = levels[0].cin;
  shapes.set("quantize.embedding.weight", [config.codebookSize, config.codebookDim]);
  conv(shapes, "post_quant_conv", config.codebookDim, config.zChannels, 1);
  conv(shapes, "decoder.conv_in", config.zChannels, top, 3);
  resBlock(shapes, "decoder.mid.0", top, top);
  attnBlock(shapes, "decoder.mid.1", top);
  resBlock(shapes, "decoder.mid.2", top, top);
  levels.forEach((level, i) => {
    const p = `decoder.conv_blocks.${i}`;
    for (let j = 0; j < level.blocks; j++) {
      resBlock(shapes, `${p}.res.${j}`, j === 0 ? level.cin : level.cout, level.cout);
      if (level.attn) attnBlock(shapes, `${p}.attn.${j}`, level.cout);
    }
    if (level.upsample) conv(shapes, `${p}.upsample.conv`, level.cout, level.cout, 3);
  });
  const last = levels[levels.length - 1].cout;
  norm(shapes, "decoder.norm_out", last);
  conv(shapes, "decoder.conv_out", last, 3, 3);
  return shapes;
}

/** Weights of a VQ decoder by state-dict key, float32. */
export type VqWeights = Map<string, Tensor>;

/**
 * Check that a safetensors file of `bytes` holds every tensor `config` needs with the right
 * shape, then decode them. Extra keys (the encoder, quant_conv) are ignored.
 *
 * @example
 * ```ts ignore
 * const weights = decodeVqWeights(bytes, config, "vq.safetensors");
 * ```
 */
export function decodeVqWeights(
  bytes: Uint8Array,
  config: VqConfig,
  source = "vq.safetensors",
): VqWeights {
  return decodeExpectedTensors(bytes, vqShapes(config), source, "vq.json");
}

/** Check weights already in memory against `config` (same errors as decodeVqWeights). */
export function checkVqWeights(weights: VqWeights, config: VqConfig, source = "weights"): void {
  for (const [name, shape] of vqShapes(config)) {
    const t = weights.get(name);
    if (!t) throw new RangeError(`${source}: missing tensor ${name} (expected shape [${shape}])`);
    checkShape(source, name, t.shape, shape);
    if (t.data.length !== shape.reduce((a, b) => a * b, 1)) {
      throw new RangeError(`${source}: tensor ${name} has ${t.data.length} values for [${shape}]`);
    }
  }
}

function checkShape(source: string, name: string, got: number[], shape: number[]): void {
  if (got.length !== shape.length || got.some((d, i) => d !== shape[i])) {
    throw new RangeError(
      `${source}: tensor ${name} has shape [${got}], expected [${shape}] from vq.json`,
    );
  }
}

/**
 * Load a VQ decoder directory: `vq.json` + `vq.safetensors`.
 *
 * @example
 * ```ts ignore
 * import { loadVq } from "./vq_config.ts";
 * const { config, weights } = await loadVq("models/vq16");
 * ```
 */
export async function loadVq(dir: string): Promise<{ config: VqConfig; weights: VqWeights }> {
  const { configPath, json, weightsPath } = await readModelFiles(
    dir,
    "vq.json",
    "vq.safetensors",
  );
  const config = parseVqConfig(json, configPath);
  return { config, weights: await readModelWeights(weightsPath, vqShapes(config), "vq.json") };
}
