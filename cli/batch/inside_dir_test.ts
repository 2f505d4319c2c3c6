/**
 * `zipar batch` and `--collect` write only inside their directory (mock backend, in process):
 * a symlink at a job's output name fails that job and is never followed (its target outside is
 * untouched, a dangling one creates nothing; a FIFO there fails it too), and a symlink at
 * summary.json is replaced, never written through. `--collect`
 * escapes the control bytes of the reasons it prints and ignores a summary whose shard is not
 * i of n (0 ≤ i < n), so no "--shard NaN/0" reaches its report.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { readGrid } from "../formats/grid_file.ts";
import { memoryIo } from "../io/io.ts";
import { main } from "../main.ts";

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "zipar_inside_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function zipar(args: string[]): Promise<{ code: number; stderr: string }> {
  const io = memoryIo({ env: { NO_COLOR: "1" } });
  const code = await main(args, io);
  return { code, stderr: io.stderrText() };
}

const jsonl = (jobs: object[]) => jobs.map((j) => JSON.stringify(j)).join("\n") + "\n";
const summaryOf = async (dir: string) =>
  JSON.parse(await Deno.readTextFile(join(dir, "summary.json")));
const reasons = (summary: { failures: { name: string; reason: string }[] }) =>
  Object.fromEntries(summary.failures.map((f) => [f.name, f.reason]));

Deno.test("zipar batch never follows a symlink at an output name or at summary.json out of DIR", async () => {
  await withDir(async (dir) => {
    const out = join(dir, "out"), outside = join(dir, "outside");
    await Deno.mkdir(out);
    await Deno.mkdir(outside);
    for (const f of ["a.json", "c.json", "summary.json"]) {
      await Deno.writeTextFile(join(outside, f), "kept");
    }
    await Deno.symlink(join(outside, "a.json"), join(out, "a.json")); // a file outside
    await Deno.symlink("../outside/b.json", join(out, "b.json")); // dangling: would create it
    await Deno.symlink(join(outside, "c.json"), join(out, "c.npy.json")); // an npy's sidecar
    await Deno.symlink(join(outside, "summary.json"), join(out, "summary.json"));
    const fifo = await new Deno.Command("mkfifo", { args: [join(out, "e.json")] }).output();
    assert.ok(fifo.success);
    const jobs = join(dir, "jobs.jsonl");
    await Deno.writeTextFile(
      jobs,
      jsonl([
        { name: "a", window: 4 },
        { name: "b", window: 4 },
        { name: "c", window: 4, format: "npy" },
        { name: "d", window: 4 },
        { name: "e", window: 4 },
      ]),
    );
    const run = await zipar(["batch", jobs, "--out-dir", out, "--quiet"]);
    assert.equal(run.code, 1, run.stderr);
    for (const f of ["a.json", "c.json", "summary.json"]) {
      assert.equal(await Deno.readTextFile(join(outside, f)), "kept", f);
    }
    assert.deepEqual([...Deno.readDirSync(outside)].map((e) => e.name).sort(), [
      "a.json",
      "c.json",
      "summary.json",
    ]);
    assert.equal((await Deno.lstat(join(out, "summary.json"))).isFile, true);
    const summary = await summaryOf(out);
    assert.deepEqual([summary.done, summary.failed], [1, 4]);
    const why = reasons(summary);
    assert.match(why.a, /^a\.json is a symbolic link; batch writes only regular files inside /);
    assert.match(why.b, /^b\.json is a symbolic link;/);
    assert.match(why.c, /^c\.npy\.json is a symbolic link;/);
    assert.match(why.e, /^e\.json is a FIFO;/);
    assert.equal((await Deno.lstat(join(out, "e.json"))).isFifo, true);
    for (const f of ["a.json", "b.json", "c.npy.json"]) {
      assert.equal((await Deno.lstat(join(out, f))).isSymlink, true, `${f} left as it was`);
    }
    assert.equal((await readGrid(join(out, "d.json"), memoryIo())).grid.shape[0], 1);

    // collect: its summary.json replaces a link, never writes through it.
    await Deno.remove(join(out, "summary.json"));
    await Deno.symlink(join(outside, "summary.json"), join(out, "summary.json"));
    const collect = await zipar(["batch", jobs, "--collect", out, "--quiet"]);
    assert.equal(collect.code, 1, collect.stderr);
    assert.equal(await Deno.readTextFile(join(outside, "summary.json")), "kept");
    assert.equal((await Deno.lstat(join(out, "summary.json"))).isFile, true);
  });
});

const FORMAT = "zipar.batch-summary/1";
const shardSummary = (shard: unknown, rows: object) => ({
  format: FORMAT,
  shard,
  outputs: [],
  failures: [],
  ...rows,
});

Deno.test("zipar batch --collect escapes control bytes of the reasons and names it prints", async () => {
  await withDir(async (dir) => {
    const out = join(dir, "out");
    await Deno.mkdir(out);
    const jobs = join(dir, "jobs\x1b]0;title\x07.jsonl");
    await Deno.writeTextFile(jobs, jsonl([{ name: "a", window: 4 }, { name: "b", window: 4 }]));
    const reason = "boom\x1b[2J\r\nzipar: all 2 jobs complete\u202e";
    await Deno.writeTextFile(
      join(out, "summary.shard-0-of-1.json"),
      JSON.stringify(shardSummary({ index: 0, count: 1 }, {
        failures: [{ line: 1, name: "a", reason }],
      })),
    );
    const { code, stderr } = await zipar(["batch", jobs, "--collect", out]);
    assert.equal(code, 1, stderr);
    // deno-lint-ignore no-control-regex
    assert.doesNotMatch(stderr.replaceAll("\n", ""), /[\x00-\x1f\x7f-\x9f\u202e]/);
    const lines = stderr.trimEnd().split("\n");
    assert.equal(lines.length, 3, stderr); // the failure, the collect line, the missing job
    assert.ok(lines[0].endsWith(":1: boom\\x1b[2J\\x0d\\x0azipar: all 2 jobs complete\\u202e"));
    assert.ok(lines[0].includes("jobs\\x1b]0;title\\x07.jsonl"), lines[0]);
    // summary.json keeps the reason as it was reported.
    assert.equal((await summaryOf(out)).failures[0].reason, reason);
  });
});

Deno.test("zipar batch --collect ignores a summary whose shard is not i of n: no --shard NaN/0", async () => {
  await withDir(async (dir) => {
    const out = join(dir, "out");
    await Deno.mkdir(out);
    const jobs = join(dir, "jobs.jsonl");
    await Deno.writeTextFile(jobs, jsonl([{ name: "a", window: 4 }, { name: "b", window: 4 }]));
    const write = (file: string, shard: unknown) =>
      Deno.writeTextFile(join(out, file), JSON.stringify(shardSummary(shard, {})));
    // The only shard summary, claiming 0 shards: its count must not be taken.
    await write("summary.shard-0-of-2.json", { index: 0, count: 0 });
    const alone = await zipar(["batch", jobs, "--collect", out]);
    assert.equal(alone.code, 1, alone.stderr);
    assert.doesNotMatch(alone.stderr, /NaN|\/0\b|of 0\b/);
    assert.match(alone.stderr, /ignored summary\.shard-0-of-2\.json: its shard is not i of n/);
    const bad: [string, unknown][] = [
      ["summary.shard-0-of-0.json", { index: 0, count: 0 }],
      ["summary.shard-0-of-2.json", { index: 0, count: 0 }],
      ["summary.shard-1-of-2.json", { index: 1, count: 1.5 }],
      ["summary.shard-2-of-3.json", { index: 3, count: 3 }],
      ["summary.shard-1-of-4.json", { index: -1, count: 4 }],
      ["summary.shard-0-of-5.json", { index: "0", count: "5" }],
      ["summary.shard-1-of-6.json", { index: 0, count: 6 }], // not its file's shard
      ["summary.json", { index: 0, count: 1e9 }],
    ];
    for (const [file, shard] of bad) await write(file, shard);
    const { code, stderr } = await zipar(["batch", jobs, "--collect", out]);
    assert.equal(code, 1, stderr);
    const report = stderr.split("\n").filter((l) => !l.startsWith("zipar: ignored "));
    assert.doesNotMatch(report.join("\n"), /NaN|\/0\b|of 0\b|Infinity/);
    const summary = await summaryOf(out);
    assert.deepEqual(
      summary.collected.ignored.map((i: { file: string }) => i.file).sort(),
      bad.map(([file]) => file).sort(),
    );
    for (const { reason } of summary.collected.ignored) {
      assert.match(reason, /its shard is not i of n with 0 ≤ i < n/);
    }
    assert.deepEqual([summary.missing, summary.collected.shards], [2, null]);
    assert.match(stderr, /2 jobs missing \(a, b\): rerun the batch \(it resumes\)\n$/);
    // With --shard-count the resubmit line names real shards.
    const counted = await zipar(["batch", jobs, "--collect", out, "--shard-count", "2"]);
    assert.match(counted.stderr, /in shards 0,1 of 2: .* --shard-count 2\n$/);
  });
});
