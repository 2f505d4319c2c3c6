/**
 * Model weights on the device. Matrices larger than one storage binding (e.g. GPT-B's output
 * head or token embeddings on a 128 MiB-binding device) are split into row chunks, each its own
 * buffer, run as separate dispatches.
 *
 * @module
 */

import type { LlamagenConfig, LlamagenWeights } from "../llamagen_config.ts";
import { storageBuffer } from "./device.ts";
import { type Chunk, type MatrixDtype, uploadMatrix } from "./matrix_upload.ts";
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

/** A linear layer with bias: y = x · weightᵀ + bias. */
export interface GpuLinear {
  weight: Chunk[]; // [n, k]
  bias: GPUBuffer; // [n]
  /** Input width. */
  k: number;
  /** Output width. */
  n: number;
}

/** LlamaGen's input and output: token and class tables, an output matrix. */
export interface ClassIo {
  kind: "class";
  tok: Chunk[]; // [vocab, dim]
  cls: GPUBuffer; // [numClasses + 1, dim]
  output: Chunk[]; // [vocab, dim]
}

/** Janus's image input and output: generation embedding + aligner, generation head. */
export interface JanusIo {
  kind: "janus";
  genEmbed: GPUBuffer; // [codebook, embedDim]
  codebook: number;
  embedDim: number;
  /** fc1 (embedDim → dim), then the hidden layers (dim → dim), GELU between. */
  aligner: GpuLinear[];
  /** proj_out (dim → headDim, then GELU) and vision_head (headDim → codebook). */
  head: [GpuLinear, GpuLinear];
}

/** All weights of a decoder and its image input and output, on the device. */
export interface GpuWeights {
  layers: GpuLayer[];
  norm: GPUBuffer; // [dim]
  /** rope: [positions, headDim/2] (cos, sin) pairs (LlamaGen: 2D over slots, zeros at the prefix). */
  rope: GPUBuffer;
  io: ClassIo | JanusIo;
  /** Every buffer, for destroy(). */
  all: GPUBuffer[];
}

/**
 * Upload weights and the RoPE table; `maxBytes` is the device's binding limit. The matmuls'
 * matrices are stored as `dtype`; the token table stays f32 (the embedding gather reads f32).
 */
export function uploadWeights(
  device: GPUDevice,
  config: LlamagenConfig,
  weights: LlamagenWeights,
  maxBytes: number,
  dtype: MatrixDtype = "f32",
): GpuWeights {
  const all: GPUBuffer[] = [];
  const vector = (name: string) => {
    const buffer = storageBuffer(device, name, weights.get(name)!.data);
    all.push(buffer);
    return buffer;
  };
  const matrix = (name: string, as = dtype): Chunk[] => {
    const { shape: [rows, cols], data } = weights.get(name)!;
    const chunks = uploadMatrix(device, name, data, rows, cols, maxBytes, as);
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
  const io: ClassIo = {
    kind: "class",
    tok: matrix("tok_embeddings.weight", "f32"),
    cls,
    output: matrix("output.weight"),
  };
  return { layers, norm: vector("norm.weight"), rope, io, all };
}
