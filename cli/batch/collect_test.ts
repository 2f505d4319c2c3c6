import assert from "node:assert/strict";
import { isSummaryFile, mergeSummaries, type SummarySource } from "./collect.ts";
import { parseJobs } from "./jobs.ts";

const FORMAT = "zipar.batch-summary/1";
// Six jobs on lines 1..7 (line 4 blank, line 6 bad), indices 0..5.
const TEXT = [
  '{"name":"a","window":2}',
  '{"name":"b","window":2}',
  '{"name":"c","window":2,"format":"npy"}',
  "",
  '{"name":"d","window":2}',
  '{"name":"e","window":"wide"}',
  '{"name":"f","window":2}',
].join("\n");
const entries = parseJobs(TEXT);

function shardDoc(index: number, count: number, rows: object, extra: object = {}): object {
  return {
    format: FORMAT,
    shard: { index, count },
    backend: "mock",
    model: "mock",
    images: 3,
    batches: 2,
    passes: 10,
    loadMs: 1.5,
    wallMs: 100 + index,
    outputs: [],
    failures: [],
    ...rows,
    ...extra,
  };
}

const src = (file: string, mtimeMs: number, doc: unknown): SummarySource => ({
  file,
  mtimeMs,
  doc,
});
const all = () => true;

Deno.test("mergeSummaries() merges complete shards into one summary of the job file", () => {
  // 2 shards: indices 0,2,4 (a, c, e) and 1,3,5 (b, d, f).
  const sources = [
    src(
      "summary.shard-0-of-2.json",
      1,
      shardDoc(0, 2, {
        outputs: [{ line: 1, name: "a", status: "done" }, {
          line: 3,
          name: "c",
          status: "skipped",
        }],
        failures: [{ line: 6, name: "e", reason: '"window" must be an integer' }],
      }),
    ),
    src(
      "summary.shard-1-of-2.json",
      2,
      shardDoc(1, 2, {
        outputs: ["b", "d", "f"].map((name, k) => ({ line: [2, 5, 7][k], name, status: "done" })),
      }),
    ),
  ];
  const got = mergeSummaries(entries, sources, all);
  assert.deepEqual(
    [got.jobs, got.done, got.skipped, got.failed, got.missing],
    [6, 4, 1, 1, 0],
  );
  assert.deepEqual([got.images, got.batches, got.passes, got.loadMs, got.wallMs], [
    6,
    4,
    20,
    3,
    101,
  ]);
  assert.deepEqual([got.backend, got.model], ["mock", "mock"]);
  assert.deepEqual(got.collected, {
    shards: 2,
    summaries: ["summary.shard-0-of-2.json", "summary.shard-1-of-2.json"],
    ignored: [],
    missingShards: [],
  });
  assert.deepEqual(got.outputs.map((o) => o.name), ["a", "b", "c", "d", "f"]);
  assert.equal(got.failures.length, 1);
  assert.equal(got.failures[0].line, 6);
  // The job file's own error, not the summary's words.
  assert.match(got.failures[0].reason, /"window" must be an integer in 1\.\.4096/);
});

Deno.test("mergeSummaries() reports the jobs of a shard with no summary as missing, with the shard", () => {
  const sources = [src(
    "summary.shard-1-of-3.json",
    1,
    shardDoc(1, 3, {
      outputs: [{ line: 2, name: "b", status: "done" }, { line: 7, name: "f", status: "done" }],
    }),
  )];
  const got = mergeSummaries(entries, sources, all);
  assert.deepEqual([got.done, got.failed, got.missing], [2, 1, 3]);
  assert.deepEqual(got.missingJobs, [
    { line: 1, name: "a", shard: 0, written: true },
    { line: 3, name: "c", shard: 2, written: true },
    { line: 5, name: "d", shard: 0, written: true },
  ]);
  assert.deepEqual(got.collected.missingShards, [0, 2]);
  // Without any shard summary the count comes from --shard-count, else it is unknown.
  assert.deepEqual(mergeSummaries(entries, [], all, 3).collected.missingShards, [0, 1, 2]);
  const blind = mergeSummaries(entries, [], all);
  assert.equal(blind.collected.shards, null);
  assert.ok(blind.missingJobs.every((m) => m.shard === null));
  assert.equal(blind.missing, 5);
});

Deno.test("mergeSummaries() takes the newest report of a job and checks that its output exists", () => {
  const failedFirst = shardDoc(0, 1, {
    failures: [{ line: 1, name: "a", reason: "generation failed: boom" }],
    outputs: [{ line: 2, name: "b", status: "done" }],
  });
  const rerun = shardDoc(0, 1, {
    outputs: [{ line: 1, name: "a", status: "done" }],
    failures: [{ line: 2, name: "b", reason: "b.json exists but was made by another job" }],
  });
  const older = src("summary.json", 1, { ...failedFirst, shard: null });
  const newer = src("summary.shard-0-of-1.json", 2, rerun);
  for (const order of [[older, newer], [newer, older]]) {
    const got = mergeSummaries(entries, order, all);
    assert.deepEqual(got.outputs.filter((o) => o.line <= 2).map((o) => o.name), ["a"]);
    assert.deepEqual(got.failures.map((f) => f.name), ["b", "e"]);
    assert.deepEqual(got.collected.summaries, ["summary.json", "summary.shard-0-of-1.json"]);
  }
  // A report of "a" complete whose file is gone: missing, so its shard reruns.
  const gone = mergeSummaries(entries, [newer], (files) => !files.includes("a.json"));
  assert.deepEqual(gone.missingJobs.find((m) => m.name === "a"), {
    line: 1,
    name: "a",
    shard: 0,
    written: false,
  });
  // c is npy: both of its files must exist.
  const c = src(
    "summary.shard-0-of-1.json",
    3,
    shardDoc(0, 1, {
      outputs: [{ line: 3, name: "c", status: "done" }],
    }),
  );
  const half = mergeSummaries(entries, [c], (f) => !f.includes("c.npy.json"));
  assert.ok(half.missingJobs.some((m) => m.name === "c") && half.outputs.length === 0);
  assert.equal(mergeSummaries(entries, [c], all).outputs[0].name, "c");
});

Deno.test("mergeSummaries() ignores foreign files and rows of another job file version", () => {
  const sources = [
    src("summary.json", 1, { format: "something-else/1" }),
    src("summary.shard-0-of-2.json", 2, null), // unparsable JSON
    src("summary.shard-1-of-2.json", 3, { format: FORMAT, outputs: [{ name: "x" }] }),
    src(
      "summary.shard-0-of-3.json",
      4,
      shardDoc(0, 3, {
        // Line 1 now holds "a", not "old": this row says nothing about "a".
        outputs: [{ line: 1, name: "old", status: "done" }, {
          line: 99,
          name: "z",
          status: "done",
        }],
      }),
    ),
  ];
  const got = mergeSummaries(entries, sources, all);
  assert.deepEqual(got.collected.ignored.map((i) => i.file), [
    "summary.json",
    "summary.shard-0-of-2.json",
    "summary.shard-1-of-2.json",
  ]);
  assert.match(got.collected.ignored[2].reason, /malformed/);
  assert.equal(got.done, 0);
  assert.equal(got.missing, 5);
  // A previous collect's summary.json counts as a report but not twice in the totals.
  const collected = src("summary.json", 9, {
    ...shardDoc(0, 1, { outputs: [{ line: 1, name: "a", status: "done" }] }),
    shard: null,
    collected: { shards: 1 },
  });
  const again = mergeSummaries(entries, [collected], all);
  assert.deepEqual([again.done, again.images], [1, 0]);
});

Deno.test("isSummaryFile() knows the summary names batch writes", () => {
  assert.ok(isSummaryFile("summary.json") && isSummaryFile("summary.shard-2-of-4.json"));
  assert.ok(!isSummaryFile("summary.shard-x-of-4.json") && !isSummaryFile("a.json"));
  assert.ok(!isSummaryFile(".summary.json.tmp-12-ab"));
});
