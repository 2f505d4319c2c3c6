/**
 * Encoded plans that break one rule each, and per-cell CFG scales that do, for the plan checks
 * of both sides: core/plan's checkPlan (core/plan_test.ts) and the worker's planner.check_plan
 * (backends/python/plan_check_test.ts) must refuse each with the same words.
 *
 * @module
 */

import { createLayout } from "../core/layout.ts";
import { compilePlan, encodePlan } from "../core/plan.ts";
import { createSchedule } from "../core/schedule.ts";
import type { EncodedPlan } from "../core/step.ts";

/** The grid of the plans: a LlamaGen-like model of 3×4 cells, one prefix slot, no EOL. */
export const PLAN_MODEL = {
  family: "llamagen",
  height: 3,
  width: 4,
  prefix: 1,
  eolToken: null,
} as const;

/** A good plan for PLAN_MODEL: ZipAR with window 2. */
export function goodPlan(): EncodedPlan {
  const layout = createLayout({ height: 3, width: 4 });
  return encodePlan(compilePlan(layout, createSchedule(layout, { window: 2 })));
}

/** A copy of the good plan with `edit` applied. */
function edited(edit: (p: EncodedPlan) => void): EncodedPlan {
  const p = goodPlan();
  const copy = {
    ...p,
    stepStart: p.stepStart.slice(),
    slot: p.slot.slice(),
    input: p.input.slice(),
    predicts: p.predicts.slice(),
  };
  edit(copy);
  return copy;
}

/** [what it breaks, the plan, the words both checks use]. */
export const BAD_PLANS: [string, EncodedPlan, RegExp][] = [
  [
    "another grid",
    { ...goodPlan(), width: 5 },
    /plan grid 3x5 does not match the model's 3x4/,
  ],
  [
    "a step without queries",
    edited((p) => {
      p.stepStart[2] = p.stepStart[1];
    }),
    /plan stepStart must rise strictly from 0 to the number of queries/,
  ],
  [
    "arrays of different lengths",
    edited((p) => {
      p.input = p.input.slice(0, -1);
    }),
    /plan arrays slot, input, predicts must have equal lengths/,
  ],
  [
    "a slot beyond the sequence",
    edited((p) => {
      p.slot[p.slot.length - 1] = 99;
    }),
    /plan slot outside 0\.\.12/,
  ],
  [
    "an end-of-line input on a model without EOL",
    edited((p) => {
      p.input[p.input.length - 1] = -2;
    }),
    /llamagen has no end-of-line token, but the plan asks for one/,
  ],
  [
    "a cell beyond the grid",
    edited((p) => {
      p.predicts[p.predicts.length - 1] = 12;
    }),
    /plan predicts outside -1\.\.11/,
  ],
  [
    "a cell read before it is decoded",
    edited((p) => {
      p.input[1] = 11; // step 1 reads the last cell
    }),
    /plan reads a grid cell before the step that decodes it/,
  ],
  [
    "a cell never decoded",
    edited((p) => {
      p.predicts[p.predicts.length - 1] = -1; // the last query decodes nothing: (2, 3) never
    }),
    /plan never decodes some grid cells/,
  ],
];

/** The words both checks refuse bad per-cell CFG scales of the good plan (3×4: 12 cells) with. */
const BAD_SCALES_WORDS = /plan cfgScales must be 12 finite scales ≥ 1, one per grid cell/;

/** A good plan's per-cell CFG scales (`PlanRun.cfgScales`) with `edit` applied. */
function scales(edit: (s: Float32Array) => void, cells = 12): Float32Array {
  const s = new Float32Array(cells).fill(4);
  edit(s);
  return s;
}

/** [what it breaks, per-cell CFG scales for the good plan, the words both checks use]. */
export const BAD_CFG_SCALES: [string, Float32Array, RegExp][] = [
  ["one scale short", scales(() => {}, 11), BAD_SCALES_WORDS],
  ["one scale too many", scales(() => {}, 13), BAD_SCALES_WORDS],
  ["a scale below 1", scales((s) => (s[3] = 0.5)), BAD_SCALES_WORDS],
  ["a NaN scale", scales((s) => (s[11] = NaN)), BAD_SCALES_WORDS],
  ["an infinite scale", scales((s) => (s[0] = Infinity)), BAD_SCALES_WORDS],
];
