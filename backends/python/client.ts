/**
 * The Python backend: LlamaGen on PyTorch (CUDA or CPU) in a worker process over stdio.
 *
 * @example
 * ```ts ignore
 * import { openPythonBackend } from "./client.ts";
 * const backend = await openPythonBackend({ model: "models/gpt-b-256", device: "cuda" });
 * const session = await backend.open([207, 1000]);
 * await session.close();
 * await backend.close();
 * ```
 *
 * @module
 */

import { resolvePython } from "./interpreter.ts";
import type { SamplingOptions } from "../../core/sampling.ts";
import type { Backend, ModelInfo, PlanImage, PlanRun, Query, Session } from "../../core/step.ts";
import { PROTOCOL_VERSION } from "./protocol.ts";
import { WorkerProcess } from "./worker_process.ts";

/** Options for {@linkcode openPythonBackend}. */
export interface PythonBackendOptions {
  /** A model directory (config.json + model.safetensors) or a LlamaGen `.pt` checkpoint. */
  model: string;
  /** Python executable. @default env ZIPAR_PYTHON, else "python3" */
  python?: string;
  /** Torch device. @default "cpu" */
  device?: "cpu" | "cuda";
  /** Weight and activation dtype; logits are always float32. @default "float32" */
  dtype?: "float32" | "bfloat16" | "float16";
  /** Preset name for `.pt` files (GPT-B, GPT-L, GPT-XL, GPT-XXL, GPT-3B); inferred when absent. */
  preset?: string;
  /** Grid for `.pt` files, e.g. "16x16"; inferred from `_256` / `_384` in the file name. */
  grid?: string;
  /** Attention heads for `.pt` files of no preset (tiny test models). */
  heads?: number;
  /** CPU threads of the worker. @default 2 */
  threads?: number;
  /** Limit for start-up and model loading. @default 120000 */
  handshakeTimeoutMs?: number;
  /** Fail when the worker sends nothing for this long during a request; 0 = never. @default 600000 */
  idleTimeoutMs?: number;
  /** Called with each stderr line of the worker. @default prints "[python] line" to stderr */
  onLog?: (line: string) => void;
  /** Kill the worker and exit 130 on Ctrl-C. @default true */
  handleSigint?: boolean;
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
}

/** The Python backend, with a few extras for tests and benchmarks. */
export interface PythonBackend extends Backend {
  /** Worker details. */
  readonly worker: PythonWorkerInfo;
  /** Worker process id. */
  readonly pid: number;
  /** A plain raster loop inside the worker (test oracle): grids [images, H, W]. */
  rasterInWorker(
    images: PlanImage[],
    cfgScale: number,
    sampling: Required<SamplingOptions>,
  ): Promise<Int32Array>;
  /**
   * Load and validate another checkpoint in the worker without keeping it: its config.json
   * contents and a checksum of its weights (sum of |w|).
   */
  inspectCheckpoint(
    model: string,
    options?: { preset?: string; grid?: string; heads?: number },
  ): Promise<{ config: Record<string, unknown>; checksum: number }>;
  /** Sample rows of logits with the worker's device sampler (test oracle): tokens [rows]. */
  sampleInWorker(
    logits: Float32Array,
    keys: Uint32Array,
    sampling: Required<SamplingOptions>,
  ): Promise<Int32Array>;
}

/**
 * Start the worker, load the model and return the backend. Throws a one-line Error when python,
 * torch or the model cannot be loaded.
 */
export async function openPythonBackend(options: PythonBackendOptions): Promise<PythonBackend> {
  const python = resolvePython(options.python);
  const worker = WorkerProcess.spawn({
    python,
    onLog: options.onLog,
    handleSigint: options.handleSigint,
  });
  try {
    const hello = {
      type: "hello",
      protocol: PROTOCOL_VERSION,
      model: options.model,
      device: options.device ?? "cpu",
      dtype: options.dtype ?? "float32",
      preset: options.preset ?? null,
      grid: options.grid ?? null,
      heads: options.heads ?? null,
      threads: options.threads ?? 2,
    };
    const timeoutMs = options.handshakeTimeoutMs ?? 120_000;
    const { header } = await worker.request(hello, {}, { timeoutMs });
    if (header.type !== "ready" || header.protocol !== PROTOCOL_VERSION) {
      throw new Error(
        `Python worker speaks protocol ${header.protocol}, this client ${PROTOCOL_VERSION}`,
      );
    }
    const info = header.info as ModelInfo;
    const details: PythonWorkerInfo = {
      config: header.config as Record<string, unknown>,
      torch: String(header.torch),
      device: String(header.device),
      dtype: String(header.dtype),
    };
    return new PythonBackendImpl(worker, info, details, options.idleTimeoutMs ?? 600_000);
  } catch (err) {
    await worker.close();
    throw err;
  }
}

class PythonBackendImpl implements PythonBackend {
  readonly name = "python";
  readonly info: ModelInfo;
  readonly worker: PythonWorkerInfo;
  readonly #process: WorkerProcess;
  readonly #timeoutMs: number;
  #sessions = 0;

  constructor(
    process: WorkerProcess,
    info: ModelInfo,
    worker: PythonWorkerInfo,
    timeoutMs: number,
  ) {
    this.#process = process;
    this.info = info;
    this.worker = worker;
    this.#timeoutMs = timeoutMs;
  }

  get pid(): number {
    return this.#process.pid;
  }

  async open(conditions: readonly number[]): Promise<Session> {
    const id = this.#sessions++;
    await this.#process.request({ type: "open", session: id, conditions: [...conditions] }, {}, {
      timeoutMs: this.#timeoutMs,
    });
    return new PythonSession(this.#process, id, this.info.vocab, this.#timeoutMs);
  }

  async rasterInWorker(
    images: PlanImage[],
    cfgScale: number,
    sampling: Required<SamplingOptions>,
  ): Promise<Int32Array> {
    const request = { type: "raster", images, cfgScale, sampling };
    const { arrays } = await this.#process.request(request, {}, { timeoutMs: this.#timeoutMs });
    return arrays.grids as Int32Array;
  }

  async inspectCheckpoint(
    model: string,
    options: { preset?: string; grid?: string; heads?: number } = {},
  ): Promise<{ config: Record<string, unknown>; checksum: number }> {
    const request = { type: "inspect", model, ...options };
    const { header } = await this.#process.request(request, {}, { timeoutMs: this.#timeoutMs });
    return { config: header.config as Record<string, unknown>, checksum: Number(header.checksum) };
  }

  async sampleInWorker(
    logits: Float32Array,
    keys: Uint32Array,
    sampling: Required<SamplingOptions>,
  ): Promise<Int32Array> {
    const request = { type: "sample", vocab: this.info.vocab, sampling };
    const arrays = { logits, keys: new Int32Array(keys.buffer, keys.byteOffset, keys.length) };
    const { arrays: out } = await this.#process.request(request, arrays, {
      timeoutMs: this.#timeoutMs,
    });
    return out.tokens as Int32Array;
  }

  close(): Promise<void> {
    return this.#process.close();
  }
}

class PythonSession implements Session {
  readonly #process: WorkerProcess;
  readonly #id: number;
  readonly #vocab: number;
  readonly #timeoutMs: number;

  constructor(process: WorkerProcess, id: number, vocab: number, timeoutMs: number) {
    this.#process = process;
    this.#id = id;
    this.#vocab = vocab;
    this.#timeoutMs = timeoutMs;
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
    const header = {
      type: "plan",
      session: this.#id,
      height: plan.height,
      width: plan.width,
      images: run.images,
      cfgScale: run.cfgScale,
      sampling: run.sampling,
      progressEvery: run.progressEvery,
    };
    const arrays = {
      stepStart: plan.stepStart,
      slot: plan.slot,
      input: plan.input,
      predicts: plan.predicts,
    };
    const { arrays: out } = await this.#process.request(header, arrays, {
      timeoutMs: this.#timeoutMs,
      onProgress: (h) => onProgress?.(Number(h.stepsDone)),
    });
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
