/**
 * Janus / Janus-Pro on WebGPU: a transformers-layout directory (config.json `model_type`
 * "janus") generating images from text prompts without Python. The prompt becomes ids through
 * the directory's tokenizer and chat template (backends/janus_prompt.ts), its rows of the text
 * embedding are read from disk, and the session prefills them (session.ts); image tokens run
 * through the generation path uploaded by janus_weights.ts. Sampling, CFG and planned mode are
 * the backend's shared ones, with Janus's unconditional rows (the prompt padded, as
 * transformers' image loop builds them).
 *
 * @module
 */

import { checkCondition, isPrompt, type Sequence } from "../../core/condition.ts";
import { CONTRACT } from "../../core/contract.ts";
import type { Backend, ModelInfo, PlanRun, Session } from "../../core/step.ts";
import {
  JANUS_GEN_EMBEDDING,
  JANUS_TEXT_EMBEDDING,
  type JanusConfig,
  janusConfig,
  janusShapes,
} from "../janus_config.ts";
import { type JanusPrompt, loadJanusPrompt, type PromptSequence } from "../janus_prompt.ts";
import type { ModelDecoder } from "../model_decoder.ts";
import { readConfigObject } from "../model_dir.ts";
import { openWeightDir, type WeightDir } from "../weight_dir.ts";
import { join } from "node:path";
import { type Gpu, openGpu, withErrorScope } from "./device.ts";
import { QUERY_INTS } from "./device_queries.ts";
import { uploadJanusWeights } from "./janus_weights.ts";
import { Kernels } from "./kernels.ts";
import type { MatmulOptions } from "./matmul.ts";
import { chunkRows, type MatrixDtype, storageDtype } from "./matrix_upload.ts";
import { type SessionModel, type SessionOpening, WebgpuSession } from "./session.ts";
import type { GpuWeights } from "./weights.ts";

/** Cache positions are rounded up to this (fewer attention pipeline variants). */
const SLOT_ROUNDING = 64;

/** Whether `config` (a parsed config.json) is a Janus directory of either layout. */
export function isJanusConfig(config: Record<string, unknown>): boolean {
  return config.model_type === "janus" || config.model_type === "multi_modality";
}

/** Options of {@linkcode openJanusWebgpuBackend}. */
export interface JanusWebgpuOptions {
  /** The directory's config.json when the caller has read it already. */
  config?: Record<string, unknown>;
  /** `--dtype`: float32 or float16 matrices (default: {@linkcode storageDtype}'s rule). */
  dtype?: string;
  /** Called after each decoder layer is on the device (done, of total). */
  onLayer?: (done: number, total: number) => void;
}

/**
 * Open the Janus directory `dir` (already known to be one: {@linkcode isJanusConfig}) on the
 * WebGPU device. Throws a one-line Error before allocating anything when the directory is of
 * DeepSeek's layout, lacks a tensor or tokenizer file, or a matrix row cannot fit the device.
 *
 * @example
 * ```ts ignore
 * import { openJanusWebgpuBackend } from "./janus_backend.ts";
 * const backend = await openJanusWebgpuBackend("models/Janus-Pro-1B", config);
 * ```
 */
export async function openJanusWebgpuBackend(
  dir: string,
  options: JanusWebgpuOptions = {},
): Promise<Backend & { modelDecoder: ModelDecoder }> {
  const json = options.config ?? await readConfigObject(join(dir, "config.json"));
  if (json.model_type === "multi_modality") {
    throw new Error(
      `${dir}: DeepSeek's Janus release layout (multi_modality, pickled weights) runs on --backend python; the WebGPU backend reads transformers' layout (deepseek-community/Janus-Pro-*)`,
    );
  }
  const weights = await openWeightDir(dir);
  try {
    const config = janusConfig(json, weights, dir);
    const prompt = await loadJanusPrompt(dir);
    const gpu = await openGpu();
    const { device } = gpu;
    const layer0 = weights.entries.get("model.language_model.layers.0.mlp.gate_proj.weight")!;
    const dtype = storageDtype({
      requested: options.dtype,
      stored16: layer0.dtype !== "F32",
      deviceF16: gpu.f16,
    });
    checkJanusFits(config, device.limits, dtype, dir);
    const kernels = new Kernels(device);
    const gpuWeights = await withErrorScope(
      device,
      "upload of the Janus weights",
      () =>
        uploadJanusWeights(device, config, weights, {
          maxBytes: device.limits.maxStorageBufferBindingSize,
          dtype,
          onLayer: options.onLayer,
        }),
      { fix: "use --backend python", discard: (w) => w.all.forEach((b) => b.destroy()) },
    );
    const matmul: MatmulOptions = {
      policy: "auto",
      workgroupBytes: device.limits.maxComputeWorkgroupStorageSize,
      software: gpu.isFallback,
    };
    const name = dir.replace(/\/+$/, "").split("/").at(-1) || "janus";
    return new JanusWebgpuBackend({
      dtype,
      gpu,
      kernels,
      config,
      weights,
      gpuWeights,
      prompt,
      matmul,
      name,
      dir,
    });
  } catch (e) {
    weights.close();
    throw e;
  }
}

/**
 * Refuse, before any allocation, a model one of whose tensors (8 rows of a matrix, a split's
 * least) does not fit the adapter's storage binding.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkJanusFits } from "./janus_backend.ts";
 * const config = { dim: 4096, hidden: 11008, heads: 32, kvHeads: 32, layers: 1, normEps: 1e-6,
 *   ropeBase: 1e4, context: 4096, textVocab: 102400, codebook: 16384, embedDim: 8,
 *   alignerLayers: 2, headDim: 4096, side: 24 };
 * checkJanusFits(config, { maxStorageBufferBindingSize: 128 << 20 }, "f32", "Janus-Pro-7B");
 * assert.throws(
 *   () => checkJanusFits(config, { maxStorageBufferBindingSize: 256 << 10 }, "f32", "Janus-Pro-7B"),
 *   /Janus-Pro-7B: .* does not fit this adapter's 262144-byte storage binding; use --backend python/,
 * );
 * ```
 */
export function checkJanusFits(
  config: JanusConfig,
  limits: Pick<GPUSupportedLimits, "maxStorageBufferBindingSize">,
  dtype: MatrixDtype,
  dir: string,
): void {
  const binding = limits.maxStorageBufferBindingSize;
  for (const [name, shape] of janusShapes(config)) {
    // Vectors and the (small) generation embedding go up whole in f32; matrices in row chunks
    // of the storage dtype, as uploadMatrix splits them.
    const whole = shape.length === 1 || name === JANUS_GEN_EMBEDDING;
    const fits = whole
      ? shape.reduce((a, b) => a * b, 4) <= binding
      : canChunk(shape[0], shape[1], binding, dtype === "f16" ? 2 : 4);
    if (!fits) {
      throw new Error(
        `${dir}: ${name} (${
          shape.join("×")
        }) does not fit this adapter's ${binding}-byte storage binding; use --backend python`,
      );
    }
  }
}

/** Whether uploadMatrix can split rows × cols into chunks of `maxBytes` (chunkRows' rule). */
function canChunk(rows: number, cols: number, maxBytes: number, bytesPerElement: number) {
  try {
    chunkRows(rows, cols, maxBytes, bytesPerElement);
    return true;
  } catch {
    return false;
  }
}

interface JanusParts {
  gpu: Gpu;
  kernels: Kernels;
  config: JanusConfig;
  weights: WeightDir;
  gpuWeights: GpuWeights;
  prompt: JanusPrompt;
  matmul: MatmulOptions;
  name: string;
  dir: string;
  dtype: MatrixDtype;
}

class JanusWebgpuBackend implements Backend {
  readonly name = "webgpu";
  readonly info: ModelInfo;
  readonly modelDecoder: ModelDecoder;
  /** The adapter and how the weights are stored (grid metadata). */
  readonly runsOn: { device: string; dtype: string };
  #parts: JanusParts | null;
  readonly #model: SessionModel;

  constructor(parts: JanusParts) {
    const { config } = parts;
    this.#parts = parts;
    this.info = {
      name: parts.name,
      family: "janus",
      vocab: config.codebook,
      height: config.side,
      width: config.side,
      prefix: 1,
      eolToken: null,
      numClasses: 0,
      conditioning: "text",
      defaults: { ...CONTRACT.families.janus.defaults },
    };
    this.modelDecoder = { available: true, where: "janus-vq", name: "Janus VQ-16", dir: parts.dir };
    this.runsOn = {
      device: `webgpu: ${parts.gpu.description}`,
      dtype: parts.dtype === "f16" ? "float16" : "float32",
    };
    this.#model = {
      gpu: parts.gpu,
      kernels: parts.kernels,
      decoder: { ...config, vocab: config.codebook, hw: config.side * config.side },
      family: "janus",
      grid: [config.side, config.side],
      prefix: 1,
      weights: parts.gpuWeights,
      matmul: parts.matmul,
    };
  }

  async open(sequences: readonly Sequence[]): Promise<Session> {
    const parts = this.#parts;
    if (!parts) throw new Error("WebGPU backend is closed");
    if (sequences.length === 0) throw new RangeError("A session needs at least one sequence");
    const { config, prompt, gpu } = parts;
    const hw = config.side * config.side;
    sequences.forEach((s, i) => {
      try {
        checkCondition(s.condition, this.info);
      } catch (e) {
        throw new RangeError(`Sequence ${i}: ${(e as Error).message}`);
      }
    });
    const ids = await prompt.ids(sequences as readonly PromptSequence[]);
    ids.forEach((got, i) => {
      const s = sequences[i];
      if (got.length + hw > config.context) {
        const what = s.unconditional && isPrompt(s.condition) &&
            s.condition.negativePrompt !== undefined
          ? "negative prompt"
          : "prompt";
        throw new RangeError(
          `the ${what} is ${got.length} tokens with the chat template, but the model's context leaves ${
            config.context - hw
          } beside the image; shorten it`,
        );
      }
    });
    const longest = Math.max(...ids.map((p) => p.length));
    const slots = Math.ceil((longest + hw) / SLOT_ROUNDING) * SLOT_ROUNDING;
    const workgroup = gpu.device.limits.maxComputeWorkgroupStorageSize;
    if ((slots + 64) * 4 > workgroup) {
      throw new RangeError(
        `a prompt of ${longest} tokens and ${hw} image tokens exceed this device's attention workgroup memory (${workgroup} bytes); shorten the prompt or use --backend python`,
      );
    }
    const opening = await this.#opening(parts, sequences, ids, slots);
    gpu.check();
    return await withErrorScope(
      gpu.device,
      "session setup",
      () => new WebgpuSession(this.#model, opening),
    );
  }

  /** The session's condition table, positions and prompt prefill, from the prompts' ids. */
  async #opening(
    parts: JanusParts,
    sequences: readonly Sequence[],
    ids: number[][],
    slots: number,
  ): Promise<SessionOpening> {
    const { dim } = parts.config;
    const unique = [...new Set(ids.flat())];
    const rows = await parts.weights.readRows(JANUS_TEXT_EMBEDDING, unique); // [unique, dim]
    const rowOf = new Map(unique.map((id, i) => [id, i]));
    const embed = (id: number, into: Float32Array, at: number) => {
      const r = rowOf.get(id)!;
      into.set(rows.subarray(r * dim, (r + 1) * dim), at * dim);
    };
    const seqs = ids.length;
    const table = new Float32Array(seqs * dim); // [seqs, dim]: each prompt's last token
    const prefillRows = ids.reduce((n, p) => n + p.length - 1, 0);
    const x = new Float32Array(Math.max(1, prefillRows) * dim); // [rows, dim]
    const queries = new Int32Array(Math.max(1, prefillRows) * QUERY_INTS); // [rows, 5]
    let row = 0;
    ids.forEach((p, s) => {
      embed(p.at(-1)!, table, s);
      for (let t = 0; t < p.length - 1; t++, row++) {
        embed(p[t], x, row);
        queries.set([s, t - (p.length - 1), 0, -1, -1], row * QUERY_INTS);
      }
    });
    const conditions = sequences.map((s) => JSON.stringify(s.condition));
    return {
      slots,
      conds: Int32Array.from(ids, (_, s) => s),
      base: Int32Array.from(ids, (p) => p.length - 1),
      table,
      prefill: { x, queries, rows: prefillRows },
      planConds(run: PlanRun, count: number) {
        run.images.forEach((image, i) => {
          if (JSON.stringify(image.condition) !== conditions[i]) {
            throw new RangeError(
              `Image ${i}: its prompt is not the one this session was opened with`,
            );
          }
        });
        return Int32Array.from({ length: count }, (_, s) => s);
      },
    };
  }

  close(): Promise<void> {
    const parts = this.#parts;
    if (parts) {
      for (const b of parts.gpuWeights.all) b.destroy();
      parts.weights.close();
    }
    this.#parts = null;
    return Promise.resolve();
  }
}
