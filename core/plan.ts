/**
 * Compile a fixed-window schedule into a plan (docs/design.md §3, planned mode).
 *
 * A fixed schedule's queries do not depend on token values, so simulating it once on a tracker
 * (with placeholder tokens) yields every step. Backends that run plans sample on the device
 * into a device-resident grid and read query inputs from it.
 *
 * @module
 */

import { createLayout, type Layout } from "./layout.ts";
import type { ImageQuery, Schedule } from "./schedule.ts";
import {
  type EncodedPlan,
  type ModelInfo,
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
  const own = tracker.layout; // the schedule's: the plan is of that layout, checked to be `layout`
  if (
    own.height !== layout.height || own.width !== layout.width ||
    own.prefix !== layout.prefix || own.eol !== layout.eol
  ) {
    throw new RangeError(`Schedule ${schedule.name} was built for another layout than the plan's`);
  }
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

/** What {@linkcode checkPlan} checks a plan against: the model's grid and layout. */
export type PlanModel = Pick<ModelInfo, "family" | "height" | "width" | "prefix" | "eolToken">;

/**
 * Check an encoded plan against the model before any of it runs: the TypeScript side's one
 * plan check, called by every backend that runs plans (the Python worker's twin is
 * planner.check_plan). Steps rise strictly from 0 to the query count; the arrays agree in
 * length; slots lie in the model's sequence; a prefix slot reads the condition and no other
 * slot does; EOL only where the model has one; cells lie in the grid; no query reads a cell
 * before the step that decodes it, and every cell is decoded; a run's per-cell CFG scales
 * (`PlanRun.cfgScales`), when given, are H·W finite numbers ≥ 1. Throws a one-line RangeError.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createLayout } from "./layout.ts";
 * import { checkPlan, compilePlan, encodePlan } from "./plan.ts";
 * import { createSchedule } from "./schedule.ts";
 * const layout = createLayout({ height: 3, width: 3 });
 * const plan = encodePlan(compilePlan(layout, createSchedule(layout, { window: 1 })));
 * const model = { family: "llamagen", height: 3, width: 3, prefix: 1, eolToken: null };
 * checkPlan(plan, model);
 * assert.throws(() => checkPlan({ ...plan, width: 4 }, model), /plan grid 3x4/);
 * checkPlan(plan, model, new Float64Array(9).fill(4)); // a run's per-cell CFG scales
 * assert.throws(() => checkPlan(plan, model, new Float64Array(8).fill(4)), /cfgScales/);
 * ```
 */
export function checkPlan(
  plan: EncodedPlan,
  model: PlanModel,
  cfgScales?: ArrayLike<number>,
): void {
  const { height, width, stepStart, slot, input, predicts } = plan;
  const fail = (why: string) => {
    throw new RangeError(why);
  };
  if (height !== model.height || width !== model.width) {
    fail(`plan grid ${height}x${width} does not match the model's ${model.height}x${model.width}`);
  }
  if (cfgScales !== undefined) checkCfgScalesOf(cfgScales, height * width);
  const n = slot.length, steps = stepStart.length - 1;
  let rising = steps >= 1 && stepStart[0] === 0 && stepStart[steps] === n;
  for (let j = 0; rising && j < steps; j++) rising = stepStart[j + 1] > stepStart[j];
  if (!rising) fail("plan stepStart must rise strictly from 0 to the number of queries");
  if (input.length !== n || predicts.length !== n) {
    fail("plan arrays slot, input, predicts must have equal lengths");
  }
  const cells = height * width;
  const layout = createLayout({
    height,
    width,
    prefix: model.prefix,
    eol: model.eolToken !== null,
  });
  const decodedAt = new Int32Array(cells).fill(-1); // decodedAt: [cells], the step, −1 = never
  for (let j = 0; j < steps; j++) {
    for (let q = stepStart[j]; q < stepStart[j + 1]; q++) {
      const p = predicts[q];
      if (p !== PLAN_PREDICTS_NONE && !(p >= 0 && p < cells)) {
        fail(`plan predicts outside -1..${cells - 1}`);
      }
      if (p >= 0) decodedAt[p] = j;
    }
  }
  for (let j = 0; j < steps; j++) {
    for (let q = stepStart[j]; q < stepStart[j + 1]; q++) {
      const s = slot[q], x = input[q];
      if (!(s >= 0 && s < layout.numSlots)) fail(`plan slot outside 0..${layout.numSlots - 1}`);
      if ((x === PLAN_INPUT_CONDITION) !== (s < model.prefix)) {
        fail(
          `plan step ${j}: input ${x} does not fit slot ${s} (the condition is slots 0..${
            model.prefix - 1
          }'s alone)`,
        );
      }
      if (x === PLAN_INPUT_EOL && model.eolToken === null) {
        fail(`${model.family} has no end-of-line token, but the plan asks for one`);
      }
      if (x >= cells || (x < 0 && x !== PLAN_INPUT_CONDITION && x !== PLAN_INPUT_EOL)) {
        fail(`plan input outside ${PLAN_INPUT_EOL}..${cells - 1}`);
      }
      if (x >= 0 && !(decodedAt[x] >= 0 && decodedAt[x] < j)) {
        fail("plan reads a grid cell before the step that decodes it");
      }
    }
  }
  if (decodedAt.includes(-1)) fail("plan never decodes some grid cells");
}

/** A plan's per-cell CFG scales: `cells` finite numbers ≥ 1 (core/cfg's `cfgScales` makes them). */
function checkCfgScalesOf(cfgScales: ArrayLike<number>, cells: number): void {
  let ok = cfgScales.length === cells;
  for (let i = 0; ok && i < cells; i++) ok = Number.isFinite(cfgScales[i]) && cfgScales[i] >= 1;
  if (!ok) {
    throw new RangeError(
      `plan cfgScales must be ${cells} finite scales ≥ 1, one per grid cell (got ${cfgScales.length})`,
    );
  }
}
