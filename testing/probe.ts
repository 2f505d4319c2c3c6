/**
 * What this machine has for the tests: a python with torch, a WebGPU adapter (and whether it
 * offers `shader-f16`), Slurm. Probed
 * once per run by tools/test.ts and handed to every test file through {@linkcode RUNTIMES_ENV};
 * testing/runtimes.ts reads it (or probes itself when a file runs alone).
 *
 * @module
 */

import { findTorchPython } from "../backends/python/interpreter.ts";

/** What the adapter probe prints: whether an adapter exists, and whether it offers f16. */
const ADAPTER_PROBE = `const a = await navigator.gpu?.requestAdapter();
console.log(JSON.stringify([!!a, !!a?.features.has("shader-f16")]));`;

/**
 * Whether a WebGPU adapter exists and whether it offers `shader-f16`, asked in a short-lived
 * Deno of its own: the process that probes never loads a GPU driver (a software driver's
 * threads at exit are a risk the test runner need not take).
 */
async function probeAdapter(): Promise<{ webgpu: boolean; webgpuF16: boolean }> {
  try {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["eval", ADAPTER_PROBE],
      stdin: "null",
      stdout: "piped",
      stderr: "null",
    }).output();
    const [webgpu, webgpuF16] = JSON.parse(new TextDecoder().decode(out.stdout).trim());
    return { webgpu: webgpu === true, webgpuF16: webgpuF16 === true };
  } catch {
    return { webgpu: false, webgpuF16: false };
  }
}

/** Slurm's and munge's programs the live Slurm test runs (.ci/packages.txt: slurm-wlm, munge). */
export const SLURM_PROGRAMS = [
  "munged",
  "slurmctld",
  "slurmd",
  "sbatch",
  "scancel",
  "scontrol",
  "sinfo",
] as const;

/** What {@linkcode probeRuntimes} found. */
export interface Runtimes {
  /** The python the tests use (it imports torch and numpy), or null. */
  python: string | null;
  /** Whether a WebGPU adapter exists. */
  webgpu: boolean;
  /** Whether it offers the `shader-f16` feature (f16 weight storage). */
  webgpuF16: boolean;
  /** Whether every one of {@linkcode SLURM_PROGRAMS} is on PATH or in /usr/sbin. */
  slurm: boolean;
}

/**
 * The environment variable through which tools/test.ts hands its one probe to every test file
 * (JSON of {@linkcode Runtimes}), so that each file does not start a python and a GPU adapter of
 * its own just to learn what the machine has.
 */
export const RUNTIMES_ENV = "ZIPAR_TEST_RUNTIMES";

/** Look for each runtime: a python with torch (ZIPAR_PYTHON first), an adapter, Slurm. */
export async function probeRuntimes(): Promise<Runtimes> {
  const [python, adapter, slurm] = await Promise.all([
    findTorchPython(),
    probeAdapter(),
    new Deno.Command("sh", {
      args: [
        "-c",
        `PATH="$PATH:/usr/sbin:/sbin"; for p in ${
          SLURM_PROGRAMS.join(" ")
        }; do command -v "$p" >/dev/null || exit 1; done`,
      ],
      stdout: "null",
      stderr: "null",
    }).output().then((r) => r.success, () => false),
  ]);
  return { python, ...adapter, slurm };
}
