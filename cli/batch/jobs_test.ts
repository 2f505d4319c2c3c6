import assert from "node:assert/strict";
import {
  checkJob,
  jobFiles,
  modelError,
  nameError,
  parseJobs,
  parseShard,
  resolveJob,
} from "./jobs.ts";

Deno.test("checkJob() fills in the documented defaults; resolveJob() the sampling ones", () => {
  const job = checkJob({ name: "a", window: 8 });
  assert.deepEqual([job.cfg, job.temperature, job.topK, job.topP], [null, null, null, null]);
  assert.deepEqual(resolveJob(job), {
    name: "a",
    conditions: [0],
    seed: 0,
    count: 1,
    schedule: "ideal",
    settings: { window: 8, proxy: "r-2" },
    cfg: 1,
    temperature: 1,
    topK: 0,
    topP: 1,
    format: "json",
  });
});

Deno.test("checkJob() reads every schedule of the registry, in either spelling alike", () => {
  const fields = checkJob({ name: "a", schedule: "paper-sjd", window: 7, draft: 4, init: "above" });
  const compact = checkJob({ name: "a", schedule: "paper-sjd:7:4:above" });
  assert.deepEqual(fields, compact);
  assert.deepEqual(fields.settings, {
    window: 7,
    draft: 4,
    accept: "probabilistic",
    init: "above",
    coupling: "coupled",
    proxy: "r-2",
  });
  assert.deepEqual(checkJob({ name: "a", schedule: "adaptive2:2:6:final" }).settings, {
    "min-window": 2,
    "max-window": 6,
    accept: "probabilistic",
    trigger: "final",
    proxy: "r-2",
  });
});

Deno.test("checkJob() takes a class list whose length is the default count", () => {
  const job = checkJob({ name: "a", class: [3, 5, 7], window: 2 });
  assert.deepEqual([job.conditions, job.count], [[3, 5, 7], 3]);
  assert.equal(checkJob({ name: "a", class: [3, 5], count: 5, window: 2 }).count, 5);
});

Deno.test("checkJob() refuses bad fields with the field's name", () => {
  const cases: [unknown, RegExp][] = [
    [[1], /JSON object/],
    [{ window: 4 }, /missing "name"/],
    [{ name: "a", windw: 4 }, /unknown field "windw"/],
    [{ name: "a" }, /needs "window"/],
    [{ name: "a", schedule: "raster", window: 4 }, /does not apply/],
    [{ name: "a", window: 4, maxWindow: 8 }, /only applies to schedule adaptive/],
    [{ name: "a", schedule: "adaptive", minWindow: 4, maxWindow: 2 }, /"maxWindow" must be/],
    [{ name: "a", schedule: "adaptive", window: 4 }, /takes "minWindow", not "window"/],
    [{ name: "a", schedule: "sjd", draft: 4, trigger: "final" }, /"trigger" only applies/],
    [{ name: "a", schedule: "paper:4", window: 4 }, /"window" is given twice/],
    [{ name: "a", window: 0 }, /"window" must be an integer/],
    [{ name: "a", window: 4, class: [] }, /"class"/],
    [{ name: "a", window: 4, class: [1.5] }, /"class" must hold integers/],
    [{ name: "a", window: 4, count: 0 }, /"count"/],
    [{ name: "a", window: 4, seed: -1 }, /"seed"/],
    [{ name: "a", window: 4, topP: 0 }, /"topP"/],
    [{ name: "a", window: 4, cfg: "2" }, /"cfg"/],
    [{ name: "a", window: 4, format: "png" }, /"format" must be one of json, npy/],
    [{ name: "a", window: 4, schedule: "fast" }, /"schedule"/],
  ];
  for (const [doc, re] of cases) assert.throws(() => checkJob(doc), re, JSON.stringify(doc));
});

Deno.test("nameError() refuses names that escape DIR or are not flat", () => {
  for (const bad of ["", ".", "..", "../x", "/abs", "a/b", "a\\b", "a\0b", ".hidden", "-x", "é"]) {
    assert.notEqual(nameError(bad), null, JSON.stringify(bad));
  }
  assert.match(nameError("../x")!, /escape the output directory/);
  assert.match(nameError("summary")!, /reserved/);
  assert.match(nameError("summary.shard-0-of-2")!, /reserved/);
  assert.match(nameError(7)!, /must be a string/);
  assert.match(nameError("x".repeat(129))!, /longer than/);
  for (const ok of ["cats", "cats_v1.2", "a-b", "0", "summaryx"]) assert.equal(nameError(ok), null);
});

Deno.test("parseJobs() numbers lines, skips blank ones and reports clashing outputs", () => {
  const text = [
    '{"name":"a","window":4}',
    "",
    '{"name":"A","window":4}',
    '{"name":"b","window":4,"format":"npy"}',
    '{"name":"b.npy","window":4}',
    "{oops",
    '{"name":"c","window":4}\r',
  ].join("\n");
  const entries = parseJobs(text);
  assert.deepEqual(entries.map((e) => [e.line, e.index, e.name, e.error === null]), [
    [1, 0, "a", true],
    [3, 1, "A", false],
    [4, 2, "b", true],
    [5, 3, "b.npy", false],
    [6, 4, null, false],
    [7, 5, "c", true],
  ]);
  assert.match(entries[1].error!, /clashes with the job on line 1/);
  assert.match(entries[3].error!, /b\.npy\.json clashes with the job on line 4/);
  assert.match(entries[4].error!, /not valid JSON/);
});

Deno.test("jobFiles() names the grid and, for .npy, its sidecar", () => {
  assert.deepEqual(jobFiles({ name: "a", format: "json" }), ["a.json"]);
  assert.deepEqual(jobFiles({ name: "a", format: "npy" }), ["a.npy", "a.npy.json"]);
});

Deno.test("parseShard() takes i/n with 0 ≤ i < n", () => {
  assert.deepEqual(parseShard("0/1"), [0, 1]);
  assert.deepEqual(parseShard(" 2/3 "), [2, 3]);
  for (const bad of ["3/3", "1/0", "-1/2", "1", "a/b", "1/2/3"]) {
    assert.equal(parseShard(bad), null);
  }
});

const MODEL = { width: 16, numClasses: 10, conditioning: "class" } as const;

Deno.test("modelError() checks windows and classes against the model", () => {
  assert.equal(modelError(checkJob({ name: "a", window: 16 }), MODEL), null);
  assert.match(modelError(checkJob({ name: "a", window: 17 }), MODEL)!, /grid width 16/);
  assert.match(
    modelError(checkJob({ name: "a", schedule: "adaptive", minWindow: 2, maxWindow: 20 }), MODEL)!,
    /"maxWindow" must be an integer in 2\.\.16, got 20 \(grid width 16\)/,
  );
  assert.match(modelError(checkJob({ name: "a", window: 4, class: [1, 10] }), MODEL)!, /class 10/);
});

Deno.test("checkJob() takes prompts with a negative prompt; resolveJob() the family defaults", () => {
  const job = checkJob({
    name: "p",
    prompt: ["a fox", "a cat"],
    negativePrompt: "blurry",
    window: 4,
  });
  assert.deepEqual(job.conditions, [
    { prompt: "a fox", negativePrompt: "blurry" },
    { prompt: "a cat", negativePrompt: "blurry" },
  ]);
  assert.equal(job.count, 2);
  const janus = resolveJob(job, { cfg: 5 });
  assert.equal(janus.cfg, 5);
  assert.equal(
    resolveJob(checkJob({ name: "p", prompt: "a", cfg: 2, window: 4 }), { cfg: 5 }).cfg,
    2,
  );
  const bad: [unknown, RegExp][] = [
    [{ name: "p", prompt: "a", class: 3, window: 4 }, /"class" and "prompt" exclude each other/],
    [{ name: "p", negativePrompt: "x", window: 4 }, /"negativePrompt" applies with "prompt"/],
    [{ name: "p", prompt: ["a", " "], window: 4 }, /"prompt" must hold non-empty strings/],
    [{ name: "p", prompt: [], window: 4 }, /"prompt" must be one value or a non-empty list/],
    [{ name: "p", prompt: 7, window: 4 }, /"prompt" must hold non-empty strings, got 7/],
  ];
  for (const [doc, pattern] of bad) assert.throws(() => checkJob(doc), pattern);
  const text = { width: 16, numClasses: 0, conditioning: "text" } as const;
  assert.equal(modelError(job, text), null);
  assert.match(
    modelError(checkJob({ name: "c", window: 4 }), text)!,
    /text-to-image: give the job a "prompt"/,
  );
  assert.match(modelError(job, MODEL)!, /class-conditional: give the job a "class"/);
});
