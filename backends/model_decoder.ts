/**
 * A loaded model's own image decoder, as its backend reports it: whether there is one, where it
 * runs, or why not. `zipar generate --png` reads it before any generation, and
 * backends/open.ts routes decoding by it instead of looking at the model's files itself.
 *
 * - The Python worker reports it in `ready.modelDecoder` (each family's `decoder_status()`,
 *   PROTOCOL.md).
 * - A model directory the WebGPU backend loads, or that `zipar decode --model` names:
 *   {@linkcode modelDirDecoder}, from the files of the directory's layout.
 * - The mock model has none.
 *
 * @module
 */

import { join } from "node:path";
import { readConfigObject } from "./model_dir.ts";

/** A model's own decoder. */
export type ModelDecoder =
  /** The family's decoder in the Python worker that holds the model (Janus's VQ, …). */
  | { available: true; where: "worker"; name: string }
  /** A decoder run in TypeScript that the model's config.json names (the demo's codebook). */
  | { available: true; where: "host"; name: string; dir: string }
  /** LlamaGen's VQ-16 beside the GPT (`DIR/vq.json` + `DIR/vq.safetensors`), on any backend. */
  | { available: true; where: "vq"; name: string; path: string }
  /** Janus's VQ-16 in a transformers-layout directory (`model.vqmodel.*`), on WebGPU. */
  | { available: true; where: "janus-vq"; name: string; dir: string }
  /** None: `why` is the one line naming what is missing and the fix. */
  | { available: false; why: string };

/**
 * The decoder of a model directory, from its files, without loading the model — the rule the
 * worker's family registry follows (families/__init__.py): a config.json with `model_type` is
 * a Hugging Face family's (Janus, Emu3, Lumina-mGPT), whose decoder lives with the model in
 * the worker (its `ready` then says whether it is there); any other directory is LlamaGen's
 * layout: the host decoder its config.json names (`decoder`: the demo's patch codebook), else
 * the VQ-16 beside the GPT (`vq.json`), else none. Throws a one-line Error for a missing or
 * malformed config.json.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { fileURLToPath } from "node:url";
 * import { modelDirDecoder } from "./model_decoder.ts";
 * const demo = fileURLToPath(new URL("../fixtures/demo", import.meta.url));
 * const decoder = await modelDirDecoder(demo);
 * assert(decoder.available && decoder.where === "host");
 * ```
 */
export async function modelDirDecoder(dir: string): Promise<ModelDecoder> {
  const config = await readConfigObject(join(dir, "config.json"));
  if (typeof config.model_type === "string") {
    return { available: true, where: "worker", name: `${config.model_type} decoder` };
  }
  const named = config.decoder as { kind?: unknown } | undefined;
  if (named !== undefined) {
    return { available: true, where: "host", name: String(named?.kind), dir };
  }
  if (await Deno.stat(join(dir, "vq.json")).then((s) => s.isFile, () => false)) {
    return { available: true, where: "vq", name: "LlamaGen VQ-16", path: dir };
  }
  return {
    available: false,
    why: `${dir}: the model has no decoder of its own (no vq.json + vq.safetensors beside ` +
      `config.json); pass a VQ decoder (--vq PATH)`,
  };
}

/**
 * The model decoder a backend reports, or none.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { MockBackend } from "./mock/mock.ts";
 * import { modelDecoderOf } from "./model_decoder.ts";
 * const decoder = modelDecoderOf(new MockBackend());
 * assert(!decoder.available && /mock/.test(decoder.why));
 * ```
 */
export function modelDecoderOf(
  backend: { name: string; modelDecoder?: ModelDecoder },
): ModelDecoder {
  return backend.modelDecoder ??
    { available: false, why: `the ${backend.name} backend's model has no image decoder` };
}
