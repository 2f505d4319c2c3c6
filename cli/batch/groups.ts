/**
 * Packing the images of batch jobs into generate() calls: images whose jobs share the
 * schedule, window, proxy, CFG scale and sampling settings go into one call, up to a batch
 * size, in job order. Every image keeps its own (class, seed, index), so a job's grids do not
 * depend on how it is packed. Pure.
 *
 * @module
 */

import type { PlanImage } from "../../core/mod.ts";
import { cycleConditions } from "../flags/condition_flags.ts";
import type { ResolvedJob } from "./jobs.ts";

/** One image of one job. */
export interface BatchImage extends PlanImage {
  /** Which job (index into the jobs given to {@linkcode packBatches}). */
  job: number;
}

/** One generate() call. */
export interface Batch {
  /** The settings key shared by its jobs. */
  key: string;
  /** A job carrying the settings (the first one packed). */
  settings: ResolvedJob;
  /** Its images in order. */
  images: BatchImage[];
}

/**
 * The settings that must agree for images to share a generate() call.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkJob, resolveJob } from "./jobs.ts";
 * import { settingsKey } from "./groups.ts";
 * const a = resolveJob(checkJob({ name: "a", window: 4, seed: 1 }));
 * const b = resolveJob(checkJob({ name: "b", window: 4, class: 7 }));
 * assert(settingsKey(a) === settingsKey(b));
 * ```
 */
export function settingsKey(job: ResolvedJob): string {
  const { schedule, settings, cfg, temperature, topK, topP } = job;
  const given = Object.keys(settings).sort().map((k) => [k, settings[k as keyof typeof settings]]);
  return JSON.stringify([schedule, given, cfg, temperature, topK, topP]);
}

/**
 * Pack the images of `jobs` into batches of at most `maxBatch` images; groups appear in order
 * of their first job, and a job's images stay in index order.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkJob, resolveJob } from "./jobs.ts";
 * import { packBatches } from "./groups.ts";
 * const jobs = [{ name: "a", window: 4, count: 3 }, { name: "b", window: 4, count: 2 }]
 *   .map((j) => resolveJob(checkJob(j)));
 * const batches = packBatches(jobs, 4);
 * assert(batches.length === 2 && batches[0].images.length === 4);
 * ```
 */
export function packBatches(jobs: readonly ResolvedJob[], maxBatch: number): Batch[] {
  if (!Number.isInteger(maxBatch) || maxBatch < 1) {
    throw new RangeError(`batch size must be a positive integer, got ${maxBatch}`);
  }
  const groups = new Map<string, { settings: ResolvedJob; images: BatchImage[] }>();
  jobs.forEach((job, j) => {
    const key = settingsKey(job);
    let group = groups.get(key);
    if (!group) groups.set(key, group = { settings: job, images: [] });
    for (const image of cycleConditions(job.conditions, job.count, job.seed)) {
      group.images.push({ job: j, ...image });
    }
  });
  const batches: Batch[] = [];
  for (const [key, { settings, images }] of groups) {
    for (let k = 0; k < images.length; k += maxBatch) {
      batches.push({ key, settings, images: images.slice(k, k + maxBatch) });
    }
  }
  return batches;
}
