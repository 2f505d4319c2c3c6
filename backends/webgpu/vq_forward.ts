/**
 * The VQ decoder forward of one image of one grid shape as a list of dispatches: codebook
 * lookup → post_quant_conv → conv_in → mid (res, attn, res) → levels (res [+ attn], fused
 * nearest ×2 upsample + conv) → GroupNorm + swish → conv_out → bytes. Activations are
 * channel-major [C, H, W] in four ping-pong buffers sized for the largest stage; bind groups
 * and pipelines are made once per shape.
 *
 * @module
 */

import { type VqConfig, vqLevels, vqScale } from "../vq_config.ts";
import { storageBuffer } from "./device.ts";
import type { VqKernels } from "./vq_kernels.ts";
import type { GpuVqWeights } from "./vq_weights.ts";

/** Device limits a grid shape must fit. */
export interface VqLimits {
  /** Largest storage binding, bytes. */
  maxBindingBytes: number;
  /** Workgroup memory, bytes (attention keeps one score row per workgroup). */
  maxWorkgroupBytes: number;
}

/**
 * How decoder outputs in [−1, 1] become bytes: `nearest` rounds (LlamaGen's `127.5·x + 128`
 * cast), `truncate` drops the fraction (Janus's image processor casts (x + 1)/2 · 255).
 */
export type PixelRounding = "nearest" | "truncate";

/** Sizes of one image's forward for a token grid h × w. */
export interface VqSizes {
  /** Largest activation, in floats. */
  maxElems: number;
  /** Attention positions (coarsest level) and channels. */
  attnN: number;
  attnC: number;
  /** Output pixels per image and their packed words. */
  pixels: number;
  words: number;
}

/** The sizes of a grid's forward. */
export function vqSizes(config: VqConfig, h: number, w: number): VqSizes {
  const levels = vqLevels(config);
  const top = levels[0].cin;
  let hw = h * w;
  let maxElems = Math.max(config.codebookDim, config.zChannels, top) * hw;
  for (const level of levels) {
    maxElems = Math.max(maxElems, Math.max(level.cin, level.cout) * hw);
    if (level.upsample) hw *= 4;
    maxElems = Math.max(maxElems, level.cout * hw);
  }
  const s = vqScale(config);
  const pixels = h * w * s * s;
  return { maxElems, attnN: h * w, attnC: top, pixels, words: Math.ceil((3 * pixels) / 4) };
}

/** Throw a one-line RangeError when a grid h × w does not fit the device. */
export function checkVqGrid(config: VqConfig, h: number, w: number, limits: VqLimits): VqSizes {
  const sizes = vqSizes(config, h, w);
  const s = vqScale(config);
  const bytes = sizes.maxElems * 4;
  if (bytes > limits.maxBindingBytes) {
    throw new RangeError(
      `A ${h}×${w} grid decodes to ${h * s}×${
        w * s
      } with a ${bytes}-byte activation, more than one storage binding (${limits.maxBindingBytes} bytes); decode a smaller grid`,
    );
  }
  const attnBytes = (sizes.attnN + sizes.attnC + 64) * 4;
  if (attnBytes > limits.maxWorkgroupBytes) {
    throw new RangeError(
      `A ${h}×${w} grid has ${sizes.attnN} attention positions, more than workgroup memory allows (${limits.maxWorkgroupBytes} bytes)`,
    );
  }
  if (Math.ceil((h * s * Math.ceil((w * s) / 4)) / 64) > 65535) {
    throw new RangeError(`A ${h}×${w} grid decodes to more pixels than one dispatch covers`);
  }
  return sizes;
}

type Dispatch = (pass: GPUComputePassEncoder) => void;

/** One image's encoded forward for a fixed grid shape. */
export class VqForward {
  /** Input tokens of the image: [h·w] i32 (copy them in before encode()). */
  readonly tokens: GPUBuffer;
  /** Output bytes [Hp, Wp, 3] packed in u32 words. */
  readonly pix: GPUBuffer;
  readonly sizes: VqSizes;
  readonly #dispatches: Dispatch[] = [];
  readonly #buffers: GPUBuffer[] = [];

  constructor(
    device: GPUDevice,
    kernels: VqKernels,
    config: VqConfig,
    weights: GpuVqWeights,
    grid: [number, number],
    limits: VqLimits,
    rounding: PixelRounding = "nearest",
  ) {
    let [h, w] = grid;
    const sizes = this.sizes = checkVqGrid(config, h, w, limits);
    const make = (label: string, bytes: number) => {
      const b = storageBuffer(device, label, bytes);
      this.#buffers.push(b);
      return b;
    };
    this.tokens = make("vq-tokens-image", h * w * 4);
    this.pix = make("vq-pixels", sizes.words * 4);
    const act = (label: string) => make(label, sizes.maxElems * 4);
    let cur = act("vq-x0"), other = act("vq-x1");
    const t = act("vq-t"), u = act("vq-u");
    const kBuf = make("vq-k", sizes.attnN * sizes.attnC * 4);
    const vBuf = make("vq-v", sizes.attnN * sizes.attnC * 4);
    const dummy = make("vq-no-residual", 16);
    const uniform = (label: string, values: number[]) => {
      const b = device.createBuffer({
        label,
        size: Math.ceil(values.length / 4) * 16,
        usage: GPUBufferUsage.UNIFORM,
        mappedAtCreation: true,
      });
      new Uint32Array(b.getMappedRange()).set(values);
      b.unmap();
      this.#buffers.push(b);
      return b;
    };
    const add = (d: Dispatch) => this.#dispatches.push(d);
    const swap = () => ([cur, other] = [other, cur]);

    // y = conv(x) (+ r); x is [cin, h, w], or [cin, h/2, w/2] read upsampled when `up`.
    const conv = (p: string, x: GPUBuffer, y: GPUBuffer, r: GPUBuffer | null, up = false) => {
      const c = weights.convs.get(p)!;
      for (const chunk of c.chunks) {
        const pipeline = kernels.pipeline("conv", { KS: c.k, UP: up, RES: r !== null });
        const shape = uniform(`${p}-shape`, [c.cin, chunk.cout, chunk.coutp, chunk.co0, h, w]);
        const group = kernels.bindGroup("conv", p, [
          shape,
          x,
          chunk.buffer,
          c.bias,
          r ?? dummy,
          y,
        ]);
        const gx = Math.ceil((h * Math.ceil(w / 4)) / 64), gy = Math.ceil(chunk.cout / 8);
        add((pass) => {
          pass.setPipeline(pipeline);
          pass.setBindGroup(0, group);
          pass.dispatchWorkgroups(gx, gy);
        });
      }
      return c.cout;
    };
    let channels = 0;
    const norm = (p: string, x: GPUBuffer, y: GPUBuffer, swish: boolean) => {
      const n = weights.norms.get(p)!;
      const pipeline = kernels.pipeline("groupnorm", { EPS: { f32: config.eps }, SWISH: swish });
      const shape = uniform(`${p}-shape`, [channels, h * w, config.groups]);
      const group = kernels.bindGroup("groupnorm", p, [shape, x, n.gamma, n.beta, y]);
      add((pass) => {
        pass.setPipeline(pipeline);
        pass.setBindGroup(0, group);
        pass.dispatchWorkgroups(config.groups);
      });
    };
    const res = (p: string) => {
      norm(`${p}.norm1`, cur, t, true);
      channels = conv(`${p}.conv1`, t, u, null);
      norm(`${p}.norm2`, u, t, true);
      if (weights.convs.has(`${p}.nin_shortcut`)) {
        conv(`${p}.nin_shortcut`, cur, u, null);
        conv(`${p}.conv2`, t, other, u);
      } else conv(`${p}.conv2`, t, other, cur);
      swap();
    };
    const attn = (p: string) => {
      norm(`${p}.norm`, cur, t, false);
      conv(`${p}.q`, t, u, null);
      conv(`${p}.k`, t, kBuf, null);
      conv(`${p}.v`, t, vBuf, null);
      const n = h * w;
      const pipeline = kernels.pipeline("attention", {
        C: channels,
        N: n,
        SCALE: { f32: 1 / Math.sqrt(channels) },
      });
      const group = kernels.bindGroup("attention", `${p}-attention`, [u, kBuf, vBuf, t]);
      add((pass) => {
        pass.setPipeline(pipeline);
        pass.setBindGroup(0, group);
        pass.dispatchWorkgroups(Math.min(n, 65535), Math.ceil(n / 65535));
      });
      conv(`${p}.proj_out`, t, other, cur);
      swap();
    };

    const lookup = kernels.pipeline("lookup", {});
    const lookupGroup = kernels.bindGroup("lookup", "vq-lookup", [
      uniform("vq-lookup-shape", [h * w, config.codebookDim]),
      this.tokens,
      weights.codebook,
      t,
    ]);
    add((pass) => {
      pass.setPipeline(lookup);
      pass.setBindGroup(0, lookupGroup);
      pass.dispatchWorkgroups(Math.ceil((h * w) / 64));
    });
    conv("post_quant_conv", t, u, null);
    channels = conv("decoder.conv_in", u, cur, null);
    res("decoder.mid.0");
    attn("decoder.mid.1");
    res("decoder.mid.2");
    vqLevels(config).forEach((level, i) => {
      const p = `decoder.conv_blocks.${i}`;
      for (let j = 0; j < level.blocks; j++) {
        res(`${p}.res.${j}`);
        if (level.attn) attn(`${p}.attn.${j}`);
      }
      if (level.upsample) {
        h *= 2;
        w *= 2;
        conv(`${p}.upsample.conv`, cur, other, null, true);
        swap();
      }
    });
    norm("decoder.norm_out", cur, t, true);
    conv("decoder.conv_out", t, u, null);
    const pixels = kernels.pipeline("pixels", { NEAREST: rounding === "nearest" });
    const pixelsGroup = kernels.bindGroup("pixels", "vq-pixels", [
      uniform("vq-pixels-shape", [sizes.pixels, sizes.words]),
      u,
      this.pix,
    ]);
    const groups = Math.ceil(sizes.words / 64);
    add((pass) => {
      pass.setPipeline(pixels);
      pass.setBindGroup(0, pixelsGroup);
      pass.dispatchWorkgroups(Math.min(groups, 65535), Math.ceil(groups / 65535));
    });
  }

  /** Record the whole forward of one image into `pass`. */
  encode(pass: GPUComputePassEncoder): void {
    for (const d of this.#dispatches) d(pass);
  }

  /** Free the activation buffers. */
  destroy(): void {
    for (const b of this.#buffers) b.destroy();
  }
}
