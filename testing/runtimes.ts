/**
 * The one way a test asks for a runtime it needs: a python with torch + numpy (the Python
 * backend), a WebGPU adapter, or Slurm's daemons and clients (the live Slurm test). A test that lacks one is skipped
 * through `ignore:` with a loud reason on stderr; with `ZIPAR_REQUIRE_ALL=1` (CI) nothing is skipped: a missing runtime fails
 * the test file instead.
 *
 * ```ts ignore
 * import { needs, PYTHON } from "./runtimes.ts";
 * Deno.test({ name: "…", ...needs("Python logits", ["python"]), fn: async () => { … } });
 * ```
 *
 * What the machine has is probed once per test run by tools/test.ts (testing/probe.ts) and read
 * here from its environment variable; a file run on its own probes for itself.
 *
 * @module
 */

import { PYTHON_INSTALL_HINT } from "../backends/python/interpreter.ts";
import { NO_ADAPTER } from "../backends/webgpu/device.ts";
import { probeRuntimes, type Runtimes, RUNTIMES_ENV, SLURM_PROGRAMS } from "./probe.ts";

export { SLURM_PROGRAMS };

/** A runtime a test can need (`webgpu-f16`: an adapter with `shader-f16`). */
export type Runtime = "python" | "webgpu" | "webgpu-f16" | "slurm";

/** Whether every runtime is required (CI sets ZIPAR_REQUIRE_ALL=1): then nothing skips. */
export const REQUIRE_ALL: boolean = Deno.env.get("ZIPAR_REQUIRE_ALL") === "1";

/** The runtimes tools/test.ts probed (its {@linkcode RUNTIMES_ENV}), else a probe of our own. */
async function runtimes(): Promise<Runtimes> {
  const handed = Deno.env.get(RUNTIMES_ENV);
  if (handed) {
    const r = JSON.parse(handed);
    if (
      (r.python === null || typeof r.python === "string") && typeof r.webgpu === "boolean" &&
      typeof r.webgpuF16 === "boolean" && typeof r.slurm === "boolean"
    ) return r;
    throw new Error(`${RUNTIMES_ENV} is not what tools/test.ts writes: ${handed}`);
  }
  return await probeRuntimes();
}

const FOUND = await runtimes();

/** The python the tests use (it imports torch and numpy), or null. */
export const PYTHON: string | null = FOUND.python;

/** Whether a WebGPU adapter exists. */
export const HAS_WEBGPU: boolean = FOUND.webgpu;

/** Whether the WebGPU adapter offers `shader-f16`. */
export const HAS_WEBGPU_F16: boolean = FOUND.webgpuF16;

/** Whether every one of {@linkcode SLURM_PROGRAMS} is on PATH or in /usr/sbin (asked through sh). */
export const HAS_SLURM: boolean = FOUND.slurm;

const WHY: Record<Runtime, string> = {
  python: `no python with torch + numpy (${PYTHON_INSTALL_HINT})`,
  webgpu: NO_ADAPTER,
  "webgpu-f16": "the WebGPU adapter does not offer shader-f16 (f16 weights)",
  slurm: `no Slurm (${SLURM_PROGRAMS.join(", ")}): apt-get install slurm-wlm munge`,
};

/** The runtimes of `runtimes` that this machine lacks. */
export function missingRuntimes(runtimes: readonly Runtime[]): Runtime[] {
  const have: Record<Runtime, boolean> = {
    python: PYTHON !== null,
    webgpu: HAS_WEBGPU,
    "webgpu-f16": HAS_WEBGPU_F16,
    slurm: HAS_SLURM,
  };
  return runtimes.filter((r) => !have[r]);
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
