/**
 * `zipar batch`, end to end: spawns the real command (`deno run -A cli/main.ts batch …`) on
 * small mock grids — resume after SIGKILL, shards, bad job lines, names escaping DIR.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { BATCH_OPTIONS, BATCH_USAGE } from "./batch.ts";
import { readGrid } from "./formats/grid_file.ts";
import { memoryIo } from "./io/io.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const decoder = new TextDecoder();

function command(args: string[]) {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "cli/main.ts", "batch", ...args],
    cwd: ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  });
}

async function batch(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const { code, stdout, stderr } = await command(args).output();
  return { code, stdout: decoder.decode(stdout), stderr: decoder.decode(stderr) };
}

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "zipar_batch_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const names = (dir: string) => [...Deno.readDirSync(dir)].map((e) => e.name).sort();
const outputs = (dir: string) => names(dir).filter((n) => !n.startsWith("summary"));
const jsonl = (jobs: object[]) => jobs.map((j) => JSON.stringify(j)).join("\n") + "\n";

/** Every output grid of `dir`: tokens, and metadata without the wall time. */
async function grids(dir: string): Promise<Map<string, { tokens: number[]; meta: object }>> {
  const got = new Map();
  for (const name of outputs(dir).filter((n) => !n.endsWith(".npy.json"))) {
    const { grid } = await readGrid(join(dir, name), memoryIo());
    const { wallMs: _, ...meta } = grid.meta;
    got.set(name, { shape: grid.shape, tokens: [...grid.tokens], meta });
  }
  return got;
}

function manyJobs(n: number): object[] {
  return Array.from({ length: n }, (_, k) => ({
    name: `j${String(k).padStart(2, "0")}`,
    class: [k % 10, (k + 3) % 10],
    seed: k,
    count: 3,
    window: k % 3 ? 2 : 4,
    format: k % 4 === 0 ? "npy" : "json",
  }));
}

Deno.test("zipar batch killed with SIGKILL and rerun gives exactly the uninterrupted outputs", async () => {
  await withDir(async (dir) => {
    const jobs = `${dir}/jobs.jsonl`;
    await Deno.writeTextFile(jobs, jsonl(manyJobs(60)));
    const flags = ["--grid", "24x24", "--max-batch", "4"];
    const ref = await batch([jobs, "--out-dir", `${dir}/ref`, ...flags]);
    assert.equal(ref.code, 0, ref.stderr);
    assert.equal(ref.stdout, "");
    assert.match(ref.stderr, /60 jobs: 60 done, 0 skipped, 0 failed; 180 images/);

    const child = command([jobs, "--out-dir", `${dir}/run`, ...flags]).spawn();
    const drained = Promise.all([child.stdout.cancel(), child.stderr.cancel()]);
    let seen = 0;
    for (let t = 0; t < 3000 && seen < 3; t++) {
      await new Promise((r) => setTimeout(r, 10));
      seen = await Deno.stat(`${dir}/run`).then(
        () => outputs(`${dir}/run`).filter((n) => !n.startsWith(".")).length,
        () => 0,
      );
    }
    child.kill("SIGKILL");
    await child.status;
    await drained;
    const partial = outputs(`${dir}/run`).filter((n) => /^j\d+\.(json|npy)$/.test(n)).length;
    assert.ok(partial >= 2 && partial < 60, `killed after ${partial} of 60 outputs`);
    assert.ok(!names(`${dir}/run`).includes("summary.json"));

    const rerun = await batch([jobs, "--out-dir", `${dir}/run`, ...flags]);
    assert.equal(rerun.code, 0, rerun.stderr);
    const summary = JSON.parse(await Deno.readTextFile(`${dir}/run/summary.json`));
    assert.equal(summary.jobs, 60);
    assert.equal(summary.failed, 0);
    assert.ok(summary.skipped >= partial - 1 && summary.skipped <= partial, `${summary.skipped}`);
    assert.equal(summary.done + summary.skipped, 60);
    assert.equal(summary.images, 3 * summary.done);
    assert.deepEqual(names(`${dir}/run`), names(`${dir}/ref`)); // no temp files, no duplicates
    assert.deepEqual(await grids(`${dir}/run`), await grids(`${dir}/ref`));

    const again = await batch([jobs, "--out-dir", `${dir}/run`, ...flags, "--quiet"]);
    assert.equal(again.code, 0);
    assert.equal(again.stderr, "");
    const third = JSON.parse(await Deno.readTextFile(`${dir}/run/summary.json`));
    assert.deepEqual([third.done, third.skipped, third.images], [0, 60, 0]);
  });
});

Deno.test("zipar batch takes every mock flag generate takes, and a changed mock is not resumed", async () => {
  await withDir(async (dir) => {
    const jobs = `${dir}/jobs.jsonl`;
    await Deno.writeTextFile(jobs, jsonl([{ name: "a", class: 3, seed: 7, window: 2 }]));
    const mock = ["--grid", "4x6", "--eol", "--reach-above-right", "2", "--model-seed", "5"];
    const run = await batch([jobs, "--out-dir", `${dir}/b`, ...mock, "--quiet"]);
    assert.equal(run.code, 0, run.stderr);
    const { grid } = await readGrid(`${dir}/b/a.json`, memoryIo());
    assert.equal(grid.meta.eolToken, 64);
    assert.deepEqual(grid.meta.mock, {
      ...{ height: 4, width: 6, vocab: 64, numClasses: 10, prefix: 1, eolToken: 64, left: 2 },
      ...{ aboveLeft: 1, aboveRight: 2, sharpness: 3, modelSeed: 5 },
    });
    // The same grid as zipar generate with the same flags gives.
    const gen = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        "cli/main.ts",
        "generate",
        ...mock,
        "--class",
        "3",
        "--seed",
        "7",
        "--window",
        "2",
      ],
      cwd: ROOT,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).output();
    assert.equal(gen.code, 0, decoder.decode(gen.stderr));
    const generated = JSON.parse(decoder.decode(gen.stdout));
    assert.deepEqual([...grid.tokens], generated.tokens);
    assert.deepEqual(grid.meta.mock, generated.meta.mock);
    // Another reach is another model: the existing output is refused, not skipped.
    const other = await batch([jobs, "--out-dir", `${dir}/b`, ...mock, "--reach-left", "1"]);
    assert.equal(other.code, 1);
    assert.match(other.stderr, /a\.json exists but was made by another job or model/);
  });
});

Deno.test("zipar batch --shard 0/3, 1/3, 2/3 together equal the unsharded batch", async () => {
  await withDir(async (dir) => {
    const jobs = `${dir}/jobs.jsonl`;
    await Deno.writeTextFile(jobs, jsonl(manyJobs(8)) + "\nnot json\n");
    const flags = ["--grid", "8x8", "--max-batch", "5", "--quiet"];
    const all = await batch([jobs, "--out-dir", `${dir}/all`, ...flags]);
    assert.equal(all.code, 1); // the bad line
    const counts = [];
    for (const i of [0, 1, 2]) {
      const r = await batch([jobs, "--out-dir", `${dir}/sharded`, ...flags, "--shard", `${i}/3`]);
      const s = JSON.parse(await Deno.readTextFile(`${dir}/sharded/summary.shard-${i}-of-3.json`));
      assert.deepEqual(s.shard, { index: i, count: 3 });
      assert.equal(r.code, s.failed > 0 ? 1 : 0);
      counts.push([s.jobs, s.failed]);
    }
    // 9 non-blank lines: indices 0..8, the bad line is index 8 → shard 2.
    assert.deepEqual(counts, [[3, 0], [3, 0], [3, 1]]);
    assert.deepEqual(outputs(`${dir}/sharded`), outputs(`${dir}/all`));
    assert.deepEqual(await grids(`${dir}/sharded`), await grids(`${dir}/all`));
  });
});

Deno.test("zipar batch reports bad job lines by line number; --strict exits 2 first", async () => {
  await withDir(async (dir) => {
    const jobs = `${dir}/jobs.jsonl`;
    await Deno.writeTextFile(
      jobs,
      [
        JSON.stringify({ name: "ok", window: 2, count: 2 }),
        "{broken",
        "",
        JSON.stringify({ name: "typo", windw: 2 }),
        JSON.stringify({ name: "wide", window: 9 }),
        JSON.stringify({ name: "class", window: 2, class: 10 }),
        JSON.stringify({ name: "ok", window: 2 }),
      ].join("\n"),
    );
    const flags = ["--grid", "8x8"];
    const strict = await batch([jobs, "--out-dir", `${dir}/strict`, ...flags, "--strict"]);
    assert.equal(strict.code, 2);
    assert.equal(
      strict.stderr,
      `zipar: ${jobs}:2: not valid JSON (Expected property name or '}' in JSON at position 1 (line 1 column 2)) (and 2 more bad lines). Fix the job file, or drop --strict to run the good jobs and report the bad ones.\n`,
    );
    assert.equal(await Deno.stat(`${dir}/strict`).then(() => true, () => false), false);

    const run = await batch([jobs, "--out-dir", `${dir}/out`, ...flags]);
    assert.equal(run.code, 1);
    assert.deepEqual(outputs(`${dir}/out`), ["ok.json"]);
    const summary = JSON.parse(await Deno.readTextFile(`${dir}/out/summary.json`));
    assert.deepEqual([summary.jobs, summary.done, summary.skipped, summary.failed], [6, 1, 0, 5]);
    assert.deepEqual(
      summary.failures.map((f: { line: number; name: string | null }) => [f.line, f.name]),
      [
        [2, null],
        [4, "typo"],
        [5, "wide"],
        [6, "class"],
        [7, "ok"],
      ],
    );
    const reasons = summary.failures.map((f: { reason: string }) => f.reason).join("\n");
    assert.match(reasons, /unknown field "windw"/);
    assert.match(reasons, /"window" must be an integer in 1\.\.8, got 9 \(grid width 8\)/);
    assert.match(reasons, /class 10 is out of range/);
    assert.match(reasons, /clashes with the job on line 1/);
    assert.match(run.stderr, new RegExp(`^zipar: ${jobs}:2: not valid JSON`, "m"));
    assert.match(run.stderr, /batch 6 jobs: 1 done, 0 skipped, 5 failed/);

    const strict2 = await batch([jobs, "--out-dir", `${dir}/strict`, "--grid", "4x4", "--strict"]);
    assert.equal(strict2.code, 2);
  });
});

Deno.test("zipar batch refuses a job whose name escapes the output directory", async () => {
  await withDir(async (dir) => {
    const jobs = `${dir}/jobs.jsonl`;
    const bad = ["../escaped", `${dir}/abs`, "..", ".", "", "sub/x", "a\\b", "nul\0x", ".hidden"];
    await Deno.writeTextFile(
      jobs,
      jsonl([...bad.map((name) => ({ name, window: 2 })), { name: "fine", window: 2 }]),
    );
    await Deno.mkdir(`${dir}/out/sub`, { recursive: true });
    const run = await batch([jobs, "--out-dir", `${dir}/out`, "--grid", "4x4"]);
    assert.equal(run.code, 1);
    assert.deepEqual(names(dir), ["jobs.jsonl", "out"]);
    assert.deepEqual(names(`${dir}/out`), ["fine.json", "sub", "summary.json"]);
    assert.deepEqual(names(`${dir}/out/sub`), []);
    const summary = JSON.parse(await Deno.readTextFile(`${dir}/out/summary.json`));
    assert.deepEqual(summary.failures.map((f: { line: number }) => f.line), [
      1,
      2,
      3,
      4,
      5,
      6,
      7,
      8,
      9,
    ]);
    for (const f of summary.failures.slice(0, 8)) {
      assert.match(f.reason, /escape the output directory|must not be empty/);
    }
  });
});

Deno.test("zipar batch usage errors exit 2 in one line", async () => {
  for (
    const [args, re] of [
      [["--out-dir", "x"], /missing the job file/],
      [["jobs.jsonl"], /--out-dir DIR is required/],
      [["jobs.jsonl", "--out-dir", "x", "--shard", "3/3"], /--shard must be i\/n/],
      [["jobs.jsonl", "--out-dir", "x", "--max-batch", "0"], /--max-batch must be an integer/],
    ] as const
  ) {
    const r = await batch([...args]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, re);
    assert.equal(r.stderr.trimEnd().split("\n").length, 1);
  }
  const missing = await batch(["/no/such/jobs.jsonl", "--out-dir", "/tmp/never"]);
  assert.equal(missing.code, 1);
  assert.equal(
    missing.stderr,
    "zipar: /no/such/jobs.jsonl: cannot read the job file (no such file)\n",
  );
});

Deno.test("zipar batch --help lists exactly the options its parser accepts", () => {
  const documented = new Set(
    [...BATCH_USAGE.split("\nJob line")[0].matchAll(/(?<![\w-])--([a-z][a-z0-9-]*)/g)].map((m) =>
      m[1]
    ),
  );
  assert.deepEqual([...documented].sort(), Object.keys(BATCH_OPTIONS).sort());
});
