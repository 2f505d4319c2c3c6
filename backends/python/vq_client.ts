/**
 * The LlamaGen VQ-16 image decoder on PyTorch (CUDA or CPU), in a worker process over stdio
 * (worker/vq_main.py, PROTOCOL.md "The VQ decoder worker"). Same shape as the WebGPU decoder:
 * `{ scale, decode(tokens, [B, H, W]) → RGB bytes [B, H·scale, W·scale, 3], close() }`.
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

import { resolvePython } from "./interpreter.ts";
import { fileURLToPath } from "node:url";
import type { VqConfig } from "../vq_config.ts";
import { checkVqTokens } from "../webgpu/vq_decoder.ts";
import { PROTOCOL_VERSION } from "./protocol.ts";
import { WorkerProcess } from "./worker_process.ts";

/** Path of the VQ worker entry point. */
export const VQ_WORKER_SCRIPT: string = fileURLToPath(
  new URL("./worker/vq_main.py", import.meta.url),
);

/** Largest pixel reply of one request; bigger batches go in several requests. */
const REPLY_BYTES = 256 << 20;

/** Largest output of one decode() call (one Uint8Array). */
const MAX_OUTPUT_BYTES = 2 ** 31;

/** Options for {@linkcode openPythonVqDecoder}. */
export interface PythonVqDecoderOptions {
  /** A VQ directory (vq.json + vq.safetensors) or a LlamaGen VQ `.pt` (e.g. vq_ds16_c2i.pt). */
  dir: string;
  /** Python executable. @default env ZIPAR_PYTHON, else "python3" */
  python?: string;
  /** Torch device. @default "cpu" */
  device?: "cpu" | "cuda";
  /** Weight and activation dtype (GroupNorm, softmax and pixels run in float32). @default "float32" */
  dtype?: "float32" | "bfloat16" | "float16";
  /** CPU threads of the worker. @default 2 */
  threads?: number;
  /** Limit for start-up and weight loading. @default 120000 */
  handshakeTimeoutMs?: number;
  /** Fail when the worker sends nothing for this long during a decode; 0 = never. @default 600000 */
  idleTimeoutMs?: number;
  /** Called with each stderr line of the worker. @default prints "[python] line" to stderr */
  onLog?: (line: string) => void;
  /** Kill the worker and exit 130 on Ctrl-C. @default true */
  handleSigint?: boolean;
}

/** An open decoder. */
export interface PythonVqDecoder {
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
  /** Stop the worker. */
  close(): Promise<void>;
}

/**
 * Start the VQ worker and load the decoder. Throws a one-line Error when python, torch or the
 * weights cannot be loaded (a missing key or wrong shape names the key and expected shape).
 */
export async function openPythonVqDecoder(
  options: PythonVqDecoderOptions,
): Promise<PythonVqDecoder> {
  const python = resolvePython(options.python);
  const worker = WorkerProcess.spawn({
    python,
    args: [VQ_WORKER_SCRIPT],
    onLog: options.onLog,
    handleSigint: options.handleSigint,
  });
  try {
    const hello = {
      type: "hello",
      protocol: PROTOCOL_VERSION,
      vq: options.dir,
      device: options.device ?? "cpu",
      dtype: options.dtype ?? "float32",
      threads: options.threads ?? 2,
    };
    const timeoutMs = options.handshakeTimeoutMs ?? 120_000;
    const { header } = await worker.request(hello, {}, { timeoutMs });
    if (header.type !== "ready" || header.protocol !== PROTOCOL_VERSION) {
      throw new Error(
        `Python VQ worker speaks protocol ${header.protocol}, this client ${PROTOCOL_VERSION}`,
      );
    }
    return new PythonVqDecoderImpl(worker, header, options.idleTimeoutMs ?? 600_000);
  } catch (err) {
    await worker.close();
    throw err;
  }
}

class PythonVqDecoderImpl implements PythonVqDecoder {
  readonly config: VqConfig;
  readonly scale: number;
  readonly device: string;
  readonly torch: string;
  readonly #process: WorkerProcess;
  readonly #timeoutMs: number;

  constructor(process: WorkerProcess, ready: Record<string, unknown>, timeoutMs: number) {
    this.#process = process;
    this.#timeoutMs = timeoutMs;
    this.config = ready.config as VqConfig;
    this.scale = Number(ready.scale);
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
        { type: "decode", shape: [n, h, w] },
        { tokens: all.subarray(first * h * w, (first + n) * h * w) },
        { timeoutMs: this.#timeoutMs },
      );
      const pixels = arrays.pixels;
      if (!(pixels instanceof Uint8Array) || pixels.length !== n * perImage) {
        throw new Error(
          `Python VQ worker returned pixels of shape [${header.shape}], expected [${n}, ${h * s}, ${
            w * s
          }, 3]`,
        );
      }
      out.set(pixels, first * perImage);
    }
    return out;
  }

  close(): Promise<void> {
    return this.#process.close();
  }
}
