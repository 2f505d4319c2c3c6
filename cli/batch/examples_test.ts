/**
 * The job files of examples/ call zipar as it is: the Slurm script is run by bash with a fake
 * `sbatch` and `ZIPAR=printf` (so the exact argv it would run is printed), the Kubernetes
 * manifest's command is read from its YAML; both argvs must parse as `zipar batch` flags and
 * give each task its own shard. The live run is slurm_live_test.ts.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { BATCH_OPTIONS } from "../batch.ts";
import { parseCommand } from "../flags/args.ts";
import { backendFlags } from "../flags/backend_flags.ts";
import { shardFromEnv } from "./shard_env.ts";

const ROOT = new URL("../..", import.meta.url).pathname;
const SCRIPT = join(ROOT, "examples", "slurm_array.sh");
const decoder = new TextDecoder();

/** Run the Slurm script with `env`; `sbatch` is a fake that logs its argv and prints an id. */
async function script(args: string[], env: Record<string, string>, bin: string) {
  const out = await new Deno.Command("bash", {
    args: [SCRIPT, ...args],
    env: {
      PATH: `${bin}:${Deno.env.get("PATH") ?? "/usr/bin:/bin"}`,
      ZIPAR: "printf %s\\n",
      ...env,
    },
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
}

async function withBin(fn: (bin: string) => Promise<void>): Promise<void> {
  const bin = await Deno.makeTempDir({ prefix: "zipar_fake_sbatch_" });
  try {
    await Deno.writeTextFile(
      join(bin, "sbatch"),
      `#!/bin/sh\nn=$(( $(cat "${bin}/n" 2>/dev/null || echo 40) + 1 ))\necho $n > "${bin}/n"\nprintf '%s ' "$@" >> "${bin}/calls"\necho >> "${bin}/calls"\necho "$n;cluster"\n`,
    );
    await Deno.chmod(join(bin, "sbatch"), 0o755);
    await fn(bin);
  } finally {
    await Deno.remove(bin, { recursive: true });
  }
}

Deno.test("examples/slurm_array.sh submits the array and an afterany collect job", async () => {
  await withBin(async (bin) => {
    const r = await script(["--partition=gpu"], { ZIPAR_SHARDS: "4" }, bin);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "zipar: submitted array 41 (--shard-count 4) and collect job 42\n");
    const [array, collect] = (await Deno.readTextFile(join(bin, "calls"))).trim().split("\n");
    assert.match(array, /^--parsable --array=0-3 --partition=gpu \S+slurm_array\.sh ?$/);
    assert.match(
      collect,
      /--dependency=afterany:41 --gres=none .*--partition=gpu \S+\.sh collect ?$/,
    );
  });
});

Deno.test("examples/slurm_array.sh runs zipar batch flags that parse, one shard per task", async () => {
  await withBin(async (bin) => {
    const seen = new Set<number>();
    for (let task = 0; task < 4; task++) {
      const env = {
        SLURM_JOB_ID: String(100 + task),
        SLURM_ARRAY_TASK_ID: String(task),
        SLURM_ARRAY_TASK_COUNT: "4",
        SLURM_ARRAY_TASK_MIN: "0",
        SLURM_ARRAY_TASK_MAX: "3",
        ZIPAR_SHARDS: "4",
      };
      const r = await script([], env, bin);
      assert.equal(r.code, 0, r.stderr);
      const argv = r.stdout.trimEnd().split("\n");
      assert.equal(argv[0], "batch");
      const { values, positionals } = parseCommand(argv.slice(1), BATCH_OPTIONS, 1);
      assert.deepEqual(positionals, ["jobs.jsonl"]);
      assert.deepEqual([values["out-dir"], values.shard, values["shard-count"]], [
        "out",
        "auto",
        "4",
      ]);
      // The default backend flags are real ones (the Python backend on CUDA).
      assert.deepEqual([values.backend, values.device], ["python", "cuda"]);
      assert.equal(backendFlags(values).backend, "python");
      seen.add(shardFromEnv(env, Number(values["shard-count"])).index);
    }
    assert.deepEqual([...seen].sort(), [0, 1, 2, 3]);

    const c = await script(["collect"], { SLURM_JOB_ID: "200", ZIPAR_SHARDS: "4" }, bin);
    assert.equal(c.code, 0, c.stderr);
    const argv = c.stderr.trimEnd().split("\n"); // collect's report goes to the job's log
    const { values } = parseCommand(argv.slice(1), BATCH_OPTIONS, 1);
    assert.deepEqual(Object.keys(values).sort(), ["collect", "shard-count"]);
  });
});

Deno.test("examples/slurm_array.sh collect ends a failed collect with the resubmit command", async () => {
  await withBin(async (bin) => {
    const fake = join(bin, "fake_zipar");
    await Deno.writeTextFile(
      fake,
      `#!/bin/sh\necho "zipar: 3 jobs missing (j2, j5, j7), in shards 2,5-7 of 8: rerun them (they resume): ..." >&2\nexit 1\n`,
    );
    await Deno.chmod(fake, 0o755);
    const env = {
      SLURM_JOB_ID: "300",
      ZIPAR: fake,
      ZIPAR_SHARDS: "8",
      ZIPAR_ARGS: "--grid 8x8 --max-batch 4",
      ZIPAR_HOME: "/opt/zi par",
      ZIPAR_SCRIPT: "/opt/zi par/examples/slurm_array.sh",
    };
    const r = await script(["collect"], env, bin);
    assert.equal(r.code, 1, r.stderr);
    const line = /^zipar: resubmit: (.+)$/m.exec(r.stderr)?.[1];
    assert.equal(
      line,
      "ZIPAR_HOME=/opt/zi\\ par ZIPAR_JOBS=jobs.jsonl ZIPAR_OUT=out ZIPAR_SHARDS=8 " +
        "ZIPAR_ARGS=--grid\\ 8x8\\ --max-batch\\ 4 bash /opt/zi\\ par/examples/slurm_array.sh --array=2,5-7",
    );
    // The line is a shell command: bash reads the settings back exactly.
    const echo = await new Deno.Command("bash", {
      args: [
        "-c",
        line!.replace(/ bash .*$/, "") +
        ' sh -c \'printf "%s|" "$ZIPAR_HOME" "$ZIPAR_ARGS"\'',
      ],
      stdout: "piped",
    }).output();
    assert.equal(decoder.decode(echo.stdout), "/opt/zi par|--grid 8x8 --max-batch 4|");
  });
});

/** The `command:` list of the manifest's container. */
function manifestCommand(yaml: string): string[] {
  const lines = yaml.split("\n");
  const start = lines.findIndex((l) => /^\s+command:\s*$/.test(l));
  assert.ok(start >= 0, "no command: list");
  const items: string[] = [];
  for (const line of lines.slice(start + 1)) {
    const m = /^\s+- (.+)$/.exec(line);
    if (!m) break;
    items.push(m[1].replace(/^"(.*)"$/, "$1"));
  }
  return items;
}

Deno.test("examples/k8s_indexed_job.yaml runs zipar batch --shard auto with --shard-count = completions", async () => {
  const yaml = await Deno.readTextFile(join(ROOT, "examples", "k8s_indexed_job.yaml"));
  assert.match(yaml, /^\s+completionMode: Indexed\b/m);
  const completions = Number(/^\s+completions: (\d+)/m.exec(yaml)?.[1]);
  const argv = manifestCommand(yaml);
  assert.deepEqual(argv.slice(0, 2), ["zipar", "batch"]);
  const { values, positionals } = parseCommand(argv.slice(2), BATCH_OPTIONS, 1);
  assert.equal(positionals.length, 1);
  assert.equal(values.shard, "auto");
  assert.equal(Number(values["shard-count"]), completions);
  assert.equal(backendFlags(values).backend, "python");
  const shards = Array.from(
    { length: completions },
    (_, i) => shardFromEnv({ JOB_COMPLETION_INDEX: String(i) }, completions).index,
  );
  assert.deepEqual(shards, Array.from({ length: completions }, (_, i) => i));
  // The collect command in the comments parses too.
  const collect = /"command":\[([^\]]+)\]/.exec(yaml)?.[1];
  assert.ok(collect);
  const words = JSON.parse(`[${collect}]`) as string[];
  const parsed = parseCommand(words.slice(2), BATCH_OPTIONS, 1);
  assert.equal(parsed.values["shard-count"], String(completions));
  assert.equal(typeof parsed.values.collect, "string");
});
