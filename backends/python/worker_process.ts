/**
 * The Python worker as a child process: spawn, the hello handshake, one request at a time,
 * stderr forwarding, timeouts, and a kill that leaves no orphan. Every failure becomes a
 * one-line Error that ends with the worker's last stderr line. The backend (client.ts) and the
 * standalone image decoder (vq_client.ts) both start their worker through
 * {@linkcode WorkerProcess.start}.
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import { PYTHON_INSTALL_HINT, resolvePython } from "./interpreter.ts";
import { encodeFrame, type Frame, FrameReader, PROTOCOL_VERSION } from "./protocol.ts";
import { onInterrupt } from "../on_interrupt.ts";
import { OptionError } from "../option_error.ts";

/** Path of the worker entry point. */
export const WORKER_SCRIPT: string = fileURLToPath(new URL("./worker/main.py", import.meta.url));

/** What to do when python or torch is missing. */
export const INSTALL_HINT = PYTHON_INSTALL_HINT;

/** Options every worker takes, whatever the hello asks it to load. */
export interface WorkerOptions {
  /** Python executable. @default env ZIPAR_PYTHON, else the project venv, else "python3" */
  python?: string;
  /** Torch device. @default "cpu" */
  device?: "cpu" | "cuda";
  /**
   * Weight and activation dtype; logits, softmax, GroupNorm and pixels stay float32.
   * @default "float32"
   */
  dtype?: "float32" | "bfloat16" | "float16";
  /**
   * Torch's intra-op CPU threads in the worker (`torch.set_num_threads`). @default torch's own
   * choice: `OMP_NUM_THREADS` when set, else one per physical core
   */
  threads?: number;
  /**
   * CUDA-graph replay of planned steps (worker/step_graphs.py): "auto" = on CUDA for LlamaGen,
   * "off" = never, "static" = the graph path's static buffers run eagerly (CPU tests).
   * @default "auto"
   */
  cudaGraphs?: "auto" | "off" | "static";
  /**
   * Limit for the interpreter's first answer to the hello (the worker acknowledges it before it
   * imports torch), so that a program that is not the worker fails fast. @default 30000
   */
  startTimeoutMs?: number;
  /** Limit for start-up and for loading weights (the hello, `load_decoder`). @default 120000 */
  handshakeTimeoutMs?: number;
  /** Fail when the worker sends nothing for this long in a request; 0 = never. @default 600000 */
  idleTimeoutMs?: number;
  /** Called with each stderr line of the worker. @default prints "[python] line" to stderr */
  onLog?: (line: string) => void;
  /**
   * Register the worker with backends/on_interrupt.ts, so that the signals' owner (the CLI)
   * kills it on SIGINT or SIGTERM. The worker itself ignores both signals: a Ctrl-C that reaches
   * the whole process group must not end it before the command has cleaned up. @default true
   */
  handleSigint?: boolean;
  /**
   * Environment variables for the worker on top of this process's own (`CUDA_VISIBLE_DEVICES`,
   * `OMP_NUM_THREADS`, `ZIPAR_DEBUG`). @default none
   */
  env?: Record<string, string>;
}

/** The default {@linkcode WorkerOptions.startTimeoutMs}. */
export const START_TIMEOUT_MS = 30_000;

/** The default {@linkcode WorkerOptions.handshakeTimeoutMs}. */
export const HANDSHAKE_TIMEOUT_MS = 120_000;

/** The default {@linkcode WorkerOptions.idleTimeoutMs}. */
export const IDLE_TIMEOUT_MS = 600_000;

/** A worker that answered its hello. */
export interface StartedWorker {
  /** The process, ready for requests. */
  process: WorkerProcess;
  /** The `ready` frame's header (PROTOCOL.md). */
  ready: Frame["header"];
}

/** Options for {@linkcode WorkerProcess.spawn}. */
export interface SpawnOptions {
  /** Python executable. */
  python: string;
  /** Script and arguments. @default [WORKER_SCRIPT] */
  args?: string[];
  /** Called with each stderr line of the worker. @default writes "[python] line" to stderr */
  onLog?: (line: string) => void;
  /** Register the worker to be killed on an interrupt (backends/on_interrupt.ts). @default true */
  handleSigint?: boolean;
  /** Environment variables on top of this process's own. @default none */
  env?: Record<string, string>;
}

/** Options of one request. */
export interface RequestOptions {
  /**
   * Fail (and kill the worker) when writing the request takes this long, or when the worker
   * then sends nothing for this long; 0 = never.
   */
  timeoutMs: number;
  /** The limit for the first frame of the answer instead of `timeoutMs`. */
  firstFrameTimeoutMs?: number;
  /** Called for each `progress` frame before the answer. */
  onProgress?: (header: Frame["header"]) => void;
}

function defaultLog(line: string): void {
  Deno.stderr.writeSync(new TextEncoder().encode(`[python] ${line}\n`));
}

/** How long `close()` waits for each part of a worker that does not go away. */
const CLOSE_WAIT_MS = 3000;

/** `promise`, or "timeout" after `ms` (never when ms ≤ 0). */
async function deadline<T>(promise: Promise<T>, ms: number): Promise<T | "timeout"> {
  if (!(ms > 0)) return await promise;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<"timeout">((resolve) =>
    timer = setTimeout(() => resolve("timeout"), ms)
  );
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** A running worker. Requests are serialised; after a crash every request fails the same way. */
export class WorkerProcess {
  readonly #child: Deno.ChildProcess;
  readonly #frames: FrameReader;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly #stderrDone: Promise<void>;
  readonly #unregister: (() => void) | null;
  readonly #status: Promise<Deno.CommandStatus>;
  readonly #python: string;
  #lastLine = "";
  /** Whether the worker has answered a frame: past that, the interpreter is not in question. */
  #answered = false;
  #queue: Promise<unknown> = Promise.resolve();
  #failure: Error | null = null;
  #closed = false;

  private constructor(child: Deno.ChildProcess, options: SpawnOptions) {
    this.#child = child;
    this.#python = options.python;
    this.#status = child.status;
    this.#frames = new FrameReader(child.stdout);
    this.#writer = child.stdin.getWriter();
    const onLog = options.onLog ?? defaultLog;
    this.#stderrDone = (async () => {
      let pending = "";
      const decoder = new TextDecoder();
      for await (const chunk of child.stderr) {
        pending += decoder.decode(chunk, { stream: true });
        const lines = pending.split("\n");
        pending = lines.pop()!;
        for (const line of lines) this.#log(line, onLog);
      }
      if (pending) this.#log(pending, onLog);
    })().catch(() => {});
    this.#unregister = options.handleSigint === false ? null : onInterrupt(() => this.kill());
  }

  #log(line: string, onLog: (line: string) => void): void {
    if (line.trim()) this.#lastLine = line.trim();
    onLog(line);
  }

  /**
   * Spawn the worker and send the hello: the shared fields of `options` plus `load` (what to
   * load: `model` and/or `decoder`, PROTOCOL.md). Resolves once the worker is `ready`; on any
   * failure the worker is closed and a one-line Error thrown. `script`: the entry point (the
   * tests start testing/python/oracle_worker.py, the worker in its test mode).
   */
  static async start(
    options: WorkerOptions,
    load: Record<string, unknown>,
    script: string = WORKER_SCRIPT,
  ): Promise<StartedWorker> {
    const process = WorkerProcess.spawn({
      python: resolvePython(options.python),
      args: [script],
      onLog: options.onLog,
      handleSigint: options.handleSigint,
      env: options.env,
    });
    try {
      const hello = {
        type: "hello",
        protocol: PROTOCOL_VERSION,
        model: null,
        decoder: null,
        ...load,
        device: options.device ?? "cpu",
        dtype: options.dtype ?? "float32",
        threads: options.threads ?? null,
        cudaGraphs: options.cudaGraphs ?? "auto",
      };
      const timeoutMs = options.handshakeTimeoutMs ?? HANDSHAKE_TIMEOUT_MS;
      const firstFrameTimeoutMs = Math.min(options.startTimeoutMs ?? START_TIMEOUT_MS, timeoutMs);
      const { header } = await process.request(hello, {}, { timeoutMs, firstFrameTimeoutMs });
      if (header.type !== "ready" || header.protocol !== PROTOCOL_VERSION) {
        throw new Error(
          `Python worker speaks protocol ${header.protocol}, this client ${PROTOCOL_VERSION}`,
        );
      }
      return { process, ready: header };
    } catch (err) {
      await process.close();
      throw err;
    }
  }

  /** Start the worker; throws a one-line Error when python cannot be run at all. */
  static spawn(options: SpawnOptions): WorkerProcess {
    const command = new Deno.Command(options.python, {
      args: options.args ?? [WORKER_SCRIPT],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
      env: { ...options.env, PYTHONDONTWRITEBYTECODE: "1", PYTHONUNBUFFERED: "1" },
    });
    try {
      return new WorkerProcess(command.spawn(), options);
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) {
        throw new Error(`Python executable "${options.python}" not found: ${INSTALL_HINT}`);
      }
      throw new Error(`Cannot start "${options.python}": ${(err as Error).message}`);
    }
  }

  /** The worker's process id. */
  get pid(): number {
    return this.#child.pid;
  }

  /** Send one frame and wait for its answer (progress frames go to `onProgress`). */
  request(
    header: Frame["header"],
    arrays: Frame["arrays"],
    options: RequestOptions,
  ): Promise<Frame> {
    const run = this.#queue.then(() => this.#exchange(header, arrays, options));
    this.#queue = run.catch(() => {});
    return run;
  }

  async #exchange(
    header: Frame["header"],
    arrays: Frame["arrays"],
    options: RequestOptions,
  ): Promise<Frame> {
    if (this.#failure) throw this.#failure;
    if (this.#closed) throw new Error("The Python worker is closed");
    const what = header.type;
    // A worker that stops reading would block this write forever once the pipe is full.
    const written = await deadline(
      this.#writer.write(encodeFrame(header, arrays)).catch(() => {
        // The worker is gone; reading its output tells why.
      }),
      options.timeoutMs,
    );
    if (written === "timeout") throw this.#timedOut(what, options.timeoutMs);
    let timeoutMs = options.firstFrameTimeoutMs ?? options.timeoutMs;
    while (true) {
      const frame = await this.#read(timeoutMs, what);
      timeoutMs = options.timeoutMs;
      if (frame.header.type === "progress") {
        options.onProgress?.(frame.header);
        continue;
      }
      if (frame.header.type === "error") {
        const message = `Python worker: ${String(frame.header.message)}`;
        throw frame.header.usage === true ? new OptionError(message) : new Error(message);
      }
      return frame;
    }
  }

  async #read(timeoutMs: number, what: string): Promise<Frame> {
    let result: Frame | null | "timeout";
    try {
      result = await deadline(this.#frames.read(), timeoutMs);
    } catch (err) {
      result = null;
      this.#lastLine ||= (err as Error).message;
    }
    if (result === "timeout") throw this.#timedOut(what, timeoutMs);
    if (result === null) {
      const status = await this.#settled(2000);
      const how = status === null
        ? "closed its output"
        : status.signal
        ? `was killed by ${status.signal}`
        : `exited with code ${status.code}`;
      throw this.#fail(`Python worker ${how} during "${what}"`);
    }
    this.#answered = true;
    return result;
  }

  /** Kill a worker that took longer than `timeoutMs` over `what`; the error to throw. */
  #timedOut(what: string, timeoutMs: number): Error {
    this.kill();
    const secs = (timeoutMs / 1000).toFixed(timeoutMs < 10_000 ? 1 : 0);
    return this.#fail(`Python worker did not answer "${what}" within ${secs} s; killed it`);
  }

  #fail(message: string): Error {
    const last = this.#lastLine ? `: ${this.#lastLine}` : "";
    // Only a worker that never answered may be the wrong interpreter: a step that timed out or a
    // worker that died mid-run is not helped by that hint.
    const who = this.#answered
      ? ` (interpreter ${this.#python})`
      : ` (interpreter ${this.#python}; is it a Python 3 with torch? Set --python or ZIPAR_PYTHON)`;
    this.#failure = new Error(`${message}${last}${who}`);
    return this.#failure;
  }

  /** The exit status once the process ended (and stderr is drained), or null after `ms`. */
  async #settled(ms: number): Promise<Deno.CommandStatus | null> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<null>((resolve) => timer = setTimeout(() => resolve(null), ms));
    const status = await Promise.race([this.#status, timeout]);
    if (status) await Promise.race([this.#stderrDone, timeout]);
    clearTimeout(timer);
    return status;
  }

  /** Kill the worker now (SIGKILL); safe to call twice. */
  kill(): void {
    try {
      this.#child.kill("SIGKILL");
    } catch {
      // already gone
    }
  }

  /**
   * Ask the worker to exit, wait a little, kill it if needed, and release everything. Bounded:
   * a child the interpreter left holding the pipes is not waited for.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    if (!this.#failure) {
      await this.request({ type: "shutdown" }, {}, { timeoutMs: 5000 }).catch(() => {});
    }
    this.#closed = true;
    if ((await this.#settled(CLOSE_WAIT_MS)) === null) this.kill();
    await deadline(this.#writer.close().catch(() => {}), CLOSE_WAIT_MS);
    await deadline(this.#frames.cancel().catch(() => {}), CLOSE_WAIT_MS);
    await deadline(this.#status, CLOSE_WAIT_MS);
    await deadline(this.#stderrDone, CLOSE_WAIT_MS);
    this.#unregister?.();
  }
}
