/**
 * The WebGPU VQ-16 image decoder: token grids [B, H, W] → RGB bytes [B, H·s, W·s, 3]
 * (s = 16 for the official decoder). Inputs are validated on the host (one-line RangeError)
 * before anything touches the GPU; images run one after another through one set of
 * activation buffers, all in one submission per batch chunk, with one readback per chunk.
 *
 * @module
 */

import {
  checkVqTokens,
  checkVqWeights,
  loadVq,
  type VqConfig,
  vqScale,
  type VqWeights,
} from "../vq_config.ts";
import { type Gpu, openGpu, withErrorScope } from "./device.ts";
import { checkVqGrid, type PixelRounding, VqForward, type VqLimits } from "./vq_forward.ts";
import { type VqKernels, vqKernels } from "./vq_kernels.ts";
import { type GpuVqWeights, uploadVqWeights } from "./vq_weights.ts";

/** Where the decoder comes from: a directory (vq.json + vq.safetensors) or memory. */
export type VqSource = { dir: string } | { config: VqConfig; weights: VqWeights };

/** Options of openWebgpuVqDecoder(). */
export interface VqDecoderOptions {
  /**
   * Lower the storage binding limit (tests of the weight-splitting path).
   * @default the device's maxStorageBufferBindingSize
   */
  maxBindingBytes?: number;
  /** How outputs become bytes (Janus: `truncate`). @default "nearest" */
  pixelRounding?: PixelRounding;
}

/** An open decoder. */
export interface VqDecoder {
  /** The decoder's config. */
  readonly config: VqConfig;
  /** Pixels per token side (16 for VQ-16). */
  readonly scale: number;
  /** Adapter description, e.g. `llvmpipe (LLVM 15.0.6, 256 bits)`. */
  readonly device: string;
  /** Decode token grids: tokens [B, H, W] → RGB bytes [B, H·scale, W·scale, 3]. */
  decode(tokens: ArrayLike<number>, shape: readonly [number, number, number]): Promise<Uint8Array>;
  /** Free the device buffers. */
  close(): Promise<void>;
}

/** Staging bytes per submission: images beyond it go into the next one. */
const STAGING_BYTES = 64 << 20;

/**
 * Open a VQ decoder on the WebGPU device. Weights are checked against the config (missing key
 * or wrong shape → one-line RangeError) before any buffer is allocated.
 *
 * @example
 * ```ts ignore
 * import { openWebgpuVqDecoder } from "./vq_decoder.ts";
 * const decoder = await openWebgpuVqDecoder({ dir: "models/vq16" });
 * const rgb = await decoder.decode(new Int32Array(24 * 24), [1, 24, 24]); // [1, 384, 384, 3]
 * await decoder.close();
 * ```
 */
export async function openWebgpuVqDecoder(
  source: VqSource,
  options: VqDecoderOptions = {},
): Promise<VqDecoder> {
  let config: VqConfig, weights: VqWeights;
  if ("dir" in source) ({ config, weights } = await loadVq(source.dir));
  else {
    ({ config, weights } = source);
    checkVqWeights(weights, config);
  }
  const gpu = await openGpu();
  const { device } = gpu;
  const limits: VqLimits = {
    maxBindingBytes: Math.min(
      options.maxBindingBytes ?? Infinity,
      device.limits.maxStorageBufferBindingSize,
    ),
    maxWorkgroupBytes: device.limits.maxComputeWorkgroupStorageSize,
  };
  const kernels = vqKernels(device);
  const gpuWeights = await withErrorScope(
    device,
    "VQ weight upload",
    () => uploadVqWeights(device, config, weights, limits.maxBindingBytes),
  );
  return new WebgpuVqDecoder(gpu, kernels, config, gpuWeights, limits, options.pixelRounding);
}

class WebgpuVqDecoder implements VqDecoder {
  readonly config: VqConfig;
  readonly scale: number;
  readonly device: string;
  readonly #gpu: Gpu;
  readonly #kernels: VqKernels;
  readonly #limits: VqLimits;
  #weights: GpuVqWeights | null;
  #forward: { key: string; forward: VqForward } | null = null;

  readonly #rounding: PixelRounding;

  constructor(
    gpu: Gpu,
    kernels: VqKernels,
    config: VqConfig,
    w: GpuVqWeights,
    limits: VqLimits,
    rounding: PixelRounding = "nearest",
  ) {
    this.#rounding = rounding;
    this.#gpu = gpu;
    this.#kernels = kernels;
    this.config = config;
    this.#weights = w;
    this.#limits = limits;
    this.scale = vqScale(config);
    this.device = gpu.description;
  }

  async #forwardFor(h: number, w: number): Promise<VqForward> {
    const key = `${h}x${w}`;
    if (this.#forward?.key === key) return this.#forward.forward;
    this.#forward?.forward.destroy();
    this.#forward = null;
    const { device } = this.#gpu;
    const forward = await withErrorScope(
      device,
      `VQ decoder setup for a ${h}×${w} grid`,
      () =>
        new VqForward(
          device,
          this.#kernels,
          this.config,
          this.#weights!,
          [h, w],
          this.#limits,
          this.#rounding,
        ),
    );
    this.#forward = { key, forward };
    return forward;
  }

  async decode(
    tokens: ArrayLike<number>,
    shape: readonly [number, number, number],
  ): Promise<Uint8Array> {
    if (!this.#weights) throw new Error("The VQ decoder is closed");
    checkVqTokens(this.config, tokens, shape);
    const [b, h, w] = shape;
    checkVqGrid(this.config, h, w, this.#limits);
    this.#gpu.check();
    const forward = await this.#forwardFor(h, w);
    const { device } = this.#gpu;
    const hw = h * w, bytesPerImage = 3 * forward.sizes.pixels, stride = forward.sizes.words * 4;
    const out = new Uint8Array(b * bytesPerImage);
    const all = device.createBuffer({
      label: "vq-tokens",
      size: Math.ceil((b * hw * 4) / 16) * 16,
      usage: GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
    });
    device.queue.writeBuffer(all, 0, Int32Array.from(tokens));
    const perSubmit = Math.max(1, Math.floor(STAGING_BYTES / stride));
    try {
      for (let first = 0; first < b; first += perSubmit) {
        const n = Math.min(perSubmit, b - first);
        const staging = this.#gpu.staging.acquire(n * stride);
        try {
          await withErrorScope(device, "VQ decode", () => {
            const encoder = device.createCommandEncoder({ label: "vq-decode" });
            for (let i = 0; i < n; i++) {
              encoder.copyBufferToBuffer(all, (first + i) * hw * 4, forward.tokens, 0, hw * 4);
              const pass = encoder.beginComputePass({ label: `vq-image-${first + i}` });
              forward.encode(pass);
              pass.end();
              encoder.copyBufferToBuffer(forward.pix, 0, staging, i * stride, stride);
            }
            device.queue.submit([encoder.finish()]);
          });
          try {
            await staging.mapAsync(GPUMapMode.READ, 0, n * stride);
          } catch (e) {
            this.#gpu.check();
            throw new Error(`WebGPU readback failed: ${(e as Error).message.split("\n")[0]}`);
          }
          this.#gpu.check();
          const bytes = new Uint8Array(staging.getMappedRange(0, n * stride));
          for (let i = 0; i < n; i++) {
            out.set(
              bytes.subarray(i * stride, i * stride + bytesPerImage),
              (first + i) * bytesPerImage,
            );
          }
          staging.unmap();
        } finally {
          this.#gpu.staging.release(staging);
        }
      }
    } finally {
      all.destroy();
    }
    return out;
  }

  close(): Promise<void> {
    this.#forward?.forward.destroy();
    this.#forward = null;
    for (const buffer of this.#weights?.all ?? []) buffer.destroy();
    this.#weights = null;
    return Promise.resolve();
  }
}
