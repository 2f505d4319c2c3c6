/**
 * The one way a test asks for a runtime it needs: a python with torch + numpy (the Python
 * backend) or a WebGPU adapter. A test that lacks one is skipped through `ignore:` with a loud
 * reason on stderr; with `ZIPAR_REQUIRE_ALL=1` (CI) nothing is skipped: a missing runtime fails
 * the test file instead.
 *
 * ```ts ignore
 * import { needs, PYTHON } from "../test_runtimes.ts";
 * Deno.test({ name: "…", ...needs("Python logits", ["python"]), fn: async () => { … } });
 * ```
 *
 * @module
 */

import { findTorchPython, PYTHON_INSTALL_HINT } from "./python/interpreter.ts";
import { hasWebgpuAdapter, NO_ADAPTER } from "./webgpu/device.ts";

/** A runtime a test can need. */
export type Runtime = "python" | "webgpu";

/** Whether every runtime is required (CI sets ZIPAR_REQUIRE_ALL=1): then nothing skips. */
export const REQUIRE_ALL: boolean = Deno.env.get("ZIPAR_REQUIRE_ALL") === "1";

/** The python the tests use (it imports torch and numpy), or null. */
export const PYTHON: string | null = await findTorchPython();

/** Whether a WebGPU adapter exists. */
export const HAS_WEBGPU: boolean = await hasWebgpuAdapter();

const WHY: Record<Runtime, string> = {
  python: `no python with torch + numpy (${PYTHON_INSTALL_HINT})`,
  webgpu: NO_ADAPTER,
};

/** The runtimes of `runtimes` that this machine lacks. */
export function missingRuntimes(runtimes: readonly Runtime[]): Runtime[] {
  return runtimes.filter((r) => (r === "python" ? PYTHON === null : !HAS_WEBGPU));
}

const warned = new Set<string>();

/**
 * Test options for a test of `what` that needs `runtimes`: `{ ignore: false }` when they are
 * all here; `{ ignore: true }` with a loud "!!! SKIPPING" line when one is missing; and when
 * `ZIPAR_REQUIRE_ALL=1`, a thrown Error instead, so the test file fails.
 */
export function needs(what: string, runtimes: readonly Runtime[]): { ignore: boolean } {
  const missing = missingRuntimes(runtimes);
  if (missing.length === 0) return { ignore: false };
  const why = missing.map((r) => WHY[r]).join("; and ");
  if (REQUIRE_ALL) throw new Error(`ZIPAR_REQUIRE_ALL=1 but ${why}, needed for ${what}`);
  if (!warned.has(what)) {
    warned.add(what);
    console.warn(`\n!!! SKIPPING ${what}: ${why} !!!\n`);
  }
  return { ignore: true };
}
