/**
 * `zipar batch --shard auto`: which shard this process is, read from the scheduler's
 * environment. Pure over an environment record, so every case is a unit test.
 *
 * - Slurm job array (`sbatch --array=…`): `SLURM_ARRAY_TASK_ID`, with `SLURM_ARRAY_TASK_COUNT`,
 *   `SLURM_ARRAY_TASK_MIN`, `SLURM_ARRAY_TASK_MAX` and `SLURM_ARRAY_TASK_STEP`. Without
 *   `--shard-count` the array itself is the shard set: task `MIN + k·STEP` is shard k of
 *   `COUNT` (`--array=0-7`, `1-8` and `0-14:2` all work), and the five variables must agree
 *   (a list like `--array=1,3,7` does not: give `--shard-count`). With `--shard-count N` the
 *   task id is the shard index (0 ≤ id < N), so a resubmitted subset (`sbatch --array=2,5`)
 *   runs the shards it names.
 * - Kubernetes Indexed Job (`completionMode: Indexed`): `JOB_COMPLETION_INDEX` is the shard
 *   index; the count is not in the environment, so `--shard-count N` (= `completions`) is
 *   required.
 *
 * @module
 */

/** A shard and where it came from. */
export interface EnvShard {
  /** 0-based shard index. */
  index: number;
  /** Number of shards. */
  count: number;
  /** Where the index was read, e.g. `SLURM_ARRAY_TASK_ID=3`, for the summary and messages. */
  source: string;
}

/** Why the environment gives no usable shard: a usage error (exit 2) with what to do. */
export class ShardEnvError extends Error {
  /** What to do about it. */
  readonly hint: string;

  /** `message` names the problem; `hint` says what to do. */
  constructor(message: string, hint: string) {
    super(message);
    this.name = "ShardEnvError";
    this.hint = hint;
  }
}

/** The environment as a record (Deno.env.toObject(), or a test's literal). */
export type Env = Readonly<Record<string, string | undefined>>;

const SLURM = "SLURM_ARRAY_TASK_ID", K8S = "JOB_COMPLETION_INDEX";
const SUBSET_HINT = "give --shard-count N (the task ids are then the shard indexes 0..N-1)";

function count(name: string, raw: string): number {
  const n = /^\d{1,6}$/.test(raw.trim()) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(n)) {
    throw new ShardEnvError(
      `${name}='${raw}' is not a non-negative integer`,
      "Run zipar batch --shard auto inside the array task, not with the variable set by hand.",
    );
  }
  return n;
}

function read(env: Env, name: string): number | undefined {
  const raw = env[name];
  return raw === undefined || raw === "" ? undefined : count(name, raw);
}

/** The shard a Slurm array task runs. */
function slurmShard(env: Env, shardCount: number | undefined): EnvShard {
  const id = read(env, SLURM)!;
  const source = `${SLURM}=${id}`;
  const min = read(env, "SLURM_ARRAY_TASK_MIN");
  const max = read(env, "SLURM_ARRAY_TASK_MAX");
  if (shardCount !== undefined) {
    if (id >= shardCount) {
      throw new ShardEnvError(
        `${source} is not below --shard-count ${shardCount}`,
        `Submit the array as --array=0-${
          shardCount - 1
        } (or a subset of it), or raise --shard-count.`,
      );
    }
    if (max !== undefined && max >= shardCount) {
      throw new ShardEnvError(
        `SLURM_ARRAY_TASK_MAX=${max} is not below --shard-count ${shardCount}: tasks ${shardCount}..${max} would have no shard`,
        `Submit the array as --array=0-${
          shardCount - 1
        } (or a subset of it), or raise --shard-count.`,
      );
    }
    return { index: id, count: shardCount, source };
  }
  const total = read(env, "SLURM_ARRAY_TASK_COUNT");
  if (total === undefined) {
    throw new ShardEnvError(`${source} is set but SLURM_ARRAY_TASK_COUNT is not`, SUBSET_HINT);
  }
  const step = read(env, "SLURM_ARRAY_TASK_STEP") ?? 1;
  const base = min ?? 0;
  if (total < 1 || step < 1) {
    throw new ShardEnvError(
      `SLURM_ARRAY_TASK_COUNT=${total} / SLURM_ARRAY_TASK_STEP=${step} must be at least 1`,
      SUBSET_HINT,
    );
  }
  const span = `--array=${base}-${max ?? "?"}${step > 1 ? `:${step}` : ""}`;
  if (max !== undefined && (max - base) / step + 1 !== total) {
    throw new ShardEnvError(
      `the Slurm array is not a plain range: ${total} tasks between ${base} and ${max} (step ${step})`,
      `Use --array=A-B[:STEP], or ${SUBSET_HINT}.`,
    );
  }
  if (id < base || (id - base) % step !== 0 || (id - base) / step >= total) {
    throw new ShardEnvError(`${source} is not a task of ${span} (${total} tasks)`, SUBSET_HINT);
  }
  if (total === 1 && id !== 0) {
    throw new ShardEnvError(
      `a one-task Slurm array (${source}) looks like a resubmitted shard, which would run every job`,
      `${SUBSET_HINT[0].toUpperCase()}${SUBSET_HINT.slice(1)}, or --shard 0/1 to run them all.`,
    );
  }
  return { index: (id - base) / step, count: total, source };
}

/**
 * The shard this process runs under `--shard auto`, from Slurm's or Kubernetes' variables in
 * `env`; `shardCount` is `--shard-count N` when given. Throws {@linkcode ShardEnvError} when
 * the variables are missing or inconsistent.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { shardFromEnv } from "./shard_env.ts";
 * const slurm = { SLURM_ARRAY_TASK_ID: "5", SLURM_ARRAY_TASK_COUNT: "8", SLURM_ARRAY_TASK_MIN: "1" };
 * assert.deepEqual(shardFromEnv(slurm), { index: 4, count: 8, source: "SLURM_ARRAY_TASK_ID=5" });
 * assert.equal(shardFromEnv({ JOB_COMPLETION_INDEX: "2" }, 4).index, 2);
 * assert.throws(() => shardFromEnv({}), /--shard auto found no scheduler index/);
 * ```
 */
export function shardFromEnv(env: Env, shardCount?: number): EnvShard {
  if (shardCount !== undefined && (!Number.isSafeInteger(shardCount) || shardCount < 1)) {
    throw new RangeError(`shardCount must be a positive integer, got ${shardCount}`);
  }
  const slurm = env[SLURM] !== undefined && env[SLURM] !== "";
  const k8s = env[K8S] !== undefined && env[K8S] !== "";
  if (slurm && k8s) {
    throw new ShardEnvError(
      `both ${SLURM} and ${K8S} are set, so --shard auto cannot tell which scheduler runs it`,
      "Unset the one that leaked into the environment, or give --shard i/n.",
    );
  }
  if (slurm) return slurmShard(env, shardCount);
  if (k8s) {
    const index = read(env, K8S)!;
    const source = `${K8S}=${index}`;
    if (shardCount === undefined) {
      throw new ShardEnvError(
        `${source} is set but the number of shards is not in the environment`,
        "Give --shard-count N with N = the Indexed Job's completions.",
      );
    }
    if (index >= shardCount) {
      throw new ShardEnvError(
        `${source} is not below --shard-count ${shardCount}`,
        "Set --shard-count to the Indexed Job's completions.",
      );
    }
    return { index, count: shardCount, source };
  }
  throw new ShardEnvError(
    `--shard auto found no scheduler index: neither ${SLURM} (sbatch --array) nor ${K8S} (a Kubernetes Indexed Job) is set`,
    "Run it as an array task or an Indexed Job's pod, or give --shard i/n.",
  );
}

/**
 * A warning for a run without `--shard` inside a multi-task array, where every task would run
 * every job; null when there is nothing to warn about.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { unshardedWarning } from "./shard_env.ts";
 * assert.match(unshardedWarning({ SLURM_ARRAY_TASK_ID: "1", SLURM_ARRAY_TASK_COUNT: "4" })!, /--shard auto/);
 * assert.equal(unshardedWarning({}), null);
 * ```
 */
export function unshardedWarning(env: Env): string | null {
  const slurm = env[SLURM] !== undefined && env.SLURM_ARRAY_TASK_COUNT !== "1";
  const name = slurm ? SLURM : env[K8S] !== undefined ? K8S : null;
  if (name === null) return null;
  return `${name} is set but --shard is not: this task runs every job; add --shard auto to split them across the tasks`;
}
