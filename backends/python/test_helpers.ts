/**
 * Shared by the Python backend tests: tiny checkpoints, the worker scripts, one-line error checks.
 * Which python, and whether to skip, comes from testing/runtimes.ts.
 *
 * @module
 */

import { dirname, join } from "node:path";
import { PYTHON } from "../../testing/runtimes.ts";
import { needs } from "../../testing/runtimes.ts";
import type { PythonBackendOptions } from "./client.ts";
import { openOracleBackend, type OracleBackend } from "../../testing/worker_oracles.ts";
import { runModule } from "../../testing/python_runner.ts";
import { tinyModel } from "../../testing/tiny_models.ts";

/**
 * Run a test-scaffolding module of testing/python/ as `python -m tiny_models.llamagen …` would
 * (worker/ and testing/python/ on PYTHONPATH) and return stdout; throws with the last stderr line
 * on failure. The jobs of a test file share one testing/python_runner.py, which pays Python's start
 * once.
 */
export function runPython(python: string, module: string, args: string[]): Promise<string> {
  return runModule(python, module, args);
}

/** The module that writes tiny LlamaGen checkpoints (testing/python/tiny_models/llamagen.py). */
export const TINY_MODULE = "tiny_models.llamagen";

/** The python to test with (testing/runtimes.ts): null when none has torch. */
export { PYTHON };

/** Test options of the Python backend tests: skipped loudly without torch (never in CI). */
export const PYTHON_TESTS: { ignore: boolean } = needs("Python backend tests", ["python"]);

let tiny: Promise<string> | null = null;

/**
 * Copy the tiny checkpoints in every layout ({@linkcode TINY_MODULE}, built once a test run) to
 * `to`, a path that does not exist yet; returns `to`.
 */
export function copyTinyGpt(to: string): Promise<string> {
  return tinyModel({
    python: PYTHON!,
    module: TINY_MODULE,
    name: "gpt",
    args: (out) => ["gpt", out],
    to,
  });
}

/**
 * This file's own directory with tiny checkpoints in every layout ({@linkcode TINY_MODULE}):
 * a copy of the run's build, so the file's tests may write into it.
 */
export function tinyModels(): Promise<string> {
  tiny ??= (async () => {
    const dir = await Deno.makeTempDir({ prefix: "zipar-python-" });
    return await copyTinyGpt(join(dir, "gpt"));
  })();
  return tiny;
}

/** Remove the tiny checkpoints (call from the last test of a file). */
export async function removeTinyModels(): Promise<void> {
  if (tiny) await Deno.remove(dirname(await tiny), { recursive: true });
  tiny = null;
}

/** Options for the tiny `.pt` files (no preset, no grid in the name). */
export const TINY_PT = { heads: 4, grid: "8x8" };

/**
 * Open the tiny model (safetensors directory by default) quietly on CPU, the worker in its test
 * mode (testing/worker_oracles.ts: the oracles' requests answered too).
 */
export async function openTiny(
  extra: Partial<PythonBackendOptions> & { file?: string } = {},
): Promise<OracleBackend> {
  const dir = await tinyModels();
  const { file = "st", ...options } = extra;
  return await openOracleBackend({
    model: join(dir, file),
    python: PYTHON!,
    onLog: () => {},
    handleSigint: false,
    ...(file.endsWith(".pt") ? TINY_PT : {}),
    ...options,
  });
}

/** An assert.rejects / assert.throws check: the message matches and is one line. */
export function oneLine(pattern: RegExp): (err: Error) => boolean {
  return (err: Error) => {
    if (!pattern.test(err.message)) throw new Error(`${err.message} does not match ${pattern}`);
    if (err.message.includes("\n")) throw new Error(`not one line: ${err.message}`);
    return true;
  };
}

/**
 * A script in `dir` standing in for a python whose `import torch` fails (a shadow package first
 * on PYTHONPATH), to test the "install torch" errors.
 */
export async function noTorchPython(dir: string): Promise<string> {
  await Deno.mkdir(join(dir, "shadow", "torch"), { recursive: true });
  await Deno.writeTextFile(
    join(dir, "shadow", "torch", "__init__.py"),
    "raise ModuleNotFoundError(\"No module named 'torch'\", name='torch')\n",
  );
  const path = join(dir, "notorch");
  await Deno.writeTextFile(
    path,
    `#!/bin/sh\nPYTHONPATH='${join(dir, "shadow")}' exec '${PYTHON}' "$@"\n`,
  );
  await Deno.chmod(path, 0o755);
  return path;
}

/** Every `.py` file under `dir`, as sorted paths relative to it (`__pycache__` skipped). */
export async function pythonFiles(dir: string, under = ""): Promise<string[]> {
  const found: string[] = [];
  for await (const e of Deno.readDir(join(dir, under))) {
    const rel = under ? `${under}/${e.name}` : e.name;
    if (e.isDirectory && e.name !== "__pycache__") found.push(...await pythonFiles(dir, rel));
    else if (e.isFile && e.name.endsWith(".py")) found.push(rel);
  }
  return found.sort();
}
