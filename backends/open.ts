/**
 * Opening a backend or an image decoder from a typed spec: the one place that maps a choice
 * (the mock, the Python worker, WebGPU; a model's own decoder or LlamaGen's VQ-16 on WebGPU or
 * in Python) to the module that implements it. Every backend is a static import, so a spec
 * cannot name a module that is not there and the type checker sees each factory's options.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { openBackend } from "./open.ts";
 * const backend = await openBackend({ backend: "mock", mock: { height: 4, width: 6 } });
 * assert.deepEqual([backend.name, backend.info.height, backend.info.width], ["mock", 4, 6]);
 * await backend.close();
 * ```
 *
 * @module
 */

import { join } from "node:path";
import type { Backend } from "./backend.ts";
import { decodePatches, loadPatchCodebook } from "./decoders/patch_codebook.ts";
import { MockBackend, type MockOptions } from "./mock/mock.ts";
import {
  openPythonBackend,
  type PythonBackend,
  type PythonBackendOptions,
} from "./python/client.ts";
import { openPythonVqDecoder, type PythonVqDecoder } from "./python/vq_client.ts";
import { openWebgpuBackend, type WebgpuBackendOptions } from "./webgpu/backend.ts";
import { openWebgpuVqDecoder, type VqDecoder } from "./webgpu/vq_decoder.ts";
import { openJanusWebgpuDecoder } from "./janus_vq.ts";
import { modelDecoderOf, modelDirDecoder } from "./model_decoder.ts";
import { readConfigObject } from "./model_dir.ts";

/** Backend names, as `--backend` takes them. */
export type BackendName = "mock" | "python" | "webgpu";

/** The backend names, for argument parsing. */
export const BACKENDS: readonly BackendName[] = ["mock", "python", "webgpu"];

/** Which backend to open, with its factory's options. */
export type BackendSpec =
  | { backend: "mock"; mock: MockOptions }
  | ({ backend: "python" } & PythonBackendOptions)
  | ({ backend: "webgpu" } & WebgpuBackendOptions);

/**
 * Open the backend a spec names. Throws the backend's own one-line Error when it cannot start
 * (no WebGPU adapter, no python with torch, a model directory that does not load).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { openBackend } from "./open.ts";
 * const backend = await openBackend({ backend: "mock", mock: { vocab: 7, numClasses: 3 } });
 * assert.deepEqual([backend.info.vocab, backend.info.numClasses], [7, 3]);
 * await backend.close();
 * ```
 */
export async function openBackend(spec: BackendSpec): Promise<Backend> {
  switch (spec.backend) {
    case "mock":
      return new MockBackend(spec.mock);
    case "python": {
      const { backend: _, ...options } = spec;
      return await openPythonBackend(options);
    }
    case "webgpu": {
      const { backend: _, ...options } = spec;
      return await openWebgpuBackend(options);
    }
  }
}

/** Decoded images: [count, height, width, channels] uint8. */
export interface ImageBatch {
  /** pixels: [count, height, width, channels]. */
  pixels: Uint8Array;
  /** Images. */
  count: number;
  /** Height in pixels. */
  height: number;
  /** Width in pixels. */
  width: number;
  /** 1 (gray) or 3 (RGB). */
  channels: 1 | 3;
}

/** Where an image decoder comes from. */
export type ImageDecoderSpec =
  /**
   * A model directory's own decoder: the host decoder its config.json names (the demo's patch
   * codebook, decoded in TypeScript) or the VQ-16 beside a LlamaGen GPT (on `backend`, default
   * WebGPU), else the model family's decoder in the Python worker (Janus's VQ, …), started with
   * `python`: that worker's `ready` says whether the model has one.
   */
  | {
    kind: "model";
    dir: string;
    backend?: "webgpu" | "python";
    python?: string;
    threads?: number;
    onLog?: WorkerLog;
  }
  /** A LlamaGen VQ-16 decoder (vq.json + vq.safetensors, or a `.pt`) on WebGPU or in Python. */
  | {
    kind: "vq";
    path: string;
    backend: "webgpu" | "python";
    python?: string;
    threads?: number;
    onLog?: WorkerLog;
  };

/** The Python worker's stderr lines, when they should not go to stderr as `[python] line`. */
export type WorkerLog = (line: string) => void;

/** An open image decoder. */
export interface ImageDecoder {
  /** Human-readable description, e.g. `patch-codebook 2×2 (512 codes)`. */
  name: string;
  /** Decode grids [B, H, W] to images. Throws RangeError for tokens or shapes it cannot take. */
  decode(tokens: Int32Array, shape: [number, number, number]): Promise<ImageBatch>;
  /** Release the device or worker. */
  close(): Promise<void>;
}

/**
 * Open the image decoder a spec names, without a loaded model.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { fileURLToPath } from "node:url";
 * import { openImageDecoder } from "./open.ts";
 * const dir = fileURLToPath(new URL("../fixtures/demo", import.meta.url));
 * const decoder = await openImageDecoder({ kind: "model", dir });
 * const images = await decoder.decode(new Int32Array(14 * 14), [1, 14, 14]);
 * assert.deepEqual([images.height, images.width, images.channels], [28, 28, 1]);
 * await decoder.close();
 * ```
 */
export async function openImageDecoder(spec: ImageDecoderSpec): Promise<ImageDecoder> {
  if (spec.kind === "vq") return await openVqDecoder(spec);
  const { dir, backend: _, kind: __, ...worker } = spec;
  const own = await modelDirDecoder(dir);
  if (!own.available) throw new Error(own.why);
  if (own.where === "host") return await openHostDecoder(own.dir);
  if (own.where === "vq") {
    const backend = spec.backend ?? "webgpu";
    return await openVqDecoder({ ...worker, kind: "vq", path: own.path, backend });
  }
  if (spec.backend === "webgpu" && await isJanusWebgpuDir(dir)) {
    return janusImageDecoder(await openJanusWebgpuDecoder(dir)); // no model, no worker
  }
  // The family's decoder lives with the model in the worker: load the model, and decode as its
  // ready reported.
  const backend = await openPythonBackend({ model: dir, ...worker });
  try {
    const decoder = await openImageDecoderFor(backend, spec);
    return { ...decoder, close: () => backend.close() };
  } catch (e) {
    await backend.close();
    throw e;
  }
}

/**
 * The image decoder for grids `backend` has just generated. A Python backend decodes in its own
 * worker (so `generate --backend python --png` starts one torch process, and decodes on the
 * model's device); a `{ kind: "model" }` spec follows what the backend reports of its model's
 * decoder (backends/model_decoder.ts), and is refused in one line when it has none.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { MockBackend } from "./mock/mock.ts";
 * import { openImageDecoderFor } from "./open.ts";
 * await assert.rejects(
 *   () => openImageDecoderFor(new MockBackend(), { kind: "vq", path: "/no/vq", backend: "webgpu" }),
 *   /Cannot read \/no\/vq\/vq\.json/,
 * );
 * await assert.rejects(
 *   () => openImageDecoderFor(new MockBackend(), { kind: "model", dir: "/m" }),
 *   /the mock backend's model has no image decoder/,
 * );
 * ```
 */
export async function openImageDecoderFor(
  backend: Backend,
  spec: ImageDecoderSpec,
): Promise<ImageDecoder> {
  const python = isPythonBackend(backend) ? backend : null;
  if (spec.kind === "vq") {
    if (python && spec.backend === "python") {
      return vqImageDecoder(await python.openDecoder({ vq: spec.path }), "python");
    }
    return await openVqDecoder(spec);
  }
  const own = modelDecoderOf(backend);
  if (!own.available) throw new Error(own.why);
  switch (own.where) {
    case "host":
      return await openHostDecoder(own.dir);
    case "vq":
      if (python) return vqImageDecoder(await python.openDecoder({ vq: own.path }), "python");
      return await openVqDecoder({ kind: "vq", path: own.path, backend: "webgpu" });
    case "janus-vq":
      return janusImageDecoder(await openJanusWebgpuDecoder(own.dir));
    case "worker":
      if (!python) throw new Error(`the ${backend.name} backend cannot run ${own.name}`);
      return workerImageDecoder(await python.openDecoder({ model: true }), backend.info.family);
  }
}

/** Whether `backend` is the Python backend, which can load decoders into its worker. */
function isPythonBackend(backend: Backend): backend is PythonBackend {
  return backend.name === "python" &&
    typeof (backend as Partial<PythonBackend>).openDecoder === "function";
}

/** Janus's VQ-16 on WebGPU, RGB out. */
function janusImageDecoder(decoder: VqDecoder): ImageDecoder {
  return { ...vqImageDecoder(decoder, "webgpu"), name: "janus decoder (webgpu)" };
}

/** Whether `dir` is a Janus directory of transformers' layout (which WebGPU decodes). */
async function isJanusWebgpuDir(dir: string): Promise<boolean> {
  const config = await readConfigObject(join(dir, "config.json")).catch(() => null);
  return config?.model_type === "janus";
}

/** A model family's decoder in the Python worker (Janus VQ, …), RGB out. */
function workerImageDecoder(decoder: PythonVqDecoder, family: string): ImageDecoder {
  return { ...vqImageDecoder(decoder, "python"), name: `${family} decoder (python)` };
}

/** The host decoder named by `DIR/config.json` (`decoder`: today only `patch-codebook`). */
async function openHostDecoder(dir: string): Promise<ImageDecoder> {
  const configPath = join(dir, "config.json");
  const config = await readConfigObject(configPath);
  const decoder = config.decoder as Record<string, unknown> | undefined;
  if (!decoder || typeof decoder !== "object") {
    throw new Error(`${configPath} names no image decoder: pass --vq PATH for LlamaGen grids`);
  }
  if (decoder.kind !== "patch-codebook") {
    throw new Error(`unknown decoder kind ${JSON.stringify(decoder.kind)} in ${dir}/config.json`);
  }
  const cb = await loadPatchCodebook(dir, {
    kind: "patch-codebook",
    file: String(decoder.file ?? "decoder.safetensors"),
    patch: Number(decoder.patch),
    channels: Number(decoder.channels ?? 1),
  });
  return {
    name: `patch-codebook ${cb.patch}×${cb.patch} (${cb.codes} codes)`,
    // async, so a token outside the codebook rejects the promise instead of throwing.
    // deno-lint-ignore require-await
    async decode(tokens, shape) {
      const pixels = decodePatches(tokens, shape, cb); // pixels: [B, H·p, W·p, channels]
      const [count, h, w] = shape;
      const channels = cb.channels as 1 | 3;
      return { pixels, count, height: h * cb.patch, width: w * cb.patch, channels };
    },
    close: () => Promise.resolve(),
  };
}

/** The LlamaGen VQ-16 decoder on WebGPU or in a Python worker of its own. */
async function openVqDecoder(
  spec: Extract<ImageDecoderSpec, { kind: "vq" }>,
): Promise<ImageDecoder> {
  const decoder = spec.backend === "webgpu"
    ? await openWebgpuVqDecoder({ dir: spec.path })
    : await openPythonVqDecoder({
      dir: spec.path,
      python: spec.python,
      threads: spec.threads,
      ...(spec.onLog ? { onLog: spec.onLog } : {}),
    });
  return vqImageDecoder(decoder, spec.backend);
}

/** A VQ decoder (RGB bytes out) as an {@linkcode ImageDecoder}. */
function vqImageDecoder(
  decoder: Pick<PythonVqDecoder | VqDecoder, "scale" | "decode" | "close">,
  where: "webgpu" | "python",
): ImageDecoder {
  return {
    name: `llamagen-vq16 (${where})`,
    async decode(tokens, shape) {
      const pixels = await decoder.decode(tokens, shape); // pixels: [B, H·scale, W·scale, 3]
      const [count, h, w] = shape;
      const scale = decoder.scale;
      return { pixels, count, height: h * scale, width: w * scale, channels: 3 };
    },
    close: () => decoder.close(),
  };
}
