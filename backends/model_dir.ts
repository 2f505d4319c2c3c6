/**
 * Read a model directory's JSON config and the tensors it names from its safetensors file, with
 * one-line errors; the callers (LlamaGen GPT, VQ decoder) validate the config and say which
 * tensors with which shapes it needs. Weights are read by their declared ranges only
 * (safetensors_reader.ts), never the whole file.
 *
 * @module
 */

import { join } from "node:path";
import { parseBoundedJson } from "./bounded_json.ts";
import type { Tensor } from "./safetensors_format.ts";
import { readExpectedTensorsFile } from "./safetensors_reader.ts";

/** The raw files of a model directory. */
export interface ModelFiles {
  /** Path of the JSON config. */
  configPath: string;
  /** The parsed JSON config, not yet validated. */
  json: unknown;
  /** Path of the safetensors file (not read yet: see {@linkcode readModelWeights}). */
  weightsPath: string;
}

async function readOrExplain<T>(path: string, read: (path: string) => Promise<T>): Promise<T> {
  try {
    return await read(path);
  } catch (e) {
    throw new Error(`Cannot read ${path}: ${(e as Error).message.split("\n")[0]}`);
  }
}

/**
 * Read `DIR/configFile` as JSON; name `DIR/weightsFile`.
 *
 * @example
 * ```ts ignore
 * import { readModelFiles } from "./model_dir.ts";
 * const { json, weightsPath } = await readModelFiles("models/vq16", "vq.json", "vq.safetensors");
 * ```
 */
export async function readModelFiles(
  dir: string,
  configFile: string,
  weightsFile: string,
): Promise<ModelFiles> {
  const configPath = join(dir, configFile), weightsPath = join(dir, weightsFile);
  const info = await Deno.stat(dir).catch(() => null);
  if (info?.isFile) throw new Error(notADirectory(dir, configFile, weightsFile));
  const text = await readOrExplain(configPath, readConfigText);
  return { configPath, json: parseBoundedJson(text, configPath), weightsPath };
}

/** Largest config file read, bytes (worker/checkpoint.py reads no more either). */
export const MAX_CONFIG_BYTES = 16 << 20;

async function readConfigText(path: string): Promise<string> {
  const info = await Deno.stat(path);
  if (!info.isFile) throw new Error("not a regular file");
  if (info.size > MAX_CONFIG_BYTES) {
    throw new Error(`${info.size} bytes, more than a config's ${MAX_CONFIG_BYTES}`);
  }
  return await Deno.readTextFile(path);
}

/**
 * Read a config file that must hold a JSON object (a model directory's config.json), bounded
 * like every config: at most {@linkcode MAX_CONFIG_BYTES}, nested no deeper than
 * bounded_json's cap. One-line errors: `PATH not found`, `PATH is not a JSON object`, or why it
 * cannot be read.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readConfigObject } from "./model_dir.ts";
 * await assert.rejects(() => readConfigObject("/no/config.json"), /^Error: \/no\/config\.json not found$/);
 * ```
 */
export async function readConfigObject(path: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readConfigText(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw new Error(`${path} not found`);
    throw new Error(`cannot read ${path}: ${(e as Error).message.split("\n")[0]}`);
  }
  let json: unknown = null;
  try {
    json = parseBoundedJson(text, path);
  } catch { /* reported below */ }
  if (json && typeof json === "object" && !Array.isArray(json)) {
    return json as Record<string, unknown>;
  }
  throw new Error(`${path} is not a JSON object`);
}

/** The error for a model "directory" that is a file: a checkpoint to convert, most likely. */
function notADirectory(path: string, configFile: string, weightsFile: string): string {
  const vq = configFile === "vq.json";
  const what = vq ? "a VQ directory" : "a model directory";
  const from = vq ? "llamagen-vq" : "llamagen";
  if (/\.(pt|pth|bin|ckpt)$/i.test(path)) {
    return `${path} is a PyTorch checkpoint, not ${what} (${configFile} + ${weightsFile}): ` +
      `convert it first: zipar convert --from ${from} ${path} --out DIR, then pass DIR`;
  }
  return `${path} is a file, not ${what} (${configFile} + ${weightsFile})`;
}

/**
 * Read the tensors `want` names (name → shape, from `configName`) from the safetensors file at
 * `weightsPath`, by their ranges; one-line errors name the file, the tensor and the fix.
 *
 * @example
 * ```ts ignore
 * import { readModelWeights } from "./model_dir.ts";
 * const weights = await readModelWeights("m/model.safetensors", shapes, "config.json");
 * ```
 */
export function readModelWeights(
  weightsPath: string,
  want: Map<string, number[]>,
  configName: string,
): Promise<Map<string, Tensor>> {
  return readExpectedTensorsFile(weightsPath, want, configName);
}
