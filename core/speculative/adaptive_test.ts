import assert from "node:assert/strict";
import { MockBackend, type MockOptions } from "../../backends/mock/mock.ts";
import { type AdaptiveStats, createAdaptiveSchedule } from "./adaptive.ts";
import { generate } from "../engine.ts";
import { createLayout, layoutOf } from "../layout.ts";
import { compilePlan } from "../plan.ts";
import { countSteps, createSchedule } from "../schedule.ts";

const images = Array.from({ length: 60 }, (_, i) => ({ condition: i % 10, seed: i, index: 0 }));

async function compare(mock: MockOptions, minWindow: number, cfgScale = 1) {
  const backend = new MockBackend({ vocab: 8, sharpness: 2, ...mock });
  const layout = layoutOf(backend.info);
  const opts = { images, cfgScale };
  const raster = await generate(backend, {
    ...opts,
    schedule: createSchedule(layout, { kind: "raster" }),
  });
  const fixed = await generate(backend, {
    ...opts,
    schedule: createSchedule(layout, { window: minWindow }),
  });
  const adaptive = await generate(backend, {
    ...opts,
    schedule: createAdaptiveSchedule(layout, { minWindow }),
  });
  return { raster, fixed, adaptive, stats: adaptive.stats.scheduleStats as AdaptiveStats };
}

Deno.test("adaptive schedule accepts every draft and returns the raster grid when the model's reach fits in m", async () => {
  for (const eolToken of [null, 50]) {
    for (const [height, width, b, m] of [[6, 8, 1, 2], [7, 9, 2, 3], [5, 5, 0, 1]]) {
      const { raster, fixed, adaptive, stats } = await compare(
        { height, width, aboveRight: b, eolToken },
        m,
        2,
      );
      assert.deepEqual(adaptive.grids, raster.grids);
      assert.equal(stats.accepted, stats.verifications);
      assert.equal(stats.verifications, images.length * (height - 1));
      assert.equal(adaptive.stats.passes, fixed.stats.passes, "accepted drafts cost no pass");
      assert.equal(stats.windows[m], images.length * (height - 1));
    }
  }
});

Deno.test("adaptive schedule's steps lie between the fixed-m count and raster, and it rejects some drafts", async () => {
  for (const [b, m] of [[3, 1], [3, 2], [5, 2]]) {
    const { raster, fixed, adaptive, stats } = await compare({
      height: 8,
      width: 10,
      aboveRight: b,
    }, m);
    const passes = adaptive.stats.passes;
    assert.ok(
      passes > fixed.stats.passes && passes < raster.stats.passes,
      `b=${b} m=${m}: ${passes}`,
    );
    assert.ok(stats.accepted < stats.verifications);
    assert.equal(stats.acceptance[0], null);
    assert.ok(stats.acceptance.slice(1).every((a) => a !== null && a > 0 && a <= 1));
    assert.equal(stats.windows.reduce((a, n) => a + n, 0), images.length * 7);
    assert.ok(stats.windows.slice(0, m).every((n) => n === 0), "no row runs below m");
  }
});

Deno.test("adaptive schedule with maxWindow = minWindow stops verifying after one step", async () => {
  const backend = new MockBackend({ height: 6, width: 8, aboveRight: 4, vocab: 8 });
  const layout = layoutOf(backend.info);
  const schedule = createAdaptiveSchedule(layout, { minWindow: 2, maxWindow: 3 });
  const { stats } = await generate(backend, { images, schedule });
  const s = stats.scheduleStats as AdaptiveStats;
  assert.equal(s.verifications, images.length * 5, "exactly one verification per row");
  assert.ok(s.windows.slice(4).every((n) => n === 0));
  assert.ok(stats.passes <= countSteps({ height: 6, width: 8, window: 3 }));
});

Deno.test("createAdaptiveSchedule() refuses planned mode and bad windows", async () => {
  const layout = createLayout({ height: 4, width: 6 });
  const schedule = createAdaptiveSchedule(layout, { minWindow: 2 });
  assert.throws(() => compilePlan(layout, schedule), /reacts to model outputs/);
  const backend = new MockBackend({ height: 4, width: 6 });
  await assert.rejects(
    () => generate(backend, { images, schedule, mode: "planned" }),
    /use interactive mode/,
  );
  assert.throws(() => createAdaptiveSchedule(layout, { minWindow: 0 }), {
    name: "RangeError",
    message: "min window must be an integer in 1..6 (grid width), got 0",
  });
  assert.throws(() => createAdaptiveSchedule(layout, { minWindow: 3, maxWindow: 2 }), RangeError);
});
