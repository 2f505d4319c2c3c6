/**
 * Which Python runs the worker: `--python`, else `ZIPAR_PYTHON`, else the project's virtual
 * environment (`.venv/`, made by `deno task setup` from `backends/python/requirements.txt`) when
 * it exists, else `python3` on PATH. One definition for the client, the converters and the tests.
 *
 * @module
 */

import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** The project's virtual environment, made by `deno task setup`. */
export const PROJECT_VENV: string = fileURLToPath(new URL("../../.venv", import.meta.url));

/** The pinned requirements the virtual environment is made from. */
export const REQUIREMENTS: string = fileURLToPath(new URL("./requirements.txt", import.meta.url));

/** What to do when python, torch or numpy is missing. */
export const PYTHON_INSTALL_HINT =
  "run `deno task setup` (it makes .venv from backends/python/requirements.txt), " +
  "or set ZIPAR_PYTHON to a python with torch and numpy";

/** The project venv's python, or null when there is none. */
export function venvPython(venv: string = PROJECT_VENV): string | null {
  const python = `${venv}/bin/python`;
  return existsSync(python) ? python : null;
}

/**
 * The interpreter to run: `explicit`, else ZIPAR_PYTHON, else the project venv's python, else
 * `python3`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { resolvePython } from "./interpreter.ts";
 * assert.equal(resolvePython("/opt/py/bin/python"), "/opt/py/bin/python");
 * ```
 */
export function resolvePython(explicit?: string): string {
  return explicit ?? Deno.env.get("ZIPAR_PYTHON") ?? venvPython() ?? "python3";
}

async function importsTorch(python: string): Promise<boolean> {
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
 * The first interpreter that imports torch and numpy: ZIPAR_PYTHON when set (only it), else the
 * project venv's python, `python3`, `/usr/bin/python3`; null when none does.
 */
export async function findTorchPython(): Promise<string | null> {
  const chosen = Deno.env.get("ZIPAR_PYTHON");
  const venv = venvPython();
  const candidates = chosen ? [chosen] : [...(venv ? [venv] : []), "python3", "/usr/bin/python3"];
  for (const python of candidates) if (await importsTorch(python)) return python;
  return null;
}
