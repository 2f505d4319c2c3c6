/**
 * A float64 CPU reference of the LlamaGen VQ-16 decoder (docs/llamagen.md) in plain
 * TypeScript: the ground truth the WebGPU decoder is tested against. Activations are
 * channel-major `[C, H, W]` Float64Arrays. Fast enough for tiny configs only.
 *
 * @module
 */

import { type VqConfig, vqLevels, vqScale, type VqWeights } from "./vq_config.ts";

/** An activation: data [c, h, w], row-major. */
export interface Act {
  c: number;
  h: number;
  w: number;
  data: Float64Array;
}

/** Look up L2-normalised codebook rows: tokens [h, w] → z [dim, h, w]. */
export function lookupCodes(
  codebook: Float32Array, // [size, dim]
  dim: number,
  tokens: ArrayLike<number>, // [h, w]
  h: number,
  w: number,
): Act {
  const data = new Float64Array(dim * h * w);
  for (let p = 0; p < h * w; p++) {
    const row = tokens[p] * dim;
    let ss = 0;
    for (let d = 0; d < dim; d++) ss += codebook[row + d] ** 2;
    const inv = 1 / Math.max(Math.sqrt(ss), 1e-12); // F.normalize
    for (let d = 0; d < dim; d++) data[d * h * w + p] = codebook[row + d] * inv;
  }
  return { c: dim, h, w, data };
}

/** Conv2d, stride 1, zero padding k/2: weight [cout, cin, k, k], bias [cout]. */
export function conv2d(x: Act, weight: Float32Array, bias: Float32Array, k: number): Act {
  const { c: cin, h, w } = x;
  const cout = bias.length;
  const pad = (k - 1) / 2;
  const out = new Float64Array(cout * h * w);
  for (let co = 0; co < cout; co++) {
    const o = out.subarray(co * h * w, (co + 1) * h * w);
    o.fill(bias[co]);
    for (let ci = 0; ci < cin; ci++) {
      const xi = x.data.subarray(ci * h * w, (ci + 1) * h * w);
      for (let ky = 0; ky < k; ky++) {
        for (let kx = 0; kx < k; kx++) {
          const wv = weight[((co * cin + ci) * k + ky) * k + kx];
          const dy = ky - pad, dx = kx - pad;
          const y0 = Math.max(0, -dy), y1 = Math.min(h, h - dy);
          const x0 = Math.max(0, -dx), x1 = Math.min(w, w - dx);
          for (let y = y0; y < y1; y++) {
            const orow = y * w, irow = (y + dy) * w + dx;
            for (let xx = x0; xx < x1; xx++) o[orow + xx] += wv * xi[irow + xx];
          }
        }
      }
    }
  }
  return { c: cout, h, w, data: out };
}

/** GroupNorm over `groups` channel groups (biased variance), affine; then swish if asked. */
export function groupNorm(
  x: Act,
  groups: number,
  eps: number,
  gamma: Float32Array,
  beta: Float32Array,
  swish = false,
): Act {
  const { c, h, w } = x;
  const per = (c / groups) * h * w;
  const out = new Float64Array(x.data.length);
  for (let g = 0; g < groups; g++) {
    const part = x.data.subarray(g * per, (g + 1) * per);
    let mean = 0;
    for (const v of part) mean += v;
    mean /= per;
    let variance = 0;
    for (const v of part) variance += (v - mean) ** 2;
    const inv = 1 / Math.sqrt(variance / per + eps);
    for (let i = 0; i < per; i++) {
      const ch = g * (c / groups) + Math.floor(i / (h * w));
      let v = (part[i] - mean) * inv * gamma[ch] + beta[ch];
      if (swish) v = v / (1 + Math.exp(-v));
      out[g * per + i] = v;
    }
  }
  return { c, h, w, data: out };
}

/** Nearest-neighbour ×2 upsample: [c, h, w] → [c, 2h, 2w]. */
export function upsample2x(x: Act): Act {
  const { c, h, w } = x;
  const out = new Float64Array(c * 4 * h * w);
  for (let ch = 0; ch < c; ch++) {
    for (let y = 0; y < 2 * h; y++) {
      for (let xx = 0; xx < 2 * w; xx++) {
        out[(ch * 2 * h + y) * 2 * w + xx] = x.data[(ch * h + (y >> 1)) * w + (xx >> 1)];
      }
    }
  }
  return { c, h: 2 * h, w: 2 * w, data: out };
}

/** Single-head attention over all h·w positions, scale 1/√c: q, k, v [c, h, w] → [c, h, w]. */
export function attention(q: Act, k: Act, v: Act): Act {
  const { c, h, w } = q;
  const n = h * w;
  const scale = 1 / Math.sqrt(c);
  const out = new Float64Array(c * n);
  const p = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let max = -Infinity;
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let ch = 0; ch < c; ch++) s += q.data[ch * n + i] * k.data[ch * n + j];
      p[j] = s * scale;
      max = Math.max(max, p[j]);
    }
    let sum = 0;
    for (let j = 0; j < n; j++) sum += p[j] = Math.exp(p[j] - max);
    for (let ch = 0; ch < c; ch++) {
      let acc = 0;
      for (let j = 0; j < n; j++) acc += p[j] * v.data[ch * n + j];
      out[ch * n + i] = acc / sum;
    }
  }
  return { c, h, w, data: out };
}

/** a + b, elementwise. */
function add(a: Act, b: Act): Act {
  const data = new Float64Array(a.data.length);
  for (let i = 0; i < data.length; i++) data[i] = a.data[i] + b.data[i];
  return { ...a, data };
}

/** The decoder's layers, reading weights by state-dict key. */
function layers(config: VqConfig, weights: VqWeights) {
  const t = (name: string) => {
    const tensor = weights.get(name);
    if (!tensor) throw new RangeError(`missing tensor ${name}`);
    return tensor;
  };
  const conv = (x: Act, p: string) => {
    const weight = t(`${p}.weight`);
    return conv2d(x, weight.data, t(`${p}.bias`).data, weight.shape[2]);
  };
  const norm = (x: Act, p: string, swish: boolean) =>
    groupNorm(x, config.groups, config.eps, t(`${p}.weight`).data, t(`${p}.bias`).data, swish);
  const res = (x: Act, p: string) => {
    let hid = conv(norm(x, `${p}.norm1`, true), `${p}.conv1`);
    hid = conv(norm(hid, `${p}.norm2`, true), `${p}.conv2`);
    return add(weights.has(`${p}.nin_shortcut.weight`) ? conv(x, `${p}.nin_shortcut`) : x, hid);
  };
  const attn = (x: Act, p: string) => {
    const n = norm(x, `${p}.norm`, false);
    const o = attention(conv(n, `${p}.q`), conv(n, `${p}.k`), conv(n, `${p}.v`));
    return add(x, conv(o, `${p}.proj_out`));
  };
  return { t, conv, norm, res, attn };
}

/** Decoder output in [−1, 1] (before clamping) of one token grid: tokens [h, w] → [3, H, W]. */
export function decodeVqFloat(
  config: VqConfig,
  weights: VqWeights,
  tokens: ArrayLike<number>, // [h, w]
  h: number,
  w: number,
): Act {
  const { t, conv, norm, res, attn } = layers(config, weights);
  let x = lookupCodes(t("quantize.embedding.weight").data, config.codebookDim, tokens, h, w);
  x = conv(conv(x, "post_quant_conv"), "decoder.conv_in");
  x = res(attn(res(x, "decoder.mid.0"), "decoder.mid.1"), "decoder.mid.2");
  vqLevels(config).forEach((level, i) => {
    const p = `decoder.conv_blocks.${i}`;
    for (let j = 0; j < level.blocks; j++) {
      x = res(x, `${p}.res.${j}`);
      if (level.attn) x = attn(x, `${p}.attn.${j}`);
    }
    if (level.upsample) x = conv(upsample2x(x), `${p}.upsample.conv`);
  });
  return conv(norm(x, "decoder.norm_out", true), "decoder.conv_out");
}

/** A decoder output value in [−1, 1] → a byte: floor(clamp((v + 1)/2, 0, 1)·255 + 0.5). */
export function toByte(v: number): number {
  return Math.floor(Math.min(Math.max((v + 1) / 2, 0), 1) * 255 + 0.5);
}

/**
 * Decode token grids to RGB: tokens [B, H, W] → pixels [B, H·s, W·s, 3] (s = 2^(levels−1)).
 * Tokens must be in 0..codebookSize−1.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeVqReference } from "./vq_reference.ts";
 * import { randomVqWeights, tinyVqConfig } from "./webgpu/vq_random_weights.ts";
 * const config = tinyVqConfig();
 * const pixels = decodeVqReference(config, randomVqWeights(config), new Int32Array(4), [1, 2, 2]);
 * assert(pixels.length === 4 * 4 * 3);
 * ```
 */
export function decodeVqReference(
  config: VqConfig,
  weights: VqWeights,
  tokens: ArrayLike<number>, // [B, H, W]
  shape: [number, number, number],
): Uint8Array {
  const [b, h, w] = shape;
  const s = vqScale(config);
  const hw = h * w, plane = hw * s * s;
  const out = new Uint8Array(b * plane * 3);
  for (let i = 0; i < b; i++) {
    const grid = Array.from({ length: hw }, (_, p) => tokens[i * hw + p]);
    for (const token of grid) {
      if (!Number.isInteger(token) || token < 0 || token >= config.codebookSize) {
        throw new RangeError(
          `Token ${token} is outside the codebook (0..${config.codebookSize - 1})`,
        );
      }
    }
    const rgb = decodeVqFloat(config, weights, grid, h, w); // [3, H·s, W·s]
    for (let p = 0; p < plane; p++) {
      for (let ch = 0; ch < 3; ch++) {
        out[(i * plane + p) * 3 + ch] = toByte(rgb.data[ch * plane + p]);
      }
    }
  }
  return out;
}
