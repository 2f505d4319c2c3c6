/**
 * Shared by the Python backend tests: find a python with torch, build tiny checkpoints, skip
 * loudly (or fail when ZIPAR_REQUIRE_ALL=1) when torch is missing.
 *
 * @module
 */

import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { openPythonBackend, type PythonBackend, type PythonBackendOptions } from "./client.ts";

const WORKER_DIR = fileURLToPath(new URL("./worker/", import.meta.url));

/** Run a python script of worker/ and return stdout; throws with stderr on failure. */
export async function runPython(python: string, script: string, args: string[]): Promise<string> {
  const out = await new Deno.Command(python, {
    args: [join(WORKER_DIR, script), ...args],
    env: { PYTHONDONTWRITEBYTECODE: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const err = new TextDecoder().decode(out.stderr);
  if (!out.success) throw new Error(`${script} failed: ${err.trim().split("\n").at(-1)}`);
  return new TextDecoder().decode(out.stdout);
}

async function hasTorch(python: string): Promise<boolean> {
  try {
    const out = await new Deno.Command(python, {
      args: ["-c", "import torch, numpy"],
      stdout: "null",
      stderr: "null",
    }).output();
    return out.success;
  } catch {
    return false;
  }
}

/**
 * ZIPAR_PYTHON when set (and it imports torch and numpy), else the first of python3 and
 * /usr/bin/python3 that does, or null.
 */
export async function findTorchPython(): Promise<string | null> {
  const chosen = Deno.env.get("ZIPAR_PYTHON");
  const candidates = chosen ? [chosen] : ["python3", "/usr/bin/python3"];
  for (const python of candidates) if (python && await hasTorch(python)) return python;
  return null;
}

/** The python to test with; null means skip (after a loud warning), or throws when required. */
export const PYTHON: string | null = await findTorchPython();
const REQUIRE_ALL = Deno.env.get("ZIPAR_REQUIRE_ALL") === "1";
if (PYTHON === null) {
  const tried = Deno.env.get("ZIPAR_PYTHON") ?? "python3, /usr/bin/python3";
  const why = `no python with torch + numpy (tried ${tried})`;
  if (REQUIRE_ALL) throw new Error(`ZIPAR_REQUIRE_ALL=1 but ${why}`);
  console.warn(
    `\n!!! SKIPPING Python backend tests: ${why}. ` +
      "Install: apt-get install python3-torch python3-numpy libopenblas0-pthread !!!\n",
  );
}

/** Test options: skipped (never when ZIPAR_REQUIRE_ALL=1) when no python has torch. */
export const IGNORE = PYTHON === null;

let tiny: Promise<string> | null = null;

/** Directory with tiny checkpoints in every layout (worker/tiny.py), built once per file. */
export function tinyModels(): Promise<string> {
  tiny ??= (async () => {
    const dir = await Deno.makeTempDir({ prefix: "zipar-python-" });
    await runPython(PYTHON!, "tiny.py", [dir]);
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
