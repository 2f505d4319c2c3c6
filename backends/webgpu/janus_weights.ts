/**
 * A Janus generation path's weights on the device (backends/janus_config.ts names them), read
 * layer by layer from the directory's safetensors so that the host never holds more than one
 * layer in float32:
 * - q/k/v projections fused into one `wqkv` matrix, the query and key rows of each head
 *   permuted from transformers' rotation pairs (j, j + headDim/2) to rope_kv.wgsl's
 *   (2j, 2j + 1): the dot products of queries and keys are unchanged;
 * - gate/up/down as LlamaGen's w1/w3/w2, the RMSNorm weights;
 * - the generation embedding, the aligner's and the head's linears with their biases;
 * - a 1-D RoPE table over the model's context.
 * The text embedding and the language head stay on disk: prompts read their rows
 * (janus_backend.ts), and image generation never runs the language head.
 *
 * @module
 */

import {
  JANUS_GEN_EMBEDDING,
  type JanusConfig,
  janusLinears,
  janusShapes,
} from "../janus_config.ts";
import type { Tensor } from "../safetensors_format.ts";
import type { WeightDir } from "../weight_dir.ts";
import { storageBuffer } from "./device.ts";
import { ropeTable1d } from "./rope.ts";
import { type Chunk, type MatrixDtype, uploadMatrix } from "./matrix_upload.ts";
import type { GpuLayer, GpuLinear, GpuWeights, JanusIo } from "./weights.ts";

/** Options of {@linkcode uploadJanusWeights}. */
export interface JanusUploadOptions {
  /** The device's storage binding limit, bytes (larger matrices are split into row chunks). */
  maxBytes: number;
  /** How weight matrices are stored (f16: on a device with `shader-f16`); vectors stay f32. */
  dtype: MatrixDtype;
  /** Called after each layer is on the device (done, of total layers). */
  onLayer?: (done: number, total: number) => void;
}

/**
 * rows: [dim, in] → the same rows with each head's rows reordered from (j, j + half) pairs to
 * adjacent pairs: new row 2j = old row j, new row 2j + 1 = old row j + half.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { interleaveHeads } from "./janus_weights.ts";
 * // one head of 4 rows of width 1: rows (0, 2) and (1, 3) are the rotation pairs
 * assert.deepEqual([...interleaveHeads(Float32Array.of(0, 1, 2, 3), 4, 1)], [0, 2, 1, 3]);
 * ```
 */
export function interleaveHeads(rows: Float32Array, headDim: number, width: number): Float32Array {
  const out = new Float32Array(rows.length);
  const half = headDim / 2;
  const heads = rows.length / (headDim * width);
  for (let h = 0; h < heads; h++) {
    for (let j = 0; j < half; j++) {
      const src0 = (h * headDim + j) * width, src1 = (h * headDim + j + half) * width;
      const dst = (h * headDim + 2 * j) * width;
      out.set(rows.subarray(src0, src0 + width), dst);
      out.set(rows.subarray(src1, src1 + width), dst + width);
    }
  }
  return out;
}

/** Upload the generation path of the Janus directory `weights` (sizes `config`). */
export async function uploadJanusWeights(
  device: GPUDevice,
  config: JanusConfig,
  weights: WeightDir,
  options: JanusUploadOptions,
): Promise<GpuWeights> {
  const shapes = janusShapes(config);
  const all: GPUBuffer[] = [];
  const upload = (label: string, data: Float32Array) => {
    const buffer = storageBuffer(device, label, data);
    all.push(buffer);
    return buffer;
  };
  const matrix = (label: string, data: Float32Array, rows: number, cols: number): Chunk[] => {
    const chunks = uploadMatrix(device, label, data, rows, cols, options.maxBytes, options.dtype);
    for (const c of chunks) all.push(c.buffer);
    return chunks;
  };
  const read = async (names: string[]): Promise<Map<string, Tensor>> =>
    await weights.read(new Map(names.map((n) => [n, shapes.get(n)!])));
  try {
    const headDim = config.dim / config.heads;
    const layers: GpuLayer[] = [];
    for (let l = 0; l < config.layers; l++) {
      const p = `model.language_model.layers.${l}.`;
      const names = [
        "self_attn.q_proj",
        "self_attn.k_proj",
        "self_attn.v_proj",
        "self_attn.o_proj",
        "mlp.gate_proj",
        "mlp.up_proj",
        "mlp.down_proj",
      ].map((n) => `${p}${n}.weight`);
      const norms = [`${p}input_layernorm.weight`, `${p}post_attention_layernorm.weight`];
      const t = await read([...names, ...norms]);
      const [q, k, v, o, gate, up, down] = names.map((n) => t.get(n)!);
      const rows = q.shape[0] + k.shape[0] + v.shape[0];
      const wqkv = new Float32Array(rows * config.dim); // [dim + 2·kvDim, dim]
      wqkv.set(interleaveHeads(q.data, headDim, config.dim));
      wqkv.set(interleaveHeads(k.data, headDim, config.dim), q.data.length);
      wqkv.set(v.data, q.data.length + k.data.length);
      layers.push({
        wqkv: matrix(`${p}wqkv`, wqkv, rows, config.dim),
        wo: matrix(`${p}o_proj`, o.data, config.dim, config.dim),
        w1: matrix(`${p}gate_proj`, gate.data, config.hidden, config.dim),
        w3: matrix(`${p}up_proj`, up.data, config.hidden, config.dim),
        w2: matrix(`${p}down_proj`, down.data, config.dim, config.hidden),
        attentionNorm: upload(norms[0], t.get(norms[0])!.data),
        ffnNorm: upload(norms[1], t.get(norms[1])!.data),
      });
      options.onLayer?.(l + 1, config.layers);
    }
    const linears = janusLinears(config);
    const rest = await read([
      "model.language_model.norm.weight",
      JANUS_GEN_EMBEDDING,
      ...linears.flatMap(([name]) => [`${name}.weight`, `${name}.bias`]),
    ]);
    const linear = ([name, [n, k]]: [string, [number, number]]): GpuLinear => ({
      weight: matrix(name, rest.get(`${name}.weight`)!.data, n, k),
      bias: upload(`${name}.bias`, rest.get(`${name}.bias`)!.data),
      k,
      n,
    });
    const genEmbed = rest.get(JANUS_GEN_EMBEDDING)!;
    if (genEmbed.data.byteLength > options.maxBytes) {
      throw new RangeError("The generation embedding does not fit one storage binding");
    }
    const io: JanusIo = {
      kind: "janus",
      genEmbed: upload("generation_embeddings", genEmbed.data),
      codebook: config.codebook,
      embedDim: config.embedDim,
      aligner: linears.slice(0, -2).map(linear),
      head: [linear(linears.at(-2)!), linear(linears.at(-1)!)],
    };
    const rope = upload("rope-table", ropeTable1d(config.context, headDim, config.ropeBase));
    return {
      layers,
      norm: upload("norm", rest.get("model.language_model.norm.weight")!.data),
      rope,
      io,
      all,
    };
  } catch (e) {
    for (const b of all) b.destroy();
    throw e;
  }
}
