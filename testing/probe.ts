/**
 * What this machine has for the tests: a python with torch, a WebGPU adapter, Slurm. Probed
 * once per run by tools/test.ts and handed to every test file through {@linkcode RUNTIMES_ENV};
 * testing/runtimes.ts reads it (or probes itself when a file runs alone).
 *
 * @module
 */

import { findTorchPython } from "../backends/python/interpreter.ts";

/**
 * Whether a WebGPU adapter exists, asked in a short-lived Deno of its own: the process that
 * probes never loads a GPU driver (a software driver's threads at exit are a risk the test
 * runner need not take).
 */
async function adapterExists(): Promise<boolean> {
  try {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["eval", "console.log(!!(await navigator.gpu?.requestAdapter()))"],
      stdin: "null",
      stdout: "piped",
      stderr: "null",
    }).output();
    return new TextDecoder().decode(out.stdout).trim() === "true";
  } catch {
    return false;
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
  const [python, webgpu, slurm] = await Promise.all([
    findTorchPython(),
    adapterExists(),
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
  return { python, webgpu, slurm };
}
