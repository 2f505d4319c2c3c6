/**
 * Read a model directory's JSON config and the tensors it names from its safetensors file, with
 * one-line errors; the callers (LlamaGen GPT, VQ decoder) validate the config and say which
 * tensors with which shapes it needs. Weights are read by their declared ranges only
 * (safetensors_reader.ts), never the whole file.
 *
 * @module
 */

import { join } from "node:path";
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
  const text = await readOrExplain(configPath, Deno.readTextFile);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new SyntaxError(`${configPath}: not valid JSON (${(e as Error).message})`);
  }
  return { configPath, json, weightsPath };
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
