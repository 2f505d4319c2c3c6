import assert from "node:assert/strict";
import { join } from "node:path";
import { MockBackend } from "../../backends/mock/mock.ts";
import { outputKey, removeStaleTemps, runJobs } from "./run.ts";
import { memoryIo } from "../io/io.ts";
import { checkJob, parseJobs } from "./jobs.ts";
import { choiceOf } from "./job_schedule.ts";

Deno.test("choiceOf() maps a job to a schedule choice on a grid W wide", () => {
  assert.deepEqual(choiceOf(checkJob({ name: "a", schedule: "raster" }), 16), {
    schedule: "raster",
    window: 16,
    proxy: "r-2",
  });
  assert.deepEqual(choiceOf(checkJob({ name: "a", schedule: "adaptive", minWindow: 2 }), 16), {
    schedule: "adaptive",
    window: 2,
    maxWindow: 16,
    proxy: "r-2",
  });
});

Deno.test("outputKey() changes with the job, the backend options and the model", () => {
  const info = new MockBackend().info;
  const job = checkJob({ name: "a", window: 2 });
  const key = outputKey(job, "mock", info, { mock: { height: 8 } });
  assert.equal(
    outputKey(checkJob({ name: "a", window: 2 }), "mock", info, { mock: { height: 8 } }),
    key,
  );
  assert.notEqual(outputKey(checkJob({ name: "a", window: 2, seed: 1 }), "mock", info, {}), key);
  assert.notEqual(outputKey(job, "mock", info, { mock: { height: 8, modelSeed: 1 } }), key);
  assert.notEqual(outputKey(job, "mock", { ...info, vocab: 17 }, { mock: { height: 8 } }), key);
});

Deno.test("removeStaleTemps() removes only dead runs' temporary files of the given outputs", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const files = [
      ".a.json.tmp-999999999-abc", // dead pid, ours: removed
      `.a.json.tmp-${Deno.pid}-abc`, // this process: kept
      ".other.json.tmp-999999999-abc", // not one of ours: kept
      "a.json",
    ];
    for (const f of files) await Deno.writeTextFile(join(dir, f), "x");
    assert.equal(await removeStaleTemps(dir, new Set(["a.json"])), 1);
    const left = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
    assert.deepEqual(left, files.slice(1).sort());
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("runJobs() writes each job once, skips complete outputs and refuses foreign ones", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const backend = new MockBackend({ height: 4, width: 4 });
    const entries = parseJobs(
      '{"name":"a","window":2,"count":3}\n{"name":"b","window":2,"format":"npy","class":[1,2]}\n',
    );
    const options = { outDir: dir, maxBatch: 2, backendMeta: {}, io: memoryIo() };
    const first = await runJobs(backend, entries, options);
    assert.deepEqual(first.outcomes.map((o) => o.status), ["done", "done"]);
    assert.deepEqual(first.totals.images, 5);
    assert.equal(first.totals.batches, 3);
    const second = await runJobs(backend, entries, options);
    assert.deepEqual(second.outcomes.map((o) => o.status), ["skipped", "skipped"]);
    assert.equal(second.totals.images, 0);
    const changed = parseJobs('{"name":"a","window":2,"count":3,"seed":5}\n');
    const third = await runJobs(backend, changed, options);
    assert.equal(third.outcomes[0].status, "failed");
    assert.match(third.outcomes[0].reason!, /a\.json exists but was made by another job or model/);
    await Deno.writeTextFile(join(dir, "a.json"), "{not a grid");
    const fourth = await runJobs(backend, entries, options);
    assert.match(fourth.outcomes[0].reason!, /a\.json exists but is not a valid grid/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
