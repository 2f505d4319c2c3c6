import assert from "node:assert/strict";
import { MockBackend } from "../../backends/mock/mock.ts";
import { createSchedule, generate, layoutOf } from "../../core/mod.ts";
import { packBatches, settingsKey } from "./groups.ts";
import { checkJob as parseJob, resolveJob } from "./jobs.ts";

/** A job as the batch runs it: checked, its sampling resolved (no family defaults). */
const checkJob = (doc: unknown) => resolveJob(parseJob(doc));

Deno.test("packBatches() mixes jobs with the same settings, up to the batch size, in order", () => {
  const jobs = [
    checkJob({ name: "a", window: 4, count: 3, class: [1, 2], seed: 5 }),
    checkJob({ name: "b", window: 2, count: 2 }),
    checkJob({ name: "c", window: 4, count: 2, class: 7 }),
  ];
  const batches = packBatches(jobs, 4);
  assert.deepEqual(
    batches.map((b) => b.images.map((im) => [im.job, im.index, im.condition, im.seed])),
    [
      [[0, 0, 1, 5], [0, 1, 2, 5], [0, 2, 1, 5], [2, 0, 7, 0]],
      [[2, 1, 7, 0]],
      [[1, 0, 0, 0], [1, 1, 0, 0]],
    ],
  );
  assert.equal(batches[0].key, settingsKey(jobs[2]));
  assert.throws(() => packBatches(jobs, 0), RangeError);
});

Deno.test("settingsKey() differs when any sampling or schedule setting differs", () => {
  const base = { name: "a", window: 4 };
  const key = settingsKey(checkJob(base));
  for (
    const extra of [
      { cfg: 2 },
      { temperature: 0.5 },
      { topK: 3 },
      { topP: 0.9 },
      { proxy: "r-1" },
      { window: 3 },
      { schedule: "paper" },
    ]
  ) {
    assert.notEqual(settingsKey(checkJob({ ...base, ...extra })), key, JSON.stringify(extra));
  }
  assert.equal(settingsKey(checkJob({ ...base, seed: 9, class: 3, count: 4, format: "npy" })), key);
});

Deno.test("packBatches(): a job's grids are the same alone or packed with other jobs", async () => {
  const backend = new MockBackend({ height: 6, width: 6, vocab: 32 });
  const schedule = createSchedule(layoutOf(backend.info), { window: 2 });
  const jobs = [
    checkJob({ name: "a", window: 2, count: 3, class: 4, seed: 11 }),
    checkJob({ name: "b", window: 2, count: 2, class: [1, 2], seed: 3 }),
  ];
  const alone = await generate(backend, { images: packBatches([jobs[1]], 8)[0].images, schedule });
  const packed = packBatches(jobs, 4);
  const got = new Int32Array(2 * 36);
  for (const batch of packed) {
    const { grids } = await generate(backend, { images: batch.images, schedule });
    batch.images.forEach((im, k) => {
      if (im.job === 1) got.set(grids.subarray(k * 36, (k + 1) * 36), im.index * 36);
    });
  }
  assert.deepEqual(got, alone.grids);
});
