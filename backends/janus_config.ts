/**
 * A Janus / Janus-Pro directory of transformers' layout (config.json `model_type` "janus", as
 * `deepseek-community/Janus-Pro-1B` ships it) read for a backend without Python: the sizes of
 * its image-generation path and the tensors that path runs, checked before anything is read.
 *
 * The generation path (docs/janus.md): a Llama decoder (`model.language_model.*`, RMSNorm,
 * grouped-query attention with 1-D rotary positions, SwiGLU); image tokens go in through the
 * generation embedding and its aligner MLP (`model.generation_embeddings`,
 * `model.generation_aligner.fc1` then GELU + Linear per `hidden_layers.i`), and come out of the
 * generation head (`model.generation_head.proj_out`, GELU, `vision_head`: codebook logits). The
 * prompt's tokens are rows of `embed_tokens`, read a prompt at a time (never uploaded whole).
 * The sizes come from the tensors' shapes; config.json gives what shapes cannot (heads, RMSNorm
 * epsilon, rope base, context, the grid) and must agree with them where it states a size.
 *
 * DeepSeek's official layout (`multi_modality`, pickled `.bin` shards) is the Python backend's.
 *
 * @module
 */

import type { Tensor } from "./safetensors_format.ts";
import type { WeightDir } from "./weight_dir.ts";

/** Sizes of a Janus generation path. */
export interface JanusConfig {
  /** Language model width (`hidden_size`). */
  dim: number;
  /** SwiGLU width (`intermediate_size`). */
  hidden: number;
  /** Query heads. */
  heads: number;
  /** Key/value heads (grouped-query attention). */
  kvHeads: number;
  /** Decoder layers. */
  layers: number;
  /** RMSNorm epsilon. */
  normEps: number;
  /** RoPE base (`rope_theta`). */
  ropeBase: number;
  /** Longest sequence: prompt + image tokens (`max_position_embeddings`). */
  context: number;
  /** Text vocabulary (rows of embed_tokens). */
  textVocab: number;
  /** VQ codebook = image-token vocabulary (16384). */
  codebook: number;
  /** Generation embedding width (`vq_config.embed_dim`, 8). */
  embedDim: number;
  /** Aligner linears: fc1 and the hidden layers. */
  alignerLayers: number;
  /** The generation head's inner width (`vq_config.projection_dim`). */
  headDim: number;
  /** Grid side (24 for Janus-Pro's 384 px). */
  side: number;
}

/** The tensor name prefixes. */
const LM = "model.language_model.";
/** The image tokens' generation embedding: [codebook, embedDim]. */
export const JANUS_GEN_EMBEDDING = "model.generation_embeddings.weight";
/** The text embedding, read by rows. */
export const JANUS_TEXT_EMBEDDING = `${LM}embed_tokens.weight`;

type Json = Record<string, unknown>;

/**
 * The sizes of the Janus directory `dir` from its config.json (`config`) and the weight headers.
 * Throws a one-line Error naming the file, the field or tensor and the fix.
 *
 * @example
 * ```ts ignore
 * import { janusConfig } from "./janus_config.ts";
 * const config = janusConfig(json, weights, "models/Janus-Pro-1B"); // { dim: 2048, layers: 24, … }
 * ```
 */
export function janusConfig(config: Json, weights: WeightDir, dir: string): JanusConfig {
  const where = `${dir}/config.json`;
  if (config.model_type !== "janus") {
    throw new Error(
      `${where}: model_type ${
        JSON.stringify(config.model_type)
      } is not transformers' Janus layout ("janus"); run DeepSeek's release (multi_modality) with --backend python`,
    );
  }
  const text = object(config.text_config, "text_config", where);
  const vq = object(config.vq_config ?? {}, "vq_config", where);
  object(config.vision_config ?? {}, "vision_config", where); // janusGridSide reads it
  const shape = (name: string, rank: number) => {
    const entry = weights.entries.get(name);
    if (!entry || entry.shape.length !== rank) {
      throw new Error(
        `${dir}: the weights lack the ${rank}-D tensor ${name} that Janus's image generation runs; download the model's safetensors files again`,
      );
    }
    return entry.shape;
  };
  const [textVocab, dim] = shape(JANUS_TEXT_EMBEDDING, 2);
  let layers = 0;
  while (weights.entries.has(`${LM}layers.${layers}.input_layernorm.weight`)) layers++;
  if (layers === 0) throw new Error(`${dir}: the weights hold no ${LM}layers.0`);
  const hidden = shape(`${LM}layers.0.mlp.gate_proj.weight`, 2)[0];
  const heads = int(text.num_attention_heads ?? 32, "text_config.num_attention_heads", where);
  const headSize = int(text.head_dim ?? dim / heads, "text_config.head_dim", where);
  const qRows = shape(`${LM}layers.0.self_attn.q_proj.weight`, 2)[0];
  const kvRows = shape(`${LM}layers.0.self_attn.k_proj.weight`, 2)[0];
  if (headSize * heads !== dim || qRows !== dim || kvRows % headSize || headSize % 2) {
    throw new Error(
      `${where}: ${heads} heads of ${headSize} do not fit the attention weights (width ${dim}, ${qRows} query and ${kvRows} key rows); the files are of two models`,
    );
  }
  const kvHeads = kvRows / headSize;
  for (
    const [name, value] of [
      ["hidden_size", dim],
      ["intermediate_size", hidden],
      ["num_hidden_layers", layers],
      ["vocab_size", textVocab],
      ["num_key_value_heads", kvHeads],
    ] as const
  ) {
    const stated = text[name];
    if (stated !== undefined && stated !== null && stated !== value) {
      throw new Error(
        `${where}: text_config.${name} is ${stated}, but the weights hold ${value}; the files are of two models`,
      );
    }
  }
  if (text.hidden_act !== undefined && text.hidden_act !== "silu") {
    throw new Error(
      `${where}: text_config.hidden_act ${JSON.stringify(text.hidden_act)} is not silu`,
    );
  }
  if (text.attention_bias === true || text.mlp_bias === true) {
    throw new Error(`${where}: attention or MLP biases are not Janus's; use --backend python`);
  }
  if (vq.hidden_act !== undefined && vq.hidden_act !== "gelu") {
    throw new Error(`${where}: vq_config.hidden_act ${JSON.stringify(vq.hidden_act)} is not gelu`);
  }
  const [codebook, embedDim] = shape(JANUS_GEN_EMBEDDING, 2);
  let alignerLayers = 1;
  while (
    weights.entries.has(`model.generation_aligner.hidden_layers.${alignerLayers - 1}.weight`)
  ) {
    alignerLayers++;
  }
  const headDim = shape("model.generation_head.proj_out.weight", 2)[0];
  const side = janusGridSide(config, where); // the VQ decoder's rule too (janus_vq.ts)
  const tokens = side * side;
  const context = int(
    text.max_position_embeddings ?? 2048,
    "text_config.max_position_embeddings",
    where,
  );
  if (context <= tokens) {
    throw new Error(
      `${where}: a context of ${context} leaves no room beside ${tokens} image tokens`,
    );
  }
  if (embedDim % 4 || dim % 4 || hidden % 4 || headDim % 4) {
    throw new Error(`${dir}: widths must be multiples of 4 on WebGPU; use --backend python`);
  }
  return {
    dim,
    hidden,
    heads,
    kvHeads,
    layers,
    normEps: num(text.rms_norm_eps ?? 1e-6, "text_config.rms_norm_eps", where),
    ropeBase: ropeBase(text, where),
    context,
    textVocab,
    codebook,
    embedDim,
    alignerLayers,
    headDim,
    side,
  };
}

/** The rope base of a default (unscaled) rotary embedding; scaled ones are refused. */
function ropeBase(text: Json, where: string): number {
  const params = text.rope_parameters ?? text.rope_scaling;
  let base = text.rope_theta;
  if (params !== undefined && params !== null) {
    const p = object(params, "text_config.rope_parameters", where);
    const type = p.rope_type ?? p.type ?? "default";
    if (type !== "default") {
      throw new Error(
        `${where}: rope type ${
          JSON.stringify(type)
        } is not Janus's default rotary embedding; use --backend python`,
      );
    }
    base = p.rope_theta ?? base;
  }
  return num(base ?? 10000, "text_config.rope_theta", where);
}

/**
 * The image grid side of a Janus config.json: vision_config's image_size / patch_size, as
 * transformers sizes the VQ's grid (24 for Janus-Pro's 384 / 16); num_image_tokens, where
 * stated, must be its square. Throws a one-line RangeError naming the key.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { janusGridSide } from "./janus_config.ts";
 * assert.equal(janusGridSide({ vision_config: { num_image_tokens: 576 } }, "config.json"), 24);
 * assert.throws(() => janusGridSide({ vision_config: { num_image_tokens: 16 } }, "c"), /576/);
 * ```
 */
export function janusGridSide(config: Record<string, unknown>, configPath: string): number {
  const vision = (config.vision_config ?? {}) as Record<string, unknown>;
  const size = vision.image_size ?? 384; // JanusVisionConfig's defaults
  const patch = vision.patch_size ?? 16;
  const side = typeof size === "number" && typeof patch === "number" && patch > 0
    ? size / patch
    : NaN;
  if (!Number.isInteger(side) || side < 1 || side > 4096) {
    throw new RangeError(
      `${configPath}: vision_config.image_size ${JSON.stringify(size)} / patch_size ${
        JSON.stringify(patch)
      } is no grid side (Janus-Pro: 384 / 16 = 24); use the model's own config.json`,
    );
  }
  if ("num_image_tokens" in vision && vision.num_image_tokens !== side * side) {
    throw new RangeError(
      `${configPath}: vision_config.num_image_tokens is ${
        JSON.stringify(vision.num_image_tokens)
      }, but image_size / patch_size gives a ${side}×${side} grid (${side * side}); ` +
        `use the model's own config.json`,
    );
  }
  return side;
}

/** Every tensor the generation path runs (the text embedding aside), with its shape. */
export function janusShapes(c: JanusConfig): Map<string, number[]> {
  const kvDim = (c.dim / c.heads) * c.kvHeads;
  const m = new Map<string, number[]>();
  for (let l = 0; l < c.layers; l++) {
    const p = `${LM}layers.${l}.`;
    m.set(`${p}input_layernorm.weight`, [c.dim]);
    m.set(`${p}self_attn.q_proj.weight`, [c.dim, c.dim]);
    m.set(`${p}self_attn.k_proj.weight`, [kvDim, c.dim]);
    m.set(`${p}self_attn.v_proj.weight`, [kvDim, c.dim]);
    m.set(`${p}self_attn.o_proj.weight`, [c.dim, c.dim]);
    m.set(`${p}post_attention_layernorm.weight`, [c.dim]);
    m.set(`${p}mlp.gate_proj.weight`, [c.hidden, c.dim]);
    m.set(`${p}mlp.up_proj.weight`, [c.hidden, c.dim]);
    m.set(`${p}mlp.down_proj.weight`, [c.dim, c.hidden]);
  }
  m.set(`${LM}norm.weight`, [c.dim]);
  m.set(JANUS_GEN_EMBEDDING, [c.codebook, c.embedDim]);
  for (const [name, shape] of janusLinears(c)) {
    m.set(`${name}.weight`, shape);
    m.set(`${name}.bias`, [shape[0]]);
  }
  return m;
}

/** The aligner's and the head's linears in the order they run: [name, [out, in]]. */
export function janusLinears(c: JanusConfig): [string, [number, number]][] {
  const aligner: [string, [number, number]][] = [["model.generation_aligner.fc1", [
    c.dim,
    c.embedDim,
  ]]];
  for (let i = 0; i < c.alignerLayers - 1; i++) {
    aligner.push([`model.generation_aligner.hidden_layers.${i}`, [c.dim, c.dim]]);
  }
  return [
    ...aligner,
    ["model.generation_head.proj_out", [c.headDim, c.dim]],
    ["model.generation_head.vision_head", [c.codebook, c.headDim]],
  ];
}

/** Bytes of the generation path's weights at `bytesPerValue` (4: f32, 2: f16). */
export function janusWeightBytes(c: JanusConfig, bytesPerValue: number): number {
  let values = 0;
  for (const shape of janusShapes(c).values()) values += shape.reduce((a, b) => a * b, 1);
  return values * bytesPerValue;
}

/** The weights of a Janus generation path, by tensor name. */
export type JanusWeights = Map<string, Tensor>;

function object(value: unknown, name: string, where: string): Json {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new Error(`${where}: ${name} is not an object; use the model's own config.json`);
  }
  return value as Json;
}

function int(value: unknown, name: string, where: string): number {
  if (!Number.isSafeInteger(value) || (value as number) < 1 || (value as number) > 1 << 24) {
    throw new Error(`${where}: ${name} ${JSON.stringify(value)} is not a positive integer`);
  }
  return value as number;
}

function num(value: unknown, name: string, where: string): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) {
    throw new Error(`${where}: ${name} ${JSON.stringify(value)} is not a positive number`);
  }
  return value;
}
