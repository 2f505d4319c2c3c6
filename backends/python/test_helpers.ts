/**
 * Shared by the Python backend tests: tiny checkpoints, the worker scripts, one-line error checks.
 * Which python, and whether to skip, comes from backends/test_runtimes.
 *
 * @module
 */

import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { PYTHON } from "../test_runtimes.ts";
import { needs } from "../test_runtimes.ts";
import { openPythonBackend, type PythonBackend, type PythonBackendOptions } from "./client.ts";

const WORKER_DIR = fileURLToPath(new URL("./worker/", import.meta.url));

/**
 * Run a module of worker/ (`python -m families.llamagen.tiny …`, worker/ on PYTHONPATH) and
 * return stdout; throws with the last stderr line on failure.
 */
export async function runPython(python: string, module: string, args: string[]): Promise<string> {
  const out = await new Deno.Command(python, {
    args: ["-m", module, ...args],
    env: { PYTHONDONTWRITEBYTECODE: "1", PYTHONPATH: WORKER_DIR },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const err = new TextDecoder().decode(out.stderr);
  if (!out.success) throw new Error(`${module} failed: ${err.trim().split("\n").at(-1)}`);
  return new TextDecoder().decode(out.stdout);
}

/** The module that writes tiny LlamaGen test checkpoints (worker/families/llamagen/tiny.py). */
export const TINY_MODULE = "families.llamagen.tiny";

/** The python to test with (backends/test_runtimes): null when none has torch. */
export { PYTHON };

/** Test options of the Python backend tests: skipped loudly without torch (never in CI). */
export const PYTHON_TESTS: { ignore: boolean } = needs("Python backend tests", ["python"]);

let tiny: Promise<string> | null = null;

/** Directory with tiny checkpoints in every layout ({@linkcode TINY_MODULE}), built once a file. */
export function tinyModels(): Promise<string> {
  tiny ??= (async () => {
    const dir = await Deno.makeTempDir({ prefix: "zipar-python-" });
    await runPython(PYTHON!, TINY_MODULE, ["gpt", dir]);
    return dir;
  })();
  return tiny;
}

/** Remove the tiny checkpoints (call from the last test of a file). */
export async function removeTinyModels(): Promise<void> {
  if (tiny) await Deno.remove(await tiny, { recursive: true });
  tiny = null;
}

/** Options for the tiny `.pt` files (no preset, no grid in the name). */
export const TINY_PT = { heads: 4, grid: "8x8" };

/** Open the tiny model (safetensors directory by default) quietly on CPU. */
export async function openTiny(
  extra: Partial<PythonBackendOptions> & { file?: string } = {},
): Promise<PythonBackend> {
  const dir = await tinyModels();
  const { file = "st", ...options } = extra;
  return await openPythonBackend({
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
