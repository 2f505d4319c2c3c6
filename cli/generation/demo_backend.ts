/**
 * The shipped demo model (fixtures/demo) and the backend `zipar demo` and `zipar eval` run it
 * on: WebGPU first, then the Python worker with the first interpreter that loads it, or one
 * line that says what to install.
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import type { Backend } from "../../core/mod.ts";
import { type BackendSpec, openBackend } from "../../backends/open.ts";
import { venvPython } from "../../backends/python/interpreter.ts";

/** The shipped demo model directory. */
export const DEMO_MODEL: string = fileURLToPath(new URL("../../fixtures/demo", import.meta.url));

/** The `--backend` choices of `zipar demo` and `zipar eval`. */
export type DemoBackendChoice = "auto" | "webgpu" | "python";

/** Options of {@linkcode openDemoBackend}. */
export interface DemoBackendOptions {
  /** `auto` tries WebGPU, then Python; the others only that one. */
  choice: DemoBackendChoice;
  /** The model directory. */
  model: string;
  /** `--python`: the only interpreter to try. */
  python?: string;
  /** `--threads`: torch CPU threads of a Python worker; torch's own choice when absent. */
  threads?: number;
  /** The environment (ZIPAR_PYTHON). */
  env: (name: string) => string | undefined;
}

/**
 * The specs to try, in order: WebGPU (unless `python`), then the Python backend with `--python`,
 * or else ZIPAR_PYTHON, the project venv's python, `python3` and `/usr/bin/python3`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { demoBackendSpecs } from "./demo_backend.ts";
 * const specs = demoBackendSpecs({ choice: "python", model: "m", python: "/opt/py", env: () => undefined });
 * assert.deepEqual(specs, [{ backend: "python", model: "m", python: "/opt/py" }]);
 * ```
 */
export function demoBackendSpecs(options: DemoBackendOptions): BackendSpec[] {
  const { choice, model, python, env, threads } = options;
  const specs: BackendSpec[] = choice === "python" ? [] : [{ backend: "webgpu", model }];
  if (choice === "webgpu") return specs;
  const candidates = python
    ? [python]
    : [env("ZIPAR_PYTHON"), venvPython(), "python3", "/usr/bin/python3"];
  for (const exe of new Set(candidates.filter((c): c is string => !!c))) {
    specs.push({ backend: "python", model, python: exe, ...(threads ? { threads } : {}) });
  }
  return specs;
}

/**
 * Open the demo's backend: the first of {@linkcode demoBackendSpecs} that opens. An explicit
 * `--backend webgpu`, or `--backend python --python PATH`, fails with that backend's own error;
 * otherwise one line lists what was tried and what to install.
 */
export async function openDemoBackend(options: DemoBackendOptions): Promise<Backend> {
  const { choice, python } = options;
  const ownError = choice === "webgpu" || (choice === "python" && python !== undefined);
  const errors: string[] = [];
  for (const spec of demoBackendSpecs(options)) {
    try {
      return await openBackend(spec);
    } catch (e) {
      if (ownError) throw e;
      const what = spec.backend === "python" ? `Python (${spec.python})` : "WebGPU";
      errors.push(`${what}: ${(e as Error).message}`);
    }
  }
  throw new Error(
    `no backend can run the demo — install a WebGPU adapter (a GPU driver, or ` +
      `\`apt-get install mesa-vulkan-drivers\`) or PyTorch (\`apt-get install python3-torch ` +
      `python3-numpy libopenblas0-pthread\`). Tried: ${errors.join("; ")}`,
  );
}
