/**
 * Host-side packing of queries for the device: interactive steps (literal tokens) and whole
 * plans (cell references into the device grid, sampling jobs, per-step parameters).
 *
 * Device query: 5 i32 — seq, slot, token (−1 = condition), cell (≥ 0: read the token from the
 * grid of the sequence's image), logitRow (−1 = none). Job: 4 u32 — condRow, uncondRow, image,
 * cell. Params: 8 u32 per step — m, qStart, jobs, jobStart, images, logits, 0, 0.
 *
 * @module
 */

import {
  PLAN_INPUT_CONDITION,
  type PlanRun,
  type Query,
  QUERY_TOKEN_CONDITION,
} from "../../core/step.ts";

/** Ints per device query. */
export const QUERY_INTS = 5;
/** Ints per params entry (32 bytes). */
export const PARAMS_INTS = 8;

/** Model facts the packing checks against. */
export interface PackLimits {
  seqs: number;
  slots: number;
  prefix: number;
  vocab: number;
}

/** Pack one interactive step; returns the device queries and the number of logit rows. */
export function packStep(
  queries: readonly Query[],
  limits: PackLimits,
): { data: Int32Array<ArrayBuffer>; logits: number } {
  const data = new Int32Array(Math.max(1, queries.length) * QUERY_INTS);
  const seen = new Set<number>();
  let logits = 0;
  queries.forEach((q, i) => {
    if (!Number.isInteger(q.seq) || q.seq < 0 || q.seq >= limits.seqs) {
      throw new RangeError(`Query ${i}: sequence ${q.seq} is not in 0..${limits.seqs - 1}`);
    }
    if (!Number.isInteger(q.slot) || q.slot < 0 || q.slot >= limits.slots) {
      throw new RangeError(`Query ${i}: slot ${q.slot} is not in 0..${limits.slots - 1}`);
    }
    const key = q.seq * limits.slots + q.slot;
    if (seen.has(key)) {
      throw new RangeError(
        `Query ${i}: slot ${q.slot} of sequence ${q.seq} written twice in one step`,
      );
    }
    seen.add(key);
    const isPrefix = q.slot < limits.prefix;
    if (
      isPrefix
        ? q.token !== QUERY_TOKEN_CONDITION
        : !(Number.isInteger(q.token) && q.token >= 0 && q.token < limits.vocab)
    ) {
      throw new RangeError(
        isPrefix
          ? `Query ${i}: prefix slot ${q.slot} takes the condition token (${QUERY_TOKEN_CONDITION}), got ${q.token}`
          : `Query ${i}: token ${q.token} is not in 0..${limits.vocab - 1}`,
      );
    }
    data.set([q.seq, q.slot, q.token, -1, q.wantLogits ? logits++ : -1], i * QUERY_INTS);
  });
  return { data, logits };
}

/** A plan packed for the device. */
export interface DevicePlan {
  /** queries: [total queries, 5] i32. */
  queries: Int32Array<ArrayBuffer>;
  /** jobs: [total jobs, 4] u32. */
  jobs: Uint32Array<ArrayBuffer>;
  /** params: [steps, 8] u32. */
  params: Uint32Array<ArrayBuffer>;
  /** Steps. */
  steps: number;
  /** Largest number of queries / logit rows / jobs of any step. */
  maxQueries: number;
  maxLogits: number;
  maxJobs: number;
}

/**
 * Expand a plan, checked by core/plan's checkPlan, over sequences: in step j, each template query is done for every sequence
 * (images 0..B−1, then their unconditional halves when cfgScale ≠ 1). Logit row of template k
 * (k-th predicting query of the step) and sequence s is k·S + s.
 */
export function packPlan(run: PlanRun): DevicePlan {
  const { plan, images } = run;
  const b = images.length;
  const seqs = run.cfgScale === 1 ? b : 2 * b;
  const steps = plan.stepStart.length - 1;
  const total = plan.stepStart[steps];
  let totalJobs = 0;
  for (let t = 0; t < total; t++) if (plan.predicts[t] >= 0) totalJobs += b;
  const queries = new Int32Array(Math.max(1, total * seqs) * QUERY_INTS);
  const jobs = new Uint32Array(Math.max(1, totalJobs) * 4);
  const params = new Uint32Array(steps * PARAMS_INTS);
  let qn = 0, jn = 0, maxQueries = 0, maxLogits = 0, maxJobs = 0;
  for (let j = 0; j < steps; j++) {
    const q0 = qn, j0 = jn;
    let k = 0;
    for (let t = plan.stepStart[j]; t < plan.stepStart[j + 1]; t++) {
      const slot = plan.slot[t], input = plan.input[t], predicts = plan.predicts[t];
      for (let s = 0; s < seqs; s++) {
        queries.set([
          s,
          slot,
          input === PLAN_INPUT_CONDITION ? QUERY_TOKEN_CONDITION : 0,
          input >= 0 ? input : -1,
          predicts >= 0 ? k * seqs + s : -1,
        ], qn++ * QUERY_INTS);
      }
      if (predicts >= 0) {
        for (let i = 0; i < b; i++) {
          const cond = k * seqs + i;
          jobs.set([cond, seqs === b ? cond : cond + b, i, predicts], jn++ * 4);
        }
        k++;
      }
    }
    params.set([qn - q0, q0, jn - j0, j0, b, k * seqs, 0, 0], j * PARAMS_INTS);
    maxQueries = Math.max(maxQueries, qn - q0);
    maxLogits = Math.max(maxLogits, k * seqs);
    maxJobs = Math.max(maxJobs, jn - j0);
  }
  return { queries, jobs, params, steps, maxQueries, maxLogits, maxJobs };
}
