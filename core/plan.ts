/**
 * Compile a fixed-window schedule into a plan (docs/design.md §3, planned mode).
 *
 * A fixed schedule's queries do not depend on token values, so simulating it once on a tracker
 * (with placeholder tokens) yields every step. Backends that run plans sample on the device
 * into a device-resident grid and read query inputs from it.
 *
 * @module
 */

import type { Layout } from "./layout.ts";
import type { ImageQuery, Schedule } from "./schedule.ts";
import {
  type EncodedPlan,
  PLAN_INPUT_CONDITION,
  PLAN_INPUT_EOL,
  PLAN_PREDICTS_NONE,
} from "./step.ts";

/** A compiled plan: the per-image query template of every step. */
export interface Plan {
  /** The layout it was compiled for. */
  layout: Layout;
  /** Name of the schedule it came from. */
  schedule: string;
  /** steps[j]: the queries of step j for one image. */
  steps: ImageQuery[][];
}

/**
 * Simulate `schedule` to the end and record every step. The tracker checks every step, so a
 * compiled plan obeys the window rule and corrects every proxy.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createLayout } from "./layout.ts";
 * import { compilePlan } from "./plan.ts";
 * import { createSchedule } from "./schedule.ts";
 * const layout = createLayout({ height: 24, width: 24 });
 * const plan = compilePlan(layout, createSchedule(layout, { window: 8, variant: "paper" }));
 * assert(plan.steps.length === 224);
 * ```
 */
export function compilePlan(layout: Layout, schedule: Schedule): Plan {
  if (!schedule.fixed) {
    throw new TypeError(`Schedule ${schedule.name} reacts to model outputs: run it interactively`);
  }
  const image = schedule.begin();
  const { tracker } = image;
  const steps: ImageQuery[][] = [];
  while (!tracker.done) {
    const queries = schedule.nextStep(image);
    if (queries.length === 0) throw new Error(`Schedule ${schedule.name} stalled`);
    const decodes = [];
    for (const q of queries) if (q.predicts) decodes.push({ ...q.predicts, token: 0 });
    tracker.applyStep(queries, decodes);
    steps.push(queries);
  }
  tracker.finish();
  return { layout, schedule: schedule.name, steps };
}

/**
 * Flatten a plan into typed arrays for a device (see core/step's EncodedPlan).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createLayout } from "./layout.ts";
 * import { compilePlan, encodePlan } from "./plan.ts";
 * import { createSchedule } from "./schedule.ts";
 * const layout = createLayout({ height: 2, width: 2 });
 * const encoded = encodePlan(compilePlan(layout, createSchedule(layout, { kind: "raster" })));
 * assert(encoded.stepStart.length === 5 && encoded.predicts[0] === 0);
 * ```
 */
export function encodePlan(plan: Plan): EncodedPlan {
  const { width, height } = plan.layout;
  const total = plan.steps.reduce((n, s) => n + s.length, 0);
  const stepStart = new Int32Array(plan.steps.length + 1);
  const slot = new Int32Array(total), input = new Int32Array(total);
  const predicts = new Int32Array(total);
  let q = 0;
  plan.steps.forEach((queries, j) => {
    stepStart[j] = q;
    for (const query of queries) {
      slot[q] = query.slot;
      const i = query.input;
      input[q] = i.kind === "condition"
        ? PLAN_INPUT_CONDITION
        : i.kind === "eol"
        ? PLAN_INPUT_EOL
        : i.row * width + i.col;
      const p = query.predicts;
      predicts[q] = p ? p.row * width + p.col : PLAN_PREDICTS_NONE;
      q++;
    }
  });
  stepStart[plan.steps.length] = q;
  return { height, width, stepStart, slot, input, predicts };
}
