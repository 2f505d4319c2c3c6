/**
 * VQ decoder weights on the device. Conv weights [cout, cin, k, k] are transposed to
 * [cin, k, k, cout] (8 output channels are two vec4 reads) and split by output channel into
 * chunks that each fit one storage binding; each chunk's width is padded to a multiple of 8.
 *
 * @module
 */

import { type VqConfig, vqShapes, type VqWeights } from "../vq_config.ts";
import { storageBuffer } from "./device.ts";

/** Output channels [co0, co0 + cout) of a conv, transposed: [cin, k, k, coutp]. */
export interface ConvChunk {
  buffer: GPUBuffer;
  co0: number;
  cout: number;
  coutp: number; // cout rounded up to 8
}

/** One conv on the device. */
export interface GpuConv {
  cin: number;
  cout: number;
  k: number;
  chunks: ConvChunk[];
  bias: GPUBuffer; // [cout]
}

/** One GroupNorm on the device. */
export interface GpuNorm {
  gamma: GPUBuffer; // [C]
  beta: GPUBuffer; // [C]
}

/** The uploaded decoder: convs and norms by state-dict prefix, the codebook, every buffer. */
export interface GpuVqWeights {
  convs: Map<string, GpuConv>;
  norms: Map<string, GpuNorm>;
  codebook: GPUBuffer; // [codebookSize, codebookDim]
  all: GPUBuffer[];
}

/** Output channels per conv chunk so that one chunk fits `maxBytes`; a multiple of 8. */
export function convChunkWidth(cout: number, cin: number, k: number, maxBytes: number): number {
  const perChannel = cin * k * k * 4;
  const fit = Math.floor(maxBytes / perChannel);
  if (fit >= Math.ceil(cout / 8) * 8) return cout;
  const rounded = fit - (fit % 8);
  if (rounded < 8) {
    throw new RangeError(
      `8 output channels of a ${k}×${k} conv over ${cin} channels do not fit one storage binding (${maxBytes} bytes)`,
    );
  }
  return rounded;
}

/** Upload validated weights; `maxBytes` is the device's storage binding limit. */
export function uploadVqWeights(
  device: GPUDevice,
  config: VqConfig,
  weights: VqWeights,
  maxBytes: number,
): GpuVqWeights {
  const codebookBytes = config.codebookSize * config.codebookDim * 4;
  if (codebookBytes > maxBytes) {
    throw new RangeError(
      `The codebook (${codebookBytes} bytes) does not fit one storage binding (${maxBytes})`,
    );
  }
  const all: GPUBuffer[] = [];
  const upload = (label: string, data: Float32Array) => {
    const buffer = storageBuffer(device, label, data);
    all.push(buffer);
    return buffer;
  };
  const convs = new Map<string, GpuConv>();
  const norms = new Map<string, GpuNorm>();
  for (const name of vqShapes(config).keys()) {
    const tensor = weights.get(name)!;
    if (!name.endsWith(".weight")) continue;
    const p = name.slice(0, -".weight".length);
    if (tensor.shape.length === 4) {
      const [cout, cin, k] = tensor.shape;
      const kk = k * k;
      const per = convChunkWidth(cout, cin, k, maxBytes);
      const chunks: ConvChunk[] = [];
      for (let co0 = 0; co0 < cout; co0 += per) {
        const n = Math.min(per, cout - co0), coutp = Math.ceil(n / 8) * 8;
        const t = new Float32Array(cin * kk * coutp); // [cin, k, k, coutp]
        for (let co = 0; co < n; co++) {
          for (let ci = 0; ci < cin; ci++) {
            for (let j = 0; j < kk; j++) {
              t[(ci * kk + j) * coutp + co] = tensor.data[((co0 + co) * cin + ci) * kk + j];
            }
          }
        }
        const label = per >= cout ? p : `${p}[${co0}:${co0 + n}]`;
        chunks.push({ buffer: upload(label, t), co0, cout: n, coutp });
      }
      convs.set(p, {
        cin,
        cout,
        k,
        chunks,
        bias: upload(`${p}.bias`, weights.get(`${p}.bias`)!.data),
      });
    } else if (tensor.shape.length === 1) {
      norms.set(p, {
        gamma: upload(name, tensor.data),
        beta: upload(`${p}.bias`, weights.get(`${p}.bias`)!.data),
      });
    }
  }
  const codebook = upload(
    "quantize.embedding.weight",
    weights.get("quantize.embedding.weight")!.data,
  );
  return { convs, norms, codebook, all };
}
