/**
 * Model weights on the device. Matrices larger than one storage binding (e.g. GPT-B's output
 * head or token embeddings on a 128 MiB-binding device) are split into row chunks, each its own
 * buffer, run as separate dispatches.
 *
 * @module
 */

import type { LlamagenConfig, LlamagenWeights } from "../llamagen_config.ts";
import { storageBuffer } from "./device.ts";
import { type Chunk, uploadMatrix } from "./matrix_upload.ts";
import { ropeTable } from "./rope.ts";

export { type Chunk, chunkRows } from "./matrix_upload.ts";

/** One transformer block's weights. */
export interface GpuLayer {
  wqkv: Chunk[]; // [3·dim, dim]
  wo: Chunk[]; // [dim, dim]
  w1: Chunk[]; // [hidden, dim]
  w3: Chunk[]; // [hidden, dim]
  w2: Chunk[]; // [dim, hidden]
  attentionNorm: GPUBuffer; // [dim]
  ffnNorm: GPUBuffer; // [dim]
}

/** All weights of a LlamaGen GPT, on the device. */
export interface GpuWeights {
  tok: Chunk[]; // [vocab, dim]
  cls: GPUBuffer; // [numClasses + 1, dim]
  layers: GpuLayer[];
  norm: GPUBuffer; // [dim]
  output: Chunk[]; // [vocab, dim]
  /** rope: [slots, headDim/2] (cos, sin) pairs; zeros at prefix slots. */
  rope: GPUBuffer;
  /** Every buffer, for destroy(). */
  all: GPUBuffer[];
}

/** Upload weights (float32) and the RoPE table; `maxBytes` is the device's binding limit. */
export function uploadWeights(
  device: GPUDevice,
  config: LlamagenConfig,
  weights: LlamagenWeights,
  maxBytes: number,
): GpuWeights {
  const all: GPUBuffer[] = [];
  const vector = (name: string) => {
    const buffer = storageBuffer(device, name, weights.get(name)!.data);
    all.push(buffer);
    return buffer;
  };
  const matrix = (name: string): Chunk[] => {
    const { shape: [rows, cols], data } = weights.get(name)!;
    const chunks = uploadMatrix(device, name, data, rows, cols, maxBytes, "f32");
    for (const chunk of chunks) all.push(chunk.buffer);
    return chunks;
  };
  const layers: GpuLayer[] = [];
  for (let l = 0; l < config.layers; l++) {
    const p = `layers.${l}.`;
    layers.push({
      wqkv: matrix(p + "attention.wqkv.weight"),
      wo: matrix(p + "attention.wo.weight"),
      w1: matrix(p + "feed_forward.w1.weight"),
      w3: matrix(p + "feed_forward.w3.weight"),
      w2: matrix(p + "feed_forward.w2.weight"),
      attentionNorm: vector(p + "attention_norm.weight"),
      ffnNorm: vector(p + "ffn_norm.weight"),
    });
  }
  const cls = vector("cls_embedding.embedding_table.weight");
  if (cls.size > maxBytes) throw new RangeError("cls_embedding does not fit one storage binding");
  const rope = storageBuffer(device, "rope-table", ropeTable(config)); // [slots, headDim/2, 2]
  all.push(rope);
  return {
    tok: matrix("tok_embeddings.weight"),
    cls,
    layers,
    norm: vector("norm.weight"),
    output: matrix("output.weight"),
    rope,
    all,
  };
}
