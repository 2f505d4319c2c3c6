/**
 * `zipar batch` under a live Slurm: a one-node cluster (test_slurm.ts) runs
 * examples/slurm_array.sh as it stands — a 4-task array of the real `zipar batch --shard auto`
 * over 40 mock jobs, one fake GPU each, and the collect job after it (`afterany`). Task 2 is
 * requeued mid-run (`scontrol requeue`, what preemption does; the cluster allows it only for
 * `sbatch --requeue` jobs) and must resume; every output must equal an unsharded run's. A
 * second run cancels one task mid-run (`scancel`),
 * sees the collect job fail naming that shard, runs the resubmit command its log ends with
 * (`bash examples/slurm_array.sh --array=2`: shard 2 and a collect) and checks that it resumed:
 * the outputs written before the cancel are skipped, the rest done, and the whole equals the
 * unsharded run.
 */

import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { needs } from "../../testing/runtimes.ts";
import { readGrid } from "../formats/grid_file.ts";
import { memoryIo } from "../io/io.ts";
import { type SlurmCluster, startSlurm, waitFor } from "./test_slurm.ts";

const ROOT = new URL("../..", import.meta.url).pathname;
const SCRIPT = join(ROOT, "examples", "slurm_array.sh");
const SHARDS = 4, JOBS = 40, KILLED = 2;
const BACKEND = ["--grid", "64x64", "--max-batch", "4"];

/** 40 jobs; shard 2's (index ≡ 2 mod 4) have 4 images, so it runs long enough to cancel. */
function jobLines(): string {
  return Array.from({ length: JOBS }, (_, k) =>
    JSON.stringify({
      name: `j${String(k).padStart(2, "0")}`,
      class: k % 10,
      seed: k,
      count: k % SHARDS === KILLED ? 4 : 1,
      ...(k % 2 ? { window: 8 } : { schedule: "raster" }),
      format: k % 5 === 0 ? "npy" : "json",
    })).join("\n") + "\n";
}

const outputNames = (dir: string) =>
  [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) => !n.startsWith("summary")).sort();
const read = async (path: string) => JSON.parse(await Deno.readTextFile(path));
/** The jobs of the shard that gets killed whose output is in `dir`. */
const written = (dir: string) =>
  exists(dir)
    ? shardNames(KILLED).filter((n) =>
      exists(join(dir, `${n}.json`)) || exists(join(dir, `${n}.npy`))
    )
    : [];
const shardNames = (k: number) =>
  Array.from({ length: JOBS }, (_, j) => j).filter((j) => j % SHARDS === k)
    .map((j) => `j${String(j).padStart(2, "0")}`);

/** Every grid of `dir`: shape, tokens, metadata without the wall time. */
async function grids(dir: string): Promise<Map<string, unknown>> {
  const got = new Map<string, unknown>();
  for (const name of outputNames(dir).filter((n) => !n.endsWith(".npy.json"))) {
    const { grid } = await readGrid(join(dir, name), memoryIo());
    const { wallMs: _, ...meta } = grid.meta;
    got.set(name, { shape: grid.shape, tokens: [...grid.tokens], meta });
  }
  return got;
}

async function zipar(args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", join(ROOT, "cli/main.ts"), "batch", ...args],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
}

const FINAL = /^(COMPLETED|FAILED|CANCELLED|TIMEOUT|NODE_FAIL|OUT_OF_MEMORY|PREEMPTED|BOOT_FAIL)/;

async function finished(cluster: SlurmCluster, id: string, what: string): Promise<string> {
  let state: string | null = null;
  await waitFor(async () => FINAL.test(state = await cluster.jobState(id) ?? ""), what, 45_000);
  return state!;
}

async function logsOf(dir: string): Promise<string> {
  const logs = [...Deno.readDirSync(dir)].filter((e) => e.name.endsWith(".log"));
  const texts = await Promise.all(logs.map((e) => Deno.readTextFile(join(dir, e.name))));
  return logs.map((e, k) => `--- ${e.name}\n${texts[k]}`).join("\n");
}

Deno.test({
  name:
    "examples/slurm_array.sh on a live Slurm: 4 shards equal one run; a cancelled shard resumes",
  ...needs("the live Slurm test", ["slurm"]),
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "zipar_slurm_" });
    let cluster: SlurmCluster | null = null;
    try {
      const jobs = join(dir, "jobs.jsonl");
      await Deno.writeTextFile(jobs, jobLines());
      // The unsharded reference runs while the cluster starts.
      const [ref, started] = await Promise.all([
        zipar([jobs, "--out-dir", join(dir, "ref"), ...BACKEND, "--quiet"]),
        startSlurm(join(dir, "slurm")),
      ]);
      cluster = started;
      assert.equal(ref.code, 0, ref.stderr);
      const expected = await grids(join(dir, "ref"));
      assert.equal(expected.size, JOBS);

      // The script as a user runs it; deno must be on the jobs' PATH (sbatch exports ours).
      const env = (out: string) => ({
        PATH: `${dirname(Deno.execPath())}:${cluster!.env.PATH}`,
        NO_COLOR: "1",
        ZIPAR_HOME: ROOT,
        ZIPAR_JOBS: jobs,
        ZIPAR_OUT: join(dir, out),
        ZIPAR_SHARDS: String(SHARDS),
        ZIPAR_ARGS: BACKEND.join(" "),
      });
      const submit = async (out: string, args: string[] = []) => {
        const r = await cluster!.run("bash", [SCRIPT, ...args], { env: env(out), cwd: dir });
        assert.equal(r.code, 0, r.stdout + r.stderr);
        const m = /submitted array (\d+) \(--shard-count 4\) and collect job (\d+)/.exec(r.stdout);
        assert.ok(m, r.stdout);
        return { array: m[1], collect: m[2] };
      };

      // Run 1: the whole flow; task 2 is preempted (requeued) once it has written an output.
      const first = await submit("run1");
      const out1 = join(dir, "run1");
      await waitFor(() => Promise.resolve(written(out1).length > 0), "shard 2's output", 30_000);
      const task2 = `${first.array}_${KILLED}`;
      const requeue = await cluster.run("scontrol", ["requeue", task2]);
      assert.equal(requeue.code, 0, requeue.stderr);
      await waitFor(async () => await cluster!.jobState(task2) === "PENDING", "the requeue");
      const before = written(out1).length;
      assert.ok(before >= 1 && before < JOBS / SHARDS, `requeued after ${before} outputs`);
      assert.equal(await finished(cluster, first.collect, "the collect job"), "COMPLETED");
      const restarts = await cluster.run("scontrol", ["-o", "show", "job", task2]);
      assert.match(restarts.stdout, /Restarts=1 /);
      const preempted = await read(join(out1, `summary.shard-${KILLED}-of-${SHARDS}.json`));
      assert.deepEqual([preempted.skipped, preempted.done], [before, JOBS / SHARDS - before]);
      // One GPU per task (--gres=gpu:1): the four first starts ran at once on four GPUs.
      const gpus = new Set<string>();
      for (let k = 0; k < SHARDS; k++) {
        const text = await Deno.readTextFile(join(dir, `zipar-${first.array}_${k}.log`));
        const m = new RegExp(`task ${k} of array ${first.array} on \\S+, GPU (\\d+), restart 0`)
          .exec(text);
        assert.ok(m, text);
        gpus.add(m[1]);
      }
      assert.deepEqual([...gpus].sort(), ["0", "1", "2", "3"]);
      // --open-mode=append: the killed run's last words and the rerun's summary in one log.
      const log = await Deno.readTextFile(join(dir, `zipar-${first.array}_${KILLED}.log`));
      assert.match(
        log,
        /restart 0\n[^]*interrupted \(SIGTERM\); finished outputs are kept[^]*restart 1\n[^]*batch 10 jobs: /,
      );
      for (let k = 0; k < SHARDS; k++) {
        assert.equal(await cluster.jobState(`${first.array}_${k}`), "COMPLETED");
        const s = JSON.parse(
          await Deno.readTextFile(join(dir, "run1", `summary.shard-${k}-of-${SHARDS}.json`)),
        );
        assert.deepEqual([s.shard, s.shardFrom], [
          { index: k, count: SHARDS },
          `SLURM_ARRAY_TASK_ID=${k}`,
        ]);
        assert.deepEqual(s.outputs.map((o: { name: string }) => o.name), shardNames(k));
      }
      const summary = JSON.parse(await Deno.readTextFile(join(dir, "run1", "summary.json")));
      assert.deepEqual(
        [summary.jobs, summary.done, summary.skipped, summary.failed, summary.missing],
        [JOBS, JOBS - before, before, 0, 0],
      );
      assert.deepEqual(summary.collected.summaries.length, SHARDS);
      assert.equal(summary.collected.shards, SHARDS);
      assert.deepEqual(outputNames(join(dir, "run1")), outputNames(join(dir, "ref")));
      assert.deepEqual(await grids(join(dir, "run1")), expected);

      // Run 2: cancel task 2 once it has written an output; the collect job then fails.
      const second = await submit("run2");
      const out2 = join(dir, "run2");
      await waitFor(() => Promise.resolve(written(out2).length > 0), "shard 2's output", 30_000);
      const cancel = await cluster.run("scancel", [`${second.array}_${KILLED}`]);
      assert.equal(cancel.code, 0, cancel.stderr);
      assert.equal(await finished(cluster, second.collect, "the second collect job"), "FAILED");
      assert.equal(await cluster.jobState(`${second.array}_${KILLED}`), "CANCELLED");
      const partial = written(out2).length;
      assert.ok(partial >= 1 && partial < JOBS / SHARDS, `cancelled after ${partial} outputs`);
      const broken = JSON.parse(await Deno.readTextFile(join(out2, "summary.json")));
      assert.deepEqual(
        [broken.missing, broken.collected.missingShards],
        [JOBS / SHARDS, [KILLED]], // unreported outputs count as missing: the rerun checks them
      );
      assert.ok(!exists(join(out2, `summary.shard-${KILLED}-of-${SHARDS}.json`)));
      assert.equal(
        broken.missingJobs.filter((m: { written: boolean }) => m.written).length,
        partial,
      );
      assert.match(await logsOf(dir), /in shards 2 of 4: rerun them/);

      // Resubmit shard 2 alone with the command the collect job's log ends with (it carries the
      // settings: none of ours are passed), which also queues a collect after it: it resumes.
      const collectLog = await Deno.readTextFile(join(dir, `zipar-collect-${second.collect}.log`));
      const line = /^zipar: resubmit: (.+)$/m.exec(collectLog)?.[1];
      assert.ok(line, collectLog);
      assert.match(line, /ZIPAR_SHARDS=4 .*bash \S+slurm_array\.sh --array=2$/);
      const { PATH } = env("run2");
      const again = await cluster.run("bash", ["-c", line], { env: { PATH }, cwd: dir });
      assert.equal(again.code, 0, again.stderr);
      const third = /submitted array (\d+) \(--shard-count 4\) and collect job (\d+)/.exec(
        again.stdout,
      );
      assert.ok(third, again.stdout);
      assert.equal(await finished(cluster, third[2], "the third collect job"), "COMPLETED");
      assert.equal(await cluster.jobState(`${third[1]}_${KILLED}`), "COMPLETED");
      const resumed = await read(join(out2, `summary.shard-${KILLED}-of-${SHARDS}.json`));
      assert.deepEqual(
        [resumed.shardFrom, resumed.skipped, resumed.done, resumed.failed],
        [`SLURM_ARRAY_TASK_ID=${KILLED}`, partial, JOBS / SHARDS - partial, 0],
      );
      const healed = await read(join(out2, "summary.json"));
      assert.deepEqual([healed.jobs, healed.failed, healed.missing], [JOBS, 0, 0]);
      assert.equal(healed.done + healed.skipped, JOBS);
      assert.deepEqual(outputNames(out2), outputNames(join(dir, "ref"))); // no temp files left
      assert.deepEqual(await grids(out2), expected);
    } catch (e) {
      const logs = await logsOf(dir).catch(() => "");
      const ctld = await Deno.readTextFile(join(dir, "slurm", "slurmctld.log")).catch(() => "");
      throw new Error(
        `${(e as Error).message}\njob logs:\n${logs.slice(-4000)}\nslurmctld.log:\n${
          ctld.slice(-2000)
        }`,
        { cause: e },
      );
    } finally {
      await cluster?.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}
