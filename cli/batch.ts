/**
 * `zipar batch JOBS.jsonl --out-dir DIR`: run many generation jobs, one grid file per job,
 * resumable (finished outputs are skipped), shardable (`--shard i/n`, or `--shard auto` from a
 * Slurm array's or a Kubernetes Indexed Job's environment), with a summary;
 * `zipar batch JOBS.jsonl --collect DIR` merges the shards' summaries.
 *
 * @module
 */

import { dirname, join, resolve } from "node:path";
import {
  intFlag,
  type OptionSpec,
  parseCommand,
  ValidationError,
  type Values,
} from "./flags/args.ts";
import { installInterruptCleanup } from "./io/interrupt.ts";
import { writeError } from "./io/atomic_write.ts";
import { printable } from "./io/printable.ts";
import { openBackend } from "../backends/open.ts";
import { BACKEND_OPTIONS, BACKEND_USAGE, backendFlags } from "./flags/backend_flags.ts";
import { backendMeta, workerOf } from "./generation/grid_meta.ts";
import { renderBatchProgress } from "./batch/progress.ts";
import { type JobOutcome, runJobs, type RunTotals } from "./batch/run.ts";
import { prettyJson } from "./formats/grid_json.ts";
import type { Io } from "./io/io.ts";
import { type JobEntry, modelError, parseJobs, parseShard } from "./batch/jobs.ts";
import { ShardEnvError, shardFromEnv, unshardedWarning } from "./batch/shard_env.ts";
import { collectBatch } from "./batch/collect_dir.ts";
import { openSummary } from "./batch/dir_output.ts";
import { stderrProgress } from "./io/progress.ts";
import { VERSION } from "./generation/version.ts";
import { readTextInput } from "./io/text_file.ts";
import { MAX_IMAGES } from "./flags/condition_flags.ts";

/** Flags of `zipar batch`. */
export const BATCH_OPTIONS: OptionSpec = {
  "out-dir": { type: "string", short: "o" },
  shard: { type: "string" },
  "shard-count": { type: "string" },
  collect: { type: "string" },
  "max-batch": { type: "string" },
  strict: { type: "boolean" },
  quiet: { type: "boolean", short: "q" },
  ...BACKEND_OPTIONS,
  help: { type: "boolean", short: "h" },
};

/** `zipar batch --help`. */
export const BATCH_USAGE = `Usage: zipar batch JOBS.jsonl --out-dir DIR [options]
       zipar batch JOBS.jsonl --collect DIR [--shard-count N] [--quiet]

Run the generation jobs of a JSON Lines file (- for stdin), one grid file per job under DIR.
Images of jobs with the same schedule, window, proxy, cfg and sampling share generate() calls.
A rerun skips the jobs whose output is already complete, so an interrupted run resumes.

Options:
  -o, --out-dir DIR        output directory, created if missing (required)
  --shard i/n              run only the jobs whose index (among non-blank lines, from 0)
                           is i modulo n
  --shard auto             take i/n from the scheduler: a Slurm array task (task MIN+k*STEP
                           of COUNT is shard k/COUNT) or a Kubernetes Indexed Job's
                           JOB_COMPLETION_INDEX (needs --shard-count). Never the default:
                           without --shard every job runs (a warning inside an array)
  --shard-count N          with --shard auto: N shards, and the task id (SLURM_ARRAY_TASK_ID
                           or JOB_COMPLETION_INDEX) is the shard index, so resubmitted
                           tasks 2 and 5 alone (an array of 2,5) run shards 2 and 5 of N
  --collect DIR            merge DIR's shard summaries into DIR/summary.json (no generation):
                           jobs done, failed and missing, and the shards to rerun; exit 1
                           while any job failed or is missing
  --max-batch N            most images per generate() call (default: 16)
  --strict                 any bad job line is a usage error (exit 2) before generating
  -q, --quiet              no progress, failures or summary line on stderr

${BACKEND_USAGE}

  -h, --help               show this help

Job line (only "name" is required):
  {"name": "cats", "class": 3, "seed": 0, "count": 8, "schedule": "ideal", "window": 8,
   "proxy": "r-2", "cfg": 1, "temperature": 1, "topK": 0, "topP": 1, "format": "json"}
  "class" may be a list: image i gets class[i mod length], count defaults to its length.
  Text-to-image models take "prompt" (a string or a list, cycled like "class") and an
  optional "negativePrompt" instead of "class". Sampling fields left out take the model
  family's defaults (Janus: cfg 5), else those shown.
  "schedule": any of zipar generate's, or its compact form ("paper:8"); its settings are
  fields named as generate's flags in camelCase ("window", "minWindow", "maxWindow", "draft",
  "accept", "trigger", "init", "coupling", "proxy"). Image i draws with the key (seed, i, row, col).

Writes DIR/<name>.json or DIR/<name>.npy (+ .npy.json) atomically, and DIR/summary.json
(DIR/summary.shard-i-of-n.json with --shard). Exit 0 when every job is done or skipped,
1 when any failed, 2 on usage errors.

On a cluster: one zipar batch per GPU, the scheduler fans out (examples/slurm_array.sh,
examples/k8s_indexed_job.yaml); shards share DIR, reruns resume, then --collect DIR.
`;

/** Largest job file read (64 MiB). */
export const MAX_JOBS_BYTES = 64 * 2 ** 20;

function readJobsText(path: string, io: Io): Promise<string> {
  return readTextInput(path, io, { what: "the job file", maxBytes: MAX_JOBS_BYTES });
}

function strictError(file: string, bad: JobEntry[]): ValidationError {
  const more = bad.length > 1 ? ` (and ${bad.length - 1} more bad lines)` : "";
  return new ValidationError(
    `${file}:${bad[0].line}: ${bad[0].error}${more}`,
    "Fix the job file, or drop --strict to run the good jobs and report the bad ones.",
  );
}

/** The shard of `--shard i/n` or `--shard auto` (+ `--shard-count`), or null for every job. */
function shardOf(
  values: Values,
  shardCount: number | undefined,
  io: Io,
): { shard: [number, number] | null; shardSource: string } {
  const raw = values.shard;
  if (raw !== "auto" && shardCount !== undefined) {
    throw new ValidationError(
      "--shard-count applies with --shard auto (or --collect)",
      "Give --shard auto --shard-count N, or --shard i/n alone.",
    );
  }
  if (typeof raw !== "string") {
    const warning = unshardedWarning(Deno.env.toObject());
    if (warning && values.quiet !== true) io.writeStderr(`zipar: warning: ${printable(warning)}\n`);
    return { shard: null, shardSource: "" };
  }
  if (raw === "auto") {
    try {
      const found = shardFromEnv(Deno.env.toObject(), shardCount);
      return { shard: [found.index, found.count], shardSource: found.source };
    } catch (e) {
      if (e instanceof ShardEnvError) throw new ValidationError(e.message, e.hint);
      throw e;
    }
  }
  const shard = parseShard(raw);
  if (!shard) {
    throw new ValidationError(
      `--shard must be i/n with 0 ≤ i < n, or auto, got '${raw}'`,
      "Example: --shard 0/4 for the first of 4 shards.",
    );
  }
  return { shard, shardSource: "--shard" };
}

/** `zipar batch JOBS --collect DIR`. */
async function collectCommand(
  jobsPath: string,
  values: Values,
  io: Io,
  shardCount: number | undefined,
): Promise<number> {
  const generating = ["out-dir", "shard", "max-batch", "strict", ...Object.keys(BACKEND_OPTIONS)];
  const extra = generating.find((k) => values[k] !== undefined);
  if (extra !== undefined) {
    throw new ValidationError(
      `--collect does not take --${extra}: it only reads DIR`,
      "Give JOBS.jsonl --collect DIR, with --shard-count N and --quiet if you like.",
    );
  }
  const dir = values.collect as string;
  if (dir === "") throw new ValidationError("--collect needs a directory");
  return await collectBatch({
    jobsText: await readJobsText(jobsPath, io),
    jobsFile: jobsPath === "-" ? "stdin" : jobsPath,
    dir,
    shardCount,
    quiet: values.quiet === true,
    io,
  });
}

/** Run `zipar batch`; returns the exit code. */
export async function batchCommand(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parseCommand(args, BATCH_OPTIONS, 1);
  if (values.help) {
    await io.writeStdout(new TextEncoder().encode(BATCH_USAGE));
    return 0;
  }
  const jobsPath = positionals[0];
  if (jobsPath === undefined) throw new ValidationError("missing the job file (JOBS.jsonl)");
  const shardCount = intFlag(values, "shard-count", 1, 999_999);
  if (typeof values.collect === "string") return collectCommand(jobsPath, values, io, shardCount);
  const outDir = values["out-dir"];
  if (typeof outDir !== "string" || outDir === "") {
    throw new ValidationError("--out-dir DIR is required");
  }
  const spec = backendFlags(values);
  const { shard, shardSource } = shardOf(values, shardCount, io);
  const maxBatch = intFlag(values, "max-batch", 1, MAX_IMAGES, 16);
  const quiet = values.quiet === true, strict = values.strict === true;
  const file = jobsPath === "-" ? "stdin" : jobsPath;

  const entries = parseJobs(await readJobsText(jobsPath, io))
    .filter((e) => !shard || e.index % shard[1] === shard[0]);
  if (strict && entries.some((e) => e.error)) {
    throw strictError(
      file,
      entries.filter((e) => e.error),
    );
  }
  await Deno.mkdir(outDir, { recursive: true }).catch((e) => {
    const { message } = writeError(join(outDir, "summary.json"), e, dirname(resolve(outDir)));
    throw new Error(
      `cannot create --out-dir ${outDir}: ${message.replace(/^cannot write .*?: /, "")}`,
    );
  });

  const started = performance.now();
  const backend = await openBackend(spec);
  const loadMs = performance.now() - started;
  let outcomes: JobOutcome[], totals: RunTotals;
  const uninstall = installInterruptCleanup((signal) =>
    io.writeStderr(`zipar: interrupted (${signal}); finished outputs are kept, rerun to resume\n`)
  );
  try {
    for (const e of entries) {
      const why = e.job && modelError(e.job, backend.info);
      if (why) Object.assign(e, { job: null, error: why });
    }
    if (strict && entries.some((e) => e.error)) {
      throw strictError(
        file,
        entries.filter((e) => e.error),
      );
    }
    const good = entries.filter((e) => e.job);
    const totalImages = good.reduce((n, e) => n + e.job!.count, 0);
    const progress = stderrProgress(io, { quiet });
    const genStart = performance.now();
    const ran = await runJobs(backend, good, {
      outDir,
      maxBatch,
      backendMeta: backendMeta(spec, workerOf(backend)),
      io,
      onProgress: (images, jobs) =>
        progress.updateLine((o) =>
          renderBatchProgress({
            images,
            totalImages,
            jobs,
            totalJobs: good.length,
            elapsedMs: performance.now() - genStart,
          }, o)
        ),
    });
    progress.finish();
    totals = ran.totals;
    outcomes = [
      ...ran.outcomes,
      ...entries.filter((e) => !e.job).map((entry): JobOutcome => ({
        entry,
        status: "failed",
        reason: entry.error!,
      })),
    ].sort((a, b) => a.entry.line - b.entry.line);
  } finally {
    uninstall();
    await backend.close();
  }

  const count = (s: string) => outcomes.filter((o) => o.status === s).length;
  const failures = outcomes.filter((o) => o.status === "failed");
  const summaryName = shard ? `summary.shard-${shard[0]}-of-${shard[1]}.json` : "summary.json";
  const summary = {
    format: "zipar.batch-summary/1",
    zipar: VERSION,
    jobsFile: file,
    outDir,
    shard: shard ? { index: shard[0], count: shard[1] } : null,
    shardFrom: shard ? shardSource : null,
    backend: backend.name,
    model: backend.info.name,
    maxBatch,
    jobs: outcomes.length,
    done: count("done"),
    skipped: count("skipped"),
    failed: failures.length,
    images: totals.images,
    batches: totals.batches,
    passes: totals.passes,
    loadMs: Math.round(loadMs * 10) / 10,
    wallMs: Math.round((performance.now() - started) * 10) / 10,
    failures: failures.map((o) => ({
      line: o.entry.line,
      name: o.entry.name,
      reason: o.reason,
    })),
    outputs: outcomes.filter((o) => o.status !== "failed").map((o) => ({
      line: o.entry.line,
      name: o.entry.job!.name,
      status: o.status,
    })),
  };
  const out = await openSummary(join(outDir, summaryName)); // a symlink is replaced, not followed
  try {
    await out.write(new TextEncoder().encode(prettyJson(summary, "") + "\n"));
    await out.commit();
  } finally {
    await out.abort();
  }
  if (!quiet) {
    for (const f of summary.failures) {
      io.writeStderr(printable(`zipar: ${file}:${f.line}: ${f.reason}`) + "\n");
    }
    const secs = totals.generateMs / 1000;
    io.writeStderr(
      `zipar: batch ${summary.jobs} jobs: ${summary.done} done, ${summary.skipped} skipped, ${summary.failed} failed; ${totals.images} images in ${
        secs.toFixed(1)
      }s (${
        (secs > 0 ? totals.images / secs : 0).toFixed(1)
      } img/s, ${totals.passes} passes); summary ${printable(join(outDir, summaryName))}\n`,
    );
  }
  return summary.failed > 0 ? 1 : 0;
}
