/**
 * One bad job never takes a batch down: the images of several jobs share a generate() call, and
 * when that call fails (a prompt too long for the model's context, one its tokenizer finds
 * empty, a worker out of memory), {@linkcode generateIsolating} finds the jobs that fail on their
 * own and generates the others without them, so good work is kept and each failed job carries
 * its own reason.
 *
 * How: each job of the failed call opens a session alone (what a backend refuses, it refuses at
 * open, and an open costs no forward pass); the jobs refused fail with that reason and the rest
 * run again as one call. When no job is refused at open, or the rest fail again (a failure
 * mid-run), every job runs alone and fails alone.
 *
 * @module
 */

import { type Backend, type Condition, sequencesFor } from "../../core/mod.ts";
import { interrupted } from "../io/interrupt.ts";

/** An image of a job. */
export interface JobImage {
  /** The job it belongs to. */
  job: number;
  /** Its condition. */
  condition: Condition;
}

/** How {@linkcode generateIsolating} runs and reports. */
export interface Isolating<I extends JobImage> {
  /** Generate `images` in one call. */
  run(images: I[]): Promise<void>;
  /** Open and close a session of `images` alone; throws what the backend refuses. */
  probe(images: I[]): Promise<void>;
  /** Job `job` failed because of `error`. */
  fail(job: number, error: unknown): void;
}

/** The open-and-close probe of {@linkcode Isolating.probe} on `backend` with CFG scale `cfg`. */
export function openProbe(backend: Backend, cfg: number): (images: JobImage[]) => Promise<void> {
  return async (images) => {
    const session = await backend.open(sequencesFor(images.map((im) => im.condition), cfg !== 1));
    await session.close();
  };
}

/**
 * Run `images` in one call of `how.run`; when it throws, run again without the jobs that fail
 * on their own (module doc) and report those with `how.fail`. After an interrupt, nothing is
 * retried: the call's jobs fail with its error.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { generateIsolating } from "./isolate.ts";
 * const images = [0, 1, 2].map((job) => ({ job, condition: job }));
 * const ran: number[][] = [], failed: number[] = [];
 * await generateIsolating(images, {
 *   run: (ims) => ims.some((im) => im.job === 1) ? Promise.reject(new Error("no")) :
 *     Promise.resolve(void ran.push(ims.map((im) => im.job))),
 *   probe: (ims) => ims[0].job === 1 ? Promise.reject(new Error("no")) : Promise.resolve(),
 *   fail: (job) => failed.push(job),
 * });
 * assert.deepEqual([ran, failed], [[[0, 2]], [1]]);
 * ```
 */
export async function generateIsolating<I extends JobImage>(
  images: I[],
  how: Isolating<I>,
): Promise<void> {
  let error: unknown;
  try {
    return await how.run(images);
  } catch (e) {
    error = e;
  }
  const jobs = [...new Set(images.map((im) => im.job))];
  const of = (job: number) => images.filter((im) => im.job === job);
  if (jobs.length === 1 || interrupted() !== null) {
    for (const job of jobs) how.fail(job, error);
    return;
  }
  const rest: number[] = [];
  for (const job of jobs) {
    try {
      await how.probe(of(job));
      rest.push(job);
    } catch (e) {
      how.fail(job, e);
    }
  }
  if (rest.length > 0 && rest.length < jobs.length) {
    const kept = images.filter((im) => rest.includes(im.job));
    try {
      return await how.run(kept);
    } catch (e) {
      if (rest.length === 1) return how.fail(rest[0], e);
    }
  }
  for (const job of rest) {
    if (interrupted() !== null) {
      how.fail(job, error);
      continue;
    }
    try {
      await how.run(of(job));
    } catch (e) {
      how.fail(job, e);
    }
  }
}
