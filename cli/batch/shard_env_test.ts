import assert from "node:assert/strict";
import { type Env, ShardEnvError, shardFromEnv, unshardedWarning } from "./shard_env.ts";

/** The variables sbatch sets for task `id` of an array `min-max:step` of `count` tasks. */
function slurm(id: number, min: number, max: number, step = 1, count?: number): Env {
  return {
    SLURM_ARRAY_JOB_ID: "41",
    SLURM_ARRAY_TASK_ID: String(id),
    SLURM_ARRAY_TASK_MIN: String(min),
    SLURM_ARRAY_TASK_MAX: String(max),
    SLURM_ARRAY_TASK_STEP: String(step),
    SLURM_ARRAY_TASK_COUNT: String(count ?? (max - min) / step + 1),
  };
}

function refused(env: Env, shardCount: number | undefined, pattern: RegExp): ShardEnvError {
  try {
    shardFromEnv(env, shardCount);
  } catch (e) {
    assert.ok(e instanceof ShardEnvError, String(e));
    assert.match(e.message, pattern);
    assert.ok(e.hint.length > 0);
    assert.ok(!e.message.includes("\n") && !e.hint.includes("\n"));
    return e;
  }
  assert.fail(`accepted ${JSON.stringify(env)}`);
}

Deno.test("shardFromEnv() maps every task of a plain Slurm range to a distinct shard", () => {
  for (const [min, max, step] of [[0, 7, 1], [1, 8, 1], [0, 14, 2], [3, 15, 4], [0, 0, 1]]) {
    const ids = [];
    for (let id = min; id <= max; id += step) ids.push(id);
    const shards = ids.map((id) => shardFromEnv(slurm(id, min, max, step)));
    assert.deepEqual(shards.map((s) => s.index), ids.map((_, k) => k), `${min}-${max}:${step}`);
    assert.ok(shards.every((s) => s.count === ids.length));
    assert.equal(shards[0].source, `SLURM_ARRAY_TASK_ID=${min}`);
  }
});

Deno.test("shardFromEnv() takes a Slurm array without MIN, MAX and STEP as starting at 0", () => {
  const env = { SLURM_ARRAY_TASK_ID: "2", SLURM_ARRAY_TASK_COUNT: "4" };
  assert.deepEqual(shardFromEnv(env), { index: 2, count: 4, source: "SLURM_ARRAY_TASK_ID=2" });
  refused({ SLURM_ARRAY_TASK_ID: "4", SLURM_ARRAY_TASK_COUNT: "4" }, undefined, /not a task of/);
});

Deno.test("shardFromEnv() refuses inconsistent or incomplete Slurm variables", () => {
  // --array=1,3,7: COUNT 3 but MIN..MAX spans 7 ids.
  refused(slurm(3, 1, 7, 1, 3), undefined, /not a plain range: 3 tasks between 1 and 7/);
  refused(slurm(3, 0, 14, 2), undefined, /not a task of --array=0-14:2/);
  refused(slurm(9, 0, 7), undefined, /not a task of --array=0-7/);
  refused({ SLURM_ARRAY_TASK_ID: "1" }, undefined, /SLURM_ARRAY_TASK_COUNT is not/);
  refused({ ...slurm(1, 0, 3), SLURM_ARRAY_TASK_COUNT: "four" }, undefined, /'four' is not/);
  refused({ ...slurm(1, 0, 3), SLURM_ARRAY_TASK_ID: "-1" }, undefined, /'-1' is not/);
  refused({ ...slurm(1, 0, 3), SLURM_ARRAY_TASK_STEP: "0" }, undefined, /must be at least 1/);
  // sbatch --array=2 of a 4-way job: one task, which would otherwise run all 40 jobs.
  const e = refused(slurm(2, 2, 2), undefined, /one-task Slurm array .* resubmitted shard/);
  assert.match(e.hint, /--shard-count N/);
  assert.deepEqual(shardFromEnv(slurm(0, 0, 0)), {
    index: 0,
    count: 1,
    source: "SLURM_ARRAY_TASK_ID=0",
  });
});

Deno.test("shardFromEnv() with --shard-count takes the Slurm task id as the shard index", () => {
  // A resubmitted subset of a 0-3 array: sbatch --array=2 and --array=1,3.
  assert.deepEqual(shardFromEnv(slurm(2, 2, 2), 4), {
    index: 2,
    count: 4,
    source: "SLURM_ARRAY_TASK_ID=2",
  });
  assert.equal(shardFromEnv(slurm(3, 1, 3, 1, 2), 4).index, 3);
  assert.equal(shardFromEnv(slurm(1, 0, 3), 4).index, 1);
  refused(slurm(4, 4, 4), 4, /SLURM_ARRAY_TASK_ID=4 is not below --shard-count 4/);
  // --array=1-8 with --shard-count 8: task 1..7 would run, shard 0 never: every task refuses.
  refused(slurm(1, 1, 8), 8, /SLURM_ARRAY_TASK_MAX=8 is not below --shard-count 8/);
});

Deno.test("shardFromEnv() reads a Kubernetes Indexed Job's index with --shard-count", () => {
  const env = { JOB_COMPLETION_INDEX: "3", HOSTNAME: "zipar-3-abcde" };
  assert.deepEqual(shardFromEnv(env, 8), { index: 3, count: 8, source: "JOB_COMPLETION_INDEX=3" });
  refused(env, undefined, /not in the environment/);
  refused(env, 3, /JOB_COMPLETION_INDEX=3 is not below --shard-count 3/);
  refused({ JOB_COMPLETION_INDEX: "x" }, 3, /'x' is not a non-negative integer/);
});

Deno.test("shardFromEnv() refuses an environment with no scheduler or with both", () => {
  refused({}, undefined, /found no scheduler index/);
  refused({ SLURM_ARRAY_TASK_ID: "" }, 4, /found no scheduler index/);
  refused({ ...slurm(0, 0, 3), JOB_COMPLETION_INDEX: "0" }, 4, /both SLURM_ARRAY_TASK_ID/);
  // A plain (non-array) Slurm job has SLURM_JOB_ID but no array task id.
  refused({ SLURM_JOB_ID: "77" }, 4, /found no scheduler index/);
  assert.throws(() => shardFromEnv({}, 0), RangeError);
});

Deno.test("unshardedWarning() warns inside a multi-task array only", () => {
  assert.match(unshardedWarning(slurm(1, 0, 3))!, /SLURM_ARRAY_TASK_ID is set .* every job/);
  assert.match(unshardedWarning({ JOB_COMPLETION_INDEX: "0" })!, /JOB_COMPLETION_INDEX/);
  assert.equal(unshardedWarning(slurm(0, 0, 0)), null);
  assert.equal(unshardedWarning({ SLURM_JOB_ID: "77" }), null);
});
