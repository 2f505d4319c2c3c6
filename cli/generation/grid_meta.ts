/**
 * The metadata written beside generated grids (`meta` of a grid file), built in one place for
 * `zipar generate` and `zipar batch`: the zipar version, the model and backend, the schedule
 * and sampling settings, the images' keys, and the passes the run took.
 *
 * @module
 */

import type { Backend, GenerationStats, PlanImage } from "../../core/mod.ts";
import type { BackendSpec } from "../../backends/open.ts";
import type { ScheduleChoice } from "../schedules.ts";
import { VERSION } from "./version.ts";

/**
 * The backend part of the metadata: `modelPath` (+ `device`, `dtype`: what the Python worker
 * reports it runs on, else what was asked; for WebGPU the adapter and the weight storage) or the
 * mock's options.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { backendMeta } from "./grid_meta.ts";
 * assert.deepEqual(backendMeta({ backend: "python", model: "m", device: "cuda" }), {
 *   modelPath: "m",
 *   device: "cuda",
 *   dtype: null,
 * });
 * const worker = { device: "cuda:0", dtype: "bfloat16" };
 * assert.deepEqual(backendMeta({ backend: "python", model: "m" }, worker), {
 *   modelPath: "m",
 *   device: "cuda:0",
 *   dtype: "bfloat16",
 * });
 * ```
 */
export function backendMeta(
  spec: BackendSpec,
  worker?: { device: string; dtype: string },
): Record<string, unknown> {
  if (spec.backend === "mock") return { mock: spec.mock };
  if (spec.backend === "webgpu") {
    return worker ? { modelPath: spec.model, ...worker } : { modelPath: spec.model };
  }
  return {
    modelPath: spec.model,
    device: worker?.device ?? spec.device ?? null,
    dtype: worker?.dtype ?? spec.dtype ?? null,
  };
}

/**
 * Where a backend runs its model, when it says: the Python worker's device and dtype, or a
 * WebGPU backend's adapter and weight storage (its `runsOn`).
 */
export function workerOf(backend: object): { device: string; dtype: string } | undefined {
  const b = backend as {
    worker?: { device?: unknown; dtype?: unknown };
    runsOn?: { device?: unknown; dtype?: unknown };
  };
  const worker = b.runsOn ?? b.worker;
  if (typeof worker?.device !== "string" || typeof worker?.dtype !== "string") return undefined;
  return { device: worker.device, dtype: worker.dtype };
}

/** The sampling settings as the metadata records them. */
export interface SamplingMeta {
  /** Softmax temperature; 0 = greedy. */
  temperature: number;
  /** Top-k; 0 = off. */
  topK: number;
  /** Top-p; 1 = off. */
  topP: number;
  /** Classifier-free guidance scale; 1 = off. */
  cfg: number;
  /** `--cfg-interval`: LlamaGen's cfg_interval, recorded when given (absent = every token). */
  cfgInterval?: number;
}

/** What {@linkcode gridMeta} records. */
export interface GridMetaInput {
  /** The backend that generated: its name and model. */
  backend: Pick<Backend, "name" | "info">;
  /** {@linkcode backendMeta} of the spec it was opened with. */
  backendMeta: Record<string, unknown>;
  /** Fields of the caller, recorded after the model's (batch: `job`, `batchKey`). */
  origin?: Record<string, unknown>;
  /** The schedule choice. */
  choice: ScheduleChoice;
  /** The sampling settings. */
  sampling: SamplingMeta;
  /** The seed of the images' keys. */
  seed: number;
  /** The images, in grid order: their class, seed and index. */
  images: readonly PlanImage[];
  /**
   * What the run reports: core's stats, or a job's share of several runs (`passes` of its
   * slowest, `wallMs` its images' share; no `scheduleStats`).
   */
  run: Pick<GenerationStats, "schedule" | "mode" | "passes" | "rasterPasses" | "wallMs"> & {
    scheduleStats?: unknown;
  };
}

/**
 * What the images were conditioned on: `classes` and per-image `class` for class models;
 * `prompts` (+ `negativePrompts`, or the family's default negative prompt as
 * `defaultNegativePrompt`) and per-image `prompt` for text models.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { conditionsMeta } from "./grid_meta.ts";
 * assert.deepEqual(conditionsMeta([{ condition: 3, seed: 1, index: 0 }]), {
 *   classes: [3],
 *   images: [{ class: 3, seed: 1, index: 0 }],
 * });
 * const meta = conditionsMeta([{ condition: { prompt: "a fox" }, seed: 1, index: 0 }]);
 * assert.deepEqual(meta.prompts, ["a fox"]);
 * ```
 */
export function conditionsMeta(
  images: readonly PlanImage[],
  defaultNegativePrompt?: string,
): Record<string, unknown> {
  const prompts = images.map((im) => (typeof im.condition === "object" ? im.condition : null));
  if (prompts.every((p) => p === null)) {
    return {
      classes: images.map((im) => im.condition),
      images: images.map((im) => ({ class: im.condition, seed: im.seed, index: im.index })),
    };
  }
  const negatives = prompts.map((p) => p?.negativePrompt ?? null);
  return {
    prompts: prompts.map((p) => p?.prompt ?? null),
    ...(negatives.some((n) => n !== null)
      ? { negativePrompts: negatives }
      : defaultNegativePrompt !== undefined
      ? { defaultNegativePrompt }
      : {}),
    images: images.map((im, i) => ({
      prompt: prompts[i]?.prompt ?? null,
      ...(negatives[i] !== null ? { negativePrompt: negatives[i] } : {}),
      seed: im.seed,
      index: im.index,
    })),
  };
}

/**
 * The `meta` of a grid file.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { MockBackend } from "../../backends/mock/mock.ts";
 * import { gridMeta } from "./grid_meta.ts";
 * const meta = gridMeta({
 *   backend: new MockBackend({ height: 4, width: 4 }),
 *   backendMeta: { mock: { height: 4, width: 4 } },
 *   choice: { schedule: "ideal", window: 2, proxy: "r-2" },
 *   sampling: { temperature: 1, topK: 0, topP: 1, cfg: 1 },
 *   seed: 7,
 *   images: [{ condition: 3, seed: 7, index: 0 }],
 *   run: { schedule: "zipar(ideal, s=2)", mode: "planned", passes: 10, rasterPasses: 16, wallMs: 1.234 },
 * });
 * assert.deepEqual([meta.grid, meta.classes, meta.passes, meta.wallMs], [[4, 4], [3], 10, 1.2]);
 * assert.equal("scheduleStats" in meta, false);
 * ```
 */
export function gridMeta(input: GridMetaInput): Record<string, unknown> {
  const { backend: { name, info }, choice, images, run } = input;
  return {
    zipar: VERSION,
    model: info.name,
    family: info.family,
    backend: name,
    ...input.backendMeta,
    vocab: info.vocab,
    grid: [info.height, info.width],
    prefix: info.prefix,
    eolToken: info.eolToken,
    // The model's per-position CFG rule: `sampling.cfg` is where its scale starts (core/cfg).
    ...(info.cfgRule ? { cfgRule: info.cfgRule } : {}),
    ...input.origin,
    schedule: choice.schedule,
    scheduleName: run.schedule,
    window: choice.window,
    ...(choice.maxWindow !== undefined ? { maxWindow: choice.maxWindow } : {}),
    proxy: choice.proxy,
    mode: run.mode,
    sampling: input.sampling,
    seed: input.seed,
    ...conditionsMeta(images, info.defaults?.negativePrompt),
    passes: run.passes,
    rasterPasses: run.rasterPasses,
    wallMs: Math.round(run.wallMs * 10) / 10,
    ...workerThreads(input.backend),
    ...(run.scheduleStats !== undefined ? { scheduleStats: run.scheduleStats } : {}),
  };
}

/** `{threads}`: the Python worker's torch CPU threads the run had (they bear on wallMs). */
function workerThreads(backend: GridMetaInput["backend"]): { threads?: number } {
  const threads = (backend as { worker?: { threads?: unknown } }).worker?.threads;
  return typeof threads === "number" && Number.isInteger(threads) ? { threads } : {};
}
