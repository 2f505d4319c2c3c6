/**
 * Image decoders in the Python worker (PROTOCOL.md, "Image decoders"): the LlamaGen VQ-16
 * decoder on PyTorch (CUDA or CPU), with the WebGPU decoder's shape: `{ scale, decode(tokens,
 * [B, H, W]) → RGB bytes [B, H·scale, W·scale, 3], close() }`.
 *
 * {@linkcode openPythonVqDecoder} starts a worker that holds only the decoder. A
 * {@linkcode PythonBackend} opens a decoder in its own worker with `backend.openDecoder(…)`
 * (client.ts), so generating and decoding share one torch process.
 *
 * @example
 * ```ts ignore
 * import { openPythonVqDecoder } from "./vq_client.ts";
 * const decoder = await openPythonVqDecoder({ dir: "models/vq16", device: "cuda" });
 * const rgb = await decoder.decode(new Int32Array(16 * 16), [1, 16, 16]); // [1, 256, 256, 3]
 * await decoder.close();
 * ```
 *
 * @module
 */

import { checkVqGridSize, checkVqTokens, type VqConfig } from "../vq_config.ts";
import { IDLE_TIMEOUT_MS, type WorkerOptions, WorkerProcess } from "./worker_process.ts";

/** Largest pixel reply of one request; bigger batches go in several requests. */
const REPLY_BYTES = 256 << 20;

/** Largest output of one decode() call (one Uint8Array). */
const MAX_OUTPUT_BYTES = 2 ** 31;

/** Options for {@linkcode openPythonVqDecoder}. */
export interface PythonVqDecoderOptions extends WorkerOptions {
  /** A VQ directory (vq.json + vq.safetensors) or a LlamaGen VQ `.pt` (e.g. vq_ds16_c2i.pt). */
  dir: string;
}

/**
 * Where a worker's decoder comes from: a VQ-16 decoder (`{ vq: PATH }`, a VQ directory or a
 * LlamaGen VQ `.pt`) or the loaded model directory's own decoder (`{ model: true }`).
 */
export type PythonDecoderSource = { vq: string } | { model: true };

/** An open decoder. */
export interface PythonVqDecoder {
  /** Decoder kind, e.g. `llamagen-vq16`. */
  readonly kind: string;
  /** The decoder's config (inferred from the shapes for a `.pt`). */
  readonly config: VqConfig;
  /** Pixels per token side (16 for VQ-16). */
  readonly scale: number;
  /** Torch device and dtype, e.g. `cpu float32`. */
  readonly device: string;
  /** PyTorch version of the worker. */
  readonly torch: string;
  /** Worker process id. */
  readonly pid: number;
  /** Decode token grids: tokens [B, H, W] → RGB bytes [B, H·scale, W·scale, 3]. */
  decode(tokens: ArrayLike<number>, shape: readonly [number, number, number]): Promise<Uint8Array>;
  /** Release the decoder (and stop the worker when it was started for this decoder alone). */
  close(): Promise<void>;
}

/**
 * Start a worker holding only the decoder. Throws a one-line Error when python, torch or the
 * weights cannot be loaded (a missing key or wrong shape names the key and expected shape).
 */
export async function openPythonVqDecoder(
  options: PythonVqDecoderOptions,
): Promise<PythonVqDecoder> {
  const { process, ready } = await WorkerProcess.start(options, { decoder: { vq: options.dir } });
  const timeoutMs = options.idleTimeoutMs ?? IDLE_TIMEOUT_MS;
  return new WorkerDecoder(process, ready, ready.decoder as Record<string, unknown>, {
    timeoutMs,
    ownsWorker: true,
  });
}

/** How a {@linkcode WorkerDecoder} talks to its worker. */
export interface WorkerDecoderOptions {
  /** Idle limit of a decode request. */
  timeoutMs: number;
  /** Whether close() stops the worker (a standalone decoder) or only frees the decoder. */
  ownsWorker: boolean;
}

/**
 * A decoder held by a worker: `loaded` is the worker's decoder description (`ready.decoder` or
 * the `decoder` answer of `load_decoder`), `ready` the worker's `ready` header.
 */
export class WorkerDecoder implements PythonVqDecoder {
  readonly kind: string;
  readonly config: VqConfig;
  readonly scale: number;
  readonly device: string;
  readonly torch: string;
  readonly #process: WorkerProcess;
  readonly #id: number;
  readonly #options: WorkerDecoderOptions;

  /** Wrap decoder `loaded.id` of `process`. */
  constructor(
    process: WorkerProcess,
    ready: Record<string, unknown>,
    loaded: Record<string, unknown>,
    options: WorkerDecoderOptions,
  ) {
    this.#process = process;
    this.#id = Number(loaded.id);
    this.#options = options;
    this.kind = String(loaded.kind);
    this.config = loaded.config as VqConfig;
    this.scale = Number(loaded.scale);
    this.device = `${ready.device} ${ready.dtype}`;
    this.torch = String(ready.torch);
  }

  get pid(): number {
    return this.#process.pid;
  }

  async decode(
    tokens: ArrayLike<number>,
    shape: readonly [number, number, number],
  ): Promise<Uint8Array> {
    checkVqTokens(this.config, tokens, shape);
    // VQ-16's size model; the model families' decoders (Janus, Emu3, Chameleon) have other
    // configs and refuse sizes in the worker.
    if (this.kind === "llamagen-vq16") checkVqGridSize(this.config, shape[1], shape[2]);
    const [b, h, w] = shape, s = this.scale;
    const perImage = h * s * w * s * 3;
    if (b * perImage > MAX_OUTPUT_BYTES) {
      throw new RangeError(
        `${b} grids of ${h}×${w} decode to ${b * perImage} bytes of pixels, more than one ` +
          `decode() returns (${MAX_OUTPUT_BYTES}); decode fewer images at a time`,
      );
    }
    const all = Int32Array.from(tokens);
    const out = new Uint8Array(b * perImage);
    const perRequest = Math.max(1, Math.floor(REPLY_BYTES / perImage));
    for (let first = 0; first < b; first += perRequest) {
      const n = Math.min(perRequest, b - first);
      const { header, arrays } = await this.#process.request(
        { type: "decode", decoder: this.#id, shape: [n, h, w] },
        { tokens: all.subarray(first * h * w, (first + n) * h * w) },
        { timeoutMs: this.#options.timeoutMs },
      );
      const pixels = arrays.pixels;
      if (!(pixels instanceof Uint8Array) || pixels.length !== n * perImage) {
        throw new Error(
          `Python worker returned pixels of shape [${header.shape}], expected [${n}, ${h * s}, ${
            w * s
          }, 3]`,
        );
      }
      out.set(pixels, first * perImage);
    }
    return out;
  }

  async close(): Promise<void> {
    if (this.#options.ownsWorker) return await this.#process.close();
    // A dead worker holds no decoder any more; the error that killed it was already reported.
    await this.#process.request({ type: "close_decoder", decoder: this.#id }, {}, {
      timeoutMs: this.#options.timeoutMs,
    }).catch(() => {});
  }
}
