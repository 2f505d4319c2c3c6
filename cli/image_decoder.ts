/**
 * Open the image decoder for token grids: the model directory's own decoder (config.json
 * `decoder`, e.g. the demo model's patch codebook) or a LlamaGen VQ-16 decoder (`--vq PATH`).
 *
 * @module
 */

import { join } from "node:path";
import { decodePatches, loadPatchCodebook } from "../backends/decoders/patch_codebook.ts";
import type { ImageBatch } from "./formats/png.ts";

/** Where the decoder comes from. */
export type DecoderSpec =
  | { kind: "model"; dir: string }
  | { kind: "vq"; path: string; backend: "webgpu" | "python"; python?: string };

/** An open image decoder. */
export interface ImageDecoder {
  /** Human-readable description, e.g. `patch-codebook 2×2 (512 codes)`. */
  name: string;
  /** Decode grids [B, H, W] to images. Throws RangeError for tokens or shapes it cannot take. */
  decode(tokens: Int32Array, shape: [number, number, number]): Promise<ImageBatch>;
  /** Release device resources. */
  close(): Promise<void>;
}

/** Read and parse a JSON file with a one-line error. */
async function readJson(path: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw new Error(`${path} not found`);
    throw new Error(`cannot read ${path}: ${(e as Error).message}`);
  }
  try {
    const json = JSON.parse(text);
    if (json && typeof json === "object" && !Array.isArray(json)) return json;
  } catch { /* reported below */ }
  throw new Error(`${path} is not a JSON object`);
}

/**
 * Open a decoder.
 *
 * @example
 * ```ts ignore
 * import { openImageDecoder } from "./image_decoder.ts";
 * const decoder = await openImageDecoder({ kind: "model", dir: "fixtures/demo" });
 * ```
 */
export async function openImageDecoder(spec: DecoderSpec): Promise<ImageDecoder> {
  if (spec.kind === "vq") return await openVqDecoder(spec);
  const config = await readJson(join(spec.dir, "config.json"));
  const decoder = config.decoder as Record<string, unknown> | undefined;
  if (!decoder || typeof decoder !== "object") {
    throw new Error(
      `${join(spec.dir, "config.json")} names no image decoder: pass --vq PATH for LlamaGen grids`,
    );
  }
  if (decoder.kind !== "patch-codebook") {
    throw new Error(
      `unknown decoder kind ${JSON.stringify(decoder.kind)} in ${spec.dir}/config.json`,
    );
  }
  const cb = await loadPatchCodebook(spec.dir, {
    kind: "patch-codebook",
    file: String(decoder.file ?? "decoder.safetensors"),
    patch: Number(decoder.patch),
    channels: Number(decoder.channels ?? 1),
  });
  return {
    name: `patch-codebook ${cb.patch}×${cb.patch} (${cb.codes} codes)`,
    decode(tokens, shape) {
      const pixels = decodePatches(tokens, shape, cb);
      const [count, h, w] = shape;
      return Promise.resolve({
        pixels,
        count,
        height: h * cb.patch,
        width: w * cb.patch,
        channels: cb.channels as 1 | 3,
      });
    },
    close: () => Promise.resolve(),
  };
}

/** The LlamaGen VQ-16 decoder on WebGPU (or the Python worker). */
async function openVqDecoder(
  spec: Extract<DecoderSpec, { kind: "vq" }>,
): Promise<ImageDecoder> {
  const module = spec.backend === "webgpu"
    ? "../backends/webgpu/vq_decoder.ts"
    : "../backends/python/vq_client.ts";
  const url = new URL(module, import.meta.url);
  if (!(await Deno.stat(url).catch(() => null))) {
    throw new Error(`the ${spec.backend} VQ decoder is not available in this build`);
  }
  const mod = await import(url.href);
  const open = spec.backend === "webgpu" ? mod.openWebgpuVqDecoder : mod.openPythonVqDecoder;
  const decoder = await open({ dir: spec.path, python: spec.python });
  return {
    name: `llamagen-vq16 (${spec.backend})`,
    async decode(tokens, shape) {
      const pixels: Uint8Array = await decoder.decode(tokens, shape); // pixels: [B, H·16, W·16, 3]
      const [count, h, w] = shape;
      const scale: number = decoder.scale;
      return { pixels, count, height: h * scale, width: w * scale, channels: 3 };
    },
    close: () => decoder.close(),
  };
}
