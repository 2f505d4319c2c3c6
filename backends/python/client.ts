/**
 * The Python backend: a model family (LlamaGen, Janus, Emu3-Gen, Lumina-mGPT) on PyTorch (CUDA or
 * CPU) in a worker process over stdio; the same worker decodes token grids to pixels
 * (`openDecoder`).
 *
 * @example
 * ```ts ignore
 * // Needs a Python with torch and a model directory, so not run as a doc test.
 * import { openPythonBackend } from "./client.ts";
 * import { sequencesFor } from "../../core/condition.ts";
 * const backend = await openPythonBackend({ model: "models/gpt-b-256", device: "cuda" });
 * const session = await backend.open(sequencesFor([207], true)); // class 207 + its null class
 * await session.close();
 * const decoder = await backend.openDecoder({ vq: "models/vq16" }); // same torch process
 * await decoder.close();
 * await backend.close();
 * ```
 *
 * @module
 */

import { checkCfgRule } from "../../core/cfg.ts";
import { checkCondition, type Sequence } from "../../core/condition.ts";
import { checkPlan } from "../../core/plan.ts";
import type { SamplingOptions } from "../../core/sampling.ts";
import type { Backend, ModelInfo, PlanImage, PlanRun, Query, Session } from "../../core/step.ts";
import { type PythonDecoderSource, type PythonVqDecoder, WorkerDecoder } from "./vq_client.ts";
import { OptionError } from "../option_error.ts";
import type { ModelDecoder } from "../model_decoder.ts";
import { encodeFrame, type Frame, FrameTooLargeError, MAX_HEADER_BYTES, mib } from "./protocol.ts";
import {
  HANDSHAKE_TIMEOUT_MS,
  IDLE_TIMEOUT_MS,
  WORKER_SCRIPT,
  type WorkerOptions,
  WorkerProcess,
} from "./worker_process.ts";

/** Options for {@linkcode openPythonBackend}. */
export interface PythonBackendOptions extends WorkerOptions {
  /** A model directory (config.json + model.safetensors) or a LlamaGen `.pt` checkpoint. */
  model: string;
  /** Preset name for `.pt` files (GPT-B, GPT-L, GPT-XL, GPT-XXL, GPT-3B); inferred when absent. */
  preset?: string;
  /**
   * The token grid, e.g. "16x16": a `.pt` file's (else inferred from `_256` / `_384` in its
   * name), or the size of a model that makes several (Lumina-mGPT, Emu3-Gen). @default the
   * model's
   */
  grid?: string;
  /** The image side in px instead of `grid` (Lumina-mGPT 512 | 768 | 1024). @default the model's */
  size?: number;
  /**
   * BAAI/Emu3-VisionTokenizer's directory for an official Emu3-Gen directory. @default its
   * `vision_tokenizer/`, else a sibling `Emu3-VisionTokenizer`
   */
  visionTokenizer?: string;
  /**
   * FLAN-T5's directory for a LlamaGen text-to-image checkpoint. @default `t5/`, else
   * `flan-t5-xl/`, beside the checkpoint
   */
  textEncoder?: string;
  /** Attention heads for `.pt` files of no preset (tiny test models). */
  heads?: number;
  /** The state dict of a LlamaGen training checkpoint: `model`, or its EMA copy. */
  weights?: "model" | "ema";
  /** Classes of a `.pt`; else its training args, else its class table's rows − 1. */
  numClasses?: number;
}

/** What the worker reported at start-up besides {@linkcode ModelInfo}. */
export interface PythonWorkerInfo {
  /** The model's config.json contents (zipar-llamagen format). */
  config: Record<string, unknown>;
  /** PyTorch version. */
  torch: string;
  /** Torch device, e.g. "cpu" or "cuda". */
  device: string;
  /** Dtype of weights and activations. */
  dtype: string;
  /** Torch's intra-op CPU threads (`torch.get_num_threads()` after the hello). */
  threads: number;
}

/**
 * The Python backend, with what benchmarks add (the family's own loop, plan observation). The
 * tests' oracles are not here: testing/worker_oracles.ts starts the worker in its test mode.
 */
export interface PythonBackend extends Backend {
  /** Worker details. */
  readonly worker: PythonWorkerInfo;
  /** The model's own image decoder, as the worker's `ready` reported it (not loaded yet). */
  readonly modelDecoder: ModelDecoder;
  /** Worker process id. */
  readonly pid: number;
  /**
   * The family's peer loop in the worker — transformers' own generate for Hugging Face families
   * (Janus, Emu3) — on the loaded model: grids [images, H, W] and its wall time in the worker.
   * The reference row of benchmarks and the oracle of peer tests; families without one refuse.
   */
  referenceGenerate(
    images: PlanImage[],
    cfgScale: number,
    sampling: Required<SamplingOptions>,
  ): Promise<{ grids: Int32Array; wallMs: number }>;
  /**
   * Load an image decoder into this backend's worker (no second torch process): a VQ-16
   * decoder (`{ vq: PATH }`) or the model directory's own (`{ model: true }`: for LlamaGen,
   * vq.json + vq.safetensors beside config.json). Throws a one-line Error when it cannot be
   * loaded; the backend keeps working. `close()` frees the decoder, not the worker.
   */
  openDecoder(source: PythonDecoderSource): Promise<PythonVqDecoder>;
  /**
   * What the worker saw of the planned runs made while `run` goes (`zipar bench --profile`):
   * step graphs captured, and — with `profile` — each run's launched ops and host reads per step
   * under torch's profiler and a sync counter (worker/step_profile.py; the sampler then takes
   * its device-only path, as on a GPU). Runs are measured one at a time.
   */
  observePlans<T>(run: () => Promise<T>, profile: boolean): Promise<PlanObservation<T>>;
}

/** Per-step costs of a profiled planned run (worker/step_profile.py). */
export interface StepProfile {
  /** Planned steps profiled. */
  steps: number;
  /** Top-level torch ops launched per step (views that copy nothing not counted). */
  opsPerStep: number;
  /** The same inside the decoder layers, per layer; null when the family marks no layers. */
  opsPerLayerPerStep: number | null;
  /** Host reads and host-to-device copies per step inside the planned loop. */
  syncsPerStep: number;
  /** Those reads by kind (`item`, `tolist`, `tensor`, ...). */
  syncs: Record<string, number>;
}

/** The result of {@linkcode PythonBackend.observePlans}. */
export interface PlanObservation<T> {
  /** What `run` returned. */
  result: T;
  /** Step graphs set up by the runs: captured on CUDA, or built in "static" mode. */
  graphCaptures: number;
  /** Each profiled run's costs, in order (empty without `profile`). */
  profiles: StepProfile[];
}

/** What a backend's sessions report back to {@linkcode PythonBackend.observePlans}. */
interface PlanWatch {
  profile: boolean;
  graphCaptures: number;
  profiles: StepProfile[];
}

/**
 * The `open` request of session `session` for `sequences`. Its header carries every condition
 * as JSON, and the worker reads at most {@linkcode MAX_HEADER_BYTES} of it: conditions that do
 * not fit (too many images, long prompts) are an {@linkcode OptionError} in one line naming
 * the fix, thrown before anything is sent.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { sequencesFor } from "../../core/condition.ts";
 * import { openRequest } from "./client.ts";
 * assert.equal(openRequest(0, sequencesFor([7], true)).sequences.length, 2);
 * const long = Array.from({ length: 20 }, () => ({ prompt: "x".repeat(99_999) }));
 * assert.throws(() => openRequest(0, sequencesFor(long, true)), /generate fewer images at a time/);
 * ```
 */
export function openRequest(
  session: number,
  sequences: readonly Sequence[],
): Frame["header"] & { sequences: Sequence[] } {
  const request = {
    type: "open",
    session,
    sequences: sequences.map(({ condition, unconditional }) => ({ condition, unconditional })),
  };
  try {
    encodeFrame(request);
  } catch (e) {
    if (!(e instanceof FrameTooLargeError)) throw e;
    const images = sequences.filter((s) => !s.unconditional).length;
    throw new OptionError(
      `the conditions of ${images} images (${sequences.length} sequences) take ${
        mib(e.bytes)
      } as JSON, more than the ${
        mib(MAX_HEADER_BYTES).replace(".0", "")
      } the Python worker reads in one frame: generate fewer images at a time (--batch; zipar batch --max-batch) or shorter prompts`,
    );
  }
  return request;
}

/**
 * Start the worker, load the model and return the backend. Throws a one-line Error when python,
 * torch or the model cannot be loaded.
 */
export async function openPythonBackend(options: PythonBackendOptions): Promise<PythonBackend> {
  return (await startPythonBackend(options)).backend;
}

/**
 * {@linkcode openPythonBackend} with the worker's entry point named, returning the worker's
 * process too: testing/worker_oracles.ts starts the worker in its test mode
 * (testing/python/oracle_worker.py) and sends the oracles' requests through that process.
 */
export async function startPythonBackend(
  options: PythonBackendOptions,
  script: string = WORKER_SCRIPT,
): Promise<{ backend: PythonBackend; process: WorkerProcess }> {
  const { process, ready } = await WorkerProcess.start(options, {
    model: options.model,
    preset: options.preset ?? null,
    grid: options.grid ?? null,
    size: options.size ?? null,
    visionTokenizer: options.visionTokenizer ?? null,
    textEncoder: options.textEncoder ?? null,
    heads: options.heads ?? null,
    weights: options.weights ?? null,
    numClasses: options.numClasses ?? null,
  }, script);
  try {
    return { backend: new PythonBackendImpl(process, ready, options), process };
  } catch (e) {
    await process.close(); // a `ready` this engine cannot use (a CFG rule it does not know)
    throw e;
  }
}

/** `ready.modelDecoder` (PROTOCOL.md) as a {@linkcode ModelDecoder}; `dir` is the model's. */
function modelDecoderFrom(reported: unknown, dir: string | undefined): ModelDecoder {
  const r = (reported ?? {}) as {
    available?: unknown;
    where?: unknown;
    name?: unknown;
    why?: unknown;
  };
  if (r.available !== true) {
    return { available: false, why: String(r.why ?? "the worker holds no model") };
  }
  const name = String(r.name);
  return r.where === "host" && dir !== undefined
    ? { available: true, where: "host", name, dir }
    : { available: true, where: "worker", name };
}

class PythonBackendImpl implements PythonBackend {
  readonly name = "python";
  readonly info: ModelInfo;
  readonly worker: PythonWorkerInfo;
  readonly modelDecoder: ModelDecoder;
  readonly #process: WorkerProcess;
  readonly #ready: Record<string, unknown>;
  readonly #timeoutMs: number;
  readonly #loadTimeoutMs: number;
  #sessions = 0;
  readonly #watch: { current: PlanWatch | null } = { current: null };
  #decoders = 1; // decoder 0 is the one a hello may name

  constructor(
    process: WorkerProcess,
    ready: Record<string, unknown>,
    options: WorkerOptions & { model?: string },
  ) {
    this.#process = process;
    this.#ready = ready;
    // Workers of class families may predate `conditioning`: class ids then.
    const info = ready.info as ModelInfo;
    this.info = { ...info, conditioning: info.conditioning ?? "class" };
    if (info.cfgRule !== undefined) checkCfgRule(info.cfgRule, info); // the engine applies it
    this.worker = {
      config: ready.config as Record<string, unknown>,
      torch: String(ready.torch),
      device: String(ready.device),
      dtype: String(ready.dtype),
      threads: Number(ready.threads),
    };
    this.modelDecoder = modelDecoderFrom(ready.modelDecoder, options.model);
    this.#timeoutMs = options.idleTimeoutMs ?? IDLE_TIMEOUT_MS;
    this.#loadTimeoutMs = options.handshakeTimeoutMs ?? HANDSHAKE_TIMEOUT_MS;
  }

  get pid(): number {
    return this.#process.pid;
  }

  async observePlans<T>(run: () => Promise<T>, profile: boolean): Promise<PlanObservation<T>> {
    if (this.#watch.current) throw new Error("observePlans() is already watching");
    const watch: PlanWatch = { profile, graphCaptures: 0, profiles: [] };
    this.#watch.current = watch;
    try {
      const result = await run();
      return { result, graphCaptures: watch.graphCaptures, profiles: watch.profiles };
    } finally {
      this.#watch.current = null;
    }
  }

  async open(sequences: readonly Sequence[]): Promise<Session> {
    if (sequences.length === 0) throw new RangeError("A session needs at least one sequence");
    for (const s of sequences) checkCondition(s.condition, this.info);
    const request = openRequest(this.#sessions, sequences);
    const id = this.#sessions++;
    await this.#process.request(request, {}, { timeoutMs: this.#timeoutMs });
    return new PythonSession(this.#process, id, this.info, this.#timeoutMs, this.#watch);
  }

  async referenceGenerate(
    images: PlanImage[],
    cfgScale: number,
    sampling: Required<SamplingOptions>,
  ): Promise<{ grids: Int32Array; wallMs: number }> {
    const request = { type: "transformers_generate", images, cfgScale, sampling };
    const { header, arrays } = await this.#process.request(request, {}, {
      timeoutMs: this.#timeoutMs,
    });
    return { grids: arrays.grids as Int32Array, wallMs: Number(header.wallMs) };
  }

  async openDecoder(source: PythonDecoderSource): Promise<PythonVqDecoder> {
    const request = { type: "load_decoder", decoder: this.#decoders++, source };
    const { header } = await this.#process.request(request, {}, {
      timeoutMs: this.#loadTimeoutMs,
    });
    return new WorkerDecoder(this.#process, this.#ready, header, {
      timeoutMs: this.#timeoutMs,
      ownsWorker: false,
    });
  }

  close(): Promise<void> {
    return this.#process.close();
  }
}

class PythonSession implements Session {
  /** worker/planner.py guides per cell by the plan's `cfgInterval`. */
  readonly plansCfgInterval = true;
  /** worker/planner.py mixes each cell with its entry of the plan's `cfgScales`. */
  readonly plansCfgScales = true;
  readonly #process: WorkerProcess;
  readonly #id: number;
  readonly #info: ModelInfo;
  readonly #vocab: number;
  readonly #timeoutMs: number;

  readonly #watch: { current: PlanWatch | null };

  constructor(
    process: WorkerProcess,
    id: number,
    info: ModelInfo,
    timeoutMs: number,
    watch: { current: PlanWatch | null },
  ) {
    this.#process = process;
    this.#id = id;
    this.#info = info;
    this.#vocab = info.vocab;
    this.#timeoutMs = timeoutMs;
    this.#watch = watch;
  }

  async step(queries: readonly Query[]): Promise<Float32Array> {
    const n = queries.length;
    const seq = new Int32Array(n), slot = new Int32Array(n), token = new Int32Array(n);
    const want = new Uint8Array(n);
    let rows = 0;
    queries.forEach((q, i) => {
      seq[i] = q.seq;
      slot[i] = q.slot;
      token[i] = q.token;
      want[i] = q.wantLogits ? 1 : 0;
      rows += want[i];
    });
    const { arrays } = await this.#process.request(
      { type: "step", session: this.#id },
      { seq, slot, token, want },
      { timeoutMs: this.#timeoutMs },
    );
    const logits = arrays.logits as Float32Array;
    if (logits.length !== rows * this.#vocab) {
      throw new Error(
        `Python worker returned ${logits.length} logits, expected ${rows}×${this.#vocab}`,
      );
    }
    return logits;
  }

  async runPlan(run: PlanRun, onProgress?: (stepsDone: number) => void): Promise<Int32Array> {
    const { plan } = run;
    checkPlan(plan, this.#info, run.cfgScales); // the worker checks again (planner.check_plan)
    const header = {
      type: "plan",
      session: this.#id,
      height: plan.height,
      width: plan.width,
      images: run.images,
      cfgScale: run.cfgScale,
      cfgInterval: run.cfgInterval ?? -1,
      sampling: run.sampling,
      progressEvery: run.progressEvery,
      ...(this.#watch.current?.profile ? { profile: true } : {}),
    };
    const arrays = {
      stepStart: plan.stepStart,
      slot: plan.slot,
      input: plan.input,
      predicts: plan.predicts,
      // float32 on the wire: the mix rounds g to float32 on either side (core/sampling mixCfg)
      ...(run.cfgScales ? { cfgScales: Float32Array.from(run.cfgScales) } : {}),
    };
    const { header: reply, arrays: out } = await this.#process.request(header, arrays, {
      timeoutMs: this.#timeoutMs,
      onProgress: (h) => onProgress?.(Number(h.stepsDone)),
    });
    const watch = this.#watch.current;
    if (watch) {
      const graphs = (reply.graphSteps ?? {}) as Record<string, number>;
      watch.graphCaptures += (graphs.captured ?? 0) + (graphs.built ?? 0);
      if (reply.profile) watch.profiles.push(reply.profile as StepProfile);
    }
    onProgress?.(plan.stepStart.length - 1);
    return out.grids as Int32Array;
  }

  async close(): Promise<void> {
    // A dead worker has no caches left to free; the error that killed it was already reported.
    await this.#process.request({ type: "close", session: this.#id }, {}, {
      timeoutMs: this.#timeoutMs,
    }).catch(() => {});
  }
}
