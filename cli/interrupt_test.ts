/**
 * SIGINT and SIGTERM have one owner for every command (cli/io/interrupt.ts): the real `zipar`,
 * run with the Python backend, is signalled mid-run — at its own pid, as `kill` does, and at
 * its whole process group, as Ctrl-C and Slurm's preemption do — and must kill its worker,
 * remove its temporary files, say so in one line and exit 130 (143 for SIGTERM).
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { needs, PYTHON } from "../testing/runtimes.ts";
import { copyTinyGpt } from "../backends/python/test_helpers.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const PY = needs("zipar interrupted with the Python backend", ["python"]);

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "zipar_interrupt_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Files under `dir` (recursively) whose names mark them temporary. */
function temps(dir: string): string[] {
  const found: string[] = [];
  for (const e of Deno.readDirSync(dir)) {
    if (e.name.includes(".tmp-")) found.push(join(dir, e.name));
    if (e.isDirectory) found.push(...temps(join(dir, e.name)));
  }
  return found;
}

/**
 * Text of /proc files through `sh` (Deno's permissions refuse /proc short of --allow-all, which
 * the test task does not grant); "" for a file that is gone.
 */
function proc(glob: string): string {
  const out = new Deno.Command("sh", {
    args: ["-c", `cat ${glob} 2>/dev/null; true`],
    stdout: "piped",
    stderr: "null",
  }).outputSync();
  return new TextDecoder().decode(out.stdout);
}

/** Whether a process with this pid still exists (and is not a zombie). */
function alive(pid: number): boolean {
  const stat = proc(`/proc/${pid}/stat`);
  return stat !== "" && !/^\d+ \(.*\) Z/.test(stat);
}

/**
 * The pids of the children of `pid`, over all its threads (Deno spawns from worker threads, so
 * the main thread's own `children` list can be empty while the worker runs).
 */
function children(pid: number): number[] {
  const text = proc(`/proc/${pid}/task/*/children`);
  return text.trim().split(/\s+/).filter(Boolean).map(Number);
}

async function until(what: string, ok: () => boolean, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

interface Run {
  code: number;
  stderr: string;
  /** The worker (or converter) processes the command had started. */
  spawned: number[];
}

/**
 * Run `zipar args` in its own process group, wait until `ready()`, send `signal` to the
 * command (`target: "pid"`) or its whole group (`"group"`), and collect what happened.
 */
async function interrupt(
  args: string[],
  ready: () => boolean,
  signal: "SIGINT" | "SIGTERM",
  target: "pid" | "group",
): Promise<Run> {
  const child = new Deno.Command("setsid", {
    args: [Deno.execPath(), "run", "-A", "cli/main.ts", ...args],
    cwd: ROOT,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  const stderr = new Response(child.stderr).text();
  await until("the command to be mid-run", ready);
  const spawned = children(child.pid);
  assert(spawned.length > 0, "the command runs a Python process");
  Deno.kill(target === "pid" ? child.pid : -child.pid, signal);
  const status = await child.status;
  return { code: status.code, stderr: await stderr, spawned };
}

/** A tiny model directory, and the `generate` arguments of a run that takes a few seconds. */
async function tinyModel(dir: string): Promise<string> {
  await copyTinyGpt(join(dir, "tiny"));
  return join(dir, "tiny", "st");
}

function generateArgs(model: string, out: string): string[] {
  return [
    ...["generate", "--backend", "python", "--python", PYTHON!, "--model", model],
    ...["--schedule", "raster", "--mode", "interactive", "--batch", "64", "--out", out],
  ];
}

for (
  const [signal, target, code] of [
    ["SIGINT", "pid", 130],
    ["SIGINT", "group", 130],
    ["SIGTERM", "pid", 143],
    ["SIGTERM", "group", 143],
  ] as const
) {
  Deno.test({
    name: `zipar generate --backend python: ${signal} to the ${target} kills the worker, ` +
      `leaves no temp file, exits ${code}`,
    ...PY,
    fn: async () => {
      await withDir(async (dir) => {
        const model = await tinyModel(dir);
        const out = join(dir, "out");
        await Deno.mkdir(out);
        const run = await interrupt(
          generateArgs(model, join(out, "g.json")),
          () => temps(out).length > 0,
          signal,
          target,
        );
        assert.equal(run.code, code, run.stderr);
        assert.equal(run.stderr, `zipar: interrupted (${signal}), no output written\n`);
        assert.deepEqual(temps(dir), []);
        assert.deepEqual([...Deno.readDirSync(out)], []);
        await until("the worker to be gone", () => !run.spawned.some(alive), 5000);
      });
    },
  });
}

Deno.test({
  name: "zipar batch --backend python: SIGTERM keeps finished outputs, leaves no temp, exits 143",
  ...PY,
  fn: async () => {
    await withDir(async (dir) => {
      const model = await tinyModel(dir);
      const jobs = join(dir, "jobs.jsonl");
      const lines = Array.from(
        { length: 40 },
        (_, i) => JSON.stringify({ name: `j${i}`, count: 8, schedule: "raster" }),
      );
      await Deno.writeTextFile(jobs, lines.join("\n") + "\n");
      const out = join(dir, "out");
      const args = [
        ...["batch", jobs, "--out-dir", out, "--backend", "python", "--python", PYTHON!],
        ...["--model", model, "--max-batch", "8"],
      ];
      const run = await interrupt(
        args,
        () => outputs(out) >= 1,
        "SIGTERM",
        "group",
      );
      assert.equal(run.code, 143, run.stderr);
      assert.equal(
        run.stderr,
        "zipar: interrupted (SIGTERM); finished outputs are kept, rerun to resume\n",
      );
      assert.deepEqual(temps(dir), []);
      await until("the worker to be gone", () => !run.spawned.some(alive), 5000);
    });
  },
});

/** Finished job outputs in `dir` (0 while it does not exist). */
function outputs(dir: string): number {
  try {
    return [...Deno.readDirSync(dir)].filter((e) => /^j\d+\.json$/.test(e.name)).length;
  } catch {
    return 0;
  }
}

Deno.test({
  name: "zipar convert: SIGINT stops the converter, leaves no temp file, exits 130",
  ...PY,
  fn: async () => {
    await withDir(async (dir) => {
      // A converter that takes its time: the real one behind a pause.
      const slow = join(dir, "slow-python");
      await Deno.writeTextFile(slow, `#!/bin/sh\nsleep 2\nexec '${PYTHON}' "$@"\n`);
      await Deno.chmod(slow, 0o755);
      await copyTinyGpt(join(dir, "tiny"));
      const out = join(dir, "converted");
      const started = Date.now();
      const run = await interrupt(
        [
          ...["convert", "--from", "llamagen", join(dir, "tiny", "model.pt")],
          ...["--heads", "4", "--grid", "8x8", "--python", slow, "--out", out],
        ],
        () => Date.now() - started > 1000,
        "SIGINT",
        "pid",
      );
      assert.equal(run.code, 130, run.stderr);
      assert.equal(run.stderr, "zipar: interrupted (SIGINT), no output written\n");
      assert.deepEqual(temps(dir), []);
      assert.equal(await Deno.stat(join(out, "config.json")).catch(() => null), null);
      await until("the converter to be gone", () => !run.spawned.some(alive), 5000);
    });
  },
});
