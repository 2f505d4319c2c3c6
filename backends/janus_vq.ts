/**
 * Janus's image decoder (Janus-Pro) from a Hugging Face directory in transformers' layout
 * (config.json model_type "janus"), for the WebGPU VQ decoder. The VQ model is LlamaGen's VQ-16
 * architecture stored under `model.vqmodel.*` with transformers' module names; only its decoder
 * side (the codebook, post_quant_conv, decoder.*) is read, never the encoder.
 *
 * Every size comes from the tensors' shapes; config.json's `vq_config` is checked where it
 * states a value. GroupNorm is 32 groups, eps 1e-6: transformers' JanusVQVAE fixes them in its
 * modules, its config has no such fields. Names (our own table, read off both module trees):
 *
 *   model.vqmodel.quantize.embedding.weight  -> quantize.embedding.weight
 *   model.vqmodel.post_quant_conv.*          -> post_quant_conv.*
 *   model.vqmodel.decoder.mid.block_1/attn_1/block_2 -> decoder.mid.0/1/2
 *   model.vqmodel.decoder.up.{i}.block.{j}   -> decoder.conv_blocks.{i}.res.{j}
 *   model.vqmodel.decoder.up.{i}.attn.{j}    -> decoder.conv_blocks.{i}.attn.{j}
 *   model.vqmodel.decoder.up.{i}.upsample.*  -> decoder.conv_blocks.{i}.upsample.*
 *   (conv_in, norm_out, conv_out, and the blocks' norm1/conv1/norm2/conv2/nin_shortcut as is)
 *
 * Both lists are coarsest level first (`up.0` is the attention level), so indices carry over.
 *
 * @module
 */

import { join } from "node:path";
import { janusGridSide } from "./janus_config.ts";
import { readConfigObject } from "./model_dir.ts";
import { parseVqConfig, type VqConfig, vqShapes, type VqWeights } from "./vq_config.ts";
import { openWeightDir, SHARD_INDEX, SINGLE_FILE, type WeightDir } from "./weight_dir.ts";
import { openWebgpuVqDecoder, type VqDecoder, type VqDecoderOptions } from "./webgpu/vq_decoder.ts";

/** Where transformers' JanusForConditionalGeneration keeps the VQ model. */
export const JANUS_VQ_PREFIX = "model.vqmodel.";
/** Pixels per token side of Janus's VQ-16 (5 levels: ×16). */
export const JANUS_TOKEN_PX = 16;
const GROUPS = 32; // JanusVQVAE's GroupNorm(num_groups=32, eps=1e-6), fixed in its modules
const EPS = 1e-6;
const DECODER = `${JANUS_VQ_PREFIX}decoder.`;
// transformers' config defaults (JanusVQVAEConfig, JanusVisionConfig) for values a
// config.json leaves out, as transformers itself would read it.
const DEFAULT_BASE_CHANNELS = 128;
const DEFAULT_CHANNEL_MULTIPLIER = [1, 1, 2, 2, 4];

/** Janus's VQ decoder as openWebgpuVqDecoder takes it, plus the model's grid side. */
export interface JanusVq {
  /** The decoder's config (kind llamagen-vq16). */
  config: VqConfig;
  /** Decoder weights under LlamaGen's names, float32. */
  weights: VqWeights;
  /** Tokens per grid side, vision_config's image_size / patch_size (24 for Janus-Pro). */
  side: number;
}

const RENAMES: [RegExp, string][] = [
  [/^decoder\.conv_blocks\.(\d+)\.res\./, "decoder.up.$1.block."],
  [/^decoder\.conv_blocks\./, "decoder.up."],
  [/^decoder\.mid\.0\./, "decoder.mid.block_1."],
  [/^decoder\.mid\.1\./, "decoder.mid.attn_1."],
  [/^decoder\.mid\.2\./, "decoder.mid.block_2."],
];

/**
 * The transformers name of a LlamaGen VQ-16 decoder tensor (a key of vqShapes()).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { janusVqName } from "./janus_vq.ts";
 * assert.equal(
 *   janusVqName("decoder.conv_blocks.0.res.2.conv1.weight"),
 *   "model.vqmodel.decoder.up.0.block.2.conv1.weight",
 * );
 * assert.equal(janusVqName("decoder.mid.1.q.bias"), "model.vqmodel.decoder.mid.attn_1.q.bias");
 * ```
 */
export function janusVqName(name: string): string {
  for (const [pattern, replacement] of RENAMES) name = name.replace(pattern, replacement);
  return JANUS_VQ_PREFIX + name;
}

/** The weights' file to name in errors: the shard index, or model.safetensors. */
async function weightsFile(dir: string): Promise<string> {
  const index = join(dir, SHARD_INDEX);
  return await Deno.stat(index).then((s) => s.isFile, () => false) ? index : join(dir, SINGLE_FILE);
}

const gcd = (a: number, b: number): number => b === 0 ? a : gcd(b, a % b);

/** 1 + the largest index a name matching `pattern` (one group) has, else 0. */
function count(names: Iterable<string>, pattern: RegExp): number {
  let n = 0;
  for (const name of names) {
    const m = pattern.exec(name);
    if (m) n = Math.max(n, Number(m[1]) + 1);
  }
  return n;
}

/**
 * The VQ decoder's config from the shapes of `model.vqmodel.*` (names → shapes, as a
 * WeightDir's entries), checked against config.json's `vq_config` where it states a value.
 * Throws a one-line RangeError naming the file, the tensor or key, and the fix.
 *
 * @param shapes tensor name → { shape } of the whole directory
 * @param config the parsed config.json
 * @param file the weights' file for errors (model.safetensors or its index)
 * @param configPath config.json's path for errors
 */
export function janusVqConfig(
  shapes: ReadonlyMap<string, { shape: number[] }>,
  config: Record<string, unknown>,
  file: string,
  configPath: string,
): VqConfig {
  const refetch = "download the model's safetensors files again";
  const dims = (name: string, rank: number): number[] => {
    const shape = shapes.get(JANUS_VQ_PREFIX + name)?.shape;
    if (!shape) {
      throw new RangeError(
        `${file}: no tensor ${JANUS_VQ_PREFIX}${name}, which Janus's VQ decoder needs; ${refetch}`,
      );
    }
    if (shape.length !== rank) {
      throw new RangeError(
        `${file}: tensor ${JANUS_VQ_PREFIX}${name} has shape [${shape}], not ${rank}-D as the ` +
          `VQ-16 decoder's; ${refetch}`,
      );
    }
    return shape;
  };
  const [codebookSize, codebookDim] = dims("quantize.embedding.weight", 2);
  const zChannels = dims("post_quant_conv.weight", 4)[0];
  const names = [...shapes.keys()];
  const levels = count(names, /^model\.vqmodel\.decoder\.up\.(\d+)\./);
  const blocks = count(names, /^model\.vqmodel\.decoder\.up\.0\.block\.(\d+)\./);
  if (levels === 0 || blocks === 0) {
    throw new RangeError(
      `${file}: no tensor ${DECODER}up.0.block.0.*, which Janus's VQ decoder needs; ${refetch}`,
    );
  }
  if (2 ** (levels - 1) !== JANUS_TOKEN_PX) {
    throw new RangeError(
      `${file}: the VQ decoder (${DECODER}up.*) has ${levels} levels, upsampling ×${
        2 ** (levels - 1)
      }; Janus's VQ-16 has 5 (×${JANUS_TOKEN_PX}): this is not a Janus VQ-16 model`,
    );
  }
  // Output channels per level, coarsest first (up.0 → up.{levels-1}).
  const outs = Array.from(
    { length: levels },
    (_, i) => dims(`decoder.up.${i}.block.0.conv2.weight`, 4)[0],
  );
  for (const [i, c] of outs.entries()) {
    if (c % GROUPS !== 0) {
      throw new RangeError(
        `${file}: tensor ${DECODER}up.${i}.block.0.conv2.weight gives ${c} channels, not a ` +
          `multiple of the ${GROUPS} groups of Janus's GroupNorms: this is not a Janus VQ-16 model`,
      );
    }
  }
  // Any ch with ch · chMult = the levels' widths is the same decoder; the gcd always is one
  // (128 for Janus-Pro's 128 · [1, 1, 2, 2, 4]).
  const ch = outs.reduce(gcd);
  const vq = parseVqConfig({
    format: "zipar-vq",
    formatVersion: 1,
    kind: "llamagen-vq16",
    codebookSize,
    codebookDim,
    zChannels,
    ch,
    chMult: outs.map((c) => c / ch).reverse(), // finest first
    numResBlocks: blocks - 1,
    groups: GROUPS,
    eps: EPS,
  }, `${file} (${JANUS_VQ_PREFIX}*)`);
  checkStated(config, vq, outs.slice().reverse(), configPath);
  return vq;
}

/** Refuse a config.json vq_config value that disagrees with the weights' shapes. */
function checkStated(
  config: Record<string, unknown>,
  vq: VqConfig,
  channels: number[], // per level, finest first
  configPath: string,
): void {
  const stated = config.vq_config ?? {};
  if (typeof stated !== "object" || stated === null || Array.isArray(stated)) {
    throw new RangeError(`${configPath}: vq_config is not an object; use the model's own config`);
  }
  const s = stated as Record<string, unknown>;
  const disagree = (key: string, value: unknown, held: unknown, tensor: string) =>
    new RangeError(
      `${configPath}: vq_config.${key} is ${JSON.stringify(value)}, but the weights hold ${
        JSON.stringify(held)
      } (${JANUS_VQ_PREFIX}${tensor}); the files are of two models`,
    );
  const scalars: [string, number, string][] = [
    ["num_embeddings", vq.codebookSize, "quantize.embedding.weight"],
    ["embed_dim", vq.codebookDim, "quantize.embedding.weight"],
    ["latent_channels", vq.zChannels, "post_quant_conv.weight"],
    ["num_res_blocks", vq.numResBlocks, "decoder.up.0.block.*"],
    ["out_channels", 3, "decoder.conv_out.weight"],
  ];
  for (const [key, held, tensor] of scalars) {
    if (key in s && s[key] !== held) throw disagree(key, s[key], held, tensor);
  }
  if (!("base_channels" in s) && !("channel_multiplier" in s)) return;
  const base = s.base_channels ?? DEFAULT_BASE_CHANNELS;
  const mult = s.channel_multiplier ?? DEFAULT_CHANNEL_MULTIPLIER;
  const products = Array.isArray(mult) && typeof base === "number"
    ? mult.map((m) => typeof m === "number" ? base * m : NaN)
    : [];
  if (products.length !== channels.length || products.some((c, i) => c !== channels[i])) {
    throw disagree(
      "base_channels × channel_multiplier",
      [base, mult],
      channels,
      "decoder.up.*.block.0.conv2.weight, finest level first",
    );
  }
}

/** Refuse a preprocessor_config.json whose postprocess is not (x + 1) / 2 · 255. */
async function checkPostprocess(dir: string): Promise<void> {
  const path = join(dir, "preprocessor_config.json");
  if (!await Deno.stat(path).then((s) => s.isFile, () => false)) return;
  const processor = await readConfigObject(path);
  for (const key of ["image_mean", "image_std"]) {
    const v = processor[key];
    if (v === undefined) continue;
    if (!Array.isArray(v) || v.length < 3 || v.slice(0, 3).some((x) => x !== 0.5)) {
      throw new RangeError(
        `${path}: ${key} is ${JSON.stringify(v)}; the WebGPU decoder writes Janus's pixels ` +
          `with mean = std = 0.5 ((x + 1) / 2 · 255): decode with the Python backend instead`,
      );
    }
  }
}

/**
 * Read Janus's VQ decoder from an open transformers-layout directory: its config from the
 * tensors' shapes (checked against `config`'s vq_config), every decoder tensor checked for
 * presence and shape, then read (never the encoder), renamed to LlamaGen's names.
 *
 * @param weights the directory's open weights (the caller closes them)
 * @param config the directory's parsed config.json
 * @param dir the directory (for its file names in errors and preprocessor_config.json)
 * @returns what `openWebgpuVqDecoder({ config, weights })` takes, and the grid side
 *
 * @example
 * ```ts ignore
 * import { readConfigObject } from "./model_dir.ts";
 * import { openWeightDir } from "./weight_dir.ts";
 * import { readJanusVq } from "./janus_vq.ts";
 * const weights = await openWeightDir("models/Janus-Pro-1B");
 * const vq = await readJanusVq(weights, await readConfigObject("models/Janus-Pro-1B/config.json"),
 *   "models/Janus-Pro-1B");
 * weights.close();
 * ```
 */
export async function readJanusVq(
  weights: WeightDir,
  config: Record<string, unknown>,
  dir: string,
): Promise<JanusVq> {
  const file = await weightsFile(dir);
  const configPath = join(dir, "config.json");
  const side = janusGridSide(config, configPath);
  const vq = janusVqConfig(weights.entries, config, file, configPath);
  await checkPostprocess(dir);
  const want = new Map<string, number[]>(); // transformers name → shape
  const llamagen = new Map<string, string>(); // transformers name → LlamaGen name
  for (const [name, shape] of vqShapes(vq)) {
    const jname = janusVqName(name);
    const got = weights.entries.get(jname)?.shape;
    if (!got) {
      throw new RangeError(
        `${file}: no tensor ${jname} (expected [${shape}]), which Janus's VQ decoder needs; ` +
          `download the model's safetensors files again`,
      );
    }
    if (got.length !== shape.length || got.some((d, i) => d !== shape[i])) {
      throw new RangeError(
        `${file}: tensor ${jname} has shape [${got}], expected [${shape}] for the VQ-16 ` +
          `decoder its other tensors describe; download the model's safetensors files again`,
      );
    }
    want.set(jname, shape);
    llamagen.set(jname, name);
  }
  for (const name of weights.entries.keys()) {
    if (name.startsWith(DECODER) && !want.has(name)) {
      throw new RangeError(
        `${file}: tensor ${name} is no part of the VQ-16 decoder the other tensors describe ` +
          `(levels of ${vq.numResBlocks + 1} blocks, attention at up.0 only); ` +
          `this is not a Janus VQ-16 model`,
      );
    }
  }
  const read = await weights.read(want);
  const out: VqWeights = new Map();
  for (const [jname, tensor] of read) out.set(llamagen.get(jname)!, tensor);
  return { config: vq, weights: out, side };
}

/**
 * Open Janus's VQ decoder of a transformers-layout directory (config.json model_type "janus",
 * safetensors) on the WebGPU device: token grids [B, side, side] → RGB [B, 16·side, 16·side, 3].
 *
 * @example
 * ```ts ignore
 * import { openJanusWebgpuDecoder } from "./janus_vq.ts";
 * const decoder = await openJanusWebgpuDecoder("models/Janus-Pro-1B");
 * const rgb = await decoder.decode(new Int32Array(576), [1, 24, 24]); // [1, 384, 384, 3]
 * await decoder.close();
 * ```
 */
export async function openJanusWebgpuDecoder(
  dir: string,
  options: VqDecoderOptions = {},
): Promise<VqDecoder> {
  const config = await readConfigObject(join(dir, "config.json"));
  if (config.model_type !== "janus") {
    throw new Error(
      `${join(dir, "config.json")}: model_type is ${
        JSON.stringify(config.model_type)
      }, not "janus" (transformers' Janus layout, as deepseek-community ships Janus-Pro): ` +
        `decode this directory with the Python backend`,
    );
  }
  const weights = await openWeightDir(dir);
  let vq: JanusVq;
  try {
    vq = await readJanusVq(weights, config, dir);
  } finally {
    weights.close();
  }
  // Janus's image processor truncates (x + 1)/2 · 255 to bytes.
  return await openWebgpuVqDecoder(
    { config: vq.config, weights: vq.weights },
    { pixelRounding: "truncate", ...options },
  );
}
