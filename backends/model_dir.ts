/**
 * Read a model directory's JSON config and safetensors file with one-line errors; the callers
 * (LlamaGen GPT, VQ decoder) validate the config and the tensors themselves.
 *
 * @module
 */

import { join } from "node:path";

/** The raw files of a model directory. */
export interface ModelFiles {
  /** Path of the JSON config. */
  configPath: string;
  /** The parsed JSON config, not yet validated. */
  json: unknown;
  /** Path of the safetensors file. */
  weightsPath: string;
  /** Its bytes. */
  bytes: Uint8Array;
}

async function readOrExplain<T>(path: string, read: (path: string) => Promise<T>): Promise<T> {
  try {
    return await read(path);
  } catch (e) {
    throw new Error(`Cannot read ${path}: ${(e as Error).message.split("\n")[0]}`);
  }
}

/**
 * Read `DIR/configFile` as JSON and `DIR/weightsFile` as bytes.
 *
 * @example
 * ```ts ignore
 * import { readModelFiles } from "./model_dir.ts";
 * const { json, bytes } = await readModelFiles("models/vq16", "vq.json", "vq.safetensors");
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
  const bytes = await readOrExplain(weightsPath, Deno.readFile);
  return { configPath, json, weightsPath, bytes };
}
