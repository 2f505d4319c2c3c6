/**
 * The Python worker's test oracles, off the product's interface: {@linkcode openOracleBackend}
 * opens a {@linkcode PythonBackend} whose worker runs in its test mode
 * (testing/python/oracle_worker.py: worker/main.py plus three requests, PROTOCOL.md "Test
 * mode"), and adds the calls that send those requests through the same worker process — a plain
 * raster loop, the device sampler on given logits, and loading another checkpoint to inspect it.
 * The product's worker answers them "unknown request type".
 *
 * ```ts ignore
 * import { openOracleBackend } from "../../testing/worker_oracles.ts";
 * const backend = await openOracleBackend({ model: dir, python: PYTHON! });
 * const grids = await backend.rasterInWorker(images, 2, sampling); // the oracle's grids
 * await backend.close();
 * ```
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import type { SamplingOptions } from "../core/sampling.ts";
import type { PlanImage } from "../core/step.ts";
import {
  type PythonBackend,
  type PythonBackendOptions,
  startPythonBackend,
} from "../backends/python/client.ts";
import { IDLE_TIMEOUT_MS } from "../backends/python/worker_process.ts";

/** The worker's entry point in its test mode. */
export const ORACLE_WORKER: string = fileURLToPath(
  new URL("./python/oracle_worker.py", import.meta.url),
);

/** What the test-mode worker answers besides the product's requests. */
export interface WorkerOracles {
  /**
   * A plain raster loop inside the worker (testing/python/raster_loop.py): grids
   * [images, H, W]. `cfgInterval`: LlamaGen's (core/cfg's `cfgGuides`), −1 = every token guided.
   */
  rasterInWorker(
    images: PlanImage[],
    cfgScale: number,
    sampling: Required<SamplingOptions>,
    cfgInterval?: number,
  ): Promise<Int32Array>;
  /** Sample rows of logits with the worker's device sampler: tokens [rows]. */
  sampleInWorker(
    logits: Float32Array,
    keys: Uint32Array,
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
}

/** A Python backend whose worker runs in its test mode. */
export type OracleBackend = PythonBackend & WorkerOracles;

/** `openPythonBackend`'s backend, its worker in the test mode, with the oracles. */
export async function openOracleBackend(options: PythonBackendOptions): Promise<OracleBackend> {
  const { backend, process } = await startPythonBackend(options, ORACLE_WORKER);
  const timeoutMs = options.idleTimeoutMs ?? IDLE_TIMEOUT_MS;
  const oracles: WorkerOracles = {
    async rasterInWorker(images, cfgScale, sampling, cfgInterval = -1) {
      const request = { type: "raster", images, cfgScale, cfgInterval, sampling };
      const { arrays } = await process.request(request, {}, { timeoutMs });
      return arrays.grids as Int32Array;
    },
    async sampleInWorker(logits, keys, sampling) {
      const request = { type: "sample", vocab: backend.info.vocab, sampling };
      const arrays = { logits, keys: new Int32Array(keys.buffer, keys.byteOffset, keys.length) };
      const { arrays: out } = await process.request(request, arrays, { timeoutMs });
      return out.tokens as Int32Array;
    },
    async inspectCheckpoint(model, extra = {}) {
      const request = { type: "inspect", model, ...extra };
      const { header } = await process.request(request, {}, { timeoutMs });
      return {
        config: header.config as Record<string, unknown>,
        checksum: Number(header.checksum),
      };
    },
  };
  return Object.assign(backend, oracles);
}
