import assert from "node:assert/strict";
import { BAD_CFG_SCALES, BAD_PLANS, goodPlan, PLAN_MODEL } from "../testing/bad_plans.ts";
import { createLayout } from "./layout.ts";
import { checkPlan, compilePlan, encodePlan } from "./plan.ts";
import { createSchedule } from "./schedule.ts";

Deno.test("checkPlan() passes every compiled plan, EOL layouts and long prefixes included", () => {
  for (const eol of [false, true]) {
    for (const prefix of [1, 3]) {
      const layout = createLayout({ height: 5, width: 4, prefix, eol });
      for (const window of [1, 2, 4]) {
        for (const variant of ["ideal", "paper"] as const) {
          const plan = encodePlan(compilePlan(layout, createSchedule(layout, { window, variant })));
          checkPlan(plan, {
            family: "test",
            height: 5,
            width: 4,
            prefix,
            eolToken: eol ? 7 : null,
          });
        }
      }
    }
  }
  checkPlan(goodPlan(), PLAN_MODEL);
});

Deno.test("checkPlan() refuses each broken rule in one line", () => {
  for (const [what, plan, words] of BAD_PLANS) {
    assert.throws(() => checkPlan(plan, PLAN_MODEL), (e) => {
      assert(e instanceof RangeError, what);
      assert.match(e.message, words, what);
      assert(!e.message.includes("\n"), what);
      return true;
    });
  }
  // A condition read outside the prefix, or a prefix slot reading a cell: TypeScript's own rule.
  const plan = goodPlan();
  plan.input = plan.input.slice();
  plan.input[0] = 0;
  assert.throws(() => checkPlan(plan, PLAN_MODEL), /input 0 does not fit slot 0/);
});

Deno.test("checkPlan() refuses per-cell CFG scales that are not one finite g ≥ 1 per cell", () => {
  checkPlan(goodPlan(), PLAN_MODEL, new Float64Array(12).fill(1));
  for (const [what, scales, words] of BAD_CFG_SCALES) {
    assert.throws(() => checkPlan(goodPlan(), PLAN_MODEL, scales), (e) => {
      assert(e instanceof RangeError, what);
      assert.match(e.message, words, what);
      return true;
    });
  }
});

Deno.test("compilePlan() refuses a schedule built for another layout", () => {
  const layout = createLayout({ height: 3, width: 3 });
  const other = createLayout({ height: 3, width: 3, eol: true });
  assert.throws(
    () => compilePlan(layout, createSchedule(other, { window: 1 })),
    /built for another layout than the plan's/,
  );
});
