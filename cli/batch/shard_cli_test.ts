/**
 * `zipar batch --shard auto` and `--collect` end to end: the real command spawned with a Slurm
 * array task's or a Kubernetes pod's environment (no scheduler needed; the live one is
 * slurm_live_test.ts), usage errors in one line, and collect's exit codes.
 */

import assert from "node:assert/strict";
import { join } from "node:path";

const ROOT = new URL("../..", import.meta.url).pathname;
const decoder = new TextDecoder();
const MOCK = ["--grid", "8x8", "--max-batch", "4"];

/** The variables the child needs from ours (none of a scheduler's: the tests set those). */
function passed(): Record<string, string> {
  const keep = ["PATH", "HOME", "DENO_DIR", "XDG_CACHE_HOME", "TMPDIR"];
  return Object.fromEntries(keep.flatMap((k) => {
    const v = Deno.env.get(k);
    return v === undefined ? [] : [[k, v]];
  }));
}

async function batch(args: string[], env: Record<string, string> = {}) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "cli/main.ts", "batch", ...args],
    cwd: ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    clearEnv: true,
    env: { NO_COLOR: "1", ...passed(), ...env },
  }).output();
  return { code: out.code, stderr: decoder.decode(out.stderr) };
}

async function withJobs(n: number, fn: (dir: string, jobs: string) => Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "zipar_shard_cli_" });
  try {
    const lines = Array.from(
      { length: n },
      (_, k) => JSON.stringify({ name: `j${k}`, class: k % 10, seed: k, count: 2, window: 2 }),
    );
    // A blank line and a bad line: indices count non-blank lines only; the bad job fails.
    lines.splice(3, 0, "", '{"name":"bad","window":0}');
    const jobs = join(dir, "jobs.jsonl");
    await Deno.writeTextFile(jobs, lines.join("\n") + "\n");
    await fn(dir, jobs);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const slurm = (id: number, min: number, max: number) => ({
  SLURM_JOB_ID: String(500 + id),
  SLURM_ARRAY_JOB_ID: "500",
  SLURM_ARRAY_TASK_ID: String(id),
  SLURM_ARRAY_TASK_MIN: String(min),
  SLURM_ARRAY_TASK_MAX: String(max),
  SLURM_ARRAY_TASK_STEP: "1",
  SLURM_ARRAY_TASK_COUNT: String(max - min + 1),
});
const read = async (path: string) => JSON.parse(await Deno.readTextFile(path));
const grids = (dir: string) =>
  [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) => /^j\d+\.json$/.test(n)).sort()
    .map((n) => {
      const g = JSON.parse(Deno.readTextFileSync(join(dir, n)));
      return [n, g.tokens];
    });

Deno.test("zipar batch --shard auto in a 1-based Slurm array, then --collect: one run's outputs", async () => {
  await withJobs(9, async (dir, jobs) => {
    const out = join(dir, "out");
    const all = await batch([jobs, "--out-dir", join(dir, "all"), ...MOCK, "-q"]);
    assert.equal(all.code, 1, all.stderr); // the bad line
    for (const id of [1, 2]) {
      const r = await batch([jobs, "-o", out, ...MOCK, "--shard", "auto"], slurm(id, 1, 3));
      assert.equal(r.code, id === 1 ? 1 : 0, r.stderr); // shard 0 holds the bad line
      const s = await read(join(out, `summary.shard-${id - 1}-of-3.json`));
      assert.deepEqual([s.shard, s.shardFrom], [
        { index: id - 1, count: 3 },
        `SLURM_ARRAY_TASK_ID=${id}`,
      ]);
    }
    // Task 3 has not run: collect names its jobs and shard, writes summary.json, exits 1.
    const early = await batch([jobs, "--collect", out]);
    assert.equal(early.code, 1, early.stderr);
    assert.match(early.stderr, /jobs\.jsonl:5: "window" must be an integer/);
    assert.match(
      early.stderr,
      /collect 10 jobs: 6 complete \(6 done, 0 skipped\), 1 failed, 3 missing/,
    );
    assert.match(early.stderr, /3 jobs missing \(j2, j4, j7\), in shards 2 of 3: .*--shard 2\/3/);
    const partial = await read(join(out, "summary.json"));
    assert.deepEqual([partial.missing, partial.collected.missingShards], [3, [2]]);
    assert.equal(partial.missingJobs[0].name, "j2");
    // The bad line (index 3 → shard 0) failed in shard 0: task 3 exits 0.
    const last = await batch([jobs, "-o", out, ...MOCK, "--shard", "auto", "-q"], slurm(3, 1, 3));
    assert.equal(last.code, 0, last.stderr);
    const done = await batch([jobs, "--collect", out, "--quiet"]);
    assert.equal(done.code, 1); // still the one bad line: failed, not missing
    assert.equal(done.stderr, "");
    const summary = await read(join(out, "summary.json"));
    assert.deepEqual(
      [summary.jobs, summary.done, summary.failed, summary.missing, summary.images],
      [10, 9, 1, 0, 18],
    );
    assert.deepEqual(summary.failures.map((f: { line: number }) => f.line), [5]);
    assert.deepEqual(grids(out), grids(join(dir, "all")));
  });
});

Deno.test("zipar batch --shard auto --shard-count runs a resubmitted Slurm task and a Kubernetes pod", async () => {
  await withJobs(6, async (dir, jobs) => {
    const out = join(dir, "out");
    // sbatch --array=2 of a 4-way array: SLURM_ARRAY_TASK_COUNT=1, MIN=MAX=2.
    const alone = slurm(2, 2, 2);
    const refused = await batch([jobs, "-o", out, ...MOCK, "--shard", "auto"], alone);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /^zipar: a one-task Slurm array .*--shard-count N.*\n$/);
    const r = await batch(
      [jobs, "-o", out, ...MOCK, "--shard", "auto", "--shard-count", "4"],
      alone,
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /batch 2 jobs: 2 done/);
    assert.ok(Deno.statSync(join(out, "summary.shard-2-of-4.json")).isFile);
    const pod = { JOB_COMPLETION_INDEX: "1" };
    const k8s = await batch(
      [jobs, "-o", out, ...MOCK, "--shard", "auto", "--shard-count", "4"],
      pod,
    );
    assert.equal(k8s.code, 0, k8s.stderr);
    const s = await read(join(out, "summary.shard-1-of-4.json"));
    assert.equal(s.shardFrom, "JOB_COMPLETION_INDEX=1");
    // Indices 1 and 5 of j0 j1 j2 bad j3 j4 j5.
    assert.deepEqual(s.outputs.map((o: { name: string }) => o.name), ["j1", "j4"]);
  });
});

Deno.test("zipar batch --shard auto, --shard-count and --collect usage errors exit 2 in one line", async () => {
  await withJobs(2, async (dir, jobs) => {
    const out = join(dir, "out");
    const cases: [string[], Record<string, string>, RegExp][] = [
      [["--shard", "auto"], {}, /found no scheduler index: neither SLURM_ARRAY_TASK_ID/],
      [["--shard", "auto"], { JOB_COMPLETION_INDEX: "0" }, /Give --shard-count N with N = /],
      [["--shard", "auto", "--shard-count", "2"], { JOB_COMPLETION_INDEX: "2" }, /not below/],
      [["--shard", "auto"], { ...slurm(1, 0, 3), SLURM_ARRAY_TASK_MAX: "7" }, /not a plain range/],
      [["--shard", "1/2", "--shard-count", "2"], {}, /--shard-count applies with --shard auto/],
      [["--shard-count", "0", "--shard", "auto"], {}, /--shard-count must be an integer in 1\.\./],
      [["--shard", "half"], {}, /--shard must be i\/n with 0 ≤ i < n, or auto/],
    ];
    for (const [flags, env, pattern] of cases) {
      const r = await batch([jobs, "-o", out, ...MOCK, ...flags], env);
      assert.equal(r.code, 2, `${flags.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr, pattern);
      assert.match(r.stderr, /^zipar: [^\n]+\n$/);
    }
    for (const extra of [["-o", out], ["--grid", "8x8"], ["--shard", "0/2"], ["--strict"]]) {
      const r = await batch([jobs, "--collect", out, ...extra]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(
        r.stderr,
        /^zipar: --collect does not take --[a-z-]+: it only reads DIR\. [^\n]+\n$/,
      );
    }
    const none = await batch([jobs, "--collect", join(dir, "nowhere")]);
    assert.equal(none.code, 1);
    assert.match(none.stderr, /^zipar: cannot collect \S+nowhere: the directory does not exist\n$/);
    assert.ok(!Deno.readDirSync(dir).some((e) => e.name === "out"), "nothing written");
  });
});

Deno.test("zipar batch without --shard inside a Slurm array warns that every task runs every job", async () => {
  await withJobs(1, async (dir, jobs) => {
    const r = await batch([jobs, "-o", join(dir, "out"), ...MOCK], slurm(1, 0, 3));
    assert.equal(r.code, 1, r.stderr); // the bad line
    assert.match(r.stderr, /^zipar: warning: SLURM_ARRAY_TASK_ID is set but --shard is not/);
    const quiet = await batch([jobs, "-o", join(dir, "out"), ...MOCK, "-q"], slurm(1, 0, 3));
    assert.equal(quiet.stderr, "");
  });
});
