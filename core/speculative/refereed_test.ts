/**
 * The speculative referee (core/speculative/referee) referees every pass of the reactive
 * schedules (adaptive v1 and v2, SJD, ZipAR × SJD): each image's every step goes through its
 * applyStep, which checks it before changing anything, and a schedule that breaks the rules in
 * any one step is refused at that step.
 */
import assert from "node:assert/strict";
import { MockBackend } from "../../backends/mock/mock.ts";
import { createAdaptiveSchedule } from "./adaptive.ts";
import { createAdaptiveV2Schedule } from "./adaptive_v2.ts";
import { generate } from "../engine.ts";
import { type Layout, layoutOf } from "../layout.ts";
import type { Schedule, ScheduleImage } from "../schedule.ts";
import { createSpeculativeRowsSchedule } from "./speculative_rows.ts";
import type { Tracker } from "../tracker.ts";
import { SpeculativeTracker } from "./referee.ts";

const backend = new MockBackend({ height: 6, width: 6, vocab: 8, sharpness: 2, aboveRight: 2 });
const layout = layoutOf(backend.info);
const images = Array.from({ length: 6 }, (_, i) => ({ condition: i, seed: 40 + i, index: 0 }));

const SCHEDULES: [string, (l: Layout) => Schedule][] = [
  ["adaptive m=2", (l) => createAdaptiveSchedule(l, { minWindow: 2 })],
  ["adaptive2 m=2", (l) => createAdaptiveV2Schedule(l, { minWindow: 2 })],
  ["sjd L=3", (l) => createSpeculativeRowsSchedule(l, { draft: 3 })],
  ["paper-sjd s=2 L=3", (l) => createSpeculativeRowsSchedule(l, { window: 2, draft: 3 })],
];

/**
 * `honest` with every tracker's applyStep counted, and, at the tracker's step `tamperAt`, one
 * extra decode: the grid's last cell, which no row order allows that early.
 */
function spied(honest: Schedule, tamperAt = -1) {
  const calls = new Map<Tracker, number>();
  const count = (t: Tracker) => {
    if (calls.has(t)) return;
    calls.set(t, 0);
    const apply = t.applyStep.bind(t);
    t.applyStep = (writes, decodes) => {
      calls.set(t, calls.get(t)! + 1);
      apply(writes, decodes);
    };
  };
  const schedule: Schedule = {
    name: honest.name,
    window: honest.window,
    fixed: false,
    begin: () => {
      const image = honest.begin();
      assert(image.tracker instanceof SpeculativeTracker, "a reactive schedule's own referee");
      count(image.tracker);
      return image;
    },
    nextStep: (image) => honest.nextStep(image),
    resolve: (image: ScheduleImage, queries, logits, ctx) => {
      const decodes = honest.resolve(image, queries, logits, ctx);
      if (image.tracker.steps === tamperAt) {
        decodes.push({ row: layout.height - 1, col: layout.width - 1, token: 0 });
      }
      return decodes;
    },
    stats: honest.stats && ((images) => honest.stats!(images)),
    complete: honest.complete && ((t) => honest.complete!(t)),
  };
  return { schedule, calls };
}

for (const [label, make] of SCHEDULES) {
  Deno.test(`${label}: every image's every step goes through the tracker`, async () => {
    const { schedule, calls } = spied(make(layout));
    const g = await generate(backend, { images, schedule, mode: "interactive", cfgScale: 2 });
    assert.equal(calls.size, images.length);
    const steps = [...calls.values()];
    const passes = (g.stats.scheduleStats as { passes: number[] }).passes;
    assert.deepEqual(steps, passes, "applyStep calls per image = the image's reported passes");
    assert.equal(Math.max(...steps), g.stats.passes);
    assert(steps.every((s) => s > 0 && s < layout.height * layout.width), `steps ${steps}`);
  });

  Deno.test(`${label}: a rule broken in any one step is refused at that step`, async () => {
    const honest = await generate(backend, { images, schedule: make(layout), mode: "interactive" });
    for (const at of [0, 1, 4]) {
      assert(at < honest.stats.passes - layout.width, "the last row has not started yet");
      const { schedule, calls } = spied(make(layout), at);
      await assert.rejects(
        () => generate(backend, { images, schedule, mode: "interactive" }),
        /Cannot decode token \(5, 5\)/,
      );
      // The refused step is the first image's step `at`: steps before it were applied.
      assert.equal([...calls.values()][0], at + 1);
    }
  });
}
