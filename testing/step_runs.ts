/**
 * Step runs for the family tests: each run's steps sent through a session of its own on a
 * backend, its logits kept, then compared with a reference's — what "a step's logits under
 * zipar's slot cache equal one full forward" is checked with, for every prompt family.
 *
 * ```ts ignore
 * import { assertRunsMatch, runSteps, type StepRun } from "../../testing/step_runs.ts";
 * const runs: StepRun[] = [{ sequences, steps, got: [] }];
 * await runSteps(backend, runs);
 * await assertRunsMatch(runs, (run) => referenceLogits(dir, run.sequences, run.steps));
 * ```
 *
 * @module
 */

import assert from "node:assert/strict";
import type { Sequence } from "../core/condition.ts";
import type { Backend, Query } from "../core/step.ts";

/** One session's sequences, its steps' queries, and the logits the backend gave them. */
export interface StepRun {
  /** The session's sequences. */
  sequences: Sequence[];
  /** Each step's queries. */
  steps: Query[][];
  /** got: [all steps' logits rows · vocab], filled by {@linkcode runSteps}. */
  got: number[];
}

/** Run every run's steps in a session of its own on `backend`, appending its logits. */
export async function runSteps(backend: Backend, runs: readonly StepRun[]): Promise<void> {
  for (const { sequences, steps, got } of runs) {
    const session = await backend.open(sequences);
    for (const step of steps) got.push(...await session.step(step));
    await session.close();
  }
}

/** The largest absolute difference of two equally long arrays. */
export function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length, "lengths");
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
  return max;
}

/** Assert each run's logits are within `tolerance` of `reference(run)`'s. */
export async function assertRunsMatch(
  runs: readonly StepRun[],
  reference: (run: StepRun) => Promise<ArrayLike<number>>,
  tolerance = 1e-4,
): Promise<void> {
  for (const run of runs) {
    const diff = maxDiff(run.got, await reference(run));
    assert.ok(diff < tolerance, `max abs diff ${diff}`);
  }
}
