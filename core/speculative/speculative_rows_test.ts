import assert from "node:assert/strict";
import { MockBackend, type MockOptions } from "../../backends/mock/mock.ts";
import {
  chiSquareBound,
  chiSquareGrids,
  gridIndex,
  rasterJoint,
} from "../../backends/mock/raster_joint.ts";
import { generate } from "../engine.ts";
import { createLayout, layoutOf } from "../layout.ts";
import { resolveSampling, type SamplingOptions } from "../sampling.ts";
import { createSchedule, type Schedule } from "../schedule.ts";
import {
  createSpeculativeRowsSchedule,
  type SpeculativeRowsOptions,
  type SpeculativeRowsStats,
} from "./speculative_rows.ts";
import type { PlanImage } from "../step.ts";

function images(n: number, seed0 = 0): PlanImage[] {
  return Array.from({ length: n }, (_, i) => ({ condition: i % 10, seed: seed0 + i, index: 0 }));
}

async function grids(
  backend: MockBackend,
  schedule: Schedule,
  sampling: SamplingOptions,
  cfgScale = 1,
  list = images(60),
) {
  const g = await generate(backend, { images: list, schedule, sampling, cfgScale });
  return { tokens: [...g.grids].join(","), generation: g };
}

const SHAPES: MockOptions[] = [
  { height: 5, width: 6, aboveRight: 1 },
  { height: 6, width: 5, aboveRight: 2, eolToken: 40 },
  { height: 4, width: 9, aboveRight: 0 },
];

Deno.test("SJD and ZipAR × SJD at temperature 0 give the raster grid bit for bit", async () => {
  for (const shape of SHAPES) {
    const backend = new MockBackend({ vocab: 12, sharpness: 4, ...shape });
    const layout = layoutOf(backend.info);
    for (const cfgScale of [1, 2]) {
      const raster = await grids(backend, createSchedule(layout, { kind: "raster" }), {
        temperature: 0,
      }, cfgScale);
      const b = shape.aboveRight!;
      for (const draft of [1, 3, 8]) {
        for (const window of [layout.width, b + 1, b + 2]) {
          for (const variant of ["ideal", "paper"] as const) {
            const schedule = createSpeculativeRowsSchedule(layout, { draft, window, variant });
            const got = await grids(backend, schedule, { temperature: 0 }, cfgScale);
            assert.equal(got.tokens, raster.tokens, `${schedule.name} ${JSON.stringify(shape)}`);
          }
        }
      }
    }
  }
});

Deno.test("SJD with exact acceptance gives raster's sampled grid bit for bit, and ZipAR × SJD does when the reach fits in s", async () => {
  for (const shape of SHAPES) {
    const backend = new MockBackend({ vocab: 12, sharpness: 3, ...shape });
    const layout = layoutOf(backend.info);
    for (const sampling of [{}, { topK: 4 }, { temperature: 0.7, topP: 0.8 }]) {
      const raster = await grids(backend, createSchedule(layout, { kind: "raster" }), sampling, 2);
      const b = shape.aboveRight!;
      for (
        const options of [{ draft: 4 }, { draft: 2, window: b + 1 }, {
          draft: 5,
          window: b + 1,
          variant: "paper",
          init: "above",
        }, { draft: 3, coupled: false }] as SpeculativeRowsOptions[]
      ) {
        const schedule = createSpeculativeRowsSchedule(layout, { ...options, acceptance: "exact" });
        const got = await grids(backend, schedule, sampling, 2);
        assert.equal(got.tokens, raster.tokens, schedule.name);
      }
    }
  }
});

Deno.test("probabilistic SJD samples the raster distribution over whole grids (30,000 grids, χ² test)", async () => {
  // 1×5 row and 2×3 grid, vocab 3: every grid's raster probability by enumeration.
  const cases: [MockOptions, SpeculativeRowsOptions][] = [
    [{ height: 1, width: 5 }, { draft: 3 }],
    [{ height: 2, width: 3, aboveRight: 1 }, { draft: 2 }], // plain SJD: any reach
    [{ height: 2, width: 3, aboveRight: 0 }, { draft: 2, window: 1 }], // ZipAR × SJD, s = b + 1
    [{ height: 2, width: 3, aboveRight: 1 }, { draft: 4, window: 2, init: "above" }],
  ];
  const n = 30000;
  const list = Array.from({ length: n }, (_, i) => ({ condition: 4, seed: 77 + i, index: 0 }));
  for (const [shape, options] of cases) {
    const backend = new MockBackend({ vocab: 3, sharpness: 1.5, ...shape });
    const layout = layoutOf(backend.info);
    const schedule = createSpeculativeRowsSchedule(layout, options);
    const { generation } = await grids(backend, schedule, {}, 1, list);
    const cells = layout.height * layout.width;
    const counts = new Array(3 ** cells).fill(0);
    for (let i = 0; i < n; i++) {
      counts[gridIndex(generation.grids.subarray(i * cells, (i + 1) * cells), 3)]++;
    }
    const { chi, dof } = chiSquareGrids(counts, rasterJoint(backend, 4, resolveSampling()), n);
    assert.ok(chi < chiSquareBound(dof), `${schedule.name}: χ² ${chi.toFixed(1)} over ${dof} dof`);
    const stats = generation.stats.scheduleStats as SpeculativeRowsStats;
    assert.ok(stats.accepted > 0 && stats.accepted < stats.verifications, schedule.name);
  }
});

Deno.test("a χ² test this strong rejects ZipAR × SJD when the reach does not fit in s", async () => {
  // Reach b = 2 > s − 1 = 0: row 1 decodes without the row above's right neighbours.
  const backend = new MockBackend({ height: 2, width: 3, vocab: 3, sharpness: 3, aboveRight: 2 });
  const layout = layoutOf(backend.info);
  const n = 30000;
  const list = Array.from({ length: n }, (_, i) => ({ condition: 4, seed: 77 + i, index: 0 }));
  const schedule = createSpeculativeRowsSchedule(layout, { draft: 2, window: 1 });
  const { generation } = await grids(backend, schedule, {}, 1, list);
  const counts = new Array(3 ** 6).fill(0);
  for (let i = 0; i < n; i++) counts[gridIndex(generation.grids.subarray(i * 6, i * 6 + 6), 3)]++;
  const { chi, dof } = chiSquareGrids(counts, rasterJoint(backend, 4, resolveSampling()), n);
  assert.ok(chi > chiSquareBound(dof), `χ² ${chi.toFixed(1)} over ${dof} dof`);
});

Deno.test("SJD takes fewer steps than raster, reports each image's steps, and keeps the window rule", async () => {
  const backend = new MockBackend({ height: 8, width: 8, vocab: 8, sharpness: 6, aboveRight: 1 });
  const layout = layoutOf(backend.info);
  const list = images(40);
  const raster = await grids(backend, createSchedule(layout, { kind: "raster" }), {}, 1, list);
  const fixed = await grids(backend, createSchedule(layout, { window: 2 }), {}, 1, list);
  for (const options of [{ draft: 6 }, { draft: 3, window: 2 }] as SpeculativeRowsOptions[]) {
    const { generation } = await grids(
      backend,
      createSpeculativeRowsSchedule(layout, options),
      {},
      1,
      list,
    );
    const stats = generation.stats.scheduleStats as SpeculativeRowsStats;
    assert.equal(stats.passes.length, list.length);
    assert.equal(Math.max(...stats.passes), generation.stats.passes);
    const mean = stats.passes.reduce((a, b) => a + b, 0) / list.length;
    const bound = options.window ? fixed.generation.stats.passes : raster.generation.stats.passes;
    assert.ok(mean < bound, `${generation.stats.schedule}: ${mean} steps per image ≥ ${bound}`);
    assert.ok(stats.tokensPerRowStep! > 1, "some steps decode a run of tokens in a row");
  }
});

Deno.test("the tracker referees every step: a schedule whose drafts differ from the slots it wrote is refused", async () => {
  const backend = new MockBackend({ height: 4, width: 6, vocab: 6, sharpness: 8 });
  const layout = layoutOf(backend.info);
  const honest = createSpeculativeRowsSchedule(layout, { draft: 3 });
  const cheat: Schedule = {
    ...honest,
    name: honest.name,
    window: honest.window,
    fixed: false,
    begin: () => honest.begin(),
    nextStep: (t) =>
      honest.nextStep(t).map((
        q,
      ) => (q.draft === undefined ? q : { ...q, draft: (q.draft + 1) % 6 })),
    resolve: (t, q, l, c) => honest.resolve(t, q, l, c),
  };
  await assert.rejects(
    () => generate(backend, { images: images(20), schedule: cheat, sampling: { temperature: 0 } }),
    /Cannot decode token|predicted from slot/,
  );
});

Deno.test("createSpeculativeRowsSchedule() refuses planned mode and bad options", async () => {
  const layout = createLayout({ height: 4, width: 6 });
  const schedule = createSpeculativeRowsSchedule(layout, { draft: 2 });
  await assert.rejects(
    () =>
      generate(new MockBackend({ height: 4, width: 6 }), {
        images: images(1),
        schedule,
        mode: "planned",
      }),
    /use interactive mode/,
  );
  assert.throws(() => createSpeculativeRowsSchedule(layout, { draft: 0 }), {
    name: "RangeError",
    message: "draft length must be an integer in 1..65536, got 0",
  });
  assert.throws(() => createSpeculativeRowsSchedule(layout, { draft: 2, window: 7 }), /1\.\.6/);
  assert.throws(
    // @ts-expect-error: an acceptance rule that does not exist
    () => createSpeculativeRowsSchedule(layout, { draft: 2, acceptance: "lenient" }),
    /probabilistic, exact/,
  );
});
