/**
 * The WebGPU backend: a LlamaGen GPT (`config.json` + `model.safetensors`) or a Janus-Pro
 * directory of transformers' layout (janus_backend.ts) in WGSL, logits or whole planned
 * generations on the device.
 *
 * @module
 */

import { classOf, type Sequence } from "../../core/condition.ts";
import type { Backend, ModelInfo, PlanRun, Session } from "../../core/step.ts";
import { type LlamagenConfig, type LlamagenWeights, loadLlamagen } from "../llamagen_config.ts";
import { type ModelDecoder, modelDirDecoder } from "../model_decoder.ts";
import { readConfigObject } from "../model_dir.ts";
import { join } from "node:path";
import { isJanusConfig, openJanusWebgpuBackend } from "./janus_backend.ts";
import { type Gpu, openGpu, withErrorScope } from "./device.ts";
import { Kernels } from "./kernels.ts";
import type { MatmulOptions, MatmulPolicy } from "./matmul.ts";
import { type MatrixDtype, storageDtype } from "./matrix_upload.ts";
import { type SessionOpening, WebgpuSession } from "./session.ts";
import { type GpuWeights, uploadWeights } from "./weights.ts";

/** Options of {@linkcode openWebgpuBackend}. */
export interface WebgpuBackendOptions {
  /** Model directory holding config.json and model.safetensors. */
  model: string;
  /**
   * `--dtype`: how weight matrices are stored, float32 or float16 (default: f16 for a
   * checkpoint stored in 16 bits on a device with `shader-f16`, else f32).
   */
  dtype?: string;
}

/** Kernels per device: pipelines are shared by every backend on it. */
const kernelCache = new WeakMap<GPUDevice, Kernels>();

/** ModelInfo of a LlamaGen config. */
export function llamagenInfo(config: LlamagenConfig): ModelInfo {
  return {
    name: config.preset ?? `llamagen-d${config.dim}-l${config.layers}`,
    family: "llamagen",
    vocab: config.vocab,
    height: config.grid[0],
    width: config.grid[1],
    prefix: config.prefix,
    eolToken: null,
    numClasses: config.numClasses,
    conditioning: "class",
  };
}

/**
 * Open a LlamaGen model directory on the WebGPU device.
 *
 * @example
 * ```ts ignore
 * import { openWebgpuBackend } from "./backend.ts";
 * const backend = await openWebgpuBackend({ model: "models/gpt-b" });
 * const session = await backend.open(sequencesFor([207], true)); // class 207, and CFG's null class
 * ```
 */
export async function openWebgpuBackend(
  options: WebgpuBackendOptions,
): Promise<Backend & { modelDecoder: ModelDecoder }> {
  const isDir = await Deno.stat(options.model).then((s) => s.isDirectory, () => false);
  const json = isDir
    ? await readConfigObject(join(options.model, "config.json")).catch(() => null)
    : null; // loadLlamagen names what is missing
  if (json && isJanusConfig(json)) {
    return await openJanusWebgpuBackend(options.model, { config: json, dtype: options.dtype });
  }
  if (typeof json?.model_type === "string") {
    throw new Error(
      `${options.model}: the WebGPU backend runs LlamaGen and Janus, not ${
        JSON.stringify(json.model_type)
      } models; use --backend python`,
    );
  }
  const { config, weights } = await loadLlamagen(options.model);
  const modelDecoder = await modelDirDecoder(options.model);
  const gpu = await openGpu();
  const dtype = storageDtype({
    requested: options.dtype,
    stored16: config.dtype !== "float32",
    deviceF16: gpu.f16,
  });
  const runsOn = {
    device: `webgpu: ${gpu.description}`,
    dtype: dtype === "f16" ? "float16" : "float32",
  };
  return Object.assign(await createWebgpuBackend(config, weights, { dtype }), {
    modelDecoder,
    runsOn,
  });
}

/** Options of {@linkcode createWebgpuBackend} (tests and benchmarks). */
export interface CreateWebgpuBackendOptions {
  /** Split weight matrices into chunks above this many bytes (to test the split on small models). */
  maxBindingBytes?: number;
  /** Matmul kernel choice (matmul.ts); `blocked` is the kernel before tiling. @default "auto" */
  matmul?: MatmulPolicy;
  /** How the matmuls' matrices are stored. @default "f32" */
  dtype?: MatrixDtype;
}

/** The backend for weights already in memory (tests, benchmarks). */
export async function createWebgpuBackend(
  config: LlamagenConfig,
  weights: LlamagenWeights,
  options: CreateWebgpuBackendOptions = {},
): Promise<Backend> {
  const gpu = await openGpu();
  const { device } = gpu;
  const slots = config.prefix + config.grid[0] * config.grid[1];
  const workgroupBytes = (slots + 64) * 4;
  if (workgroupBytes > device.limits.maxComputeWorkgroupStorageSize) {
    throw new RangeError(`${slots} slots exceed this device's attention workgroup memory`);
  }
  let kernels = kernelCache.get(device);
  if (!kernels) kernelCache.set(device, kernels = new Kernels(device));
  const gpuWeights = await withErrorScope(
    device,
    "weight upload",
    () =>
      uploadWeights(
        device,
        config,
        weights,
        Math.min(options.maxBindingBytes ?? Infinity, device.limits.maxStorageBufferBindingSize),
        options.dtype,
      ),
  );
  const matmul: MatmulOptions = {
    policy: options.matmul ?? "auto",
    workgroupBytes: device.limits.maxComputeWorkgroupStorageSize,
    software: gpu.isFallback,
  };
  return new WebgpuBackend(gpu, kernels, config, gpuWeights, matmul);
}

class WebgpuBackend implements Backend {
  readonly name = "webgpu";
  readonly info: ModelInfo;
  readonly #gpu: Gpu;
  readonly #kernels: Kernels;
  readonly #config: LlamagenConfig;
  readonly #matmul: MatmulOptions;
  #weights: GpuWeights | null;

  constructor(
    gpu: Gpu,
    kernels: Kernels,
    config: LlamagenConfig,
    weights: GpuWeights,
    matmul: MatmulOptions,
  ) {
    this.info = llamagenInfo(config);
    this.#matmul = matmul;
    this.#gpu = gpu;
    this.#kernels = kernels;
    this.#config = config;
    this.#weights = weights;
  }

  async open(sequences: readonly Sequence[]): Promise<Session> {
    if (!this.#weights) throw new Error("WebGPU backend is closed");
    if (sequences.length === 0) throw new RangeError("A session needs at least one sequence");
    const conditions = sequences.map((s, i) => {
      try {
        return classOf(s, this.#config.numClasses);
      } catch (e) {
        throw new RangeError(`Sequence ${i}: ${(e as Error).message}`);
      }
    });
    this.#gpu.check();
    const config = this.#config;
    const model = {
      gpu: this.#gpu,
      kernels: this.#kernels,
      decoder: { ...config, hw: config.grid[0] * config.grid[1] },
      family: "llamagen",
      grid: config.grid,
      prefix: config.prefix,
      weights: this.#weights,
      matmul: this.#matmul,
    };
    const opening: SessionOpening = {
      slots: config.prefix + config.grid[0] * config.grid[1],
      conds: Int32Array.from(conditions),
      base: new Int32Array(conditions.length), // position = slot
      planConds: (run, seqs) => planClasses(run, seqs, config.numClasses),
    };
    return await withErrorScope(
      this.#gpu.device,
      "session setup",
      () => new WebgpuSession(model, opening),
    );
  }

  close(): Promise<void> {
    for (const b of this.#weights?.all ?? []) b.destroy();
    this.#weights = null;
    return Promise.resolve();
  }
}

/** conds: [seqs] of a plan's images: their classes, then CFG's null class for the second half. */
function planClasses(run: PlanRun, seqs: number, numClasses: number): Int32Array<ArrayBuffer> {
  const b = run.images.length;
  const conds = new Int32Array(seqs);
  run.images.forEach((image, i) => {
    const c = image.condition;
    if (typeof c !== "number" || !Number.isInteger(c) || c < 0 || c >= numClasses) {
      throw new RangeError(`Image ${i}: class ${JSON.stringify(c)} is not in 0..${numClasses - 1}`);
    }
    conds[i] = c;
    if (seqs > b) conds[b + i] = numClasses;
  });
  return conds;
}
