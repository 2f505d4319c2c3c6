import assert from "node:assert/strict";
import { createLayout, eolSlotOf, slotOf } from "./layout.ts";
import { compilePlan } from "./plan.ts";
import { countSteps, createSchedule, type ZiparVariant } from "./schedule.ts";

const variants: ZiparVariant[] = ["ideal", "paper"];

function steps(h: number, w: number, s: number, variant: ZiparVariant, eol = false): number {
  const layout = createLayout({ height: h, width: w, eol });
  return compilePlan(layout, createSchedule(layout, { window: s, variant })).steps.length;
}

Deno.test("zipar schedules take W + (H−1)·s (ideal) and 2W + (H−2)·s (paper) steps for every grid up to 32×32", () => {
  for (const eol of [false, true]) {
    for (let h = 1; h <= 32; h++) {
      for (let w = 1; w <= 32; w++) {
        for (let s = 1; s <= w; s++) {
          const ideal = w + (h - 1) * s;
          const paper = h === 1 ? w : 2 * w + (h - 2) * s;
          assert.equal(steps(h, w, s, "ideal", eol), ideal, `ideal ${h}×${w} s=${s} eol=${eol}`);
          assert.equal(steps(h, w, s, "paper", eol), paper, `paper ${h}×${w} s=${s} eol=${eol}`);
          assert.equal(countSteps({ height: h, width: w, window: s }), ideal);
          assert.equal(countSteps({ height: h, width: w, window: s, variant: "paper" }), paper);
        }
      }
    }
  }
});

Deno.test("zipar schedules reproduce the paper's LlamaGen and Emu3 step counts", () => {
  assert.deepEqual([16, 12, 8].map((s) => steps(24, 24, s, "paper")), [400, 312, 224]);
  assert.deepEqual([16, 12, 8].map((s) => steps(24, 24, s, "ideal")), [392, 300, 208]);
  assert.equal(steps(16, 16, 4, "paper"), 88);
  assert.equal(steps(90, 90, 7, "ideal", true), 713);
  assert.equal(steps(24, 24, 24, "ideal"), 576);
});

Deno.test("createSchedule() with s = W is raster order and never feeds a proxy", () => {
  for (const variant of variants) {
    const layout = createLayout({ height: 6, width: 5 });
    const plan = compilePlan(layout, createSchedule(layout, { window: 5, variant }));
    assert.equal(plan.steps.length, 30);
    for (const step of plan.steps) {
      assert.equal(step.filter((q) => q.predicts).length, 1);
      assert.ok(step.every((q) => !q.proxy));
    }
    // The first token of every row is predicted from the real last token of the row above.
    for (let r = 1; r < 6; r++) {
      const q = plan.steps.flat().find((q) => q.predicts?.row === r && q.predicts.col === 0)!;
      assert.deepEqual(q.input, { kind: "cell", row: r - 1, col: 4 });
      assert.equal(q.slot, slotOf(layout, r - 1, 4));
    }
  }
});

Deno.test("createSchedule() feeds proxies by the named policy and corrects each exactly once", () => {
  const layout = createLayout({ height: 5, width: 6 });
  for (const proxy of ["r-2", "r-1"] as const) {
    const plan = compilePlan(layout, createSchedule(layout, { window: 2, proxy }));
    const queries = plan.steps.flat();
    for (let r = 1; r < 5; r++) {
      const slot = slotOf(layout, r - 1, 5);
      const atSlot = queries.filter((q) => q.slot === slot);
      assert.equal(atSlot.length, 2, `slot of (${r - 1}, 5) written twice: proxy + correction`);
      const [first, correction] = atSlot;
      assert.ok(first.proxy && first.predicts?.row === r && first.predicts.col === 0);
      const from = proxy === "r-2" && r >= 2 ? r - 2 : r - 1;
      assert.equal(first.input.kind === "cell" && first.input.row, from);
      assert.ok(!correction.proxy && correction.predicts === null);
      assert.deepEqual(correction.input, { kind: "cell", row: r - 1, col: 5 });
      // The correction comes in the step right after (r − 1, 5) is decoded.
      const decodedAt = plan.steps.findIndex((s) =>
        s.some((q) => q.predicts?.row === r - 1 && q.predicts.col === 5)
      );
      assert.ok(plan.steps[decodedAt + 1].includes(correction));
    }
  }
});

Deno.test("createSchedule() newest-token proxies come from the newest decoded cell of the chosen row", () => {
  const layout = createLayout({ height: 4, width: 8 });
  const plan = compilePlan(layout, createSchedule(layout, { window: 3, variant: "paper" }));
  // Row 2 starts when row 1 has 3 tokens; row 0 is complete, so r-2 feeds (0, 7).
  const start2 = plan.steps.flat().find((q) => q.predicts?.row === 2 && q.predicts.col === 0)!;
  assert.deepEqual(start2.input, { kind: "cell", row: 0, col: 7 });
  const planR1 = compilePlan(layout, createSchedule(layout, { window: 3, proxy: "r-1" }));
  const start2r1 = planR1.steps.flat().find((q) => q.predicts?.row === 2 && q.predicts.col === 0)!;
  assert.deepEqual(start2r1.input, { kind: "cell", row: 1, col: 2 });
});

Deno.test("createSchedule() on EOL grids feeds the EOL token and needs no proxy", () => {
  const layout = createLayout({ height: 5, width: 6, eol: true });
  const plan = compilePlan(layout, createSchedule(layout, { window: 2 }));
  const queries = plan.steps.flat();
  assert.ok(queries.every((q) => !q.proxy));
  for (let r = 1; r < 5; r++) {
    const q = queries.find((q) => q.predicts?.row === r && q.predicts.col === 0)!;
    assert.deepEqual(q.input, { kind: "eol" });
    assert.equal(q.slot, eolSlotOf(layout, r - 1));
    // (r − 1, W − 1) still gets written once, after it is decoded.
    assert.equal(queries.filter((x) => x.slot === slotOf(layout, r - 1, 5)).length, 1);
  }
});

Deno.test("createSchedule() rejects a window outside 1..W with a RangeError naming it", () => {
  const layout = createLayout({ height: 4, width: 16 });
  assert.throws(() => createSchedule(layout, { window: 0 }), {
    name: "RangeError",
    message: "window must be an integer in 1..16 (grid width), got 0",
  });
  assert.throws(() => createSchedule(layout, { window: 17 }), /1\.\.16.*got 17/);
  assert.throws(() => createSchedule(layout, { window: 2.5 }), RangeError);
  assert.throws(() => createSchedule(layout, { window: 4, variant: "fast" as never }), RangeError);
  assert.throws(() => createSchedule(layout, { window: 4, proxy: "r-3" as never }), RangeError);
  assert.throws(() => createSchedule(layout, {}), TypeError);
});
