import assert from "node:assert/strict";
import { MockBackend, type MockOptions } from "../../backends/mock/mock.ts";
import {
  chiSquareBound,
  chiSquareGrids,
  gridIndex,
  rasterJoint,
} from "../../backends/mock/raster_joint.ts";
import { type AdaptiveV2Stats, createAdaptiveV2Schedule } from "./adaptive_v2.ts";
import { generate } from "../engine.ts";
import { createLayout, layoutOf } from "../layout.ts";
import { resolveSampling } from "../sampling.ts";
import { countSteps, createSchedule, type Schedule } from "../schedule.ts";
import type { PlanImage } from "../step.ts";

const IMAGES: PlanImage[] = Array.from({ length: 60 }, (_, i) => ({
  condition: i % 10,
  seed: i,
  index: 0,
}));

async function run(backend: MockBackend, schedule: Schedule, cfgScale = 1, images = IMAGES) {
  const g = await generate(backend, { images, schedule, cfgScale });
  return { g, tokens: [...g.grids].join(","), stats: g.stats.scheduleStats as AdaptiveV2Stats };
}

const SHAPES: MockOptions[] = [
  { height: 6, width: 8 },
  { height: 7, width: 6, eolToken: 30 },
];

Deno.test("adaptive2 with max window = min window is ZipAR with that window, step for step", async () => {
  for (const shape of SHAPES) {
    const backend = new MockBackend({ vocab: 10, aboveRight: 3, ...shape });
    const layout = layoutOf(backend.info);
    for (const m of [1, 2, 4]) {
      const fixed = await run(backend, createSchedule(layout, { window: m }), 2);
      const v2 = await run(
        backend,
        createAdaptiveV2Schedule(layout, { minWindow: m, maxWindow: m }),
        2,
      );
      assert.equal(v2.tokens, fixed.tokens);
      assert.equal(
        v2.g.stats.passes,
        countSteps({ height: layout.height, width: layout.width, window: m }),
      );
      assert.equal(v2.stats.verifications, 0);
      assert.ok(v2.stats.passes.every((p) => p === fixed.g.stats.passes));
    }
  }
});

Deno.test("adaptive2 accepts every check and returns the raster grid when the reach fits in m", async () => {
  for (const shape of SHAPES) {
    for (const b of [0, 1, 2]) {
      const backend = new MockBackend({ vocab: 10, aboveRight: b, ...shape });
      const layout = layoutOf(backend.info);
      const raster = await run(backend, createSchedule(layout, { kind: "raster" }), 2);
      for (const trigger of ["decoded", "final"] as const) {
        const schedule = createAdaptiveV2Schedule(layout, { minWindow: b + 1, trigger });
        const v2 = await run(backend, schedule, 2);
        assert.equal(v2.tokens, raster.tokens, schedule.name);
        assert.ok(v2.stats.verifications > 0);
        assert.equal(v2.stats.accepted, v2.stats.verifications, "the re-run sees the same");
      }
    }
  }
});

Deno.test("adaptive2 (final trigger, exact acceptance) gives the raster grid bit for bit whatever the reach", async () => {
  for (const shape of SHAPES) {
    const backend = new MockBackend({ vocab: 10, aboveRight: 4, sharpness: 2, ...shape });
    const layout = layoutOf(backend.info);
    const raster = await run(backend, createSchedule(layout, { kind: "raster" }), 2);
    for (const m of [1, 2]) {
      const fixed = await run(backend, createSchedule(layout, { window: m }), 2);
      assert.notEqual(fixed.tokens, raster.tokens, "ZipAR with this window is not exact here");
      const schedule = createAdaptiveV2Schedule(layout, {
        minWindow: m,
        trigger: "final",
        acceptance: "exact",
      });
      const v2 = await run(backend, schedule, 2);
      assert.equal(v2.tokens, raster.tokens, schedule.name);
      assert.ok(v2.stats.accepted < v2.stats.verifications, "some tokens were replaced");
      const mean = v2.stats.passes.reduce((a, b) => a + b, 0) / IMAGES.length;
      assert.ok(mean < raster.g.stats.passes, `${mean} steps per image`);
    }
  }
});

Deno.test("adaptive2 (final trigger) samples the raster distribution over whole grids; decoded trigger does not (χ²)", async () => {
  // 3×3, vocab 2, right reach 2 > m − 1: ZipAR's first pass is wrong, verification must fix it.
  const backend = new MockBackend({ height: 3, width: 3, vocab: 2, sharpness: 3, aboveRight: 2 });
  const layout = layoutOf(backend.info);
  const n = 30000;
  const images = Array.from({ length: n }, (_, i) => ({ condition: 6, seed: 500 + i, index: 0 }));
  const probs = rasterJoint(backend, 6, resolveSampling());
  const chiOf = async (schedule: Schedule) => {
    const { g } = await run(backend, schedule, 1, images);
    const counts = new Array(2 ** 9).fill(0);
    for (let i = 0; i < n; i++) counts[gridIndex(g.grids.subarray(i * 9, i * 9 + 9), 2)]++;
    return chiSquareGrids(counts, probs, n);
  };
  const exact = await chiOf(createAdaptiveV2Schedule(layout, { minWindow: 1, trigger: "final" }));
  assert.ok(exact.chi < chiSquareBound(exact.dof), `final: χ² ${exact.chi} over ${exact.dof} dof`);
  const fixed = await chiOf(createSchedule(layout, { window: 1 }));
  assert.ok(fixed.chi > chiSquareBound(fixed.dof), `ZipAR s=1: χ² ${fixed.chi}`);
  // Checked against a row above that may still change, the decoded trigger is not lossless.
  const decoded = await chiOf(createAdaptiveV2Schedule(layout, { minWindow: 1 }));
  assert.ok(decoded.chi > chiSquareBound(decoded.dof), `decoded: χ² ${decoded.chi}`);
});

Deno.test("adaptive2 keeps ZipAR's lag: steps near the fixed-m count, each image's steps reported", async () => {
  const backend = new MockBackend({ height: 10, width: 10, vocab: 8, aboveRight: 3 });
  const layout = layoutOf(backend.info);
  for (const m of [1, 2, 3]) {
    const v2 = await run(backend, createAdaptiveV2Schedule(layout, { minWindow: m }));
    const fixedSteps = countSteps({ height: 10, width: 10, window: m });
    assert.equal(v2.stats.passes.length, IMAGES.length);
    assert.equal(Math.max(...v2.stats.passes), v2.g.stats.passes);
    assert.ok(v2.stats.passes.every((p) => p >= fixedSteps && p < 100), `m=${m}`);
    const mean = v2.stats.passes.reduce((a, b) => a + b, 0) / IMAGES.length;
    assert.ok(mean < fixedSteps + 10, `m=${m}: ${mean} steps per image vs ${fixedSteps}`);
    assert.ok(v2.stats.accepted < v2.stats.verifications);
    assert.equal(v2.stats.acceptance[0], null, "row 0 has no row above");
  }
});

Deno.test("createAdaptiveV2Schedule() refuses planned mode and bad windows", async () => {
  const layout = createLayout({ height: 4, width: 6 });
  const schedule = createAdaptiveV2Schedule(layout, { minWindow: 2 });
  await assert.rejects(
    () =>
      generate(new MockBackend({ height: 4, width: 6 }), {
        images: IMAGES,
        schedule,
        mode: "planned",
      }),
    /use interactive mode/,
  );
  assert.throws(() => createAdaptiveV2Schedule(layout, { minWindow: 0 }), {
    name: "RangeError",
    message: "min window must be an integer in 1..6 (grid width), got 0",
  });
  assert.throws(() => createAdaptiveV2Schedule(layout, { minWindow: 3, maxWindow: 2 }), RangeError);
  assert.throws(
    // @ts-expect-error: a trigger that does not exist
    () => createAdaptiveV2Schedule(layout, { minWindow: 2, trigger: "soon" }),
    /decoded, final/,
  );
});
